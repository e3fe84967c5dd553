#!/usr/bin/env bash
# unit-pg.sh — the unit tests with every store-backed suite on PostgreSQL 15:
# starts a throwaway server (scripts/pg.sh) on a free loopback port, runs
# build/unit-tests with KITH_TEST_STORE_URL pointing at it (each test store
# gets its own schema), and stops the server whatever happens.
#   scripts/unit-pg.sh UNIT_TESTS_BINARY [criterion options...]
set -uo pipefail
cd "$(dirname "$0")/.."
bin=${1:?usage: $0 UNIT_TESTS_BINARY [criterion options]}
shift
dir=$(mktemp -d /tmp/kith-pg-XXXXXX)
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
[ -n "$url" ] || { echo "unit-pg: cannot start PostgreSQL" >&2; exit 1; }
echo "unit-pg: PostgreSQL at $url"
KITH_FHIR_PACKAGE=${KITH_FHIR_PACKAGE:-node_modules/hl7.fhir.r4.examples} KITH_TEST_STORE_URL="$url" "$bin" "$@"
