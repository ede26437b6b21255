#!/usr/bin/env bash
# Starts the bovine-herd peer and its control API in the foreground; stops on SIGTERM/SIGINT.
# Needs PEER_HOST, PEER_PORT, CONTROL_PORT, PEER_USER, PEER_DATA in the environment and the venv
# made by install.sh, found at $BOVINE_VENV or CACHE_DIR/bovine-venv (CACHE_DIR from the
# environment or the first argument).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE_DIR="${CACHE_DIR:-${1:-}}"
VENV="${BOVINE_VENV:-${CACHE_DIR:+$CACHE_DIR/bovine-venv}}"
if [ -z "$VENV" ] || [ ! -x "$VENV/bin/python" ]; then
    echo "no bovine venv: set BOVINE_VENV or CACHE_DIR (run install.sh CACHE_DIR first)" >&2
    exit 2
fi
for v in PEER_HOST PEER_PORT CONTROL_PORT PEER_USER PEER_DATA; do
    if [ -z "${!v:-}" ]; then
        echo "$v must be set" >&2
        exit 2
    fi
done
mkdir -p "$PEER_DATA"
# exec, so that SIGTERM reaches the Python process directly.
exec "$VENV/bin/python" -u "$HERE/peer.py"
