#!/usr/bin/env bash
# `zoo convert` against `md5sum` on the same checkpoint: warm page cache, RUNS alternating runs of each,
# the best wall times and their ratio (the goal: convert <= 1.5x md5sum), the mean CPU time (user + sys)
# and the peak RSS (/usr/bin/time -f %M).
# convert runs as it does for a file (the source MD5 computed, the output fsynced and renamed).
#   /tmp/venv-torch/bin/python Benchmarks/make_r101_pth.py /tmp/big.pth
#   swift build -c release --product zoo
#   Benchmarks/convert-vs-md5sum.sh /tmp/big.pth [RUNS]
# ZOO=path/to/zoo picks another binary; OUT_DIR=dir puts the temporary output folder there (default
# $TMPDIR, else /tmp): the output is fsynced, so the disk under it counts.
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

# once LABEL CMD...: one run; prints it and keeps the best wall time (and that run's RSS) and the CPU times.
declare -A BEST RSS CPU
once() {
  local label=$1; shift
  rm -f "$OUT/out.safetensors"
  /usr/bin/time -f "%e %M %U %S" -o "$OUT/t" "$@" > /dev/null
  read -r wall rss user sys < "$OUT/t"
  printf '%-8s %6.2f s  cpu %5.2f s  peak RSS %7.1f MB\n' "$label" "$wall" "$(echo "$user + $sys" | bc -l)" "$(echo "$rss / 1024" | bc -l)"
  if [ -z "${BEST[$label]:-}" ] || [ "$(echo "$wall < ${BEST[$label]}" | bc -l)" = 1 ]; then BEST[$label]=$wall; RSS[$label]=$rss; fi
  CPU[$label]=$(echo "${CPU[$label]:-0} + $user + $sys" | bc -l)
}

# Alternating, so both see the same machine (a shared machine's load changes from second to second).
for i in $(seq "$RUNS"); do
  once md5sum md5sum "$PTH"
  once convert "$ZOO" convert "$PTH" -o "$OUT/out.safetensors"
done
MD5=${BEST[md5sum]}; CONV=${BEST[convert]}

echo
printf 'file          %s (%d bytes)\n' "$PTH" "$(stat -c %s "$PTH")"
printf 'cpu           %s, %s cores, %s\n' "$(grep -o -m1 'avx512f\|avx2' /proc/cpuinfo | sort -u | tr '\n' ' ' || true)" "$(nproc)" "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE-unset}"
printf 'load          %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
printf 'md5sum        best %.2f s  mean cpu %.2f s  peak RSS %.1f MB\n' "$MD5" "$(echo "${CPU[md5sum]} / $RUNS" | bc -l)" "$(echo "${RSS[md5sum]} / 1024" | bc -l)"
printf 'zoo convert   best %.2f s  mean cpu %.2f s  peak RSS %.1f MB\n' "$CONV" "$(echo "${CPU[convert]} / $RUNS" | bc -l)" "$(echo "${RSS[convert]} / 1024" | bc -l)"
printf 'ratio         %.2fx wall, best of %d each (goal <= 1.5x)\n' "$(echo "$CONV / $MD5" | bc -l)" "$RUNS"
