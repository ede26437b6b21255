#!/usr/bin/env bash
# Installs the bovine-herd peer into CACHE_DIR/bovine-venv, pinned by requirements.txt.
# Idempotent: does nothing when the venv already holds exactly these requirements.
# Usage: install.sh CACHE_DIR        (PYTHON=python3.11 to choose the interpreter; needs >= 3.11)
set -euo pipefail

if [ $# -ne 1 ]; then
    echo "usage: $0 CACHE_DIR" >&2
    exit 2
fi
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE_DIR="$1"
VENV="$CACHE_DIR/bovine-venv"
PYTHON="${PYTHON:-python3}"
MARKER="$VENV/.cairn-interop-requirements"

"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' || {
    echo "bovine-herd needs Python 3.11 or newer; $PYTHON is $("$PYTHON" --version 2>&1)" >&2
    exit 1
}

want="$(cat "$HERE/requirements.txt" | sha256sum | cut -d' ' -f1) $("$PYTHON" -c 'import sys; print(sys.version.split()[0])')"
if [ -x "$VENV/bin/python" ] && [ -f "$MARKER" ] && [ "$(cat "$MARKER")" = "$want" ]; then
    echo "bovine peer already installed in $VENV"
    exit 0
fi

mkdir -p "$CACHE_DIR"
rm -rf "$VENV"
"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$HERE/requirements.txt"
# Check the imports from inside the venv: importing bovine writes a JSON-LD cache file into
# the working directory.
(cd "$VENV" && ./bin/python -c 'import bovine_herd, bovine_store, bovine_process, hypercorn, quart')
echo "$want" > "$MARKER"
echo "bovine peer installed in $VENV"
