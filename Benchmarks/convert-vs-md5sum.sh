#!/usr/bin/env bash
# `zoo convert` against `md5sum` on the same checkpoint: warm page cache, best of RUNS wall times each,
# their ratio (the goal: convert <= 1.5x md5sum) and each one's peak RSS (/usr/bin/time -f %M).
# convert runs as it does for a file (the source MD5 computed, the output fsynced and renamed).
#   /tmp/venv-torch/bin/python Benchmarks/make_r101_pth.py /tmp/big.pth
#   swift build -c release --product zoo
#   Benchmarks/convert-vs-md5sum.sh /tmp/big.pth [RUNS]
# ZOO=path/to/zoo picks another binary; OUT_DIR=dir writes the output there (default: a temporary folder
# beside nothing else, in $TMPDIR).
set -euo pipefail
cd "$(dirname "$0")/.."
PTH=${1:?usage: $0 BIG.pth [RUNS]}
RUNS=${2:-5}
ZOO=${ZOO:-.build/release/zoo}
[ -x "$ZOO" ] || { echo "error: $ZOO not built (swift build -c release --product zoo)" >&2; exit 1; }
[ -f "$PTH" ] || { echo "error: no file $PTH" >&2; exit 1; }
OUT=$(mktemp -d "${OUT_DIR:-${TMPDIR:-/tmp}}/convert-bench.XXXXXX")
trap 'rm -rf "$OUT"' EXIT
cat "$PTH" > /dev/null # warm the page cache

# best LABEL CMD...: runs CMD RUNS times, prints every run, leaves the best wall time and its RSS in BEST/BEST_RSS.
best() {
  local label=$1; shift
  BEST=; BEST_RSS=
  for i in $(seq "$RUNS"); do
    rm -f "$OUT/out.safetensors"
    /usr/bin/time -f "%e %M" -o "$OUT/t" "$@" > /dev/null
    read -r wall rss < "$OUT/t"
    printf '%-12s run %d  %6.2f s  peak RSS %7.1f MB\n' "$label" "$i" "$wall" "$(echo "$rss / 1024" | bc -l)"
    if [ -z "$BEST" ] || [ "$(echo "$wall < $BEST" | bc -l)" = 1 ]; then BEST=$wall; BEST_RSS=$rss; fi
  done
}

best md5sum md5sum "$PTH"
MD5=$BEST; MD5_RSS=$BEST_RSS
best convert "$ZOO" convert "$PTH" -o "$OUT/out.safetensors"
CONV=$BEST; CONV_RSS=$BEST_RSS

echo
printf 'file          %s (%d bytes)\n' "$PTH" "$(stat -c %s "$PTH")"
printf 'cpu           %s, %s cores, %s\n' "$(grep -o -m1 'avx512f\|avx2' /proc/cpuinfo || echo 'no avx2')" "$(nproc)" "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE-unset}"
printf 'md5sum        best %.2f s  peak RSS %.1f MB\n' "$MD5" "$(echo "$MD5_RSS / 1024" | bc -l)"
printf 'zoo convert   best %.2f s  peak RSS %.1f MB\n' "$CONV" "$(echo "$CONV_RSS / 1024" | bc -l)"
printf 'ratio         %.2fx (goal <= 1.5x)\n' "$(echo "$CONV / $MD5" | bc -l)"
