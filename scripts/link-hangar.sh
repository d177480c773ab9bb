#!/usr/bin/env bash
# Puts a `hangar` command on your PATH for this clone: a two-line script in ~/.local/bin
# (or the folder given) that runs bin/hangar.js with the clone's own Node (node_modules/node,
# which `npm ci` installs), else the `node` on PATH. No npx: npx alone costs most of a second.
# Usage: scripts/link-hangar.sh [FOLDER]
set -euo pipefail

case "${1:-}" in
  -h|--help) sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
esac

clone="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
folder="${1:-${HOME}/.local/bin}"
case "$folder" in
  /*) ;;
  *) echo "link-hangar: the folder must be an absolute path, not \"$folder\"." >&2; exit 2 ;;
esac

node="$clone/node_modules/node/bin/node"
if [ ! -x "$node" ]; then
  node="$(command -v node || true)"
  if [ -z "$node" ]; then echo "link-hangar: no Node found. Run \"npm ci\" in $clone first." >&2; exit 1; fi
fi

# Single quotes in sh, with any ' in a path written as '\''.
quote() { printf "'%s'" "${1//\'/\'\\\'\'}"; }

mkdir -p "$folder"
target="$folder/hangar"
if [ -e "$target" ] && ! grep -q '^# hangar: written by scripts/link-hangar.sh' "$target" 2>/dev/null; then
  echo "link-hangar: $target exists and is not one this script wrote; leaving it as it is." >&2
  exit 1
fi
partial="$target.partial-$$"
{
  echo '#!/bin/sh'
  echo "# hangar: written by scripts/link-hangar.sh for the clone in $(quote "$clone")"
  echo "exec $(quote "$node") $(quote "$clone/bin/hangar.js") \"\$@\""
} > "$partial"
chmod 0755 "$partial"
mv -f "$partial" "$target"

echo "link-hangar: $target runs Hangar from $clone."
case ":${PATH}:" in
  *":$folder:"*) ;;
  *) echo "link-hangar: $folder is not on your PATH; add it (e.g. in ~/.profile: PATH=\"$folder:\$PATH\") or run $target." ;;
esac
