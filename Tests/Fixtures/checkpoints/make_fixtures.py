"""Writes the checkpoint fixtures of TorchCheckpointTests with real torch, and their expectations.

    python3 -m venv /tmp/venv-torch && /tmp/venv-torch/bin/pip install torch numpy safetensors
    /tmp/venv-torch/bin/python make_fixtures.py        # run in this folder

Every fixture is small. `expected.json` maps each file to either the tensors a reader must find (every
tensor reachable from the root, named by the dotted path of dict keys and list indices, with dtype,
shape and the SHA-256 of its row-major little-endian bytes after conj/neg are resolved), or the error
message fragment a reader must report. `torch_load` records what torch.load(weights_only=True) does.
"""
import collections
import hashlib
import io
import json
import os
import pickle
import struct
import tarfile
import zipfile

import numpy as np
import torch

torch.manual_seed(0)
rng = np.random.default_rng(0)
EXPECTED = {}


def raw_bytes(t):
    t = t.resolve_conj().resolve_neg()
    c = torch.empty(t.shape, dtype=t.dtype)
    if t.numel():
        c.copy_(t) if t.dtype not in (torch.float4_e2m1fn_x2,) else c.view(torch.uint8).copy_(t.view(torch.uint8))
    return bytes(c.untyped_storage())[: c.numel() * c.element_size()]


def np_bytes(a):
    a = np.ascontiguousarray(a)
    return a.astype(a.dtype.newbyteorder("<")).tobytes()


NP_NAMES = {"f8": "float64", "f4": "float32", "f2": "float16", "i1": "int8", "i2": "int16", "i4": "int32",
            "i8": "int64", "u1": "uint8", "u2": "uint16", "u4": "uint32", "u8": "uint64", "b1": "bool",
            "c8": "complex64", "c16": "complex128"}


def walk(v, path, out):
    def join(c):
        return c if not path else path + "." + c
    if isinstance(v, torch.Tensor):
        out[path] = {"dtype": str(v.dtype).replace("torch.", ""), "shape": list(v.shape),
                     "sha256": hashlib.sha256(raw_bytes(v)).hexdigest()}
    elif isinstance(v, (np.ndarray, np.generic)):
        a = np.asarray(v)
        out[path] = {"dtype": NP_NAMES[a.dtype.kind + str(a.dtype.itemsize)], "shape": list(a.shape),
                     "sha256": hashlib.sha256(np_bytes(a)).hexdigest()}
    elif isinstance(v, dict):
        for k, x in v.items():
            walk(x, join(str(k)), out)
    elif isinstance(v, (list, tuple)):
        for i, x in enumerate(v):
            walk(x, join(str(i)), out)
    return out


def torch_load(path):
    try:
        torch.load(path, weights_only=True)
        return "loads"
    except Exception as e:  # noqa: BLE001
        return "fails: " + str(e).splitlines()[0][:160]


def expect_ok(name, obj, **extra):
    EXPECTED[name] = {"tensors": walk(obj, "", {}), "torch_load": torch_load(name), **extra}


def expect_error(name, fragment):
    EXPECTED[name] = {"error": fragment, "torch_load": torch_load(name)}


def save(obj, name, **kw):
    torch.save(obj, name, **kw)
    return obj


# --- every dtype -------------------------------------------------------------------------------
def mixed():
    d = collections.OrderedDict()
    d["f64"] = torch.randn(2, 3, dtype=torch.float64)
    d["f32"] = torch.randn(3, 4)
    d["f16"] = torch.randn(5).half()
    d["bf16"] = torch.randn(2, 2).bfloat16()
    d["i8"] = torch.tensor([-128, -1, 0, 1, 127], dtype=torch.int8)
    d["i16"] = torch.tensor([-32768, 7, 32767], dtype=torch.int16)
    d["i32"] = torch.tensor([[-(2 ** 31), 5], [6, 2 ** 31 - 1]], dtype=torch.int32)
    d["i64"] = torch.tensor([-(2 ** 63), 2 ** 63 - 1, 3])
    d["u8"] = torch.tensor([0, 200, 255], dtype=torch.uint8)
    d["bool"] = torch.tensor([True, False, True])
    d["c64"] = torch.randn(3, dtype=torch.complex64)
    d["c128"] = torch.randn(2, dtype=torch.complex128)
    d["scalar"] = torch.tensor(3.5)
    d["empty"] = torch.zeros(0, 3)
    d["num_batches_tracked"] = torch.tensor(0)
    return d


