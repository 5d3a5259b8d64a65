#!/usr/bin/env python3
"""Wrap-around seam of a tileable texture, measured as txn's tiling tests do (SynthesisTests, GANTests):
the mean absolute step between neighbouring pixels across the wrap-around (last column to first, last row to
first), divided by the mean step between neighbours inside the image. 1 means the seam looks like any other
pixel boundary; a visible seam is well above 1.

usage: seam_ratio.py IMAGE.png [...]   (8-bit grey, RGB or RGBA PNG, as txn writes them)
"""
import struct
import sys
import zlib

import numpy as np


def read_png(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise SystemExit(f"{path}: not a PNG")
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = header
    channels = {0: 1, 2: 3, 6: 4}.get(colour)
    if depth != 8 or channels is None or interlace:
        raise SystemExit(f"{path}: only 8-bit non-interlaced grey, RGB or RGBA PNGs")
    raw = zlib.decompress(idat)
    stride = width * channels
    out = np.zeros((height, stride), dtype=np.int32)
    prev = np.zeros(stride, dtype=np.int32)
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = np.frombuffer(raw, dtype=np.uint8, count=stride, offset=y * (stride + 1) + 1).astype(np.int32)
        cur = np.zeros(stride, dtype=np.int32)
        for x in range(stride):
            a = cur[x - channels] if x >= channels else 0
            b = prev[x]
            c = prev[x - channels] if x >= channels else 0
            if f == 0:
                p = 0
            elif f == 1:
                p = a
            elif f == 2:
                p = b
            elif f == 3:
                p = (a + b) // 2
            else:
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                p = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
            cur[x] = (line[x] + p) & 0xFF
        out[y] = cur
        prev = cur
    image = out.reshape(height, width, channels)[:, :, :3].astype(np.float64) / 255
    return image


def seam_ratio(image):
    right = np.abs(np.roll(image, -1, axis=1) - image)
    down = np.abs(np.roll(image, -1, axis=0) - image)
    wrap = np.concatenate([right[:, -1].ravel(), down[-1, :].ravel()])
    inside = np.concatenate([right[:, :-1].ravel(), down[:-1, :].ravel()])
    return wrap.mean() / inside.mean()


if __name__ == "__main__":
    for path in sys.argv[1:]:
        print(f"{path}: seam ratio {seam_ratio(read_png(path)):.3f}")
