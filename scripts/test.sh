#!/usr/bin/env bash
# The whole test suite. Release mode: the numeric tests of the runner need optimised code.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product zoo
swift test -c release "$@"