def new_dtypes():
    d = collections.OrderedDict()
    d["u16"] = torch.tensor([0, 1, 65535], dtype=torch.uint16)
    d["u32"] = torch.tensor([0, 2 ** 32 - 1], dtype=torch.uint32)
    d["u64"] = torch.tensor([0, 2 ** 63 + 5], dtype=torch.uint64)
    d["f8_e4m3fn"] = torch.randn(4).to(torch.float8_e4m3fn)
    d["f8_e5m2"] = torch.randn(4).to(torch.float8_e5m2)
    d["f8_e4m3fnuz"] = torch.randn(4).to(torch.float8_e4m3fnuz)
    d["f8_e5m2fnuz"] = torch.randn(4).to(torch.float8_e5m2fnuz)
    d["f8_e8m0fnu"] = torch.rand(4).add(0.5).to(torch.float8_e8m0fnu)
    d["f4x2"] = torch.tensor([0x12, 0x34, 0xAB], dtype=torch.uint8).view(torch.float4_e2m1fn_x2)
    d["c32"] = torch.randn(3, dtype=torch.complex64).to(torch.complex32)
    return d


expect_ok("a_mixed_dtypes.pth", save(mixed(), "a_mixed_dtypes.pth"))
expect_ok("a2_new_dtypes.pth", save(new_dtypes(), "a2_new_dtypes.pth"))
expect_ok("d_mixed_dtypes_legacy.pth", save(mixed(), "d_mixed_dtypes_legacy.pth", _use_new_zipfile_serialization=False))


# --- views sharing storages, saved through a file object (prefix "archive") ----------------------
def views():
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    cube = torch.arange(60, dtype=torch.float64).reshape(3, 4, 5)
    v = collections.OrderedDict()
    v["base"] = base
    v["transposed"] = base.t()
    v["rows_1_3"] = base[1:3]
    v["cols_2_5"] = base[:, 2:5]
    v["every_other_col"] = base[:, ::2]
    v["flat_5_17"] = base.view(-1)[5:17]
    v["element_2_3"] = base[2, 3]
    v["empty_rows"] = base[4:]
    v["expanded"] = torch.tensor([1.0, 2.0]).view(2, 1).expand(2, 3)
    v["permuted_3d"] = cube.permute(2, 0, 1)[1:4, :, 1:3]
    v["int_step"] = torch.arange(30, dtype=torch.int16)[3::4]
    v["shared_list"] = [base[0], base[3]]
    return v


buf = io.BytesIO()
torch.save(views(), buf)
open("b_views.pth", "wb").write(buf.getvalue())
expect_ok("b_views.pth", views(), prefix="archive")
expect_ok("d2_views_legacy.pth", save(views(), "d2_views_legacy.pth", _use_new_zipfile_serialization=False))

z = torch.tensor([1 + 2j, -3 + 0.5j, 4 - 1j], dtype=torch.complex64)
conj_neg = {"conj": z.conj(), "neg_f32": torch._neg_view(torch.tensor([1.0, -2.0, 0.0])),
            "neg_i64": torch._neg_view(torch.tensor([5, -7, 0])), "neg_conj": torch._neg_view(z.conj()),
            "plain": z}
expect_ok("b2_conj_neg.pth", save(conj_neg, "b2_conj_neg.pth"))


# --- a module state dict, parameters, tensors with attributes ------------------------------------
net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.Linear(2, 2))
sd = net.state_dict()
tagged = torch.ones(2)
tagged.note = "hello"
obj = {"state_dict": sd, "param": torch.nn.Parameter(torch.randn(2, 2)), "tagged": tagged}
expect_ok("c_state_dict.pth", save(obj, "c_state_dict.pth"))

