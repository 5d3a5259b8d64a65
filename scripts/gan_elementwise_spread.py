#!/usr/bin/env python3
"""PyTorch's own element-wise float32 spread for the GAN parity test (GANParityTests).

gan_parity.json's tolerances are 10x PyTorch's float32-vs-float64 spread of *summaries* (mean, l2, first 8 values, …).
A whole-tensor comparison needs the same figure element by element: this runs the reference iteration of
../shared/reference/gan_parity/make_gan_parity.py in float32 and in float64 on the files there, compares them element
by element the way the test does (relative to max(|float64|, 1e-3 x the tensor's absmax)), and writes the worst
relative difference per group. The test's tolerance is 10x this, never worse than 1e-2.

    python3 scripts/gan_elementwise_spread.py > Tests/TxnGANTests/Fixtures/gan_elementwise_spread.json
"""
import json, os, sys
import torch

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "reference", "gan_parity")
sys.path.insert(0, here)
import make_gan_parity as m

m.stats = lambda t: t.detach().to(torch.float64).clone()  # whole tensors, as make_gan_expected.py records them
torch.set_num_threads(2)
G0 = torch.load(os.path.join(here, "generator_init.pth"), weights_only=True)
D0 = torch.load(os.path.join(here, "discriminator_init.pth"), weights_only=True)
inputs = torch.load(os.path.join(here, "inputs.pth"), weights_only=True)
r32 = m.run(torch.float32, G0, D0, inputs)
r64 = m.run(torch.float64, G0, D0, inputs)


def worst(a, b):
    floor = max(1e-3 * b.abs().max().item(), 1e-30)
    return ((a - b).abs() / torch.clamp(b.abs(), min=floor)).max().item()


# As the test does: D's third forward carries each bias-before-batch-norm's Adam step (rounding noise) into the
# running mean by momentum x that step; that term is taken out of both sides before comparing.
for r in (r32, r64):
    for bias in m.BIAS_BEFORE_BN:
        if bias.startswith("discriminate."):
            mean = "discriminate.%d.running_mean" % (int(bias.split(".")[1]) + 1)
            deltas = r["D_after_minus_before"]
            deltas[mean] = deltas[mean] - 0.1 * deltas[bias]

spread = {}
for group, value in r32.items():
    if isinstance(value, torch.Tensor):
        spread[group] = worst(value, r64[group])
    elif isinstance(value, dict) and all(isinstance(t, torch.Tensor) for t in value.values()):
        keys = [k for k in value if k not in m.BIAS_BEFORE_BN and value[k].is_floating_point()]
        spread[group] = max(worst(value[k], r64[group][k]) for k in keys)
print(json.dumps({"what": "PyTorch " + torch.__version__ + " float32 vs float64, element-wise worst relative difference "
                  "per group (relative to max(|float64|, 1e-3 x absmax)); biases before batch norm left out",
                  "spread": spread}, indent=1, sort_keys=True))
