#!/usr/bin/env bash
# Renders Hangar's icon, resources/icons/hangar.svg, to the PNG sizes Linux desktops use,
# as NxN.png in build/icons/ (electron-builder's resources folder), or in OUT_DIR. The PNGs
# are made, not kept in git. Needs rsvg-convert (librsvg2-bin; scripts/setup-host.sh --dev).
# Usage: scripts/build-icons.sh [OUT_DIR]
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/build/icons}"
svg="$root/resources/icons/hangar.svg"

if ! command -v rsvg-convert >/dev/null; then
  echo "build-icons: rsvg-convert is missing; install librsvg2-bin (scripts/setup-host.sh --dev does)." >&2
  exit 1
fi

mkdir -p "$out"
for size in 16 24 32 48 64 128 256 512; do
  rsvg-convert --width "$size" --height "$size" --keep-aspect-ratio --format png --output "$out/${size}x${size}.png" "$svg"
done
echo "build-icons: $out"