opt = torch.optim.SGD(net.parameters(), lr=0.02, momentum=0.9)
net(torch.randn(1, 3, 4, 4)).sum().backward() if False else None
for p in net.parameters():
    p.grad = torch.randn_like(p)
opt.step()
sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=[100, 200], gamma=0.1)
d2 = {"model": net.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
      "iteration": 123, "__author__": "fixture"}
with open("c_detectron2_style.pth", "wb") as f:
    torch.save(d2, f)
expect_ok("c_detectron2_style.pth", d2, prefix="archive")

py = {"set": {1, 2, 3}, "complex": 1.5 - 2j, "bytes": b"\x00\xffabc", "bytearray": bytearray(b"xyz"),
      "big": [2 ** 31, 2 ** 63, 2 ** 100, -(2 ** 70), -1, -(2 ** 31)], "float": 0.1, "none": None, "yes": True,
      "tuple": (1, "two", 3.0), "device": torch.device("cuda", 1), "size": torch.Size([2, 3]),
      "dtype": torch.float16, "nested": [[{"t": torch.tensor([7])}]], "unicode": "δx"}
expect_ok("c2_python_types.pth", save(py, "c2_python_types.pth"))

meta = {"CLASSES": ("person", "rider", "car"), "mmdet_version": "2.28.2", "config": "model = dict(type='PanopticFPN')\n"}
tiny_sd = collections.OrderedDict([("backbone.conv1.weight", torch.randn(4, 3, 3, 3)), ("backbone.bn1.weight", torch.randn(4)),
                                   ("backbone.bn1.num_batches_tracked", torch.tensor(0)), ("head.fc.weight", torch.randn(2, 4)),
                                   ("head.fc.bias", torch.randn(2))])
expect_ok("mmdet_tiny.pth", save({"meta": meta, "state_dict": tiny_sd}, "mmdet_tiny.pth"))
bare = collections.OrderedDict(("module." + k, v) for k, v in tiny_sd.items())
expect_ok("bare_module_prefix.pth", save(bare, "bare_module_prefix.pth"))

for proto in (3, 4, 5):
    expect_ok(f"p{proto}_protocol.pth", save({"w": torch.randn(3, 2), "n": 5, "s": "x" * 300}, f"p{proto}_protocol.pth", pickle_protocol=proto))


# --- big-endian: the same storages byte-swapped, `byteorder` = big --------------------------------
be_obj = collections.OrderedDict([("f32", torch.randn(2, 3)), ("i16", torch.tensor([1, -2, 300], dtype=torch.int16)),
                                  ("f64", torch.randn(3, dtype=torch.float64)), ("c64", torch.randn(2, dtype=torch.complex64)),
                                  ("u8", torch.tensor([1, 2, 3], dtype=torch.uint8)), ("f32_t", None)])
be_obj["f32_t"] = be_obj["f32"].t()
torch.save(be_obj, "tmp_le.pth")
units = {"0": 4, "1": 2, "2": 8, "3": 4, "4": 1}


def swap(data, unit):
    return b"".join(data[i:i + unit][::-1] for i in range(0, len(data), unit))


with zipfile.ZipFile("tmp_le.pth") as zin, zipfile.ZipFile("be_zip.pth", "w", zipfile.ZIP_STORED) as zout:
    for info in zin.infolist():
        data = zin.read(info)
        rel = info.filename.split("/", 1)[1]
        if rel == "byteorder":
            data = b"big"
        elif rel.startswith("data/"):
            data = swap(data, units[rel[5:]])
        zout.writestr(info.filename, data)
os.remove("tmp_le.pth")
expect_ok("be_zip.pth", be_obj)

# The legacy stream, big-endian: sys_info says so; counts and storages are swapped.
legacy_obj = collections.OrderedDict([("f32", torch.randn(3)), ("i64", torch.tensor([1, -5])), ("f16", torch.randn(2, 2).half())])
torch.save(legacy_obj, "tmp_legacy.pth", _use_new_zipfile_serialization=False)
raw = open("tmp_legacy.pth", "rb").read()
os.remove("tmp_legacy.pth")


