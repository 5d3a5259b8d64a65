"""PyTorch baseline for `txn bench`: the same network (vgg_normalised.pth up to pool4, reflect padding,
average pooling with ceil_mode), the same Gram loss (G = F F^T / M, 1/4 mean squared error, weight 1e9 on
conv1_1, pool1..pool4), timed the same way (median of --repeats; L-BFGS with history 20 and a strong-Wolfe
line search, time per iteration). Each size runs in a process of its own so its peak RSS is its own.

    pip install torch==2.13.0          # the CPU build
    python3 scripts/bench_pytorch.py --sizes 128,256,512 --threads 2
"""
import argparse, json, resource, statistics, subprocess, sys, time
from die_with_parent import die_with_parent
from pathlib import Path

WEIGHTS = Path(__file__).resolve().parent.parent / "Models" / "vgg_normalised.pth"
CONVS = [2, 5, 9, 12, 16, 19, 22, 25, 29, 32, 35, 38]
POOL_AFTER = {5, 12, 25, 38}  # conv keys followed by a pooling layer


def build(torch, padding):
    nn = torch.nn
    sd = torch.load(WEIGHTS, map_location="cpu", weights_only=True)
    first = nn.Conv2d(3, 3, 1)
    first.weight.data, first.bias.data = sd["0.weight"], sd["0.bias"]
    layers, taps = [first], []
    for key in CONVS:
        w, b = sd[f"{key}.weight"], sd[f"{key}.bias"]
        conv = nn.Conv2d(w.shape[1], w.shape[0], 3, padding=1, padding_mode=padding)
        conv.weight.data, conv.bias.data = w, b
        layers += [conv, nn.ReLU()]
        if key == 2:
            taps.append(len(layers) - 1)
        if key in POOL_AFTER:
            layers.append(nn.AvgPool2d(2, 2, ceil_mode=True))
            taps.append(len(layers) - 1)
    net = nn.Sequential(*layers).eval()
    for p in net.parameters():
        p.requires_grad_(False)
    return net, taps


def features(net, taps, x):
    out = []
    for i, layer in enumerate(net):
        x = layer(x)
        if i in taps:
            out.append(x)
    return out


def gram(f):
    c, m = f.shape[1], f.shape[2] * f.shape[3]
    f = f.reshape(c, m)
    return f @ f.t() / m


def measure(size, repeats, iterations, padding):
    import torch
    net, taps = build(torch, padding)
    i = torch.arange(3 * size * size, dtype=torch.int64)
    source = ((i * 7919) % 256).float().div(255).reshape(1, 3, size, size)
    image = ((i * 104729) % 256).float().div(255).reshape(1, 3, size, size)
    with torch.no_grad():
        targets = [gram(f) for f in features(net, taps, source)]

    def loss_of(x):
        return sum(1e9 * 0.25 * ((gram(f) - t) ** 2).mean() for f, t in zip(features(net, taps, x), targets))

    def timed(fn):
        times = []
        for _ in range(repeats):
            t = time.perf_counter(); fn(); times.append(time.perf_counter() - t)
        return statistics.median(times)

    def forward():
        with torch.no_grad():
            features(net, taps, image)

    def evaluate():
        x = image.clone().requires_grad_(True)
        loss_of(x).backward()

    evaluate()
    fwd, ev = timed(forward), timed(evaluate)
    x = image.clone().requires_grad_(True)
    opt = torch.optim.LBFGS([x], lr=1, max_iter=1, history_size=20, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = loss_of(x)
        loss.backward()
        return loss

    opt.step(closure)
    t = time.perf_counter()
    for _ in range(iterations - 1):
        opt.step(closure)
    it = (time.perf_counter() - t) / (iterations - 1)
    return {"forward_s": fwd, "eval_s": ev, "iter_s": it,
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main():
    die_with_parent()
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="128,256,512")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--iterations", type=int, default=10)
    ap.add_argument("--padding", default="reflect", choices=["reflect", "zeros", "circular"])
    ap.add_argument("--child", type=int)
    a = ap.parse_args()
    if a.child:
        import torch
        torch.set_num_threads(a.threads)
        print(json.dumps(measure(a.child, a.repeats, a.iterations, a.padding)))
        return
    out = {"threads": a.threads, "sizes": {}}
    for s in [int(v) for v in a.sizes.split(",")]:
        r = subprocess.run([sys.executable, __file__, "--child", str(s), "--threads", str(a.threads),
                            "--repeats", str(a.repeats), "--iterations", str(a.iterations), "--padding", a.padding],
                           capture_output=True, text=True, check=True)
        out["sizes"][str(s)] = json.loads(r.stdout.strip().splitlines()[-1])
        m = out["sizes"][str(s)]
        print(f"{s:4d} x {s:<4d} forward {m['forward_s']:.3f} s  forward+backward {m['eval_s']:.3f} s  "
              f"L-BFGS iteration {m['iter_s']:.3f} s  peak RSS {m['peak_rss_mib']:.0f} MiB", file=sys.stderr)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
