#!/usr/bin/env python3
"""Generates the PQ fixtures of Tests/PanopticTests by running the official BDD100K evaluator.

    python3 -m venv /tmp/venv-eval
    /tmp/venv-eval/bin/pip install bdd100k scalabel "pydantic<2"
    /tmp/venv-eval/bin/python Tests/Fixtures/eval/make_fixtures.py

Every case is a folder under cases/ holding the inputs of one or both routes:
  gt.json, pred.json           Scalabel frames with COCO RLE (the RLE route)
  gt/, pred/                   BDD100K bitmask PNGs (the bitmask route)
and, for each route the official tool was run on:
  official_rle.json / official_bitmask.json     its --out-file output, or
  official_rle.crash / official_bitmask.crash   its exit code and last stderr line when it crashed.
The official command is `python -m bdd100k.eval.run -t pan_seg -g GT -r PRED --nproc 1 --out-file F`.
cases/<case>/README.txt says what the case checks. Only python generates these files; the tests never run it.
"""
import json
import os
import random
import shutil
import subprocess
import sys

import numpy as np
from PIL import Image
import pycocotools.mask as mask_utils

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = os.path.join(HERE, "cases")
PY = sys.executable

NAMES = ["unlabeled", "dynamic", "ego vehicle", "ground", "static", "parking", "rail track", "road",
         "sidewalk", "bridge", "building", "fence", "garage", "guard rail", "tunnel", "wall", "banner",
         "billboard", "lane divider", "parking sign", "pole", "polegroup", "street light",
         "traffic cone", "traffic device", "traffic light", "traffic sign", "traffic sign frame",
         "terrain", "vegetation", "sky", "person", "rider", "bicycle", "bus", "car", "caravan",
         "motorcycle", "trailer", "train", "truck"]
CAT = {n: i for i, n in enumerate(NAMES)}


def rle(mask):
    r = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"counts": r["counts"].decode("ascii"), "size": [int(mask.shape[0]), int(mask.shape[1])]}


class Seg:
    """One segment: a category (name or id), an instance id, attributes bits and a mask."""

    def __init__(self, cat, iid, mask, crowd=False, ignored=False, label_id=None, attrs=None):
        self.cat = cat
        self.iid = iid
        self.mask = mask
        self.crowd = crowd
        self.ignored = ignored
        self.label_id = label_id if label_id is not None else str(iid)
        self.attrs = attrs


def box(h, w, y0, y1, x0, x1):
    m = np.zeros((h, w), dtype=bool)
    m[y0:y1, x0:x1] = True
    return m


def frame_json(name, segs, size=None, with_labels=True):
    labels = []
    for s in segs:
        attrs = s.attrs
        if attrs is None:
            attrs = {}
            if s.crowd:
                attrs["crowd"] = True
            if s.ignored:
                attrs["ignored"] = True
            if not attrs:
                attrs = None
        cat = s.cat if isinstance(s.cat, str) else NAMES[s.cat]
        labels.append({"id": s.label_id, "category": cat, "attributes": attrs, "rle": rle(s.mask)})
    f = {"name": name}
    if with_labels:
        f["labels"] = labels
    return f


def bitmask(h, w, segs):
    if segs:
        h, w = segs[0].mask.shape
    img = np.zeros((h, w, 4), dtype=np.uint8)
    for s in segs:
        cat = CAT[s.cat] if isinstance(s.cat, str) else s.cat
        img[s.mask, 0] = cat
        img[s.mask, 1] = (2 if s.crowd else 0) | (1 if s.ignored else 0)
        img[s.mask, 2] = s.iid >> 8
        img[s.mask, 3] = s.iid & 255
    return img


def run_official(case_dir, gt, pred, route):
    out = os.path.join(case_dir, f"official_{route}.json")
    crash = os.path.join(case_dir, f"official_{route}.crash")
    for p in (out, crash):
        if os.path.exists(p):
            os.remove(p)
    cmd = [PY, "-m", "bdd100k.eval.run", "-t", "pan_seg", "-g", gt, "-r", pred, "--nproc", "1",
           "--out-file", out]
    p = subprocess.run(cmd, cwd=case_dir, capture_output=True, text=True)
    if p.returncode != 0:
        lines = [l for l in p.stderr.strip().split("\n") if "Error" in l] or p.stderr.strip().split("\n")
        last = lines[-1]
        with open(crash, "w") as fp:
            fp.write(f"{p.returncode}\n{last}\n")
        if os.path.exists(out):
            os.remove(out)
    else:
        # Keep only the table the official tool logs (after "run.py:... run] ").
        table = p.stderr.split(" run] \n", 1)[1].rstrip("\n") + "\n"
        with open(os.path.join(case_dir, f"official_{route}.table.txt"), "w") as fp:
            fp.write(table)