class Anything:
    def __init__(self, *a, **k):
        pass

    def __setstate__(self, state):
        pass

    def __setitem__(self, k, v):
        pass


pids = []


class Collect(pickle.Unpickler):
    def persistent_load(self, pid):
        pids.append(pid)
        return None

    def find_class(self, module, name):
        return name if name.endswith("Storage") else Anything


bio = io.BytesIO(raw)
offsets = [0]
objs = []
for _ in range(5):
    objs.append(Collect(bio).load())
    offsets.append(bio.tell())
keys = objs[4]
elem = {"FloatStorage": 4, "LongStorage": 8, "HalfStorage": 2}
key_unit = {p[2]: elem[p[1]] for p in pids}
out = raw[:offsets[2]] + pickle.dumps({"protocol_version": 1001, "little_endian": False,
                                       "type_sizes": {"short": 2, "int": 4, "long": 4}}, protocol=2) + raw[offsets[3]:offsets[5]]
pos = offsets[5]
for k in keys:
    n = struct.unpack("<q", raw[pos:pos + 8])[0]
    out += struct.pack(">q", n) + swap(raw[pos + 8:pos + 8 + n * key_unit[k]], key_unit[k])
    pos += 8 + n * key_unit[k]
open("be_legacy.pth", "wb").write(out)
expect_ok("be_legacy.pth", legacy_obj)


# --- detectron2-style .pkl files with numpy arrays ------------------------------------------------
def d2_model():
    m = collections.OrderedDict()
    m["backbone.stem.conv1.weight"] = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    m["backbone.stem.conv1.norm.running_var"] = rng.random(4).astype(np.float32)
    m["half"] = rng.standard_normal(5).astype(np.float16)
    m["double"] = rng.standard_normal((2, 2))
    m["long"] = np.arange(6, dtype=np.int64).reshape(2, 3)
    m["bytes_u8"] = np.array([1, 2, 250], dtype=np.uint8)
    m["flags"] = np.array([True, False])
    m["big_endian"] = np.arange(4, dtype=">f4")
    m["fortran"] = np.asfortranarray(np.arange(12, dtype=np.int32).reshape(3, 4))
    m["zero_d"] = np.array(2.5, dtype=np.float32)
    return {"model": m, "__author__": "fixture", "matching_heuristics": True, "scalar": np.float32(1.25)}


for proto in (2, 4, 5):
    d2obj = d2_model()
    with open(f"f_d2_p{proto}.pkl", "wb") as f:
        pickle.dump(d2obj, f, protocol=proto)
    EXPECTED[f"f_d2_p{proto}.pkl"] = {"tensors": walk(d2obj, "", {}), "torch_load": torch_load(f"f_d2_p{proto}.pkl")}


# --- hostile and broken files --------------------------------------------------------------------
class Evil:
    def __init__(self, f, arg):
        self.f, self.arg = f, arg

    def __reduce__(self):
        return (self.f, (self.arg,))


class Unknown:
    pass


save({"x": Evil(os.system, "echo pwned > /tmp/pwned")}, "h_os_system.pth")
expect_error("h_os_system.pth", "posix.system is not allowed")
save({"x": Evil(eval, "1+1")}, "h_eval.pth")
expect_error("h_eval.pth", "builtins.eval is not allowed")
save({"x": Unknown()}, "h_unknown_global.pth")
expect_error("h_unknown_global.pth", "__main__.Unknown is not allowed")
save({"f": os.system, "w": torch.ones(2)}, "h_global_not_called.pth")
expect_error("h_global_not_called.pth", "posix.system is not allowed")
open("h_stack_global.pkl", "wb").write(pickle.dumps(Evil(os.system, "echo pwned"), protocol=4))
expect_error("h_stack_global.pkl", "posix.system is not allowed")
open("h_inst.pkl", "wb").write(b"\x80\x02(X\x04\x00\x00\x00echoios\nsystem\n.")
expect_error("h_inst.pkl", "os.system is not allowed")
open("h_ext.pkl", "wb").write(b"\x80\x02\x82\x01.")
expect_error("h_ext.pkl", "is not allowed")

