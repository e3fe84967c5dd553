#!/usr/bin/env bash
# api-pg.sh — the API tests with every `kith serve` on PostgreSQL 15
# (scripts/with-pg.sh: a throwaway server, each test server its own schema).
# Arguments (test files, node options) go to `node --test`; default tests/api/.
cd "$(dirname "$0")/.."
exec scripts/with-pg.sh node --test --test-concurrency=1 "${@:-tests/api/}"