def write_case(name, about, frames, routes=("rle", "bitmask"), pred_frames=None, extra_json=None,
               png_ext=".png", gt_json_frames=None, pred_json_frames=None, bitmask_skip_pred=()):
    """frames: list of (frame name, h, w, gt segs, pred segs or None for a missing prediction)."""
    d = os.path.join(CASES, name)
    if os.path.exists(d):
        shutil.rmtree(d)
    os.makedirs(d)
    with open(os.path.join(d, "README.txt"), "w") as fp:
        fp.write(about.strip() + "\n")
    if "rle" in routes:
        gt = gt_json_frames if gt_json_frames is not None else [
            frame_json(n, g) for n, h, w, g, p in frames]
        pred = pred_json_frames if pred_json_frames is not None else [
            frame_json(n, p) for n, h, w, g, p in frames if p is not None]
        if extra_json:
            pred += extra_json
        with open(os.path.join(d, "gt.json"), "w") as fp:
            json.dump(gt, fp)
        with open(os.path.join(d, "pred.json"), "w") as fp:
            json.dump({"frames": pred}, fp)
        run_official(d, "gt.json", "pred.json", "rle")
    if "bitmask" in routes:
        os.makedirs(os.path.join(d, "gt"))
        os.makedirs(os.path.join(d, "pred"))
        for n, h, w, g, p in frames:
            stem = os.path.splitext(n)[0]
            Image.fromarray(bitmask(h, w, g)).save(os.path.join(d, "gt", stem + ".png"))
            if p is not None and n not in bitmask_skip_pred:
                pimg = p if isinstance(p, np.ndarray) else bitmask(h, w, p)
                Image.fromarray(pimg).save(os.path.join(d, "pred", stem + png_ext))
        run_official(d, "gt", "pred", "bitmask")


