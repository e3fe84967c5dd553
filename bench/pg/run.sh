#!/usr/bin/env bash
# bench/pg/run.sh — the same place on SQLite and on PostgreSQL 15 (`make bench-pg`).
# A measuring program, not a test: prints figures, exits 0.
#
#  1. Generates a synthetic place of PG_BENCH_PEOPLE people (default 5,000;
#     about 27 resources each) with `kith synth`.
#  2. Imports it with `kith import` into a SQLite file and into a throwaway
#     PostgreSQL server (scripts/pg.sh: loopback, fsync off) and prints each
#     import's rate.
#  3. Serves each store in turn and runs wrk (4 connections, 10 s each):
#     GET Patient/ID and Patient?identifier=NHS-NUMBER at random; requests/s
#     and latency percentiles.
# Loopback only; the servers are stopped and the files removed on exit.
set -uo pipefail
cd "$(dirname "$0")/../.."
KITH=${KITH_BIN:-bin/kith}
PEOPLE=${PG_BENCH_PEOPLE:-5000}
SECS=${PG_BENCH_SECONDS:-10}
work=$(mktemp -d /tmp/kith-bench-pg-XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  scripts/pg.sh stop "$work/pg"
  rm -rf "$work"
}
trap cleanup EXIT
[ -x "$KITH" ] || make -s bin/kith

echo "-- a synthetic place of $PEOPLE people"
"$KITH" synth --people "$PEOPLE" --seed 11 --out "$work/place" >/dev/null 2>&1
files=$(ls "$work"/place/*.ndjson)
nres=$(cat $files | wc -l)
# "ID NHS_NUMBER" for every Patient, for the wrk script
sed -n 's/^{"resourceType":"Patient","id":"\([^"]*\)".*nhs-number","value":"\([0-9]*\)".*/\1 \2/p' \
  "$work/place/Patient.ndjson" > "$work/ids.txt"

port=$((20000 + RANDOM % 30000))
url=$(scripts/pg.sh start "$work/pg" "$port") || { echo "cannot start PostgreSQL"; exit 0; }
pgdb="$url?options=-csearch_path%3Dkith_bench"
sqdb="$work/kith.db"

for db in "$sqdb" "$pgdb"; do
  name=$([ "$db" = "$sqdb" ] && echo SQLite || echo PostgreSQL)
  start=$(date +%s.%N)
  "$KITH" import --db "$db" --quiet $files >/dev/null 2>&1
  end=$(date +%s.%N)
  awk -v n="$nres" -v s="$start" -v e="$end" -v name="$name" \
    'BEGIN { printf "-- import into %-10s %d resources in %.1f s: %.0f resources/s\n", name, n, e - s, n / (e - s) }'
done

for db in "$sqdb" "$pgdb"; do
  name=$([ "$db" = "$sqdb" ] && echo SQLite || echo PostgreSQL)
  "$KITH" client add bench --scopes 'system/*.rs' --db "$db" >/dev/null
  KITH_TOKEN=$("$KITH" client token bench --expires 1h --db "$db"); export KITH_TOKEN
  : > "$work/serve.log"
  "$KITH" serve --db "$db" --port 0 --threads 8 --quiet 2> "$work/serve.log" &
  pids+=($!)
  sport=""
  for _ in $(seq 100); do
    sport=$(grep -o '127.0.0.1:[0-9]*' "$work/serve.log" | head -1 | cut -d: -f2)
    [ -n "$sport" ] && break
    sleep 0.1
  done
  for mode in read token; do
    what=$([ $mode = read ] && echo "GET Patient/ID            " || echo "Patient?identifier=NHS no.")
    wrk -t1 -c4 -d"${SECS}s" --latency -s bench/pg/pg.lua "http://127.0.0.1:$sport" -- $mode "$work/ids.txt" |
      awk -v name="$name" -v what="$what" '
        /Requests\/sec/ { rps = $2 }
        /^ +50%/ { p50 = $2 } /^ +90%/ { p90 = $2 } /^ +99%/ { p99 = $2 }
        /Non-2xx/ { bad = $NF }
        END { printf "-- %-10s %s  %8.0f req/s  p50 %s  p90 %s  p99 %s%s\n", name, what, rps, p50, p90, p99,
              bad ? "  NON-2xx: " bad : "" }'
  done
  kill "${pids[-1]}" 2>/dev/null
  wait "${pids[-1]}" 2>/dev/null
done
exit 0
