#!/usr/bin/env bash
# Runs the whole test suite on both backends: SQLite files and a real PostgreSQL.
# Starts the local PostgreSQL cluster if it is installed and down; fails if it stays unreachable,
# because the suite must never pass on one backend alone.
set -euo pipefail
cd "$(dirname "$0")/.."

pg_url="${CAIRN_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432}"
if ! pg_isready -q -d "$pg_url/postgres" 2>/dev/null; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    echo "scripts/test.sh: starting PostgreSQL" >&2
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start || true
  fi
  for _ in $(seq 1 30); do
    pg_isready -q -d "$pg_url/postgres" 2>/dev/null && break
    sleep 1
  done
fi
if ! pg_isready -q -d "$pg_url/postgres" 2>/dev/null; then
  echo "scripts/test.sh: PostgreSQL is not reachable at $pg_url; the suite needs it" >&2
  exit 1
fi

exec cargo test --workspace --locked "$@"
