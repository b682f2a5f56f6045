#!/usr/bin/env bash
# A bounded fuzz run over every parser: scripts/fuzz.sh [SECONDS] (default: $ZOO_FUZZ_SECONDS, else 60; 0 disables).
# Extra arguments go to zoo-fuzz (--only PARSER, --mem-mb M, --timeout S, --rng R). Crashing inputs are minimised
# and saved under Tests/Fixtures/fuzz/<parser>/; commit them with their fix (FuzzReplayTests replays them), or list
# them in Tests/Fixtures/fuzz/allow-list.txt (and known-findings.txt) when the fix belongs elsewhere.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-${ZOO_FUZZ_SECONDS:-60}}"
[ $# -gt 0 ] && shift
if [ "$seconds" = "0" ]; then echo "fuzz: disabled (0 seconds)"; exit 0; fi
swift build -c release --product zoo-fuzz
exec "$(swift build -c release --show-bin-path)/zoo-fuzz" --seconds "$seconds" "$@"
