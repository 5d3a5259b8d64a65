#!/usr/bin/env python3
"""Issue 22's benchmark: the time txn takes to reach the Gram loss that PyTorch's plain method (gatys_peer.py:
single scale, L-BFGS m = 20, 300 iterations) reaches, on the same source pixels at the same output size, in one
run side by side on one machine. Both write the same per-iteration log (`txn synth --log`), so the figure is read
from the logs: the first `seconds` at which txn's `gram_loss` (the plain Gram loss at the output size, default layers)
is at or below PyTorch's final loss, over PyTorch's total time.

    python3 scripts/time_to_quality.py [--textures gravel,ihc,wood] [--size 256] [--peer-steps 300]
        [--run NAME='txn synth flags' ...] [--out /tmp/txn-ttq]

Run it under the shared build lock on a quiet machine; it runs one process at a time. The sources: gravel and ihc
are Notebooks/data's 512² files brought to 256² by txn's own `preprocess`, wood is used at its own 120x192.
--reuse-peer skips PyTorch runs whose log already exists in --out (same machine, same session only).
"""
import argparse, json, os, shlex, subprocess, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TXN = os.environ.get("TXN", str(ROOT / ".build/release/txn"))
DEFAULT_RUNS = {"default": "", "plain": "--octaves 1 --steps 300"}


def read_log(path):
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def first_reaching(log, target):
    """(seconds, iteration) of the first record whose gram_loss is at or below target, or None."""
    for r in log:
        g = r.get("gram_loss")
        if g is not None and g <= target:
            return r["seconds"], r["iteration"]
    return None


def prepare(texture, size, out):
    src = ROOT / "Notebooks/data" / f"{texture}.png"
    if texture == "wood":
        return str(src)
    dest = out / f"{texture}_{size}.png"
    subprocess.run([TXN, "-c", f'x = preprocess (load "{src}") size={size}; save x "{dest}"'], check=True,
                   stdout=subprocess.DEVNULL)
    return str(dest)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--textures", default="gravel,ihc,wood")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--peer-steps", type=int, default=300)
    ap.add_argument("--run", action="append", default=[], help="NAME=flags for txn synth (repeatable)")
    ap.add_argument("--out", default="/tmp/txn-ttq")
    ap.add_argument("--reuse-peer", action="store_true")
    a = ap.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    runs = dict(r.split("=", 1) for r in a.run) if a.run else DEFAULT_RUNS
    rows = []
    for texture in a.textures.split(","):
        source = prepare(texture, a.size, out)
        peer_log = out / f"{texture}_pytorch.jsonl"
        if not (a.reuse_peer and peer_log.exists()):
            subprocess.run([sys.executable, str(ROOT / "scripts/gatys_peer.py"), source, "--size", str(a.size),
                            "--steps", str(a.peer_steps), "--log", str(peer_log), "-o", str(out / f"{texture}_pytorch.png")],
                           check=True)
        peer = read_log(peer_log)
        target, peer_seconds = peer[-1]["gram_loss"], peer[-1]["seconds"]
        rows.append((texture, "pytorch plain", peer_seconds, target, peer_seconds, len(peer)))
        for name, flags in runs.items():
            log = out / f"{texture}_{name}.jsonl"
            cmd = [TXN, "synth", source, "--size", str(a.size), "--log", str(log), "-o", str(out / f"{texture}_{name}.png"),
                   "--every", "1000000"] + shlex.split(flags)
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
            records = read_log(log)
            final = [r for r in records if "gram_loss" in r]
            reached = first_reaching(records, target)
            rows.append((texture, name, records[-1]["seconds"], final[-1]["gram_loss"] if final else float("nan"),
                         reached[0] if reached else None, len(records)))
    print(f"{'texture':8} {'run':16} {'seconds':>8} {'final gram':>11} {'reach s':>8} {'ratio':>6} {'iters':>6}")
    peer_time = {}
    for texture, name, seconds, loss, reach, iters in rows:
        if name == "pytorch plain":
            peer_time[texture] = seconds
        ratio = f"{reach / peer_time[texture]:.3f}" if reach is not None else "-"
        reach_text = f"{reach:.1f}" if reach is not None else "never"
        print(f"{texture:8} {name:16} {seconds:8.1f} {loss:11.4e} {reach_text:>8} {ratio:>6} {iters:6d}")


if __name__ == "__main__":
    main()
