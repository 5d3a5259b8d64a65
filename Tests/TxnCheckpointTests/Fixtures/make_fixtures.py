#!/usr/bin/env python3
"""Makes the small checkpoint fixtures of TxnCheckpointTests (run from any directory; needs torch).

    python3 Tests/TxnCheckpointTests/Fixtures/make_fixtures.py

Every value is defined by a formula or an explicit list that CheckpointTests.swift repeats, so the
Swift test recomputes the expected numbers instead of reading them from Python output.

Outputs (next to this script):
  small_legacy.ckpt     torch.save(..., _use_new_zipfile_serialization=False): legacy pickle stream
  small_zip.ckpt        torch.save(...) default zip format (torch 2.x, entries STORED, 64-byte aligned)
  small_zip64.ckpt      the same entries, re-packed by hand with zip64 extras and a zip64 end record
  small_zip_be.ckpt     zip with byteorder "big" and every storage byte-swapped (tests byte swapping)
  small_deflated.ckpt   the zip entries re-packed with ZIP_DEFLATED (must be rejected clearly)

The extension is .ckpt rather than .pth because the repository's .gitignore ignores *.pth / *.pt
(real weights must never be committed); these files are a few KB.

No big-endian legacy fixture: torch itself cannot read one on a little-endian machine, so there is no
ground truth; the Swift reader rejects legacy files whose sys_info says little_endian=False.
"""
import collections
import io
import os
import pickle
import struct
import zipfile
import zlib

import torch

HERE = os.path.dirname(os.path.abspath(__file__))


def state_dict():
    sd = collections.OrderedDict()
    n = 4 * 3 * 2 * 2
    # f(i) = ((i*37) % 101) * 0.25 - 12.5: exact in float32.
    sd["conv.weight"] = torch.tensor([((i * 37) % 101) * 0.25 - 12.5 for i in range(n)],
                                     dtype=torch.float32).reshape(4, 3, 2, 2)
    # i/3 - 1 rounded from float64 to float32 (round to nearest, as Swift's Float(Double)).
    sd["conv.bias"] = torch.tensor([i / 3.0 - 1.0 for i in range(4)], dtype=torch.float32)
    # float16: explicit list with subnormals, the largest finite half, signed zero, infinities.
    sd["half"] = torch.tensor([0.0, 1.0, -2.0, 0.5, 65504.0, 2.0 ** -24, 2.0 ** -14, -0.0,
                               float("inf"), float("-inf"), 1.0 / 3.0, -1000.0],
                              dtype=torch.float16).reshape(2, 6)
    # uint8: (i*13 + 7) % 256 covers 0..255.
    sd["bytes"] = torch.tensor([(i * 13 + 7) % 256 for i in range(60)], dtype=torch.uint8).reshape(3, 4, 5)
    # One float32 storage (base, 3x4, b(i) = i*1.5 - 4) shared by three views.
    base = torch.tensor([i * 1.5 - 4.0 for i in range(12)], dtype=torch.float32).reshape(3, 4)
    sd["t"] = base.t()          # shape (4, 3), stride (1, 4): non-contiguous
    sd["s"] = base[1:]          # shape (2, 4), storage offset 4
    sd["col"] = base[:, 1]      # shape (3,), stride 4, storage offset 1
    sd["d"] = torch.tensor([1.0 / 3.0, -2.5, 1e-3], dtype=torch.float64)
    sd["i64"] = torch.tensor([-3, 0, 7, 1 << 40], dtype=torch.int64)
    sd["i32"] = torch.tensor([-5, 12345, (1 << 24) + 1], dtype=torch.int32)
    sd["scalar"] = torch.tensor(42.5, dtype=torch.float32)
    sd["empty"] = torch.zeros(0, 3, dtype=torch.float32)
    sd["param"] = torch.nn.Parameter(torch.arange(3, dtype=torch.float32))  # _rebuild_parameter
    return sd


