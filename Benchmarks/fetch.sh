#!/usr/bin/env bash
# Download and hashing throughput of `zoo fetch` on loopback, against curl and md5sum.
#
#   Benchmarks/fetch.sh [SIZE_MB] [RUNS]      (defaults: 256 MB, 3 runs; best run reported)
#   RATE_MB=100 Benchmarks/fetch.sh           the server sends at about 100 MiB/s (a fast network
#                                             rather than loopback), for both clients
#
# Serves a random file with `python3 -m http.server` on 127.0.0.1 (benchmark only; the tests use
# their own Swift server), then times:
#   curl -o FILE URL                  the transfer alone
#   curl -o FILE URL; sync FILE       the same, durable (zoo fsyncs before its rename)
#   zoo fetch ID                      transfer + streaming MD5 + fsync + rename + record
#   md5sum FILE                       MD5 throughput of coreutils
#   zoo verify ID                     MD5 throughput of zoo (re-hash from the page cache)
# Everything stays on this machine; nothing else is contacted.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MB=${1:-256}
RUNS=${2:-3}
PORT=${PORT:-18799}
swift build -c release --product zoo >/dev/null
ZOO="$(swift build -c release --show-bin-path)/zoo"

WORK=$(mktemp -d /tmp/zoo-bench-XXXXXX)
SERVER_PID=""
cleanup() { [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

NAME=panoptic_fpn_r50_fpn_1x_pan_seg_bdd100k
mkdir -p "$WORK/srv/pan_seg/models"
head -c $((SIZE_MB * 1024 * 1024)) /dev/urandom > "$WORK/srv/pan_seg/models/$NAME.pth"
(cd "$WORK/srv/pan_seg/models" && md5sum "$NAME.pth" > "$NAME.md5")
sed "s|https://dl.cv.ethz.ch/bdd100k/pan_seg|http://127.0.0.1:$PORT/pan_seg|" zoo.json > "$WORK/registry.json"
if [ -n "${RATE_MB:-}" ]; then
  cat > "$WORK/throttled.py" <<PY
import http.server, time
class H(http.server.SimpleHTTPRequestHandler):
    def copyfile(self, src, dst):
        start, sent = time.monotonic(), 0
        while True:
            b = src.read(1 << 18)
            if not b: break
            dst.write(b); sent += len(b)
            ahead = sent / ($RATE_MB * 1048576) - (time.monotonic() - start)
            if ahead > 0: time.sleep(ahead)
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("127.0.0.1", $PORT), H).serve_forever()
PY
  (cd "$WORK/srv" && exec python3 "$WORK/throttled.py" >/dev/null 2>&1) &
else
  (cd "$WORK/srv" && exec python3 -m http.server "$PORT" --bind 127.0.0.1 >/dev/null 2>&1) &
fi
SERVER_PID=$!
for _ in $(seq 50); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/" && break; sleep 0.1; done

URL="http://127.0.0.1:$PORT/pan_seg/models/$NAME.pth"
export ZOO_HOME="$WORK/cache" no_proxy=127.0.0.1
now() { date +%s.%N; }
best() { sort -g | head -1; }
mbps() { awk -v s="$1" -v mb="$SIZE_MB" 'BEGIN { printf "%.0f MiB/s", mb / s }'; }

curl_times=(); curlsync_times=(); zoo_times=(); md5sum_times=(); verify_times=()
for _ in $(seq "$RUNS"); do
  rm -f "$WORK/curl.out"
  t0=$(now); curl -s -o "$WORK/curl.out" "$URL"; t1=$(now)
  curl_times+=("$(echo "$t1 - $t0" | bc)")
  rm -f "$WORK/curl.out"
  t0=$(now); curl -s -o "$WORK/curl.out" "$URL"; sync "$WORK/curl.out"; t1=$(now)
  curlsync_times+=("$(echo "$t1 - $t0" | bc)")
  "$ZOO" cache rm r50_1x --registry "$WORK/registry.json" >/dev/null
  "$ZOO" fetch r50_1x --registry "$WORK/registry.json" --quiet >/dev/null  # .md5 first, then only the .pth is timed
  "$ZOO" cache rm r50_1x --registry "$WORK/registry.json" >/dev/null
  t0=$(now); "$ZOO" fetch r50_1x --registry "$WORK/registry.json" --quiet >/dev/null; t1=$(now)
  zoo_times+=("$(echo "$t1 - $t0" | bc)")
  t0=$(now); md5sum "$WORK/curl.out" >/dev/null; t1=$(now)
  md5sum_times+=("$(echo "$t1 - $t0" | bc)")
  t0=$(now); "$ZOO" verify r50_1x --registry "$WORK/registry.json" >/dev/null; t1=$(now)
  verify_times+=("$(echo "$t1 - $t0" | bc)")
done
c=$(printf '%s\n' "${curl_times[@]}" | best)
cs=$(printf '%s\n' "${curlsync_times[@]}" | best)
z=$(printf '%s\n' "${zoo_times[@]}" | best)
m=$(printf '%s\n' "${md5sum_times[@]}" | best)
v=$(printf '%s\n' "${verify_times[@]}" | best)
echo "file: $SIZE_MB MiB over loopback${RATE_MB:+, server paced at $RATE_MB MiB/s}, best of $RUNS"
printf '%-34s %8.3f s  %s\n' "curl -o" "$c" "$(mbps "$c")"
printf '%-34s %8.3f s  %s\n' "curl -o; sync FILE" "$cs" "$(mbps "$cs")"
printf '%-34s %8.3f s  %s  (%.0f%% of curl, %.0f%% of curl+sync)\n' "zoo fetch (download+MD5+fsync)" "$z" "$(mbps "$z")" \
  "$(echo "100 * $z / $c" | bc -l)" "$(echo "100 * $z / $cs" | bc -l)"
printf '%-34s %8.3f s  %s\n' "md5sum" "$m" "$(mbps "$m")"
printf '%-34s %8.3f s  %s\n' "zoo verify (MD5 re-hash)" "$v" "$(mbps "$v")"
printf '%-34s %8.3f s\n' "curl + md5sum (two passes)" "$(echo "$c + $m" | bc)"
