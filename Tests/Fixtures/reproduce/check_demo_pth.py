"""Checks the checkpoint `zoo demo` serves (PyTorchWriter.write(_:to:stateDictKey:meta:)) with real torch:
torch.load(weights_only=True) must read it as mmdetection saves checkpoints, {"meta": {...}, "state_dict":
OrderedDict}, with the zoo's R-50 keys, shapes and dtypes (int64 num_batches_tracked included).

    python3 check_demo_pth.py zoo-demo/mirror/models/panoptic_fpn_r50_fpn_1x_pan_seg_bdd100k.pth

Not run by the test suite (no Python at test time); the Swift tests read the same file back through
`zoo convert` (mmdet-panoptic-fpn layout, strict key/shape check).
"""
import collections
import sys

import torch

ckpt = torch.load(sys.argv[1], weights_only=True)
assert isinstance(ckpt, dict) and set(ckpt) == {"meta", "state_dict"}, ckpt.keys()
assert isinstance(ckpt["meta"], dict) and "synthetic" in ckpt["meta"]["source"], ckpt["meta"]
sd = ckpt["state_dict"]
assert isinstance(sd, collections.OrderedDict)
assert len(sd) == 383, len(sd)
assert sd["backbone.conv1.weight"].shape == (64, 3, 7, 7) and sd["backbone.conv1.weight"].dtype == torch.float32
assert sd["backbone.bn1.num_batches_tracked"].dtype == torch.int64
assert sd["backbone.bn1.num_batches_tracked"].shape == ()
print(f"OK: torch {torch.__version__} read {len(sd)} tensors, meta {ckpt['meta']}")
