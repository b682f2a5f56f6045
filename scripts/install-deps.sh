#!/usr/bin/env bash
# Installs the Debian packages the build needs (C libraries and pkg-config), listed in
# scripts/debian-packages.txt. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends $(cat scripts/debian-packages.txt)