def hand_cases():
    H, W = 8, 12
    B = lambda *a: box(H, W, *a)
    # 1. Basic: stuff and things, TP / FN / FP, unlabeled pixels, IoU strictly above 0.5.
    road = B(4, 8, 0, 12)
    sky = B(0, 2, 0, 12)
    car1 = B(2, 4, 0, 4)            # 8 px
    car2 = B(2, 4, 6, 10)           # 8 px
    gt = [Seg("road", 7, road), Seg("sky", 30, sky), Seg("car", 31, car1), Seg("car", 32, car2)]
    # pred car1 exact; pred car2 shifted: IoU 4/12 -> FN + FP; road slightly smaller (IoU 0.75)
    pred = [Seg("road", 7, B(5, 8, 0, 12)), Seg("car", 1001, car1), Seg("car", 1002, B(2, 4, 8, 12)),
            Seg("sky", 30, B(0, 1, 0, 12))]
    # 2. IoU exactly 0.5 is not a match; uncovered fraction exactly 0.5 is still a FP.
    person = B(0, 4, 0, 4)          # 16 px
    gt2 = [Seg("person", 31, person), Seg("building", 10, B(4, 8, 0, 12))]
    pred2 = [Seg("person", 1000, B(0, 4, 0, 2) | B(0, 4, 4, 6)),    # inter 8, union 24 -> 1/3
             Seg("building", 10, B(6, 8, 0, 12)),                   # IoU 0.5 exactly -> FN + FP
             Seg("bus", 2000, B(0, 2, 8, 12))]                      # on unlabeled: not FP
    gt2b = [Seg("person", 31, person), Seg("wall", 15, B(4, 8, 4, 12))]
    pred2b = [Seg("person", 1000, B(0, 4, 0, 4)),
              Seg("car", 2000, B(2, 6, 6, 8)),      # 8 px, 4 on wall, 4 unlabeled: inv_iof 0.5 -> FP
              Seg("truck", 3000, B(1, 6, 9, 10))]   # 5 px, 2 on wall, 3 unlabeled: not FP
    frames = [("a.jpg", H, W, gt, pred), ("b.jpg", H, W, gt2, pred2), ("c.jpg", H, W, gt2b, pred2b)]
    write_case("basic", """
TP, FP and FN for stuff and things; a prediction on unlabeled pixels is not a FP; IoU exactly 0.5
is not a match; an uncovered fraction of exactly 0.5 still counts as FP, above 0.5 it does not.
""", frames)

    # 3. Crowd and ignored GT; crowd / ignored predictions.
    gt3 = [Seg("road", 7, B(4, 8, 0, 12)), Seg("car", 31, B(0, 4, 0, 4), crowd=True),
           Seg("person", 32, B(0, 4, 4, 8), ignored=True), Seg("rider", 33, B(0, 4, 8, 12))]
    pred3 = [Seg("road", 7, B(4, 8, 0, 12)),
             Seg("car", 1000, B(0, 4, 0, 4)),          # on crowd GT: not FP
             Seg("person", 1001, B(0, 4, 4, 8)),       # on ignored GT: not FP
             Seg("rider", 1002, B(0, 4, 8, 12), crowd=True)]  # matches, but crowd -> GT FN
    frames3 = [("crowd.jpg", H, W, gt3, pred3)]
    write_case("crowd_ignored", """
Crowd and ignored GT act as unlabeled pixels; a prediction on them is not a FP. A crowd prediction
is never a TP or FP: the GT it covers is a FN.
""", frames3)

    # 4. A prediction that splits a stuff class over two instance ids: merged on the RLE route only.
    gt4 = [Seg("road", 7, B(4, 8, 0, 12)), Seg("sky", 30, B(0, 4, 0, 12))]
    pred4 = [Seg("road", 7, B(4, 8, 0, 6)), Seg("road", 50, B(4, 8, 6, 12)), Seg("sky", 30, B(0, 4, 0, 12))]
    write_case("stuff_split", """
A prediction splitting road over two ids: the RLE route merges them (TP), the bitmask route does not
(IoU 0.5 each: FN and two FPs).
""", [("s.jpg", H, W, gt4, pred4)])

    # 5. Missing and extra prediction frames.
    frames5 = [("m1.jpg", H, W, gt, pred), ("m2.jpg", H, W, gt2, None)]
    extra = [frame_json("zz_extra.jpg", pred2)]
    write_case("missing_extra", """
The prediction for m2 is missing (all its GT is FN); an extra prediction frame is ignored.
""", frames5, extra_json=extra)
    d = os.path.join(CASES, "missing_extra")
    Image.fromarray(bitmask(H, W, pred2)).save(os.path.join(d, "pred", "zz_extra.png"))
    run_official(d, "gt", "pred", "bitmask")

    # 6. Overlapping predictions drop the whole frame (RLE route).
    pred6 = [Seg("road", 7, B(4, 8, 0, 12)), Seg("car", 1000, B(2, 5, 0, 4)), Seg("car", 1001, B(2, 4, 6, 10))]
    write_case("overlap", """
Two predicted masks share pixels in o1: the official RLE route drops every prediction of o1.
o2 is unaffected.
""", [("o1.jpg", H, W, gt, pred6), ("o2.jpg", H, W, gt, pred)], routes=("rle",))

    # 7. Unknown categories are dropped from GT and predictions; non-numeric GT ids; "unlabeled".
    gt7 = [Seg("road", 7, B(4, 8, 0, 12), label_id="road-a"), Seg("car", 31, car1, label_id="c-1"),
           Seg("unlabeled", 0, B(0, 2, 0, 12), label_id="x"), Seg("lane", 0, B(2, 4, 6, 12), label_id="y")]
    gt7[3].cat = "lane marking"
    pred7 = [Seg("road", 7, B(4, 8, 0, 12)), Seg("car", 1000, car1), Seg("spaceship", 1001, B(0, 2, 0, 12))]
    write_case("unknown_categories", """
Labels whose category is not one of the 40 (unlabeled, lane marking, spaceship) are deleted from GT
and predictions; GT ids that are not integers are renumbered.
""", [("u.jpg", H, W, gt7, pred7)], routes=("rle",))

    # 8. GT masks of the same stuff class overlapping: pycocotools quirk of the merged mask.
    gt8 = [Seg("road", 7, B(2, 8, 0, 12)), Seg("road", 8, B(4, 6, 0, 6), label_id="8"),
           Seg("car", 31, B(0, 2, 0, 4))]
    pred8 = [Seg("road", 7, B(2, 8, 0, 12)), Seg("car", 1000, B(0, 2, 0, 4))]
    write_case("gt_stuff_overlap", """
Two GT road masks overlap; the official merge sums them (value 2 on the overlap) before pycocotools
encodes the sum, which turns runs of 2 into background.
""", [("g.jpg", H, W, gt8, pred8)], routes=("rle",))

    # 9. Crash cases of the official tool.
    # 9a. GT frame without labels but with predictions (RLE), next to a normal frame.
    write_case("crash_empty_gt", """
A GT frame with no labels but with predictions: the official RLE route crashes
(AttributeError). zoo scores it as contributing nothing (no GT, and predictions on unlabeled pixels
are not FP). official_rle_equivalent.json is the official result without that frame.
""", [("e1.jpg", H, W, gt, pred), ("e2.jpg", H, W, [], pred2)], routes=("rle",))
    eq = os.path.join(CASES, "crash_empty_gt_equiv")
    write_case("crash_empty_gt_equiv", "The crash_empty_gt case without frame e2.",
               [("e1.jpg", H, W, gt, pred)], routes=("rle",))
    shutil.copy(os.path.join(eq, "official_rle.json"),
                os.path.join(CASES, "crash_empty_gt", "official_rle_equivalent.json"))
    shutil.rmtree(eq)

    # 9b. All-crowd predictions (RLE).
    predc = [Seg("car", 1000, car1, crowd=True), Seg("road", 7, road, crowd=True)]
    write_case("crash_all_crowd", """
Every prediction of a frame is crowd: the official RLE route crashes. zoo counts that frame's GT as FN,
as for a missing prediction. official_rle_equivalent.json is the official result with that frame's
prediction removed.
""", [("k1.jpg", H, W, gt, pred), ("k2.jpg", H, W, gt2, predc)], routes=("rle",))
    write_case("crash_all_crowd_equiv", "crash_all_crowd with k2's prediction removed.",
               [("k1.jpg", H, W, gt, pred), ("k2.jpg", H, W, gt2, None)], routes=("rle",))
    shutil.copy(os.path.join(CASES, "crash_all_crowd_equiv", "official_rle.json"),
                os.path.join(CASES, "crash_all_crowd", "official_rle_equivalent.json"))
    shutil.rmtree(os.path.join(CASES, "crash_all_crowd_equiv"))

    # 9c. More than 100 predicted segments (bitmask); the RLE route has no cap and gives the numbers.
    Hb, Wb = 24, 40
    gtb = [Seg("road", 7, box(Hb, Wb, 12, 24, 0, 40))]
    predb = [Seg("road", 7, box(Hb, Wb, 12, 24, 0, 40))]
    k = 0
    for y in range(0, 12, 2):
        for x in range(0, 40, 2):
            m = box(Hb, Wb, y, y + 2, x, x + 2)
            gtb.append(Seg("person", 100 + k, m))
            predb.append(Seg("person", 1000 + k, m if k % 3 else box(Hb, Wb, y, y + 1, x, x + 2)))
            k += 1
    write_case("crash_over_100", f"""
{len(predb)} predicted segments in one frame: the official bitmask route crashes (ValueError,
MAX_DET = 100). The RLE route of the same data has no cap; zoo gives those numbers on both routes.
""", [("big.jpg", Hb, Wb, gtb, predb)])

    # 9d. All-zero prediction PNG (bitmask): crash; zoo treats it as a prediction with no segment.
    zero = np.zeros((H, W, 4), dtype=np.uint8)
    write_case("crash_zero_png", """
A prediction PNG with no segment (all zero): the official bitmask route crashes. zoo counts all GT
of that image as FN. official_bitmask_equivalent.json is the official result with that PNG removed.
""", [("z1.jpg", H, W, gt, pred), ("z2.jpg", H, W, gt2, zero)], routes=("bitmask",))
    write_case("crash_zero_png_equiv", "crash_zero_png without z2's PNG.",
               [("z1.jpg", H, W, gt, pred), ("z2.jpg", H, W, gt2, None)], routes=("bitmask",))
    shutil.copy(os.path.join(CASES, "crash_zero_png_equiv", "official_bitmask.json"),
                os.path.join(CASES, "crash_zero_png", "official_bitmask_equivalent.json"))
    shutil.rmtree(os.path.join(CASES, "crash_zero_png_equiv"))

    # 9e. Size mismatch (both routes): zoo stops with an error.
    write_case("crash_size_mismatch", """
The prediction is 8x10 while the GT is 8x12: the official bitmask route stops with an AssertionError
(zoo stops with an error naming both files); the official RLE route scores every pair as
non-overlapping (pycocotools IoU -1): all GT missed, no FP (zoo gives the same and warns).
""", [("sz.jpg", H, W, gt, [Seg("road", 7, np.ones((8, 10), bool))])])

    # 10. Category 0 valid GT segments in bitmasks and an invalid prediction.
    gt10 = [Seg(0, 5, B(0, 4, 0, 6)), Seg("car", 31, B(4, 8, 0, 4)), Seg("sky", 30, B(0, 4, 6, 12))]
    pred10 = [Seg(0, 9, B(0, 4, 0, 6)), Seg("car", 1000, B(4, 8, 0, 4), ignored=True),
              Seg("bus", 1001, B(4, 8, 6, 12)), Seg("sky", 30, B(0, 4, 6, 12))]
    write_case("bitmask_category0", """
Bitmask route: GT and prediction segments of category 0 (counted but never averaged, and they
cover pixels for the uncovered-area rule), an ignored prediction matching a car (FN).
""", [("c0.jpg", H, W, gt10, pred10)], routes=("bitmask",))