class _Recorder(pickle.Unpickler):
    """Records storage key -> element size from the persistent ids, without building anything."""
    SIZES = {"FloatStorage": 4, "HalfStorage": 2, "DoubleStorage": 8, "ByteStorage": 1,
             "LongStorage": 8, "IntStorage": 4}

    def __init__(self, f):
        super().__init__(f)
        self.sizes = {}

    def find_class(self, module, name):
        if module == "torch" and name in self.SIZES:
            return name
        return lambda *a, **k: {}

    def persistent_load(self, pid):
        self.sizes[pid[2]] = self.SIZES[pid[1]]
        return None


def swap(data, size):
    if size == 1:
        return data
    out = bytearray(len(data))
    for i in range(0, len(data), size):
        out[i:i + size] = data[i:i + size][::-1]
    return bytes(out)


def write_zip(path, entries, zip64=False):
    """Hand-written STORED zip; with zip64=True every size/offset goes through zip64 extras."""
    out = io.BytesIO()
    central = []
    for name, data in entries:
        nb = name.encode()
        crc = zlib.crc32(data) & 0xFFFFFFFF
        off = out.tell()
        if zip64:
            extra = struct.pack("<HHQQ", 1, 16, len(data), len(data))
            out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, 0, 0, 0, crc,
                                  0xFFFFFFFF, 0xFFFFFFFF, len(nb), len(extra)))
        else:
            extra = b""
            out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 0, 0, 0, crc,
                                  len(data), len(data), len(nb), 0))
        out.write(nb + extra + data)
        central.append((nb, crc, len(data), off))
    cd_start = out.tell()
    for nb, crc, size, off in central:
        if zip64:
            extra = struct.pack("<HHQQQ", 1, 24, size, size, off)
            out.write(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, 0, 0, 0, crc,
                                  0xFFFFFFFF, 0xFFFFFFFF, len(nb), len(extra), 0, 0, 0, 0, 0xFFFFFFFF))
        else:
            extra = b""
            out.write(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 0, 0, 0, crc,
                                  size, size, len(nb), 0, 0, 0, 0, 0, off))
        out.write(nb + extra)
    cd_end = out.tell()
    n = len(central)
    if zip64:
        out.write(struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, n, n,
                              cd_end - cd_start, cd_start))
        out.write(struct.pack("<IIQI", 0x07064B50, 0, cd_end, 1))
        out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF,
                              0xFFFFFFFF, 0xFFFFFFFF, 0))
    else:
        out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, n, n, cd_end - cd_start, cd_start, 0))
    with open(path, "wb") as f:
        f.write(out.getvalue())


def main():
    sd = state_dict()
    legacy = os.path.join(HERE, "small_legacy.ckpt")
    zpath = os.path.join(HERE, "small_zip.ckpt")
    torch.save(sd, legacy, _use_new_zipfile_serialization=False)
    torch.save(sd, zpath)

    # Zip variants from the torch-written entries.
    with zipfile.ZipFile(zpath) as z:
        entries = [(i.filename, z.read(i.filename)) for i in z.infolist()]
    write_zip(os.path.join(HERE, "small_zip64.ckpt"), entries, zip64=True)
    with zipfile.ZipFile(os.path.join(HERE, "small_deflated.ckpt"), "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries:
            z.writestr(name, data)
    pkl = next(d for n, d in entries if n.endswith("/data.pkl"))
    rec = _Recorder(io.BytesIO(pkl))
    rec.load()
    be = []
    for name, data in entries:
        if name.endswith("/byteorder"):
            data = b"big"
        elif "/data/" in name:
            data = swap(data, rec.sizes[name.rsplit("/", 1)[1]])
        be.append((name, data))
    write_zip(os.path.join(HERE, "small_zip_be.ckpt"), be)

    # Self-check: torch reads every variant it supports back to the same values.
    for name in ["small_legacy.ckpt", "small_zip.ckpt", "small_zip64.ckpt", "small_zip_be.ckpt"]:
        back = torch.load(os.path.join(HERE, name), weights_only=True)
        assert list(back.keys()) == list(sd.keys()), name
        for k in sd:
            assert back[k].dtype == sd[k].dtype and back[k].shape == sd[k].shape, (name, k)
            assert torch.equal(back[k].detach(), sd[k].detach()), (name, k)
    for name in sorted(os.listdir(HERE)):
        if name.endswith(".ckpt"):
            print(name, os.path.getsize(os.path.join(HERE, name)))


if __name__ == "__main__":
    main()
