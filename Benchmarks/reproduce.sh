#!/bin/bash
# zoo reproduce throughput on generated street scenes with synthetic R-50 weights (release build).
#   Benchmarks/reproduce.sh [N_IMAGES] [WxH]      (defaults: 8 images, 1280x720)
# Wall times of a whole run, of the same run as 2 shards (one after the other) and of merge + evaluation,
# with OPENBLAS_CORETYPE as set in the environment, then unset.
set -euo pipefail
N=${1:-8}
SIZE=${2:-1280x720}
ZOO=${ZOO:-$(cd "$(dirname "$0")/.." && pwd)/.build/release/zoo}
W=$(mktemp -d /tmp/zoo-repro-bench.XXXXXX)
trap 'rm -rf "$W"' EXIT
now() { date +%s.%N; }
# The demo leaves a converted synthetic checkpoint in its cache, a registry, and an N-image dataset.
s=$(now); "$ZOO" demo --dir "$W/demo" --images "$N" --size "$SIZE" >/dev/null 2>"$W/demo.err" || { cat "$W/demo.err"; exit 1; }
echo "zoo demo --images $N --size $SIZE: $(echo "$(now) - $s" | bc) s"
export ZOO_HOME="$W/demo/cache"
COMMON=(--data-root "$W/demo/bdd100k" --registry "$W/demo/registry.json" --tolerance 1000 -q)
bench() {
  local tag=$1
  s=$(now); "$ZOO" reproduce r50_1x "${COMMON[@]}" -o "$W/$tag-whole" >/dev/null
  local whole=$(echo "$(now) - $s" | bc)
  s=$(now); "$ZOO" reproduce r50_1x "${COMMON[@]}" -o "$W/$tag-shards" --shard 0/2 >/dev/null
  "$ZOO" reproduce r50_1x "${COMMON[@]}" -o "$W/$tag-shards" --shard 1/2 >/dev/null
  local shards=$(echo "$(now) - $s" | bc)
  s=$(now); "$ZOO" merge "$W/$tag-shards" -o "$W/$tag-merged" --data-root "$W/demo/bdd100k" --registry "$W/demo/registry.json" --tolerance 1000 -q >/dev/null
  local merge=$(echo "$(now) - $s" | bc)
  cmp -s "$W/$tag-whole/pan_seg.json" "$W/$tag-merged/pan_seg.json" && same=identical || same=DIFFERENT
  printf '%-26s whole %6.1f s (%5.2f s/image)   2 shards %6.1f s   merge+eval %5.2f s   merged file %s\n' \
    "$tag" "$whole" "$(echo "$whole / $N" | bc -l)" "$shards" "$merge" "$same"
}
bench "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-(unset)}"
( unset OPENBLAS_CORETYPE; bench "OPENBLAS_CORETYPE unset" )
