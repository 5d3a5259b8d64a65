#!/usr/bin/env python3
"""Checks txn's checkpoint writer and reader against real PyTorch (used by InteropCheckpointTests.swift).

    python3 scripts/checkpoint_interop.py check-generator FILE   # FILE written by Swift: load, compare, load_state_dict
    python3 scripts/checkpoint_interop.py write-reference FILE   # torch.save a state dict for the Swift reader
    python3 scripts/checkpoint_interop.py same-tensors A B       # A and B hold identical keys, dtypes and tensors

The values are formulas that the Swift test repeats (ramp below), so neither side reads the other's numbers.
Prints one line of JSON on success; exits 1 with the reason otherwise.
"""
import collections
import io
import json
import sys
import zipfile

import torch
import torch.nn as nn

# The generator the Swift test writes: PSGenerator-shaped (keys generate.N.*), channels 8 -> 6 -> 3.
NZ, HIDDEN, OUT = 8, 6, 3


def ramp(n, salt):
    """Same formula as CheckpointWriterTests.ramp: ((i*37 + salt*11) mod 101) * 0.25 - 12.5, exact in float32."""
    i = torch.arange(n, dtype=torch.int64)
    return (((i * 37 + salt * 11) % 101).to(torch.float64) * 0.25 - 12.5).to(torch.float32)


class Generator(nn.Module):
    def __init__(self):
        super().__init__()
        self.generate = nn.Sequential(
            nn.ConvTranspose2d(NZ, HIDDEN, 4, 2, 1), nn.BatchNorm2d(HIDDEN), nn.ReLU(),
            nn.ConvTranspose2d(HIDDEN, OUT, 4, 2, 1), nn.Tanh())

    def forward(self, z):
        return self.generate(z)


def expected_generator():
    """The state dict of Generator() with every float tensor replaced by ramp(numel, index) and
    num_batches_tracked = 1000 + index * 2**40 (beyond float32's exact integers)."""
    sd = collections.OrderedDict()
    for index, (key, t) in enumerate(Generator().state_dict().items()):
        if t.dtype == torch.int64:
            sd[key] = torch.tensor(1000 + index * 2 ** 40, dtype=torch.int64)
        else:
            sd[key] = ramp(t.numel(), index).reshape(t.shape)
    return sd


def fail(message):
    print(message, file=sys.stderr)
    sys.exit(1)


def check_generator(path):
    loaded = torch.load(path, weights_only=True)
    expected = expected_generator()
    if list(loaded.keys()) != list(expected.keys()):
        fail(f"keys differ: {list(loaded.keys())} vs {list(expected.keys())}")
    for key, want in expected.items():
        got = loaded[key]
        if got.dtype != want.dtype or got.shape != want.shape or not torch.equal(got, want):
            fail(f"{key}: got {got.dtype} {tuple(got.shape)}, expected {want.dtype} {tuple(want.shape)} (or values differ)")
    model = Generator()
    model.load_state_dict(loaded, strict=True)
    model.train()  # batch statistics: the ramp's negative running_var would make eval mode NaN
    with torch.no_grad():
        y = model(torch.ones(1, NZ, 3, 5))
    if not torch.isfinite(y).all():
        fail("generator output is not finite")
    # The pickle equals the one torch.save writes for the same dict, byte for byte.
    buffer = io.BytesIO()
    torch.save(expected, buffer)
    def records(z):
        prefix = z.namelist()[0].split("/")[0] + "/"
        return {n[len(prefix):]: z.read(n) for n in z.namelist()}
    mine = records(zipfile.ZipFile(path))
    torchs = records(zipfile.ZipFile(io.BytesIO(buffer.getvalue())))
    if set(mine) != set(torchs):
        fail(f"records differ: {sorted(mine)} vs {sorted(torchs)}")
    for name in mine:
        if name != ".data/serialization_id" and mine[name] != torchs[name]:
            fail(f"record {name} differs from torch.save's")
    print(json.dumps({"keys": len(loaded), "output_shape": list(y.shape),
                      "num_batches_tracked": int(loaded["generate.1.num_batches_tracked"]),
                      "sum": float(sum(t.double().sum() for t in loaded.values()))}))


def write_reference(path):
    """What a training resume file holds: floats, a 0-dim int64, int64 beyond 2**53, a view sharing a storage."""
    base = ramp(12, 5).reshape(3, 4)
    sd = collections.OrderedDict()
    sd["generate.0.weight"] = ramp(2 * 3 * 4 * 4, 1).reshape(2, 3, 4, 4)
    sd["generate.1.num_batches_tracked"] = torch.tensor(123456789012, dtype=torch.int64)
    sd["rng"] = torch.tensor([2 ** 63 - 1, -2 ** 63, -1, 2 ** 53 + 1], dtype=torch.int64)
    sd["base"] = base
    sd["column"] = base[:, 1]  # a strided view of base's storage
    sd["empty"] = torch.zeros(0, 3)
    torch.save(sd, path)
    print(json.dumps({"keys": list(sd.keys())}))


def same_tensors(a, b):
    x = torch.load(a, weights_only=True)
    y = torch.load(b, weights_only=True)
    if list(x.keys()) != list(y.keys()):
        fail(f"keys differ: {list(x.keys())} vs {list(y.keys())}")
    for key in x:
        if x[key].dtype != y[key].dtype or x[key].shape != y[key].shape or not torch.equal(x[key], y[key]):
            fail(f"{key} differs")
    print(json.dumps({"keys": len(x), "int64": sum(1 for t in x.values() if t.dtype == torch.int64)}))


if __name__ == "__main__":
    commands = {"check-generator": check_generator, "write-reference": write_reference, "same-tensors": same_tensors}
    if len(sys.argv) < 3 or sys.argv[1] not in commands:
        fail(__doc__)
    commands[sys.argv[1]](*sys.argv[2:])