def random_case(name, seed, n_frames, h, w, routes):
    rng = random.Random(seed)
    frames = []
    for f in range(n_frames):
        # GT: stuff background from a few horizontal bands, some pixels unlabeled, things as rectangles.
        gt, pred = [], []
        cat_map = np.zeros((h, w), dtype=np.int32)
        bands = sorted(rng.sample(range(1, h), 3))
        edges = [0] + bands + [h]
        stuff_used = set()
        for b in range(4):
            c = rng.randint(1, 30)
            while c in stuff_used:
                c = rng.randint(1, 30)
            stuff_used.add(c)
            m = np.zeros((h, w), bool)
            m[edges[b]:edges[b + 1], :] = True
            if rng.random() < 0.3:
                m[:, : rng.randint(0, w // 3)] = False   # unlabeled strip
            gt.append(Seg(c, c, m))
        iid = 31
        for t in range(rng.randint(0, 6)):
            y0, x0 = rng.randint(0, h - 4), rng.randint(0, w - 4)
            m = box(h, w, y0, min(h, y0 + rng.randint(2, 10)), x0, min(w, x0 + rng.randint(2, 12)))
            gt.append(Seg(rng.randint(31, 40), iid, m, crowd=rng.random() < 0.1, ignored=rng.random() < 0.05))
            iid += 1
        # Paint to get the visible parts, then build non-overlapping segments from the painted map.
        def visible(segs):
            ids = np.zeros((h, w), dtype=np.int32)
            for s in segs:
                ids[s.mask] = s.iid
            out = []
            for s in segs:
                m = ids == s.iid
                if m.any():
                    out.append(Seg(s.cat, s.iid, m, s.crowd, s.ignored))
            return out
        gt = visible(gt)
        # Prediction: perturb each GT segment (shift, erode), drop some, relabel some, add spurious ones.
        for s in gt:
            r = rng.random()
            if r < 0.1:
                continue
            m = s.mask.copy()
            dy, dx = rng.randint(-2, 2), rng.randint(-2, 2)
            m = np.roll(np.roll(m, dy, axis=0), dx, axis=1)
            cat = s.cat
            if rng.random() < 0.1:
                cat = rng.randint(31, 40) if cat >= 31 else rng.randint(1, 30)
            pid = s.iid if cat <= 30 else 1000 + s.iid
            pred.append(Seg(cat, pid, m, crowd=rng.random() < 0.03))
        for t in range(rng.randint(0, 3)):
            y0, x0 = rng.randint(0, h - 4), rng.randint(0, w - 4)
            m = box(h, w, y0, min(h, y0 + rng.randint(2, 8)), x0, min(w, x0 + rng.randint(2, 8)))
            pred.append(Seg(rng.randint(31, 40), 2000 + t, m))
        # Make predictions disjoint (later wins), like a panoptic map.
        pred = visible(pred)
        pred = [p for p in pred if p.mask.sum() > 0]
        missing = rng.random() < 0.05
        frames.append((f"r{f:03d}.jpg", h, w, gt, None if missing else pred))
    write_case(name, f"Randomised: {n_frames} frames of {h}x{w}, seed {seed}.", frames, routes=routes)


def codec_fixtures():
    """pycocotools strings of masks (bits: np.packbits of the row-major mask, hex), and PIL-written PNGs with their raw RGBA bytes."""
    rng = np.random.RandomState(7)
    cases = []
    def add(m):
        cases.append({"height": int(m.shape[0]), "width": int(m.shape[1]),
                      "bits": np.packbits(m.reshape(-1)).tobytes().hex(),
                      "counts": rle(m)["counts"]})
    add(np.zeros((3, 5), bool))
    add(np.ones((3, 5), bool))
    m = np.zeros((4, 6), bool); m[0, 0] = True; add(m)
    m = np.zeros((4, 6), bool); m[3, 5] = True; add(m)
    for p in (0.02, 0.5, 0.97):
        add(rng.rand(13, 17) < p)
    m = np.ones((200, 240), bool); m[150, 200] = False; m[7, 3] = False; add(m)  # long runs
    m = np.zeros((120, 160), bool); m[30:100, 20:150] = True; m[::7, ::5] = ~m[::7, ::5]; add(m)
    with open(os.path.join(HERE, "rle_cases.json"), "w") as fp:
        json.dump(cases, fp)
    img = rng.randint(0, 256, size=(9, 11, 4)).astype(np.uint8)
    img[0, :, 3] = 0  # transparent pixels keep their colour
    Image.fromarray(img, "RGBA").save(os.path.join(HERE, "rgba_pil.png"))
    # The same PNG with a gAMA chunk of 1.0 after IHDR (PIL ignores it; libpng would convert).
    import struct, zlib
    raw = open(os.path.join(HERE, "rgba_pil.png"), "rb").read()
    body = b"gAMA" + struct.pack(">I", 100000)
    chunk = struct.pack(">I", 4) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)
    with open(os.path.join(HERE, "rgba_pil_gamma.png"), "wb") as fp:
        fp.write(raw[:33] + chunk + raw[33:])
    Image.fromarray(img[:, :, :3], "RGB").save(os.path.join(HERE, "rgb_pil.png"))
    img.tofile(os.path.join(HERE, "rgba_pil.rgba"))
    # Check PIL sees what we wrote even with a gAMA chunk.
    assert (np.asarray(Image.open(os.path.join(HERE, "rgba_pil_gamma.png"))) == img).all()


def default_nproc_probe():
    """The official RLE route without --nproc 1 (the zoo README's command as printed) crashes."""
    d = os.path.join(CASES, "basic")
    cmd = [PY, "-m", "bdd100k.eval.run", "-t", "pan_seg", "-g", "gt.json", "-r", "pred.json", "--nproc", "2"]
    p = subprocess.run(cmd, cwd=d, capture_output=True, text=True)
    lines = [l for l in p.stderr.strip().split("\n") if "Error" in l] or ["(no error)"]
    with open(os.path.join(d, "official_rle_nproc2.crash"), "w") as fp:
        fp.write(f"{p.returncode}\n{lines[-1]}\n")


def main():
    os.makedirs(CASES, exist_ok=True)
    codec_fixtures()
    hand_cases()
    default_nproc_probe()
    random_case("random_a", 1, 30, 24, 40, ("rle", "bitmask"))
    random_case("random_b", 2, 40, 30, 50, ("rle", "bitmask"))
    random_case("random_c", 3, 25, 16, 20, ("rle", "bitmask"))


if __name__ == "__main__":
    main()
