#!/usr/bin/env bash
# Installs the deploy checks' pinned npm packages (package-lock.json) into a build directory, never
# the source tree; does nothing when they are there already for the same lock file. This is the
# one step of the deploy checks that needs the network (the npm registry).
# Usage: npm_install.sh SOURCE_DIR(tests/deploy) DEST_DIR
set -euo pipefail
src=$1
dest=$2
if [ -d "$dest/node_modules" ] && cmp -s "$src/package-lock.json" "$dest/package-lock.json"; then
  echo "npm packages already installed in $dest"
  exit 0
fi
mkdir -p "$dest"
rm -rf "$dest/node_modules"
cp "$src/package.json" "$src/package-lock.json" "$dest/"
cd "$dest"
npm ci --no-audit --no-fund --loglevel=error
echo "npm packages installed in $dest"
