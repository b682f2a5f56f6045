#!/usr/bin/env bash
# Fetches NVRTC (the CUDA run-time compiler, no GPU needed) from its PyPI wheel so the tests can compile
# zoo's CUDA kernels on a machine without CUDA. No Python: curl + sha256sum + unzip.
# Usage: scripts/fetch-nvrtc.sh [DEST]   (default .build-nvrtc); prints the folder to put in ZOO_CUDA_LIBS.
set -euo pipefail
dest=${1:-.build-nvrtc}
url="https://files.pythonhosted.org/packages/b8/85/e4af82cc9202023862090bfca4ea827d533329e925c758f0cde964cb54b7/nvidia_cuda_nvrtc_cu12-12.9.86-py3-none-manylinux2010_x86_64.manylinux_2_12_x86_64.whl"
sha256="210cf05005a447e29214e9ce50851e83fc5f4358df8b453155d5e1918094dcb4"
lib="$dest/nvidia/cuda_nvrtc/lib"
if [ -f "$lib/libnvrtc.so.12" ]; then echo "$lib"; exit 0; fi
mkdir -p "$dest"
wheel="$dest/nvrtc.whl.partial"
curl -fsSL --retry 3 -o "$wheel" "$url" >&2
echo "$sha256  $wheel" | sha256sum -c --quiet - >&2
unzip -q -o "$wheel" 'nvidia/cuda_nvrtc/lib/libnvrtc.so.12' 'nvidia/cuda_nvrtc/lib/libnvrtc-builtins.so.*' -d "$dest" >&2
rm -f "$wheel"
echo "$lib"
