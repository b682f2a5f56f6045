#!/usr/bin/env python3
"""Make the small fixtures the Swift tests compare against, from the mmdetection reference outputs.

Usage: python3 make_fixtures.py /path/to/shared/reference
(numpy only; run from anywhere; writes beside this script and into ../imaging/)

Large arrays are not copied whole: each array keeps a fixed strided subset of its elements (row-major
index 0, s, 2s, ...; about 4096 values) plus its sum, sum of |x| and max |x| over all elements, so a
test can check both the sampled values and the whole tensor. Small arrays are kept whole (stride 1).
manifest.json lists, per array: shape, dtype, stride, file, sum, abs_sum, max_abs.
"""
import hashlib
import json
import os
import shutil
import struct
import sys
import zlib

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
IMAGING = os.path.join(HERE, "..", "imaging")


def keep(manifest, out_dir, name, arr, whole=False, target=4096):
    arr = np.ascontiguousarray(arr)
    flat = arr.reshape(-1)
    stride = 1 if whole or flat.size <= 2 * target else flat.size // target
    sub = flat[::stride]
    if arr.dtype == np.uint8:
        ext, raw, dtype = "u8", sub.astype(np.uint8).tobytes(), "uint8"
    else:
        ext, raw, dtype = "f32", sub.astype("<f4").tobytes(), "float32"
    fname = f"{name}.{ext}"
    with open(os.path.join(out_dir, fname), "wb") as f:
        f.write(raw)
    f64 = flat.astype(np.float64)
    manifest[name] = {
        "shape": list(arr.shape), "dtype": dtype, "stride": stride, "file": fname,
        "sum": float(f64.sum()), "abs_sum": float(np.abs(f64).sum()), "max_abs": float(np.abs(f64).max()),
    }


def png_rgba(width, height, pixels, color_type, channels):
    """A minimal 8-bit PNG writer (zlib only)."""
    def chunk(kind, data):
        c = struct.pack(">I", len(data)) + kind + data
        return c + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    rows = b"".join(b"\x00" + bytes(pixels[y * width * channels:(y + 1) * width * channels]) for y in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def main():
    ref = sys.argv[1]
    small = os.path.join(ref, "r50_seed1_small", "small_192x320")
    load = lambda f: np.load(os.path.join(small, f))
    m = {}
    keep(m, HERE, "input_tensor", load("input_tensor.npz")["arr"])
    b = load("backbone_outs.npz")
    for k in ("C2", "C3", "C4", "C5"):
        keep(m, HERE, k, b[k])
    f = load("fpn_outs.npz")
    for k in ("P2", "P3", "P4", "P5", "P6"):
        keep(m, HERE, k, f[k])
    r = load("rpn_head_raw.npz")
    for k in r.files:
        keep(m, HERE, k, r[k])
    pre = load("rpn_pre_nms.npz")
    keep(m, HERE, "pre_nms_scores", pre["scores"], whole=True)
    keep(m, HERE, "pre_nms_proposals", pre["proposals"], whole=True)
    keep(m, HERE, "rpn_proposals", load("rpn_proposals.npz")["arr"], whole=True)
    keep(m, HERE, "sem_logits_quarter", load("sem_logits_quarter.npz")["arr"])
    keep(m, HERE, "sem_logits_full", load("sem_logits_full.npz")["arr"])
    sf = load("sem_final.npz")
    keep(m, HERE, "sem_argmax", sf["argmax"], whole=True)
    keep(m, HERE, "sem_margin", sf["top1_minus_top2"], whole=True)
    # Final dense results of two other cases: R-101 (seed 3) on the small image, R-50 on the coffee image
    # (resized to 720x960, padded to 736x960). Semantic argmax with 255 where the top two logits are
    # within 1e-4 (near-ties that may flip).
    for tag, folder in (("r101", os.path.join(ref, "r101_seed3_small", "small_192x320")),
                        ("coffee", os.path.join(ref, "r50_seed1_full", "coffee_375x500"))):
        keep(m, HERE, f"{tag}_rpn_proposals", np.load(os.path.join(folder, "rpn_proposals.npz"))["arr"], whole=True)
        sem = np.load(os.path.join(folder, "sem_final.npz"))
        am = sem["argmax"].astype(np.uint8).copy()
        am[sem["top1_minus_top2"] <= 1e-4] = 255
        keep(m, HERE, f"{tag}_sem_argmax_ties255", am, whole=True)
    with open(os.path.join(HERE, "manifest.json"), "w") as fh:
        json.dump(m, fh, indent=1, sort_keys=True)

    # Imaging: the JPEGs, the SHA-256 of OpenCV's decoded BGR bytes, and the resize reference.
    os.makedirs(IMAGING, exist_ok=True)
    im, images = {}, {}
    for name, folder in (("small_192x320", small),
                         ("coffee_375x500", os.path.join(ref, "r50_seed1_full", "coffee_375x500"))):
        shutil.copyfile(os.path.join(ref, "images", name + ".jpg"), os.path.join(IMAGING, name + ".jpg"))
        d = np.load(os.path.join(folder, "decoded_bgr_uint8.npz"))["arr"]
        images[name] = {"shape": list(d.shape), "sha256": hashlib.sha256(np.ascontiguousarray(d).tobytes()).hexdigest()}
    resized = np.load(os.path.join(ref, "r50_seed1_full", "coffee_375x500", "resized_bgr_float32.npz"))["arr"]
    keep(im, IMAGING, "coffee_resized_bgr", resized)
    # A PNG with alpha (OpenCV drops it) and a grey one (OpenCV replicates it), with their expected BGR.
    rng = np.random.default_rng(0)
    rgba = rng.integers(0, 256, size=(5, 7, 4), dtype=np.uint8)
    with open(os.path.join(IMAGING, "rgba_5x7.png"), "wb") as fh:
        fh.write(png_rgba(7, 5, rgba.reshape(-1).tolist(), 6, 4))
    keep(im, IMAGING, "rgba_5x7_bgr", rgba[:, :, 2::-1], whole=True)
    grey = rng.integers(0, 256, size=(3, 4), dtype=np.uint8)
    with open(os.path.join(IMAGING, "grey_3x4.png"), "wb") as fh:
        fh.write(png_rgba(4, 3, grey.reshape(-1).tolist(), 0, 1))
    keep(im, IMAGING, "grey_3x4_bgr", np.repeat(grey[:, :, None], 3, axis=2), whole=True)
    with open(os.path.join(IMAGING, "manifest.json"), "w") as fh:
        json.dump(im, fh, indent=1, sort_keys=True)
    with open(os.path.join(IMAGING, "images.json"), "w") as fh:
        json.dump(images, fh, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
