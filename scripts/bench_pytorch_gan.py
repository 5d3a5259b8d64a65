"""PyTorch baseline for `txn bench gan`: the seed project's spatial GAN (PSGAN family) and one iteration of its
training loop, timed the way txn times its own (warm-up, then the median of --repeats), plus one generation of a
--generate x --generate image in evaluation mode without gradients, and the process's peak RSS.

Networks (written here from the seed's description, same layers in the same nn.Sequential order):
  generator      ConvTranspose2d(k4, s2, p1) 64->512->256->128->64->3, BatchNorm2d + ReLU after each but the last,
                 Tanh after the last; weights N(0, 0.02), biases 0
  discriminator  Conv2d(k4, s2, p1) 3->64->128->256->512->1, LeakyReLU(0.2) after the first, BatchNorm2d +
                 LeakyReLU(0.2) after the middle three, Sigmoid after the last
Iteration (the seed's order): D on a real batch (label 1), backward; G(z); D on G(z).detach() (label 0), backward;
D's Adam step; D on G(z) (label 1), backward through D into G; G's Adam step. Losses: binary_cross_entropy on the
sigmoid outputs. Adam lr 5e-5, betas (0.5, 0.999), weight decay 1e-8.

    python3 scripts/bench_pytorch_gan.py --threads 2 --crop 256 --batch 8 --repeats 3
prints one JSON object with the keys of `txn bench gan --json`.
"""
import argparse, json, resource, statistics, time
from die_with_parent import die_with_parent


def networks(torch):
    nn = torch.nn

    def gen_layers(ch=(64, 512, 256, 128, 64, 3)):
        layers = []
        for i in range(1, len(ch)):
            layers.append(nn.ConvTranspose2d(ch[i - 1], ch[i], 4, stride=2, padding=1))
            layers += [nn.BatchNorm2d(ch[i]), nn.ReLU()] if i < len(ch) - 1 else [nn.Tanh()]
        return layers

    def disc_layers(ch=(3, 64, 128, 256, 512, 1)):
        layers = [nn.Conv2d(ch[0], ch[1], 4, stride=2, padding=1), nn.LeakyReLU(0.2)]
        for i in range(2, len(ch) - 1):
            layers += [nn.Conv2d(ch[i - 1], ch[i], 4, stride=2, padding=1), nn.BatchNorm2d(ch[i]), nn.LeakyReLU(0.2)]
        layers += [nn.Conv2d(ch[-2], ch[-1], 4, stride=2, padding=1), nn.Sigmoid()]
        return layers

    class Generator(nn.Module):
        def __init__(self):
            super().__init__()
            self.generate = nn.Sequential(*gen_layers())
            for m in self.modules():
                if isinstance(m, nn.ConvTranspose2d):
                    m.weight.data.normal_(0, 0.02)
                    m.bias.data.zero_()

        def forward(self, z):
            return self.generate(z)

    class Discriminator(nn.Module):
        def __init__(self):
            super().__init__()
            self.discriminate = nn.Sequential(*disc_layers())
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    m.weight.data.normal_(0, 0.02)
                    m.bias.data.zero_()

        def forward(self, x):
            r = self.discriminate(x)
            return r.view(r.shape[0], r.shape[2] * r.shape[3])

    return Generator(), Discriminator()


def main():
    die_with_parent()
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--crop", type=int, default=256)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--generate", type=int, default=1024)
    ap.add_argument("--repeats", type=int, default=5)
    a = ap.parse_args()
    import torch
    from torch.nn.functional import binary_cross_entropy as bce
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    G, D = networks(torch)
    opt = dict(lr=5e-5, betas=(0.5, 0.999), weight_decay=1e-8)
    optG, optD = torch.optim.Adam(G.parameters(), **opt), torch.optim.Adam(D.parameters(), **opt)
    i = torch.arange(3 * a.batch * a.crop * a.crop, dtype=torch.int64)
    real = (((i * 7919) % 256).float() / 127.5 - 1).reshape(a.batch, 3, a.crop, a.crop)

    def iteration():
        optD.zero_grad()
        out = D(real)
        bce(out, torch.full(out.shape, 1.0)).backward()
        z = torch.empty(a.batch, 64, a.crop // 32, a.crop // 32).uniform_(-1, 1)
        fake = G(z)
        out = D(fake.detach())
        bce(out, torch.full(out.shape, 0.0)).backward()
        optD.step()
        optG.zero_grad()
        out = D(fake)
        bce(out, torch.full(out.shape, 1.0)).backward()
        optG.step()

    def timed(fn):
        fn()  # warm-up
        times = []
        for _ in range(a.repeats):
            t = time.perf_counter(); fn(); times.append(time.perf_counter() - t)
        return statistics.median(times)

    step = timed(iteration)
    G.eval()
    z = torch.empty(1, 64, a.generate // 32, a.generate // 32).uniform_(-1, 1)

    def generate():
        with torch.no_grad():
            G(z)

    gen = timed(generate)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"threads": a.threads, "train_step_s": round(step, 4),
                      f"generate_{a.generate}_s": round(gen, 4), "peak_rss_mib": round(peak, 1)}))


if __name__ == "__main__":
    main()
