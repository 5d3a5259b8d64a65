"""Makes the small checkpoints the VGG tests read (run with PyTorch installed; the tests do not need it).

torchvision_conv1_1.ckpt: a torchvision-layout state dict (zip format) holding only features.0 (conv1_1)
with weights from a closed formula, so the Swift test can recompute every value:
    weight[o][i][ky][kx] = ((o*27 + i*9 + ky*3 + kx) % 17 - 8) / 64
    bias[o] = (o % 5 - 2) / 8
not_vgg.ckpt: a state dict with unrelated keys, for the "unrecognised checkpoint" error.
"""
import collections
import torch

w = torch.tensor([[[[((o * 27 + i * 9 + ky * 3 + kx) % 17 - 8) / 64 for kx in range(3)] for ky in range(3)]
                   for i in range(3)] for o in range(64)], dtype=torch.float32)
b = torch.tensor([(o % 5 - 2) / 8 for o in range(64)], dtype=torch.float32)
torch.save(collections.OrderedDict([("features.0.weight", w), ("features.0.bias", b)]), "torchvision_conv1_1.ckpt")
torch.save(collections.OrderedDict([("encoder.weight", torch.zeros(2, 2)), ("encoder.bias", torch.zeros(2))]),
           "not_vgg.ckpt")
