#!/bin/bash
# Whole-process `zoo run` on one image, and its stages, for each environment (release build):
#   Benchmarks/run-stages.sh WEIGHTS.safetensors IMAGE [RUNS]
# (WEIGHTS from `make_weights.py spec_r50.json --seed 1 --safetensors W` or `zoo convert`.) For each of
# OPENBLAS_CORETYPE as set, unset, and ZOO_GEMM=openblas with each, prints the median of RUNS runs:
# wall time and peak RSS from /usr/bin/time, then the --profile stage times of the median run.
set -euo pipefail
W=$1
IMG=$2
RUNS=${3:-5}
ZOO=${ZOO:-$(cd "$(dirname "$0")/.." && pwd)/.build/release/zoo}
T=$(mktemp -d /tmp/zoo-run-stages.XXXXXX)
trap 'rm -rf "$T"' EXIT
run_env() {
  local tag=$1; shift
  for i in $(seq "$RUNS"); do
    env "$@" /usr/bin/time -f "TIME %e %M" "$ZOO" run --weights "$W" "$IMG" -o "$T/out" --profile >"$T/$i.log" 2>&1
    echo "$(grep '^TIME' "$T/$i.log" | awk '{print $2}') $i"
  done | sort -n > "$T/order"
  local mid=$(( (RUNS + 1) / 2 ))
  local pick=$(sed -n "${mid}p" "$T/order" | awk '{print $2}')
  local all=$(awk '{printf "%s ", $1}' "$T/order")
  local rss=$(grep '^TIME' "$T/$pick.log" | awk '{printf "%.0f", $3 / 1024}')
  echo "== $tag: median $(sed -n "${mid}p" "$T/order" | awk '{print $1}') s (all: $all), peak RSS $rss MB"
  grep -E '^(sgemm|stage|preprocess|backbone|fpn|rpn|semantic_head|bbox_head|mask_head|mask_paste|semantic_resize|fusion|total)' "$T/$pick.log"
}
CT=${OPENBLAS_CORETYPE:-}
if [ -n "$CT" ]; then run_env "OPENBLAS_CORETYPE=$CT" OPENBLAS_CORETYPE="$CT"; fi
run_env "OPENBLAS_CORETYPE unset" -u OPENBLAS_CORETYPE
if [ -n "$CT" ]; then run_env "OPENBLAS_CORETYPE=$CT, ZOO_GEMM=openblas" OPENBLAS_CORETYPE="$CT" ZOO_GEMM=openblas; fi
run_env "OPENBLAS_CORETYPE unset, ZOO_GEMM=openblas" -u OPENBLAS_CORETYPE ZOO_GEMM=openblas
