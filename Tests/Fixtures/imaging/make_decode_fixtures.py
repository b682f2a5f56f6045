#!/usr/bin/env python3
"""Writes the hostile/unusual image fixtures of Tests/ImagingTests/HostileImageTests.swift into decode/,
with OpenCV's decoded pixels (cv2.imread(path, IMREAD_COLOR), BGR, uint8) beside each image.

    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install opencv-python-headless pillow numpy
    /tmp/venv/bin/python make_decode_fixtures.py

Images: a CMYK JPEG written by Pillow (Adobe, inverted values), a YCCK JPEG written by libjpeg-turbo's
TurboJPEG (tjCompress2 from CMYK pixels, 4:2:0), a baseline JPEG cut at 60 % of its bytes, an 8-bit PNG
with a gAMA chunk of 1.0 (which a colour-managed decoder would change), a 16-bit RGB PNG.
"""
import ctypes, ctypes.util, json, os, struct, zlib
import cv2, numpy as np
from PIL import Image

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "decode")
os.makedirs(OUT, exist_ok=True)
rng = np.random.default_rng(12)


def scene(h, w, c):
    """Smooth gradients plus a little noise: realistic for a codec, deterministic."""
    y, x = np.mgrid[0:h, 0:w]
    planes = [(x * 255 // max(1, w - 1)), (y * 255 // max(1, h - 1)), ((x + y) * 127 // max(1, w + h - 2)) + 64,
              ((x * y) % 256)]
    img = np.stack(planes[:c], axis=-1).astype(np.int32) + rng.integers(-12, 13, size=(h, w, c))
    return np.clip(img, 0, 255).astype(np.uint8)


manifest = {}


def record(name):
    path = os.path.join(OUT, name)
    bgr = cv2.imread(path, cv2.IMREAD_COLOR)
    assert bgr is not None, name
    raw = os.path.join(OUT, os.path.splitext(name)[0] + ".bgr.u8")
    bgr.astype(np.uint8).tofile(raw)
    manifest[name] = {"shape": list(bgr.shape), "bgr": os.path.basename(raw)}


# CMYK (Pillow writes an Adobe marker and inverted CMYK, as Photoshop does).
Image.fromarray(scene(17, 23, 4), mode="CMYK").save(os.path.join(OUT, "cmyk_23x17.jpg"), quality=90)
record("cmyk_23x17.jpg")

# YCCK through TurboJPEG (CMYK pixels in, YCCK JPEG out).
tj = ctypes.CDLL(ctypes.util.find_library("turbojpeg") or "libturbojpeg.so.0")
tj.tjInitCompress.restype = ctypes.c_void_p
tj.tjCompress2.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                           ctypes.POINTER(ctypes.POINTER(ctypes.c_ubyte)), ctypes.POINTER(ctypes.c_ulong),
                           ctypes.c_int, ctypes.c_int, ctypes.c_int]
TJPF_CMYK, TJSAMP_420 = 11, 2
h, w = 21, 30
cmyk = scene(h, w, 4).tobytes()
handle = tj.tjInitCompress()
buf = ctypes.POINTER(ctypes.c_ubyte)()
size = ctypes.c_ulong(0)
assert tj.tjCompress2(ctypes.c_void_p(handle), cmyk, w, 0, h, TJPF_CMYK, ctypes.byref(buf), ctypes.byref(size),
                      TJSAMP_420, 90, 0) == 0
data = ctypes.string_at(buf, size.value)
with open(os.path.join(OUT, "ycck_30x21.jpg"), "wb") as f:
    f.write(data)
record("ycck_30x21.jpg")

# A baseline JPEG cut short: libjpeg warns "Premature end of JPEG file" and fills the rest.
Image.fromarray(scene(48, 64, 3)).save(os.path.join(OUT, "whole_64x48.jpg"), quality=90)
with open(os.path.join(OUT, "whole_64x48.jpg"), "rb") as f:
    whole = f.read()
os.remove(os.path.join(OUT, "whole_64x48.jpg"))
with open(os.path.join(OUT, "truncated_64x48.jpg"), "wb") as f:
    f.write(whole[: len(whole) * 6 // 10])
record("truncated_64x48.jpg")


def chunk(t, payload):
    return struct.pack(">I", len(payload)) + t + payload + struct.pack(">I", zlib.crc32(t + payload) & 0xFFFFFFFF)


def png(path, h, w, depth, color_type, rows, extra=b""):
    raw = b"".join(b"\0" + r for r in rows)
    body = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, color_type, 0, 0, 0)) + extra
            + chunk(b"tEXt", b"Comment\0made by make_decode_fixtures.py") + chunk(b"IDAT", zlib.compress(raw))
            + chunk(b"IEND", b""))
    with open(path, "wb") as f:
        f.write(body)


# 8-bit RGB with gAMA = 1.0 (100000): a gamma-correcting decoder would brighten it; OpenCV does not.
rgb = scene(9, 11, 3)
png(os.path.join(OUT, "gama_11x9.png"), 9, 11, 8, 2, [r.tobytes() for r in rgb], chunk(b"gAMA", struct.pack(">I", 100000)))
record("gama_11x9.png")

# 16-bit RGB: OpenCV keeps the high byte (png_set_strip_16).
rgb16 = (scene(7, 5, 3).astype(np.uint16) * 257 + rng.integers(0, 256, size=(7, 5, 3))).astype(">u2")
png(os.path.join(OUT, "rgb16_5x7.png"), 7, 5, 16, 2, [r.tobytes() for r in rgb16])
record("rgb16_5x7.png")

manifest["opencv"] = cv2.__version__
with open(os.path.join(OUT, "manifest.json"), "w") as f:
    json.dump(manifest, f, indent=1, sort_keys=True)
print(json.dumps(manifest, indent=1))
