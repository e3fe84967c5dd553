#!/usr/bin/env bash
# api-pg.sh — the API tests with every store on PostgreSQL 15: starts a
# throwaway server (scripts/pg.sh) on a free loopback port, runs
# `node --test` over tests/api with KITH_TEST_STORE_URL pointing at it (each
# test's `kith serve` gets its own schema, tests/api/lib/server.mjs), and
# stops the server whatever happens. Extra arguments are passed to node.
set -uo pipefail
cd "$(dirname "$0")/.."
dir=$(mktemp -d /tmp/kith-pg-api-XXXXXX)
chmod 755 "$dir"
trap 'scripts/pg.sh stop "$dir/srv"; rmdir "$dir" 2>/dev/null' EXIT
url=""
for try in 1 2 3 4 5; do
  port=${PG_PORT:-$((20000 + RANDOM % 30000))}
  if url=$(scripts/pg.sh start "$dir/srv" "$port"); then break; fi
  scripts/pg.sh stop "$dir/srv"
  url=""
  [ -n "${PG_PORT:-}" ] && break
done
[ -n "$url" ] || { echo "api-pg: cannot start PostgreSQL" >&2; exit 1; }
echo "api-pg: PostgreSQL at $url"
KITH_TEST_STORE_URL="$url" node --test --test-concurrency=1 "${@:-tests/api/}"
