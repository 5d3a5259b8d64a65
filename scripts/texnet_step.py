#!/usr/bin/env python3
"""One training iteration of a texture network in PyTorch, for TxnTexNetTests to hold txn to: the generator of
scripts/texnet.py in training mode on a given noise pyramid, the Gram texture loss of `txn optimize` on the real VGG
(scripts/bench_pytorch.py's network: vgg_normalised.pth to pool4, reflect or circular padding, average pooling;
G = F Fᵀ / M, ¼ mean squared error, weight 1e9 on conv1_1, pool1..pool4, targets from the whole source), averaged
over the batch, and its gradient with respect to every generator parameter.

    python3 scripts/texnet_step.py T.pth NOISE.pth SOURCE.pth OUT.pth [reflect|circular]

NOISE.pth: noise.0 … noise.K-1 (NCHW); SOURCE.pth: source [1, 3, H, W]. OUT.pth: loss (a 1-element tensor), image
[N, 3, H, W], and grad.<parameter name> for every parameter.
"""
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_pytorch import build, features, gram  # noqa: E402
from texnet import load  # noqa: E402

LAYER_WEIGHT = 1e9


def main():
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    padding = sys.argv[5] if len(sys.argv) > 5 else "reflect"
    torch.set_num_threads(2)
    net = load(sys.argv[1], padding)
    net.train()
    z = torch.load(sys.argv[2], weights_only=True)
    noise = [z[f"noise.{k}"] for k in range(len(net.noise))]
    source = torch.load(sys.argv[3], weights_only=True)["source"]
    vgg, taps = build(torch, padding)
    with torch.no_grad():
        targets = [gram(f) for f in features(vgg, taps, source)]
    images = net(noise)
    n = images.shape[0]
    loss = 0
    for s in range(n):
        fs = features(vgg, taps, images[s:s + 1])
        loss = loss + sum(LAYER_WEIGHT * 0.25 * ((gram(f) - t) ** 2).mean() for f, t in zip(fs, targets)) / n
    loss.backward()
    out = {"loss": loss.detach().reshape(1), "image": images.detach().contiguous()}
    for name, p in net.named_parameters():
        out["grad." + name] = p.grad.contiguous()
    torch.save(out, sys.argv[4])


if __name__ == "__main__":
    main()
