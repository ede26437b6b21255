#!/usr/bin/env bash
# Makes sure the test PostgreSQL answers: starts the local cluster if it is installed and down,
# and fails if it stays unreachable, because the suites must never pass on one backend alone.
set -euo pipefail

pg_url="${CAIRN_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432}"
if ! pg_isready -q -d "$pg_url/postgres" 2>/dev/null; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    echo "scripts/postgres.sh: starting PostgreSQL" >&2
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start || true
  fi
  for _ in $(seq 1 30); do
    pg_isready -q -d "$pg_url/postgres" 2>/dev/null && break
    sleep 1
  done
fi
if ! pg_isready -q -d "$pg_url/postgres" 2>/dev/null; then
  echo "scripts/postgres.sh: PostgreSQL is not reachable at $pg_url; the suite needs it" >&2
  exit 1
fi
