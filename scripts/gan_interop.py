#!/usr/bin/env python3
"""Loads a generator that txn wrote into the seed project's PSGenerator (harrybp/TextureGeneration gan/models.py,
widths taken from the tensor shapes) and generates from the noise in NOISE.pth (key "noise"), in eval mode.
Used by TxnGANTests to check that PyTorch reads txn's generators and computes the same images.

    python3 scripts/gan_interop.py G.pth NOISE.pth

Prints one line of JSON: {"shape": [...], "sum": ..., "l2": ..., "first8": [...]} of the output.
"""
import json
import sys

import torch
import torch.nn as nn


class PSGenerator(nn.Module):
    """The seed's generator, with its widths as a parameter (the seed's default is [64, 512, 256, 128, 64, 3])."""
    def __init__(self, channels, kernel_size=4):
        super().__init__()
        layers = []
        for i in range(1, len(channels) - 1):
            layers += [nn.ConvTranspose2d(channels[i - 1], channels[i], kernel_size, 2, 1), nn.BatchNorm2d(channels[i]), nn.ReLU()]
        layers += [nn.ConvTranspose2d(channels[-2], channels[-1], kernel_size, 2, 1), nn.Tanh()]
        self.generate = nn.Sequential(*layers)

    def forward(self, z):
        return self.generate(z)


def main():
    state = torch.load(sys.argv[1], weights_only=True)
    convs = sorted(int(k.split(".")[1]) for k in state if k.endswith(".weight") and state[k].dim() == 4)
    channels = [state[f"generate.{convs[0]}.weight"].shape[0]] + [state[f"generate.{i}.weight"].shape[1] for i in convs]
    g = PSGenerator(channels)
    g.load_state_dict(state, strict=True)
    g.eval()
    z = torch.load(sys.argv[2], weights_only=True)["noise"]
    with torch.no_grad():
        y = g(z).double()
    print(json.dumps({"channels": channels, "shape": list(y.shape), "sum": float(y.sum()), "l2": float(y.norm()),
                      "first8": [float(v) for v in y.flatten()[:8]]}))


if __name__ == "__main__":
    main()