good = open("a_mixed_dtypes.pth", "rb").read()
open("e_truncated_half.pth", "wb").write(good[: len(good) // 2])
expect_error("e_truncated_half.pth", "end-of-central-directory")
legacy = open("d_mixed_dtypes_legacy.pth", "rb").read()
open("e_truncated_legacy.pth", "wb").write(legacy[: len(legacy) - 10])
expect_error("e_truncated_legacy.pth", "truncated")

with zipfile.ZipFile("a_mixed_dtypes.pth") as zin:
    info = zin.getinfo("a_mixed_dtypes/data/1")
    local = info.header_offset
raw = bytearray(good)
name_len, extra_len = struct.unpack("<HH", raw[local + 26: local + 30])
raw[local + 30 + name_len + extra_len] ^= 0x01
open("e_crc_mismatch.pth", "wb").write(bytes(raw))
expect_error("e_crc_mismatch.pth", "a_mixed_dtypes/data/1' fails its CRC-32 check")


def hand_zip(name, pickle_bytes, records, prefix="archive"):
    with zipfile.ZipFile(name, "w", zipfile.ZIP_STORED) as z:
        z.writestr(prefix + "/data.pkl", pickle_bytes)
        z.writestr(prefix + "/byteorder", "little")
        for k, v in records.items():
            z.writestr(prefix + "/data/" + k, v)
        z.writestr(prefix + "/version", "3\n")


def tensor_pickle(cls, numel, offset, size, stride, key="0"):
    """{'t': _rebuild_tensor_v2(('storage', torch.<cls>, key, 'cpu', numel), offset, size, stride, False, OrderedDict())}"""
    def tup(xs):
        return b"(" + b"".join(b"J" + struct.pack("<i", x) for x in xs) + b"t"
    return (b"\x80\x02}X\x01\x00\x00\x00tctorch._utils\n_rebuild_tensor_v2\n("
            + b"(X\x07\x00\x00\x00storagectorch\n" + cls.encode() + b"\nX" + struct.pack("<I", len(key)) + key.encode()
            + b"X\x03\x00\x00\x00cpuJ" + struct.pack("<i", numel) + b"tQ"
            + b"J" + struct.pack("<i", offset) + tup(size) + tup(stride)
            + b"\x89ccollections\nOrderedDict\n)Rtr" + struct.pack("<I", 0) + b"Rs.").replace(b"tr\x00\x00\x00\x00R", b"tR")


hand_zip("e_view_out_of_bounds.pth", tensor_pickle("FloatStorage", 8, 2, (3, 3), (3, 1)), {"0": bytes(32)})
expect_error("e_view_out_of_bounds.pth", "out of bounds")
hand_zip("e_storage_too_small.pth", tensor_pickle("FloatStorage", 60, 0, (6, 10), (10, 1)), {"0": bytes(24)})
expect_error("e_storage_too_small.pth", "holds 24 bytes but its storage needs 240")
hand_zip("e_record_missing.pth", tensor_pickle("FloatStorage", 2, 0, (2,), (1,), key="7"), {"0": bytes(8)})
expect_error("e_record_missing.pth", "data/7' is missing")
hand_zip("e_negative_stride.pth", tensor_pickle("FloatStorage", 4, 3, (4,), (-1,)), {"0": bytes(16)})
expect_error("e_negative_stride.pth", "negative")
hand_zip("g_hand_ok.pth", tensor_pickle("IntStorage", 6, 1, (2, 2), (1, 2)), {"0": struct.pack("<6i", 1, 2, 3, 4, 5, 6)})
EXPECTED["g_hand_ok.pth"] = {"tensors": {"t": {"dtype": "int32", "shape": [2, 2],
                             "sha256": hashlib.sha256(struct.pack("<4i", 2, 4, 3, 5)).hexdigest()}}, "torch_load": torch_load("g_hand_ok.pth")}
assert torch.load("g_hand_ok.pth")["t"].tolist() == [[2, 4], [3, 5]]

with tarfile.open("e_tar_format.tar", "w") as t:
    data = b"\x80\x02K\x01."
    ti = tarfile.TarInfo("pickle")
    ti.size = len(data)
    t.addfile(ti, io.BytesIO(data))
expect_error("e_tar_format.tar", "tar checkpoint format")
torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), "e_torchscript.pt")
expect_error("e_torchscript.pt", "TorchScript")

