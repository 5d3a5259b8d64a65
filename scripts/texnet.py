#!/usr/bin/env python3
"""The texture network of txn (Ulyanov et al. 2016, Texture Networks) as a PyTorch module, with the same state-dict
keys as `txn texnet train` writes; its shape (scales, width, noise channels, batch or instance norm) is read from the
tensors, and the file is loaded strictly.

    python3 scripts/texnet.py generate T.pth NOISE.pth OUT.pth [reflect|circular|zeros]
        Generates from the noise pyramid in NOISE.pth (keys noise.0 … noise.K-1, coarse to fine, NCHW) in eval
        mode and saves {"image": [N, 3, H, W]} to OUT.pth.

Used by TxnTexNetTests to check that PyTorch reads txn's texture networks and computes the same images.
"""
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

LEAKY_SLOPE = 0.01


def make_norm(kind, channels):
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    return nn.InstanceNorm2d(channels, affine=True)


class Block(nn.Module):
    """3x3, 3x3 and 1x1 convolutions, each followed by normalisation and LeakyReLU."""

    def __init__(self, cin, cout, norm, padding_mode):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1, padding_mode=padding_mode)
        self.norm1 = make_norm(norm, cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, padding_mode=padding_mode)
        self.norm2 = make_norm(norm, cout)
        self.conv3 = nn.Conv2d(cout, cout, 1)
        self.norm3 = make_norm(norm, cout)

    def forward(self, x):
        x = F.leaky_relu(self.norm1(self.conv1(x)), LEAKY_SLOPE)
        x = F.leaky_relu(self.norm2(self.conv2(x)), LEAKY_SLOPE)
        return F.leaky_relu(self.norm3(self.conv3(x)), LEAKY_SLOPE)


class Join(nn.Module):
    """The normalisations of the upsampled coarse path and of the new scale's block, before concatenation."""

    def __init__(self, deep, width, norm):
        super().__init__()
        self.deep = make_norm(norm, deep)
        self.noise = make_norm(norm, width)

    def forward(self, deep, fresh):
        return torch.cat([self.deep(deep), self.noise(fresh)], dim=1)


class TextureNetwork(nn.Module):
    def __init__(self, scales, width, noise_channels=3, norm="instance", padding_mode="reflect"):
        super().__init__()
        self.noise = nn.ModuleList([Block(noise_channels, width, norm, padding_mode) for _ in range(scales)])
        self.join = nn.ModuleList([Join(width * k, width, norm) for k in range(1, scales)])
        self.merge = nn.ModuleList([Block(width * (k + 1), width * (k + 1), norm, padding_mode) for k in range(1, scales)])
        self.to_rgb = nn.Conv2d(width * scales, 3, 1)

    def forward(self, noise):
        """noise: the pyramid, coarse to fine."""
        x = self.noise[0](noise[0])
        for k in range(1, len(noise)):
            deep = F.interpolate(x, scale_factor=2, mode="nearest")
            x = self.merge[k - 1](self.join[k - 1](deep, self.noise[k](noise[k])))
        return self.to_rgb(x)


def load(path, padding_mode="reflect"):
    state = torch.load(path, weights_only=True)
    scales = 0
    while f"noise.{scales}.conv1.weight" in state:
        scales += 1
    width, noise_channels = state["noise.0.conv1.weight"].shape[:2]
    norm = "batch" if "noise.0.norm1.running_mean" in state else "instance"
    net = TextureNetwork(scales, width, noise_channels, norm, padding_mode)
    net.load_state_dict(state, strict=True)
    return net


def main():
    if len(sys.argv) < 5 or sys.argv[1] != "generate":
        sys.exit(__doc__)
    padding = sys.argv[5] if len(sys.argv) > 5 else "reflect"
    net = load(sys.argv[2], padding)
    net.eval()
    z = torch.load(sys.argv[3], weights_only=True)
    noise = [z[f"noise.{k}"] for k in range(len(net.noise))]
    with torch.no_grad():
        y = net(noise)
    torch.save({"image": y.contiguous()}, sys.argv[4])


if __name__ == "__main__":
    main()
