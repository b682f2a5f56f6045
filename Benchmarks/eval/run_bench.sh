#!/usr/bin/env bash
# Times `zoo eval` (release) against the official evaluator on the same synthetic data, both routes.
#   python3 -m venv /tmp/venv-eval && /tmp/venv-eval/bin/pip install bdd100k scalabel "pydantic<2"
#   /tmp/venv-eval/bin/python Benchmarks/eval/make_bench_data.py /tmp/bench-eval 200
#   swift build -c release --product zoo
#   Benchmarks/eval/run_bench.sh /tmp/bench-eval
# Prints wall time and peak RSS of each run and checks that the --out-file JSONs are identical.
set -euo pipefail
D=${1:-/tmp/bench-eval}
PY=${PY:-/tmp/venv-eval/bin/python}
ZOO=${ZOO:-$(dirname "$0")/../../.build/release/zoo}
OUT=${OUT:-/tmp/bench-eval-out}
mkdir -p "$OUT"
run() { # name, command...
  local name=$1; shift
  /usr/bin/time -f "$name: %e s wall, %U s user + %S s sys CPU, %M KB peak RSS" "$@" > /dev/null 2> "$OUT/$name.stderr" || { tail -3 "$OUT/$name.stderr"; return 1; }
  tail -1 "$OUT/$name.stderr"
}
run official-rle-nproc1 "$PY" -m bdd100k.eval.run -t pan_seg -g "$D/gt.json" -r "$D/pred.json" --nproc 1 --out-file "$OUT/official_rle.json"
run official-bitmask "$PY" -m bdd100k.eval.run -t pan_seg -g "$D/gt" -r "$D/pred" --out-file "$OUT/official_bitmask.json"
run zoo-rle "$ZOO" eval -g "$D/gt.json" -r "$D/pred.json" --out-file "$OUT/zoo_rle.json"
run zoo-bitmask "$ZOO" eval -g "$D/gt" -r "$D/pred" --out-file "$OUT/zoo_bitmask.json"
run zoo-rle-1thread "$ZOO" eval -g "$D/gt.json" -r "$D/pred.json" --nproc 1 --out-file "$OUT/zoo_rle1.json"
run zoo-bitmask-1thread "$ZOO" eval -g "$D/gt" -r "$D/pred" --nproc 1 --out-file "$OUT/zoo_bitmask1.json"
for r in rle bitmask; do
  cmp "$OUT/official_$r.json" "$OUT/zoo_$r.json" && echo "$r: --out-file identical to the official one"
done
