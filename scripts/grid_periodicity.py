#!/usr/bin/env python3
"""How strongly an image repeats with a period of P pixels (default 16, VGG-19's pool4 grid): issue 22's measure of
the crosses and grid seen on large Gatys outputs.

The luminance (mean removed, Hann-windowed so the image's borders add no cross of their own) goes through a 2-D FFT.
A pattern repeating every P pixels puts its energy on the frequencies (k/P, l/P) cycles per pixel, k, l = 0..P-1, not
both 0. For each such frequency the script takes the ratio of its power to the median power of the frequencies
around it (a square of side 2r+1, itself and the other grid frequencies left out), and reports the median and the
maximum of those ratios over all grid frequencies, and the three strongest. A texture without a P-pixel grid gives a median near 1 (the
spectrum is smooth there); a faint grid already lifts it well above 1.

    python3 scripts/grid_periodicity.py IMAGE.png [IMAGE2.png ...] [--period 16] [--radius 3] [--json]

Only numpy: PNG files (8-bit grey, grey+alpha, RGB, RGBA, non-interlaced, as txn writes them) are decoded here.
"""
import argparse
import json
import struct
import sys
import zlib

import numpy as np

MAX_PIXELS = 1 << 26  # 64 megapixels, as txn's own limit


def read_png(path):
    """The image as float64 [H][W][C] in 0..255."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path}: not a PNG file")
    pos, idat, header = 8, [], None
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if len(body) != length:
            raise ValueError(f"{path}: truncated {kind!r} chunk at byte {pos}")
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
        pos += 12 + length
    if header is None:
        raise ValueError(f"{path}: no IHDR chunk")
    width, height, depth, colour, _, _, interlace = header
    channels = {0: 1, 2: 3, 4: 2, 6: 4}.get(colour)
    if depth != 8 or channels is None or interlace != 0:
        raise ValueError(f"{path}: only 8-bit non-interlaced grey/RGB(A) PNGs are read here "
                         f"(depth {depth}, colour type {colour}, interlace {interlace})")
    if width == 0 or height == 0 or width * height > MAX_PIXELS:
        raise ValueError(f"{path}: {width}x{height} is empty or over {MAX_PIXELS} pixels")
    stride = width * channels
    raw = zlib.decompress(b"".join(idat), bufsize=height * (stride + 1))
    if len(raw) != height * (stride + 1):
        raise ValueError(f"{path}: image data holds {len(raw)} bytes, expected {height * (stride + 1)}")
    rows = np.frombuffer(raw, dtype=np.uint8).reshape(height, stride + 1)
    out = np.zeros((height, stride), dtype=np.int32)
    prev = np.zeros(stride, dtype=np.int32)
    for y in range(height):
        kind, line = rows[y, 0], rows[y, 1:].astype(np.int32)
        if kind == 0:
            cur = line
        elif kind == 2:
            cur = (line + prev) & 255
        elif kind in (1, 3, 4):
            cur = np.zeros(stride, dtype=np.int32)
            for x in range(stride):  # left-dependent filters: pixel by pixel
                a = cur[x - channels] if x >= channels else 0
                b, c = prev[x], (prev[x - channels] if x >= channels else 0)
                if kind == 1:
                    pred = a
                elif kind == 3:
                    pred = (a + b) >> 1
                else:
                    p = a + b - c
                    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                    pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                cur[x] = (line[x] + pred) & 255
        else:
            raise ValueError(f"{path}: row {y} has unknown filter {kind}")
        out[y], prev = cur, cur
    return out.reshape(height, width, channels).astype(np.float64)


def luminance(img):
    if img.shape[2] >= 3:
        return img[..., 0] * 0.299 + img[..., 1] * 0.587 + img[..., 2] * 0.114
    return img[..., 0]


def grid_ratios(lum, period, radius):
    """Power at each (k/P, l/P) frequency over the median of its neighbourhood, for every grid frequency but DC."""
    h, w = lum.shape
    window = np.outer(np.hanning(h), np.hanning(w))
    power = np.abs(np.fft.fft2((lum - lum.mean()) * window)) ** 2
    rows = {round(k * h / period) % h for k in range(period)}
    cols = {round(l * w / period) % w for l in range(period)}
    grid = np.zeros((h, w), dtype=bool)
    for r in rows:
        grid[r, list(cols)] = True
    ratios, where = [], []
    for r in sorted(rows):
        for c in sorted(cols):
            if r == 0 and c == 0:
                continue
            ys = [(r + d) % h for d in range(-radius, radius + 1)]
            xs = [(c + d) % w for d in range(-radius, radius + 1)]
            patch, mask = power[np.ix_(ys, xs)], ~grid[np.ix_(ys, xs)]
            # DC's own neighbourhood holds the window's leakage: leave the frequencies next to 0 out there too.
            if r == 0 or c == 0:
                near_axis = np.array([[min(y, h - y) > radius or min(x, w - x) > radius for x in xs] for y in ys])
                mask &= near_axis | ~((np.array(ys)[:, None] == 0) | (np.array(xs)[None, :] == 0))
            neighbours = patch[mask]
            if neighbours.size == 0:
                continue
            ratios.append(power[r, c] / max(np.median(neighbours), 1e-30))
            # As (k, l) in 1/P cycles per pixel, signed: -P/2 < k <= P/2.
            k, l = round(r * period / h), round(c * period / w)
            where.append((k - period if k > period // 2 else k, l - period if l > period // 2 else l))
    return np.array(ratios), where


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("images", nargs="+")
    ap.add_argument("--period", type=int, default=16)
    ap.add_argument("--radius", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if not 2 <= args.period <= 256 or not 1 <= args.radius <= 16:
        sys.exit("--period must be in 2...256 and --radius in 1...16")
    results = []
    for path in args.images:
        try:
            lum = luminance(read_png(path))
        except (OSError, ValueError, zlib.error) as e:
            sys.exit(f"{path}: {e}")
        if min(lum.shape) < 4 * args.period:
            sys.exit(f"{path}: {lum.shape[1]}x{lum.shape[0]} is too small for a period of {args.period}")
        r, where = grid_ratios(lum, args.period, args.radius)
        order = np.argsort(-r)
        # A real image's spectrum is symmetric: (k, l) and (-k, -l) are one peak, listed once.
        strongest, seen = [], set()
        for i in order:
            k, l = where[i]
            if (-k % args.period, -l % args.period) in seen:
                continue
            seen.add((k % args.period, l % args.period))
            strongest.append({"k": k, "l": l, "ratio": float(r[i])})
            if len(strongest) == 3:
                break
        results.append({"image": path, "width": lum.shape[1], "height": lum.shape[0], "period": args.period,
                        "median_ratio": float(np.median(r)), "p90_ratio": float(np.percentile(r, 90)),
                        "max_ratio": float(r.max()), "strongest": strongest})
    if args.json:
        print(json.dumps(results))
    else:
        for r in results:
            peaks = ", ".join(f"({p['k']},{p['l']})/{r['period']} {p['ratio']:.1f}" for p in r["strongest"])
            print(f"{r['image']}: {r['width']}x{r['height']}, period {r['period']} px: grid power / neighbours "
                  f"median {r['median_ratio']:.2f}, 90th percentile {r['p90_ratio']:.1f}, max {r['max_ratio']:.1f}; "
                  f"strongest at {peaks} cycles/px")


if __name__ == "__main__":
    main()
