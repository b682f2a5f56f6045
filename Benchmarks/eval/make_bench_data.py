#!/usr/bin/env python3
"""Synthetic BDD100K-like panoptic data for benchmarking `zoo eval` against the official evaluator.

    /tmp/venv-eval/bin/python Benchmarks/eval/make_bench_data.py OUT [N_FRAMES=200]

Writes OUT/gt/*.png, OUT/pred/*.png (bitmask route) and OUT/gt.json, OUT/pred.json (RLE route, the
same segments). Frames are 720x1280: sky, buildings, vegetation, sidewalk and road bands with wavy
borders, 5-25 cars / persons / riders (some crowd), a few unlabeled pixels; predictions move every
border by a few pixels, shift instances, drop some and add false positives, as a real model does.
"""
import json
import os
import sys

import numpy as np
import pycocotools.mask as mask_utils
from PIL import Image

H, W = 720, 1280
NAMES = {7: "road", 8: "sidewalk", 10: "building", 29: "vegetation", 30: "sky", 20: "pole",
         26: "traffic sign", 31: "person", 32: "rider", 35: "car", 40: "truck", 34: "bus"}


def wavy(rng, base, amp, period):
    x = np.arange(W)
    return (base + amp * np.sin(2 * np.pi * x / period + rng.uniform(0, 6.28))
            + rng.normal(0, 1.5, W).cumsum() * 0.05).astype(int)


def scene(rng):
    """Returns GT (cat, attr, inst) maps and a list of thing boxes."""
    cat = np.zeros((H, W), np.uint8)
    y = np.arange(H)[:, None]
    horizon = wavy(rng, rng.integers(250, 330), 20, rng.integers(300, 900))
    side = wavy(rng, rng.integers(430, 500), 10, rng.integers(200, 600))
    road = wavy(rng, rng.integers(480, 540), 8, rng.integers(200, 600))
    cat[y < horizon] = 30
    b = (y >= horizon - rng.integers(60, 160)) & (y < side)
    cat[b] = 10
    veg = (np.arange(W)[None, :] % rng.integers(200, 400) < rng.integers(40, 120)) & b
    cat[veg] = 29
    cat[(y >= side) & (y < road)] = 8
    cat[y >= road] = 7
    for _ in range(rng.integers(2, 6)):  # poles and signs
        x0 = rng.integers(0, W - 10)
        cat[150:side.min(), x0:x0 + rng.integers(4, 10)] = 20
        cat[120:160, x0:x0 + 30] = 26
    cat[rng.random((H, W)) < 0.002] = 0            # sparse unlabeled pixels
    cat[-rng.integers(0, 40):, :] = 0 if rng.random() < 0.5 else 7  # sometimes an unlabeled bottom strip
    inst = cat.astype(np.int32).copy()
    inst[cat == 0] = 0
    attr = np.zeros((H, W), np.uint8)
    things = []
    nid = 31
    for _ in range(rng.integers(5, 26)):
        c = rng.choice([35, 35, 35, 31, 31, 32, 40, 34])
        hh = int(rng.integers(20, 160)); ww = int(hh * rng.uniform(0.4, 2.2))
        y0 = int(rng.integers(250, 640)); x0 = int(rng.integers(0, W - ww))
        yy, xx = np.ogrid[:hh, :ww]
        ell = ((yy - hh / 2) / (hh / 2)) ** 2 + ((xx - ww / 2) / (ww / 2)) ** 2 <= 1.0
        sl = (slice(y0, min(H, y0 + hh)), slice(x0, x0 + ww))
        e = ell[: sl[0].stop - y0]
        cat[sl][e] = c
        inst[sl][e] = nid
        attr[sl][e] = 2 if rng.random() < 0.05 else 0
        things.append((c, nid, sl, e))
        nid += 1
    return cat, attr, inst, things


def perturb(rng, cat, inst, things):
    pcat = cat.copy()
    # Move stuff borders: shift each row by a few pixels (different per band of rows).
    for y0 in range(0, H, 16):
        s = int(rng.integers(-4, 5))
        pcat[y0:y0 + 16] = np.roll(pcat[y0:y0 + 16], s, axis=1)
    pcat[pcat >= 31] = 7 if rng.random() < 0.5 else 10
    pcat[pcat == 0] = 7                              # the model labels every pixel
    pinst = pcat.astype(np.int32)                    # stuff: instance id = category id
    k = 1
    for c, _, sl, e in things:
        if rng.random() < 0.1:
            continue
        dy, dx = rng.integers(-6, 7, size=2)
        ys = slice(max(0, sl[0].start + dy), min(H, sl[0].stop + dy))
        xs = slice(max(0, sl[1].start + dx), min(W, sl[1].stop + dx))
        ee = e[: ys.stop - ys.start, : xs.stop - xs.start]
        pc = c if rng.random() > 0.1 else 35
        pcat[ys, xs][ee] = pc
        pinst[ys, xs][ee] = k * 1000 + pc
        k += 1
    for _ in range(rng.integers(0, 4)):
        y0, x0 = int(rng.integers(300, 650)), int(rng.integers(0, W - 80))
        pcat[y0:y0 + 40, x0:x0 + 60] = 31
        pinst[y0:y0 + 40, x0:x0 + 60] = k * 1000 + 31
        k += 1
    return pcat, pinst


def bitmask(cat, attr, inst):
    img = np.zeros((H, W, 4), np.uint8)
    img[..., 0] = cat
    img[..., 1] = attr
    img[..., 2] = (inst >> 8) & 255
    img[..., 3] = inst & 255
    return img


CATS = ["unlabeled", "dynamic", "ego vehicle", "ground", "static", "parking", "rail track", "road", "sidewalk",
        "bridge", "building", "fence", "garage", "guard rail", "tunnel", "wall", "banner", "billboard",
        "lane divider", "parking sign", "pole", "polegroup", "street light", "traffic cone", "traffic device",
        "traffic light", "traffic sign", "traffic sign frame", "terrain", "vegetation", "sky", "person", "rider",
        "bicycle", "bus", "car", "caravan", "motorcycle", "trailer", "train", "truck"]


def labels(cat, attr, inst):
    out = []
    for v in np.unique(inst):
        if v == 0:
            continue
        m = inst == v
        c = int(cat[m][0])
        r = mask_utils.encode(np.asfortranarray(m.astype(np.uint8)))
        l = {"id": str(int(v)), "category": CATS[c], "rle": {"counts": r["counts"].decode(), "size": [H, W]}}
        if attr[m][0] & 2:
            l["attributes"] = {"crowd": True}
        out.append(l)
    return out


def main():
    out = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    os.makedirs(out + "/gt", exist_ok=True)
    os.makedirs(out + "/pred", exist_ok=True)
    rng = np.random.default_rng(2024)
    gts, preds = [], []
    for i in range(n):
        cat, attr, inst, things = scene(rng)
        pcat, pinst = perturb(rng, cat, inst, things)
        name = f"bench{i:04d}"
        Image.fromarray(bitmask(cat, attr, inst)).save(f"{out}/gt/{name}.png")
        Image.fromarray(bitmask(pcat, np.zeros_like(attr), pinst)).save(f"{out}/pred/{name}.png")
        gts.append({"name": name + ".jpg", "labels": labels(cat, attr, inst)})
        preds.append({"name": name + ".jpg", "labels": labels(pcat, np.zeros_like(attr), pinst)})
    json.dump(gts, open(out + "/gt.json", "w"))
    json.dump({"frames": preds}, open(out + "/pred.json", "w"))


if __name__ == "__main__":
    main()
