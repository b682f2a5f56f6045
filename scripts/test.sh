#!/usr/bin/env bash
# The whole test suite, in one release build (the runner's numeric tests need optimised code).
# Tests use only public APIs, so no -enable-testing is needed.
set -euo pipefail
cd "$(dirname "$0")/.."
swift test -c release "$@"
