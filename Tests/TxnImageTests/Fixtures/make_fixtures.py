#!/usr/bin/env python3
"""Regenerates the TxnImage test fixtures.

PNGs are written by hand (zlib + struct) so each colour type, bit depth and interlacing is exactly what the file
name says, and every sample follows a formula the tests recompute (see FixtureTests.swift):

    r8(x, y) = 16x + y          g8(x, y) = 20y + x          b8(x, y) = 128 + 8(x - y)
    a8(x, y) = 255 - 10x - 3y   16-bit: v16 = 256 * v8 + ((7x + 13y) & 0xFF)
    palette index (x + 2y) % 16 -> (16i, 255 - 16i, (37i) % 256), 4-bit indices

JPEGs need an encoder: they are made with Pillow (pip install pillow) from the same r8/g8/b8 pattern at
quality 95 without chroma subsampling, and the tests compare them with a tolerance.

Usage: python3 make_fixtures.py   (writes next to this script)
"""
import os
import struct
import zlib

W, H = 16, 12
HERE = os.path.dirname(os.path.abspath(__file__))


def r8(x, y): return 16 * x + y
def g8(x, y): return 20 * y + x
def b8(x, y): return 128 + 8 * (x - y)
def a8(x, y): return 255 - 10 * x - 3 * y
def wide(v, x, y): return 256 * v + ((7 * x + 13 * y) & 0xFF)
def palette_index(x, y): return (x + 2 * y) % 16
PALETTE = [(16 * i, 255 - 16 * i, (37 * i) % 256) for i in range(16)]


def chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def pack_row(samples, depth):
    """samples: one row of integer samples (all channels interleaved)."""
    if depth == 8:
        return bytes(samples)
    if depth == 16:
        return b"".join(struct.pack(">H", s) for s in samples)
    per_byte = 8 // depth
    out = bytearray()
    for i in range(0, len(samples), per_byte):
        group = samples[i:i + per_byte] + [0] * (per_byte - len(samples[i:i + per_byte]))
        byte = 0
        for s in group:
            byte = (byte << depth) | s
        out.append(byte)
    return bytes(out)


ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def write_png(name, pixel, color_type, depth, interlace=False, plte=None):
    """pixel(x, y) -> tuple of samples for that pixel."""
    raw = bytearray()
    passes = ADAM7 if interlace else [(0, 0, 1, 1)]
    for x0, y0, dx, dy in passes:
        xs = list(range(x0, W, dx))
        ys = list(range(y0, H, dy))
        if not xs or not ys:
            continue
        for y in ys:
            samples = [s for x in xs for s in pixel(x, y)]
            raw += b"\x00" + pack_row(samples, depth)  # filter type 0
    png = b"\x89PNG\r\n\x1a\n"
    png += chunk(b"IHDR", struct.pack(">IIBBBBB", W, H, depth, color_type, 0, 0, 1 if interlace else 0))
    if plte is not None:
        png += chunk(b"PLTE", b"".join(bytes(c) for c in plte))
    png += chunk(b"IDAT", zlib.compress(bytes(raw), 9))
    png += chunk(b"IEND", b"")
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(png)


def main():
    write_png("grey8.png", lambda x, y: (r8(x, y),), 0, 8)
    write_png("grey16.png", lambda x, y: (wide(r8(x, y), x, y),), 0, 16)
    write_png("greyalpha8.png", lambda x, y: (r8(x, y), a8(x, y)), 4, 8)
    write_png("rgb8.png", lambda x, y: (r8(x, y), g8(x, y), b8(x, y)), 2, 8)
    write_png("rgb16.png", lambda x, y: (wide(r8(x, y), x, y), wide(g8(x, y), x, y), wide(b8(x, y), x, y)), 2, 16)
    write_png("rgba8.png", lambda x, y: (r8(x, y), g8(x, y), b8(x, y), a8(x, y)), 6, 8)
    write_png("palette4.png", lambda x, y: (palette_index(x, y),), 3, 4, plte=PALETTE)
    write_png("rgb8_interlaced.png", lambda x, y: (r8(x, y), g8(x, y), b8(x, y)), 2, 8, interlace=True)

    from PIL import Image  # only needed for the JPEGs
    rgb = Image.new("RGB", (W, H))
    rgb.putdata([(r8(x, y), g8(x, y), b8(x, y)) for y in range(H) for x in range(W)])
    rgb.save(os.path.join(HERE, "baseline.jpg"), quality=95, subsampling=0)
    rgb.save(os.path.join(HERE, "progressive.jpg"), quality=95, subsampling=0, progressive=True)
    grey = Image.new("L", (W, H))
    grey.putdata([r8(x, y) for y in range(H) for x in range(W)])
    grey.save(os.path.join(HERE, "grey.jpg"), quality=95)
    rgb.convert("CMYK").save(os.path.join(HERE, "cmyk.jpg"), quality=90)  # must be rejected, not mis-decoded


if __name__ == "__main__":
    main()
