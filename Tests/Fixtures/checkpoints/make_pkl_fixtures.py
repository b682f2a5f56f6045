"""Protocol-2 and Python-2-style numpy pickles for the restricted unpickler's tests (run from this folder).

f_np_p2.pkl  pickle.dump(obj, f, protocol=2) by Python 3 with numpy: an empty array's data is `bytes()`
             (builtins.bytes), non-empty data `_codecs.encode(str, 'latin1')`.
f_py2.pkl    what Python 2 writes for the same object (the detectron2 model zoo's .pkl files): the pure-Python
             pickler with fix_imports (`__builtin__`, `copy_reg`) and byte strings as SHORT_BINSTRING /
             BINSTRING, the opcodes of a Python 2 `str` (Python 3 cannot emit them for bytes otherwise).
h_bytes_args.pkl, h_codecs_rot13.pkl  must be refused: bytes() with an argument, _codecs.encode with another codec.
f_np_values.json  the arrays' values as numpy has them.
"""
import io, json, pickle, struct
import numpy as np

obj = {"model": {
    "a": np.arange(6, dtype=np.float32).reshape(2, 3) / 4,
    "e": np.zeros((0,), np.float32),
    "b": np.array([1, -2, 300], np.int64),
    "c": np.array([[0.5, 1e-3]], np.float64),
}}
with open("f_np_p2.pkl", "wb") as f:
    pickle.dump(obj, f, protocol=2)


class Py2Pickler(pickle._Pickler):
    """Python 2's `str` opcodes for byte strings."""
    dispatch = dict(pickle._Pickler.dispatch)

    def save_bytes_py2(self, obj):
        n = len(obj)
        if n < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([n]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", n) + obj)
        self.memoize(obj)
    dispatch[bytes] = save_bytes_py2


buf = io.BytesIO()
Py2Pickler(buf, protocol=2, fix_imports=True).dump(obj)
open("f_py2.pkl", "wb").write(buf.getvalue())

# Hostile: bytes(b'x') and _codecs.encode('x', 'rot13') through REDUCE.
open("h_bytes_args.pkl", "wb").write(b"\x80\x02c__builtin__\nbytes\nq\x00U\x01xq\x01\x85q\x02Rq\x03.")
open("h_codecs_rot13.pkl", "wb").write(b"\x80\x02c_codecs\nencode\nq\x00X\x01\x00\x00\x00xX\x05\x00\x00\x00rot13\x86Rq\x01.")

json.dump({k: {"shape": list(v.shape), "dtype": str(v.dtype), "values": v.ravel().tolist()}
           for k, v in obj["model"].items()}, open("f_np_values.json", "w"), indent=1)
