#!/usr/bin/env bash
# pg.sh — a throwaway PostgreSQL 15 server for tests and benches.
#
#   scripts/pg.sh start DIR PORT   initdb in DIR (created), start on 127.0.0.1:PORT,
#                                  create database "kith"; prints the postgresql:// URL
#   scripts/pg.sh stop DIR         stop the server started in DIR and remove DIR
#
# Uses Debian's postgresql-15 binaries. initdb and postgres refuse to run as
# root, so as root they run as the `postgres` system user, which owns DIR.
# Authentication is `trust`, and the server listens on loopback only (no
# Unix socket outside DIR): it is for tests, never for real records.
set -euo pipefail
BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start DIR PORT | stop DIR" >&2; exit 2; }

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "$cmd" in
start)
  port=${3:?usage: $0 start DIR PORT}
  [ -x "$BIN/initdb" ] || { echo "pg.sh: $BIN/initdb not found (apt-get install postgresql-15)" >&2; exit 1; }
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown postgres: "$dir"
  chmod 700 "$dir"
  as_owner "$BIN/initdb" -D "$dir/data" -U postgres -E UTF8 --locale=C.UTF-8 -A trust >"$dir/initdb.log" 2>&1 ||
    { cat "$dir/initdb.log" >&2; exit 1; }
  cat >"$dir/data/pg_hba.conf" <<HBA
local all all trust
host  all all 127.0.0.1/32 trust
HBA
  as_owner "$BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
    start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
  "$BIN/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -qAtc "CREATE DATABASE kith" >/dev/null
  echo "postgresql://postgres@127.0.0.1:$port/kith"
  ;;
stop)
  if [ -f "$dir/data/postmaster.pid" ]; then
    as_owner "$BIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  # only what start made: never a directory that is not a server's
  rm -rf "$dir/data" "$dir/initdb.log" "$dir/server.log"
  rmdir "$dir" 2>/dev/null || true
  ;;
*)
  echo "usage: $0 start DIR PORT | stop DIR" >&2; exit 2 ;;
esac
