#!/usr/bin/env bash
# Runs the whole test suite on both backends: SQLite files and a real PostgreSQL, and the
# interop suite against bovine-herd and Fedify, which it installs first (pinned, into
# ~/.cache/cairn-interop; set CAIRN_INTEROP_CACHE to use another folder), and the browser tests,
# whose npm packages it installs first too (pinned, into ~/.cache/cairn-browser; set
# CAIRN_BROWSER_CACHE to use another folder; Chromium itself is the system's, see .ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/postgres.sh
tests/interop/install.sh
tests/browser/install.sh
exec cargo test --workspace --locked "$@"
