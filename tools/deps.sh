#!/usr/bin/env bash
# tools/deps.sh — install the Debian 12 packages iocd needs to build, test
# and run, if any is missing. Safe to run again: installs only what is absent.
# Usage: tools/deps.sh [--with-fuzz]
set -euo pipefail

pkgs=(
  gcc meson ninja-build pkg-config
  libuv1-dev libmosquitto-dev libsqlite3-dev libprotobuf-c-dev protobuf-c-compiler
  libcjson-dev libsystemd-dev libcmocka-dev libh2o-dev libssl-dev libcurl4-openssl-dev
  libjs-leaflet  # the console map: Leaflet embedded at build time
  mosquitto mosquitto-clients sqlite3 python3 binutils
  openssl curl  # the HTTPS tests make certificates and fetch with curl --cacert
  groff-base man-db
  debhelper dpkg-dev fakeroot build-essential
  systemd-container debootstrap
)
# The console's browser test (tests/browser): Debian's Chromium, and Node.js
# with npm unless a node is already on PATH (e.g. a newer one).
pkgs+=(chromium)
if ! command -v node >/dev/null; then
  pkgs+=(nodejs npm)
fi
if [ "${1:-}" = "--with-fuzz" ]; then
  pkgs+=(clang libclang-rt-14-dev)
fi

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}" >&2
as_root=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "deps: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  as_root=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
