#!/bin/sh
# hangar: the command line of the packaged Hangar. The .deb installs it as /usr/bin/hangar,
# and every package beside the app's program (/opt/Hangar/hangar). It runs that program as
# Node (ELECTRON_RUN_AS_NODE, the fuse the keeper needs too) on the CLI inside the app's
# archive: the same code bin/hangar.js runs in a clone. See electron-builder.config.ts.

# The app this script sits in (followed through symlinks), else where the .deb puts it.
# (Not "a hangar-desktop beside me": /usr/bin has the .deb's link of that name.)
here=$(dirname "$(readlink -f "$0")")
if [ -f "$here/resources/app.asar" ]; then app=$here; else app=/opt/Hangar; fi
if [ ! -x "$app/hangar-desktop" ] || [ ! -f "$app/resources/app.asar" ]; then
  echo "hangar: the Hangar app is not in $app (hangar-desktop or resources/app.asar is missing). Reinstall the Hangar package." >&2
  exit 1
fi
ELECTRON_RUN_AS_NODE=1 exec "$app/hangar-desktop" "$app/resources/app.asar/out/main/cli.js" "$@"
