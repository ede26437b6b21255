#!/usr/bin/env bash
# Runs the whole test suite on both backends: SQLite files and a real PostgreSQL, and the
# interop suite against bovine-herd and Fedify, which it installs first (pinned, into
# ~/.cache/cairn-interop; set CAIRN_INTEROP_CACHE to use another folder).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/postgres.sh
tests/interop/install.sh
exec cargo test --workspace --locked "$@"
