#!/usr/bin/env python3
"""The plain method in PyTorch, for issue 22's time-to-quality comparison: single-scale Gatys synthesis with
torch.optim.LBFGS (history 20, strong-Wolfe line search), the network and Gram loss of bench_pytorch.py
(vgg_normalised.pth to pool4, reflect padding, average pooling; G = F F^T / (h w), loss = sum over conv1_1 and
pool1..pool4 of 1e9 x 1/4 x mean squared difference), started like txn from the source's mean colour plus
Gaussian noise of sigma 0.01, no bounds (the image is clamped to [0, 1] only when saved).

Writes the same log as `txn synth --log`: one JSON object per line and iteration with `iteration`, `seconds`
since the start of the optimisation (the network and the source's Grams are made before), `loss`, `gram_loss`
(the same number: this objective is the plain Gram loss at the output size).

    python3 scripts/gatys_peer.py SOURCE.png --size 256 --steps 300 --log peer.jsonl -o peer.png

SOURCE is used at its own size (give txn the same file: `txn synth SOURCE --size 256`), so both see the same pixels.
"""
import argparse, json, struct, sys, time, zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_pytorch import build, features, gram  # one network and one Gram, shared with the benchmark
from die_with_parent import die_with_parent
from seam_ratio import read_png


def write_png(path, image):
    """8-bit RGB PNG of an H x W x 3 array in [0, 1]."""
    import numpy as np
    h, w, _ = image.shape
    rows = (np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8).reshape(h, w * 3)
    raw = b"".join(b"\x00" + rows[y].tobytes() for y in range(h))
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")
    Path(path).write_bytes(png)


def main():
    die_with_parent()
    ap = argparse.ArgumentParser()
    ap.add_argument("source")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--history", type=int, default=20)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--log", required=True)
    ap.add_argument("-o", "--output", required=True)
    a = ap.parse_args()
    import numpy as np
    import torch
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    pixels = read_png(a.source)
    if pixels.shape[2] == 1:
        pixels = np.repeat(pixels, 3, axis=2)
    source = torch.tensor(pixels, dtype=torch.float32).permute(2, 0, 1).unsqueeze(0).contiguous()
    net, taps = build(torch, "reflect")
    with torch.no_grad():
        targets = [gram(f) for f in features(net, taps, source)]

    def loss_of(x):
        return sum(1e9 * 0.25 * ((gram(f) - t) ** 2).mean() for f, t in zip(features(net, taps, x), targets))

    mean = source.mean(dim=(2, 3), keepdim=True)
    x = (mean + 0.01 * torch.randn(1, 3, a.size, a.size)).requires_grad_(True)
    # One step() of max_iter iterations, as the method is normally run: step() called once per iteration would
    # evaluate the current point again at each call (one extra evaluation per iteration). No early stop.
    opt = torch.optim.LBFGS([x], lr=1, max_iter=a.steps, max_eval=10 * a.steps, history_size=a.history,
                            line_search_fn="strong_wolfe", tolerance_grad=0, tolerance_change=0)
    state = {"evaluations": 0, "iteration": 0, "best": float("inf"), "seconds": 0.0}
    log = open(a.log, "w")

    def emit():
        # The best loss of the iteration's evaluations so far: L-BFGS accepts the line search's best point.
        log.write(json.dumps({"iteration": state["iteration"], "seconds": round(state["seconds"], 4),
                              "loss": state["best"], "gram_loss": state["best"],
                              "evaluations": state["evaluations"]}) + "\n")
        if state["iteration"] % 25 == 0:
            print(f"iter {state['iteration']}/{a.steps}  loss {state['best']:.4e}  {state['evaluations']} evals  "
                  f"{state['seconds']:.1f} s", file=sys.stderr)

    def closure():
        iteration = opt.state[opt._params[0]].get("n_iter", 0)
        if iteration != state["iteration"]:
            if state["iteration"] > 0:
                emit()
            state["iteration"] = iteration
        opt.zero_grad()
        loss = loss_of(x)
        loss.backward()
        state["evaluations"] += 1
        state["best"] = min(state["best"], float(loss))
        state["seconds"] = time.perf_counter() - start
        return loss

    start = time.perf_counter()
    opt.step(closure)
    emit()
    log.close()
    write_png(a.output, x.detach()[0].permute(1, 2, 0).numpy())


if __name__ == "__main__":
    main()
