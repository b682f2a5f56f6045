#!/bin/bash
# Throughput of `zoo run` as cores are added (taskset), for automatic pipelines and for one pipeline:
#   Benchmarks/scale-sweep.sh [IMAGES]          (default 8 copies of the 1280x720 street image)
# Environment: CORES="1 2 4 ..." (default: powers of 2 up to nproc, and nproc), MODES="auto 1" (what
# --pipelines gets; auto: the flag left out), ZOO (default .build/release/zoo), IMAGE (default the
# 1280x720 fixture), ARCH (r50). Weights are synthetic (--synthetic ARCH): speed does not depend on them.
# Prints, per mode and core count: the pipelines chosen, seconds per image with start-up included
# (wall time / images) and excluded (from the first image's decode to the last write, as zoo reports
# it, minus the weight loading), and the parallel efficiency against one core of the same mode.
set -euo pipefail
N=${1:-8}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
ZOO=${ZOO:-$ROOT/.build/release/zoo}
IMAGE=${IMAGE:-$ROOT/Tests/Fixtures/reference-heads/images/street_720x1280.jpg}
ARCH=${ARCH:-r50}
NPROC=$(nproc)
if [ -z "${CORES:-}" ]; then
  CORES=""; c=1
  while [ "$c" -lt "$NPROC" ]; do CORES="$CORES $c"; c=$((c * 2)); done
  CORES="$CORES $NPROC"
fi
MODES=${MODES:-auto 1}
T=$(mktemp -d /tmp/zoo-scale-sweep.XXXXXX)
trap 'rm -rf "$T"' EXIT
mkdir -p "$T/images"
for i in $(seq -f '%03g' 1 "$N"); do cp "$IMAGE" "$T/images/img-$i.jpg"; done
echo "zoo run --synthetic $ARCH on $N image(s) of $(basename "$IMAGE"); $(grep -o -m1 'avx512f\|avx2' /proc/cpuinfo || echo 'no avx2'); OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-(unset)}"
printf '%-6s %5s %9s %12s %12s %8s %8s\n' mode cores pipelines 's/img(all)' 's/img(run)' eff(all) eff(run)
for mode in $MODES; do
  base_all=""; base_run=""
  for c in $CORES; do
    flag=()
    [ "$mode" != auto ] && flag=(--pipelines "$mode")
    start=$(date +%s.%N)
    taskset -c "0-$((c - 1))" "$ZOO" run --synthetic "$ARCH" "$T/images" -o "$T/out" --profile "${flag[@]}" > "$T/log" 2>&1 \
      || { cat "$T/log"; exit 1; }
    end=$(date +%s.%N)
    bound=$(sed -n 's/.*weights bound in \([0-9.]*\) s.*/\1/p' "$T/log")
    total=$(sed -n 's/^wrote .* in \([0-9.]*\) s$/\1/p' "$T/log")
    k=$(sed -n 's/^pipelines: \([0-9]*\) x.*/\1/p' "$T/log")
    all=$(echo "($end - $start) / $N" | bc -l)
    run=$(echo "($total - $bound) / $N" | bc -l)
    [ -z "$base_all" ] && { base_all=$(echo "$all * $c" | bc -l); base_run=$(echo "$run * $c" | bc -l); }
    printf '%-6s %5d %9s %12.3f %12.3f %7.0f%% %7.0f%%\n' "$mode" "$c" "$k" "$all" "$run" \
      "$(echo "100 * $base_all / ($c * $all)" | bc -l)" "$(echo "100 * $base_run / ($c * $run)" | bc -l)"
  done
done
