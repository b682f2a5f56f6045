#!/usr/bin/env bash
# Installs the Debian packages the build needs (C libraries and pkg-config). Idempotent.
set -euo pipefail
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends pkg-config libcurl4-openssl-dev libssl-dev libzip-dev \
  libopenblas-dev libturbojpeg0-dev libpng-dev libdeflate0
