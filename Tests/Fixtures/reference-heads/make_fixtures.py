"""Copies the reference arrays the RoI-head / fusion / `zoo run` tests compare into compact raw files.

Usage: python3 make_fixtures.py /path/to/shared/reference   (writes next to this script; numpy only)

Formats (all little-endian):
  *.f32   float32 values, row-major, shape given in the test
  *.i32   int32 values
  *.bits  booleans packed 8 per byte, least-significant bit first (np.packbits(bitorder="little"))
  *.runs  run-length pairs int32 (value, count) over the row-major flattened int map
Files are the ones the tests read; shapes are in manifest.json.
"""
import json
import os
import shutil
import sys

import numpy as np

ref = sys.argv[1]
out = os.path.dirname(os.path.abspath(__file__))
manifest = {}


def put(name, arr, kind):
    path = os.path.join(out, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    a = np.asarray(arr)
    if kind == "f32":
        data = a.astype("<f4").tobytes()
    elif kind == "i32":
        data = a.astype("<i4").tobytes()
    elif kind == "bits":
        data = np.packbits(a.astype(bool).reshape(-1), bitorder="little").tobytes()
    elif kind == "runs":
        flat = a.reshape(-1).astype(np.int64)
        change = np.flatnonzero(np.diff(flat)) + 1
        starts = np.concatenate([[0], change])
        lengths = np.diff(np.concatenate([starts, [flat.size]]))
        data = np.stack([flat[starts], lengths], 1).astype("<i4").tobytes()
    else:
        raise ValueError(kind)
    with open(path, "wb") as f:
        f.write(data)
    manifest[name] = list(a.shape)


def load(*p):
    z = np.load(os.path.join(ref, *p))
    return {k: z[k] for k in z.files}


def label_channel(mask_pred, labels):
    return mask_pred[np.arange(len(labels)), labels].reshape(len(labels), -1)


# r50_seed1_small: every stage.
s = os.path.join("r50_seed1_small", "small_192x320")
prop = load(s, "rpn_proposals.npz")["arr"]
raw = load(s, "bbox_head_raw.npz")
before = load(s, "bbox_before_nms.npz")
after = load(s, "bbox_after_nms.npz")
mask = load(s, "mask_head_raw.npz")
pasted = load(s, "masks_pasted.npz")
lay = load(s, "fusion_lay_masks.npz")
put("small/proposals.f32", prop, "f32")
put("small/bbox_feats_first10.f32", raw["bbox_feats_first100"][:10], "f32")
put("small/cls_score.f32", raw["cls_score"], "f32")
put("small/bbox_pred.f32", raw["bbox_pred"], "f32")
put("small/bboxes.f32", before["bboxes"], "f32")
put("small/scores.f32", before["scores"], "f32")
put("small/det_bboxes.f32", after["det_bboxes"], "f32")
put("small/det_labels.i32", after["det_labels"], "i32")
put("small/mask_rois.f32", mask["mask_rois"][:, 1:], "f32")
put("small/mask_pred_label.f32", label_channel(mask["mask_pred"], after["det_labels"]), "f32")
put("small/mask_pred_first2.f32", mask["mask_pred"][:2], "f32")
put("small/masks_bin.bits", pasted["masks_bin"], "bits")
put("small/masks_first3.f32", pasted["masks"][:3], "f32")
put("small/id_map.runs", lay["id_map"], "runs")
put("small/instance_labels.i32", lay["instance_labels"], "i32")
put("small/sem_argmax.runs", load(s, "sem_final.npz")["argmax"], "runs")
put("small/pan_results.runs", load(s, "pan_results.npz")["arr"], "runs")
shutil.copy(os.path.join(ref, "r50_seed1_small", "pan_seg.json"), os.path.join(out, "small", "pan_seg.json"))

# r101_seed3_small: final stages.
s = os.path.join("r101_seed3_small", "small_192x320")
after = load(s, "bbox_after_nms.npz")
put("r101_small/det_bboxes.f32", after["det_bboxes"], "f32")
put("r101_small/det_labels.i32", after["det_labels"], "i32")
shutil.copy(os.path.join(ref, "r101_seed3_small", "pan_seg.json"), os.path.join(out, "r101_small", "pan_seg.json"))

# r50_seed1_full: final stages of both images.
for name in ("street_720x1280", "coffee_375x500"):
    s = os.path.join("r50_seed1_full", name)
    after = load(s, "bbox_after_nms.npz")
    mask = load(s, "mask_head_raw.npz")
    put(f"{name}/proposals.f32", load(s, "rpn_proposals.npz")["arr"], "f32")
    put(f"{name}/det_bboxes.f32", after["det_bboxes"], "f32")
    put(f"{name}/det_labels.i32", after["det_labels"], "i32")
    put(f"{name}/mask_pred_label.f32", label_channel(mask["mask_pred"], after["det_labels"]), "f32")
    put(f"{name}/sem_argmax.runs", load(s, "sem_final.npz")["argmax"], "runs")
    put(f"{name}/id_map.runs", load(s, "fusion_lay_masks.npz")["id_map"], "runs")
    put(f"{name}/pan_results.runs", load(s, "pan_results.npz")["arr"], "runs")
shutil.copy(os.path.join(ref, "r50_seed1_full", "pan_seg.json"), os.path.join(out, "full_pan_seg.json"))
os.makedirs(os.path.join(out, "images"), exist_ok=True)
for img in ("small_192x320.jpg", "street_720x1280.jpg", "coffee_375x500.jpg"):
    shutil.copy(os.path.join(ref, "images", img), os.path.join(out, "images", img))

with open(os.path.join(out, "manifest.json"), "w") as f:
    json.dump(manifest, f, indent=1, sort_keys=True)
