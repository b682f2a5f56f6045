#!/usr/bin/env bash
# Whole-process time and peak RSS of `zoo convert` on a full-size R-101 checkpoint, against md5sum of
# the same file and a Python torch.load + safetensors save_file. Warm page cache, N runs each.
#   python3 /work/shared/reference/make_weights.py /work/shared/reference/spec_r101.json --seed 3 --pth /tmp/big.pth
#   swift build -c release --product zoo
#   Benchmarks/bench-convert.sh /tmp/big.pth [PYTHON_WITH_TORCH] [N]
set -euo pipefail
cd "$(dirname "$0")/.."
PTH=${1:-/tmp/big.pth}
PY=${2:-/tmp/venv-torch/bin/python}
N=${3:-3}
OUT=$(mktemp -d)
ZOO=.build/release/zoo
cat "$PTH" > /dev/null   # warm the page cache
run() { # label, command...
  local label=$1; shift
  for i in $(seq "$N"); do
    /usr/bin/time -f "%e %M" -o "$OUT/t" "$@" > /dev/null 2>&1
    read -r wall rss < "$OUT/t"
    printf '%-34s run %d  wall %6.2f s  peak RSS %7.1f MB\n' "$label" "$i" "$wall" "$(echo "$rss / 1000" | bc -l)"
  done
}
run "md5sum" md5sum "$PTH"
run "zoo convert" "$ZOO" convert "$PTH" -o "$OUT/zoo.safetensors"
run "zoo convert (OPENBLAS_CORETYPE unset)" env -u OPENBLAS_CORETYPE "$ZOO" convert "$PTH" -o "$OUT/zoo.safetensors"
run "zoo convert --check" "$ZOO" convert "$PTH" -o "$OUT/zoo.safetensors" --check
run "python torch.load + save_file" "$PY" Benchmarks/convert_torch.py "$PTH" "$OUT/py.safetensors"
ls -l "$PTH" "$OUT"/*.safetensors
rm -rf "$OUT"
