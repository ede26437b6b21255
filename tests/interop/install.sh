#!/usr/bin/env bash
# Installs the interop peers at pinned versions into the cache folder
# (CAIRN_INTEROP_CACHE, or ~/.cache/cairn-interop): bovine-herd into a Python venv from PyPI,
# Fedify and Node 22 into an npm folder. Each peer's own install.sh skips work when the same
# pins are already installed, so running this again costs a second.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="${CAIRN_INTEROP_CACHE:-$HOME/.cache/cairn-interop}"
mkdir -p "$cache"
for peer in bovine fedify; do
  # The marker tells the test that the peer is usable; it is only written after a whole
  # install succeeded.
  rm -f "$cache/$peer.installed"
  echo "tests/interop/install.sh: $peer" >&2
  bash "$here/$peer/install.sh" "$cache"
  touch "$cache/$peer.installed"
done
