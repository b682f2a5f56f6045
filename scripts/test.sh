#!/usr/bin/env bash
# The whole test suite, in one release build (the runner's numeric tests need optimised code).
# `swift test` builds with testability enabled (some tests use @testable import).
# Without arguments, a bounded fuzz run follows (ZOO_FUZZ_SECONDS, default 60; 0 disables): scripts/fuzz.sh,
# then the Slurm test on a real single-node cluster (scripts/slurm-test.sh; ZOO_SLURM_TEST=0 skips it).
# Without arguments (or with ZOO_PACKAGE_TEST=1; ZOO_PACKAGE_TEST=0 skips), the release tarball is built
# (a second, static release build in .build-static) and checked, and so is deploy/ against it.
set -euo pipefail
cd "$(dirname "$0")/.."
# NVRTC (no GPU needed) lets the tests compile the CUDA kernels; fetched once from its PyPI wheel by curl.
if [ -z "${ZOO_CUDA_LIBS:-}" ]; then
    if nvrtc_lib=$(scripts/fetch-nvrtc.sh .build-nvrtc); then
        export ZOO_CUDA_LIBS="$nvrtc_lib"
    else
        echo "warning: NVRTC could not be fetched; the CUDA kernel compile tests will be skipped" >&2
    fi
fi
swift test -c release "$@"
if [ $# -eq 0 ] || [ -n "${ZOO_FUZZ_SECONDS:-}" ]; then
    scripts/fuzz.sh "${ZOO_FUZZ_SECONDS:-60}"
fi
if { [ $# -eq 0 ] && [ "${ZOO_SLURM_TEST:-1}" != 0 ]; } || [ "${ZOO_SLURM_TEST:-}" = 1 ]; then
    scripts/slurm-test.sh
fi
if { [ $# -eq 0 ] && [ "${ZOO_PACKAGE_TEST:-}" != 0 ]; } || [ "${ZOO_PACKAGE_TEST:-}" = 1 ]; then
    scripts/package.sh --no-xz
    scripts/package-test.sh
    scripts/deploy-test.sh
fi
