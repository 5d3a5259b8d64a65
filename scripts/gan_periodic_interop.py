#!/usr/bin/env python3
"""Loads a generator with PSGAN's periodic noise that txn wrote (`txn gan train --periodic`) into PyTorch: the
seed's PSGenerator layers under `generate.*` plus the wave-vector MLP under `periodic.*` as
nn.Sequential(nn.Linear(global, hidden), nn.ReLU(), nn.Linear(hidden, 2 * periodic)), strictly. Computes the wave
vectors of the global codes in CODES.pth (key "codes", [N, global]).
Used by TxnGANTests to check that PyTorch reads the periodic generator and its MLP computes txn's wave vectors.

    python3 scripts/gan_periodic_interop.py G.pth CODES.pth

Prints one line of JSON: {"layout": [global, local, periodic, hidden], "waves": [...]} ([N, periodic, 2] flattened:
each sine channel's k_x, k_y in radians per noise cell).
"""
import json
import sys

import torch
import torch.nn as nn

from gan_interop import PSGenerator


class PeriodicGenerator(nn.Module):
    """The generator with PSGAN's noise: channels [global | local | periodic]."""
    def __init__(self, channels, global_channels, hidden, periodic):
        super().__init__()
        self.generate = PSGenerator(channels).generate
        self.periodic = nn.Sequential(nn.Linear(global_channels, hidden), nn.ReLU(), nn.Linear(hidden, 2 * periodic))


def main():
    state = torch.load(sys.argv[1], weights_only=True)
    convs = sorted(int(k.split(".")[1]) for k in state if k.startswith("generate.") and k.endswith(".weight") and state[k].dim() == 4)
    channels = [state[f"generate.{convs[0]}.weight"].shape[0]] + [state[f"generate.{i}.weight"].shape[1] for i in convs]
    hidden, global_channels = state["periodic.0.weight"].shape
    periodic = state["periodic.2.weight"].shape[0] // 2
    g = PeriodicGenerator(channels, global_channels, hidden, periodic)
    g.load_state_dict(state, strict=True)
    codes = torch.load(sys.argv[2], weights_only=True)["codes"]
    with torch.no_grad():
        waves = g.periodic(codes).double()
    local = channels[0] - global_channels - periodic
    print(json.dumps({"layout": [global_channels, local, periodic, hidden], "waves": [float(v) for v in waves.flatten()]}))


if __name__ == "__main__":
    main()