with open("expected.json", "w") as f:
    json.dump(EXPECTED, f, indent=1, sort_keys=True)
print(len(EXPECTED), "fixtures")

# --- a safetensors file written by the safetensors library itself ---------------------------------
from safetensors.torch import save_file  # noqa: E402

save_file({"f32": torch.arange(6, dtype=torch.float32).reshape(2, 3), "f16": torch.tensor([0.5, -1, 2]).half(),
           "bf16": torch.tensor([1.0, -3.0]).bfloat16(), "i64": torch.tensor(7), "empty": torch.zeros(0, 3),
           "bool": torch.tensor([True, False])}, "st_reference.safetensors", metadata={"format": "pt"})

# Every dtype safetensors and torch share, for the PyTorch writer round trip (check_zoo_pth.py checks
# what `zoo convert st_all_dtypes.safetensors -o X.pth` writes, with torch.load(weights_only=True)).
all_dtypes = {k: v for k, v in {**mixed(), **new_dtypes()}.items() if v.dtype not in (torch.complex32, torch.complex128)}
all_dtypes["f32_2d"] = torch.randn(3, 5)
save_file(all_dtypes, "st_all_dtypes.safetensors")


# --- ZIP64 everywhere (what torch writes past 4 GiB), on a small file ------------------------------
def zip64_everything(src, dst):
    """Rewrites a zip so every central-directory size and offset goes through a ZIP64 extra field,
    local headers carry ZIP64 extras and torch's FB padding (64-byte aligned data), sizes come in
    24-byte data descriptors, and the end records are ZIP64 with a saturated classic EOCD."""
    with zipfile.ZipFile(src) as z:
        items = [(i.filename, z.read(i)) for i in z.infolist()]
    out, central = bytearray(), []
    for name, data in items:
        n = name.encode()
        crc = zipfile.crc32(data)
        offset = len(out)
        z64 = struct.pack("<HHQQ", 1, 16, 0, 0)
        pad = (64 - (offset + 30 + len(n) + len(z64) + 4) % 64) % 64
        extra = z64 + struct.pack("<HH", 0x4246, pad) + b"Z" * pad
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0x0808, 0, 0, 0, 0, 0xFFFFFFFF, 0xFFFFFFFF, len(n), len(extra)) + n + extra
        assert len(out) % 64 == 0
        out += data
        out += struct.pack("<IIQQ", 0x08074B50, crc, len(data), len(data))
        cd_extra = struct.pack("<HHQQQ", 1, 24, len(data), len(data), offset)
        central.append(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0x0808, 0, 0, 0, crc, 0xFFFFFFFF, 0xFFFFFFFF,
                                   len(n), len(cd_extra), 0, 0, 0, 0, 0xFFFFFFFF) + n + cd_extra)
    cd_start = len(out)
    for c in central:
        out += c
    cd_size = len(out) - cd_start
    z64_eocd = len(out)
    out += struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 0x031E, 45, 0, 0, len(items), len(items), cd_size, cd_start)
    out += struct.pack("<IIQI", 0x07064B50, 0, z64_eocd, 1)
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    open(dst, "wb").write(bytes(out))


zip64_everything("g_hand_ok.pth", "z_zip64_records.pth")
EXPECTED["z_zip64_records.pth"] = dict(EXPECTED["g_hand_ok.pth"], torch_load=torch_load("z_zip64_records.pth"))
assert zipfile.ZipFile("z_zip64_records.pth").testzip() is None
with open("expected.json", "w") as f:
    json.dump(EXPECTED, f, indent=1, sort_keys=True)
