#!/usr/bin/env bash
# with-pg.sh CMD [ARGS...] — run CMD with KITH_TEST_STORE_URL naming a
# throwaway PostgreSQL 15 server (scripts/pg.sh) on a free loopback port,
# then stop the server whatever CMD did; exits with CMD's status. Test
# stores each take a schema of their own on it (tests/unit/temp_store.c,
# tests/api/lib/server.mjs).
set -uo pipefail
cd "$(dirname "$0")/.."
dir=$(mktemp -d /tmp/kith-pg-XXXXXX)
chmod 755 "$dir" # the server runs as the postgres user, who must reach it
trap 'scripts/pg.sh stop "$dir/srv"; rmdir "$dir" 2>/dev/null' EXIT
url=""
for try in 1 2 3 4 5; do
  port=${PG_PORT:-$((20000 + RANDOM % 30000))}
  if url=$(scripts/pg.sh start "$dir/srv" "$port"); then break; fi
  scripts/pg.sh stop "$dir/srv"
  url=""
  [ -n "${PG_PORT:-}" ] && break
done
[ -n "$url" ] || { echo "with-pg: cannot start PostgreSQL" >&2; exit 1; }
echo "with-pg: PostgreSQL at $url"
KITH_TEST_STORE_URL="$url" "$@"
