"""A full-size R-101 Panoptic FPN checkpoint made by real torch.save, for timing `zoo convert`.

Every key, shape and dtype of the R-101 variant in Converters/mmdet-panoptic-fpn.json (689 tensors,
about 259 MB), filled with seeded random values (float32: torch.randn; int64: small counts, as
`num_batches_tracked` is), in the form mmdetection saves: {"meta": {...}, "state_dict": OrderedDict}.

    python3 -m venv /tmp/venv-torch && /tmp/venv-torch/bin/pip install torch --index-url https://download.pytorch.org/whl/cpu
    /tmp/venv-torch/bin/python Benchmarks/make_r101_pth.py /tmp/big.pth [--seed 3] [--bare]

--bare saves the state dict alone (no wrapper), as some tools do.
"""
import argparse
import collections
import json
import os

import torch

here = os.path.dirname(os.path.abspath(__file__))
ap = argparse.ArgumentParser()
ap.add_argument("out")
ap.add_argument("--seed", type=int, default=3)
ap.add_argument("--bare", action="store_true")
args = ap.parse_args()

layout = json.load(open(os.path.join(here, "..", "Converters", "mmdet-panoptic-fpn.json")))
variant = next(v for v in layout["variants"] if v["name"] == "R-101")
g = torch.Generator().manual_seed(args.seed)
sd = collections.OrderedDict()
for t in variant["tensors"]:
    shape = t["shape"]
    if t["dtype"] == "float32":
        sd[t["key"]] = torch.randn(shape, generator=g, dtype=torch.float32)
    elif t["dtype"] == "int64":
        sd[t["key"]] = torch.randint(0, 1 << 20, shape, generator=g, dtype=torch.int64)
    else:
        raise SystemExit(f"unexpected dtype {t['dtype']} for {t['key']}")

meta = {
    "mmdet_version": "2.28.2",
    "CLASSES": ("person", "rider", "bicycle", "bus", "car", "caravan", "motorcycle", "trailer", "train", "truck"),
    "epoch": 36,
    "iter": 184320,
    "config": "model = dict(type='PanopticFPN', backbone=dict(type='ResNet', depth=101))\n",
}
obj = sd if args.bare else {"meta": meta, "state_dict": sd}
torch.save(obj, args.out)
print(f"wrote {args.out}: {len(sd)} tensors, {os.path.getsize(args.out)} bytes (torch {torch.__version__})")
