"""Checks a PyTorch checkpoint written by `zoo convert X.safetensors -o Y.pth` with real torch:
torch.load(weights_only=True) must load it, and every tensor must equal the safetensors source.

    zoo convert st_all_dtypes.safetensors -o /tmp/all.pth
    /tmp/venv-torch/bin/python check_zoo_pth.py st_all_dtypes.safetensors /tmp/all.pth
"""
import sys

import torch
from safetensors.torch import load_file

src, pth = sys.argv[1], sys.argv[2]
a = torch.load(pth, weights_only=True)
b = load_file(src)
assert set(a) == set(b), (set(a) ^ set(b))
for k in b:
    x, y = a[k], b[k]
    assert x.dtype == y.dtype and x.shape == y.shape, (k, x.dtype, y.dtype, x.shape, y.shape)
    nb = y.numel() * y.element_size()
    assert bytes(x.contiguous().untyped_storage())[:nb] == bytes(y.contiguous().untyped_storage())[:nb], k
print(f"OK: {len(b)} tensors, torch.load(weights_only=True) of {pth} matches {src}")
