#!/usr/bin/env bash
# tools/package.sh — build the iocd Debian package from this tree.
#
# Owns: the package build: installs what is missing (tools/deps.sh), copies
# the tree (no build folders, no git needed) into a temporary folder, runs
# `dpkg-buildpackage -us -uc -b` there (debian/), and puts the .deb, the
# .buildinfo and the .changes into OUTDIR (default build-deb/).
# Usage: tools/package.sh [OUTDIR]
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$src/build-deb}
"$src/tools/deps.sh"
work=$(mktemp -d "${TMPDIR:-/tmp}/iocd-package-XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir "$work/iocd"
tar -C "$src" --exclude='./build*' --exclude='./_build*' --exclude='./run' --exclude='./.git' \
    --exclude='node_modules' --exclude='__pycache__' -cf - . | tar -C "$work/iocd" -xf -
(cd "$work/iocd" && dpkg-buildpackage -us -uc -b) >"$work/build.log" 2>&1 || {
  tail -n 60 "$work/build.log" >&2
  echo "package: dpkg-buildpackage failed (last 60 lines above)" >&2
  exit 1
}
mkdir -p "$out"
cp "$work"/*.deb "$work"/*.buildinfo "$work"/*.changes "$out"/
cp "$work/build.log" "$out/build.log"
ls "$out"/*.deb
