#!/usr/bin/env bash
# bench/pg/run.sh — the same place on SQLite and on PostgreSQL 15 (`make bench-pg`).
# A measuring program, not a test: prints figures, exits 0.
#
#  1. Makes a place of PG_BENCH_PEOPLE people (default 5,000). PG_BENCH_PLACE
#     says what kind: `synth` (default) is `kith synth`'s synthetic place,
#     about 27 resources a person; `patients` is Patients only, written by
#     bench/gen-patients.mjs (about 0.5 KB each), for a million people on a
#     small disk.
#  2. Imports it with `kith import` into a SQLite file and into a throwaway
#     PostgreSQL server (scripts/pg.sh: loopback, fsync off), then ANALYZEs
#     PostgreSQL, since an import leaves it no statistics. Prints each
#     import's time and rate, and each store's size on disk.
#  3. Serves the stores with `kith serve --threads PG_BENCH_THREADS` (default
#     8) and runs wrk for PG_BENCH_SECONDS seconds (default 10) with
#     PG_BENCH_CONNECTIONS connections (default 4): GET Patient/ID, then
#     Patient?identifier=NHS-NUMBER, for people at random; requests/s and
#     latency percentiles. Three set-ups: SQLite with one server; PostgreSQL
#     with one; PostgreSQL with two servers on the same database, each
#     given half the connections by a wrk of its own, both running at once.
#     Prints each server's peak resident memory. Each set-up first gets
#     PG_BENCH_WARMUP seconds (default 5) of unmeasured reads.
#
# Issue 11's figures (a million people, 64 connections):
#   PG_BENCH_PLACE=patients PG_BENCH_PEOPLE=1000000 PG_BENCH_CONNECTIONS=64 \
#     PG_BENCH_SECONDS=20 bench/pg/run.sh
# KITH_BIN picks the binary (default bin/kith). Loopback only; the servers
# are stopped and the files removed on exit.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
KITH=${KITH_BIN:-bin/kith}
PLACE=${PG_BENCH_PLACE:-synth}
PEOPLE=${PG_BENCH_PEOPLE:-5000}
SECS=${PG_BENCH_SECONDS:-10}
CONNS=${PG_BENCH_CONNECTIONS:-4}
THREADS=${PG_BENCH_THREADS:-8}
WARM=${PG_BENCH_WARMUP:-5} # seconds of unmeasured load before each set-up's runs
psql=${PG_BIN:-/usr/lib/postgresql/15/bin}/psql
case "$PLACE" in
  synth | patients) ;;
  *) echo "PG_BENCH_PLACE is synth or patients, not '$PLACE'" >&2; exit 2 ;;
esac
for n in "$PEOPLE" "$SECS" "$CONNS" "$THREADS" "$WARM"; do
  [[ "$n" =~ ^[1-9][0-9]*$ ]] ||
    { echo "PG_BENCH_PEOPLE, _SECONDS, _CONNECTIONS, _THREADS and _WARMUP are whole numbers from 1, not '$n'" >&2; exit 2; }
done
# A kith binary copied elsewhere (KITH_BIN) does not find web/ beside itself
export KITH_WEB_DIR="$PWD/web"

work=$(mktemp -d /tmp/kith-bench-pg-XXXXXX)
chmod 755 "$work"
pids=() # every process started in the background and not yet stopped
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  scripts/pg.sh stop "$work/pg"
  rm -rf "$work"
}
trap cleanup EXIT
[ -x "$KITH" ] || make -s bin/kith

# Takes PID off the list that cleanup kills (it has stopped).
forget() {
  local keep=() p
  for p in "${pids[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
  pids=("${keep[@]}")
}

# Starts `kith serve` on DB in the background, on a free loopback port, its
# log in LOG. Sets serve_pid, and serve_port (empty if it did not come up
# within a minute).
start_serve() {
  local db=$1 log=$2
  : > "$log"
  "$KITH" serve --db "$db" --bind 127.0.0.1 --port 0 --threads "$THREADS" --quiet 2> "$log" &
  serve_pid=$!
  pids+=("$serve_pid")
  serve_port=""
  for _ in $(seq 600); do
    serve_port=$(grep -o '127.0.0.1:[0-9]*' "$log" | head -1 | cut -d: -f2)
    [ -n "$serve_port" ] && break
    kill -0 "$serve_pid" 2>/dev/null || break
    sleep 0.1
  done
}

# Prints the peak resident memory (VmHWM) of the server PID, named LABEL,
# then stops it.
stop_serve() {
  local pid=$1 label=$2
  awk -v label="$label" '/^VmHWM:/ { printf "-- %-17s kith serve peak RSS %.0f MiB\n", label, $2 / 1024 }' \
    "/proc/$pid/status" 2>/dev/null
  kill "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  forget "$pid"
}

# Starts wrk in the background: MODE (read or token) against PORT with CONNS
# connections on NTHREADS threads, SEED for its choice of people, its output
# in OUT, for SECONDS (default PG_BENCH_SECONDS). Sets wrk_pid.
start_wrk() {
  local mode=$1 port=$2 conns=$3 nthreads=$4 seed=$5 out=$6 secs=${7:-$SECS}
  wrk -t"$nthreads" -c"$conns" -d"${secs}s" --latency -s bench/pg/pg.lua \
    "http://127.0.0.1:$port" -- "$mode" "$work/ids.txt" "$seed" > "$out" 2>&1 &
  wrk_pid=$!
  pids+=("$wrk_pid")
}

# Prints one line of figures, named NAME and WHAT, from the outputs of the
# wrk runs FILE... that ran at the same time: requests/s summed, and each
# latency percentile the worse (larger) of theirs; with one file, its own.
# Non-2xx answers and socket errors (timeouts above all) are added up.
figures() {
  local name=$1 what=$2 note=$3
  shift 3
  awk -v name="$name" -v what="$what" -v note="$note" '
    # wrk prints times as 812.00us, 1.25ms, 1.02s or 1.50m
    function us(t) {
      if (t ~ /us$/) return t + 0
      if (t ~ /ms$/) return t * 1000
      if (t ~ /m$/) return t * 60e6
      return t * 1e6
    }
    function worse(a, b) { return a == "" || us(b) > us(a) ? b : a }
    /Requests\/sec/ { rps += $2 }
    /^ +50%/ { p50 = worse(p50, $2) }
    /^ +90%/ { p90 = worse(p90, $2) }
    /^ +99%/ { p99 = worse(p99, $2) }
    /Non-2xx/ { bad += $NF }
    /Socket errors/ { for (i = 4; i <= NF; i += 2) err += $i }
    END {
      printf "-- %-17s %s  %8.0f req/s  p50 %s  p90 %s  p99 %s%s%s%s\n", name, what, rps,
        p50 == "" ? "-" : p50, p90 == "" ? "-" : p90, p99 == "" ? "-" : p99,
        bad ? "  NON-2xx: " bad : "", err ? "  socket errors: " err : "", note
    }' "$@"
}

what_of() { [ "$1" = read ] && echo "GET Patient/ID            " || echo "Patient?identifier=NHS no."; }

# The place, and "ID NHS_NUMBER" for every Patient for the wrk script. Both
# generators write a Patient on one line, starting
# {"resourceType":"Patient","id":"...", with its NHS number later as
# {"system":"https://fhir.nhs.uk/Id/nhs-number","value":"..."}.
mkdir -p "$work/place"
if [ "$PLACE" = synth ]; then
  echo "-- a synthetic place of $PEOPLE people (kith synth)"
  "$KITH" synth --people "$PEOPLE" --seed 11 --out "$work/place" >/dev/null 2>&1 ||
    { echo "-- kith synth failed: no figures"; exit 0; }
else
  echo "-- $PEOPLE Patients only (bench/gen-patients.mjs)"
  node bench/gen-patients.mjs "$PEOPLE" > "$work/place/Patient.ndjson" ||
    { echo "-- gen-patients.mjs failed: no figures"; exit 0; }
fi
files=("$work"/place/*.ndjson)
nres=$(cat "${files[@]}" | wc -l)
sed -n 's|^{"resourceType":"Patient","id":"\([^"]*\)".*"system":"https://fhir\.nhs\.uk/Id/nhs-number","value":"\([0-9]*\)".*|\1 \2|p' \
  "$work/place/Patient.ndjson" > "$work/ids.txt"
[ -s "$work/ids.txt" ] ||
  { echo "-- no ids extracted from Patient.ndjson (has its JSON changed shape?): no figures"; exit 0; }

port=$((20000 + RANDOM % 30000))
url=$(scripts/pg.sh start "$work/pg" "$port") || { echo "cannot start PostgreSQL"; exit 0; }
pgdb="$url?options=-csearch_path%3Dkith_bench"
sqdb="$work/kith.db"

for db in "$sqdb" "$pgdb"; do
  name=$([ "$db" = "$sqdb" ] && echo SQLite || echo PostgreSQL)
  start=$(date +%s.%N)
  "$KITH" import --db "$db" --quiet "${files[@]}" >/dev/null 2> "$work/import.log"
  rc=$?
  end=$(date +%s.%N)
  awk -v n="$nres" -v s="$start" -v e="$end" -v name="$name" \
    'BEGIN { printf "-- import into %-10s %d resources in %.1f s: %.0f resources/s\n", name, n, e - s, n / (e - s) }'
  [ "$rc" = 0 ] || { echo "--   kith import exited $rc:"; tail -3 "$work/import.log"; }
  if [ "$db" = "$pgdb" ]; then
    # Autovacuum would gather statistics in its own time; a plain ANALYZE
    # covers the kith_bench schema, the only one in this database (and the
    # catalogs). Kith never ANALYZEs SQLite, and `PRAGMA optimize` from a
    # fresh sqlite3 connection gathers nothing, so SQLite is measured
    # without statistics, as Kith runs it.
    start=$(date +%s.%N)
    "$psql" -X -q "$url" -c "ANALYZE" || echo "--   ANALYZE failed"
    end=$(date +%s.%N)
    awk -v s="$start" -v e="$end" 'BEGIN { printf "-- ANALYZE on PostgreSQL in %.1f s\n", e - s }'
  fi
done

# Size on disk: SQLite's file and its write-ahead log; PostgreSQL's tables in
# kith_bench with their indexes and TOAST (not its write-ahead log).
bytes=$(du -cb "$sqdb" "$sqdb-wal" 2>/dev/null | tail -1 | cut -f1)
echo "-- SQLite     on disk $(numfmt --to=iec-i --suffix=B --format=%.1f "$bytes") (the file and its WAL)"
bytes=$("$psql" -X -qAt "$url" -c "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = 'kith_bench' AND c.relkind IN ('r', 'm')")
echo "-- PostgreSQL on disk $(numfmt --to=iec-i --suffix=B --format=%.1f "${bytes:-0}") (the tables, their indexes and TOAST)"

# wrk's threads: two when there are connections enough, for the two cores.
# Two wrk runs at once get one thread each, so that every set-up has two
# threads making requests on the same machine as the servers.
wthreads=$([ "$CONNS" -ge 2 ] && echo 2 || echo 1)
half_a=$(((CONNS + 1) / 2))
half_b=$((CONNS / 2 > 0 ? CONNS / 2 : 1))
echo "-- serving: kith serve --threads $THREADS, wrk with $CONNS connections, $SECS s a run"
for db in "$sqdb" "$pgdb"; do
  name=$([ "$db" = "$sqdb" ] && echo SQLite || echo PostgreSQL)
  # One client and token per database: both PostgreSQL servers accept it.
  "$KITH" client add bench --scopes 'system/*.rs' --db "$db" >/dev/null
  KITH_TOKEN=$("$KITH" client token bench --expires 1h --db "$db"); export KITH_TOKEN
  [ -n "$KITH_TOKEN" ] || { echo "-- $name: no client token, no serving figures"; continue; }

  start_serve "$db" "$work/serve-a.log"
  a_pid=$serve_pid a_port=$serve_port
  if [ -z "$a_port" ]; then
    echo "-- $name: kith serve did not start:"; tail -3 "$work/serve-a.log"
    stop_serve "$a_pid" "$name"
    continue
  fi
  # Unmeasured warm-up (other people than the measured runs ask for): the first
  # set-up's reads would otherwise pay for a cold server and cache, and the
  # searches after them would not.
  start_wrk read "$a_port" "$CONNS" "$wthreads" 9 "$work/warm.txt" "$WARM"
  wait "$wrk_pid"; forget "$wrk_pid"
  for mode in read token; do
    start_wrk "$mode" "$a_port" "$CONNS" "$wthreads" 0 "$work/wrk-a.txt"
    wait "$wrk_pid"; forget "$wrk_pid"
    figures "$name" "$(what_of $mode)" "" "$work/wrk-a.txt"
  done
  stop_serve "$a_pid" "$name"
  [ "$db" = "$pgdb" ] || continue

  # Two servers on the same database, as behind a load balancer: each has its
  # own wrk with half the connections, both running at the same time.
  echo "-- two kith serve on the same PostgreSQL, $half_a + $half_b connections"
  start_serve "$db" "$work/serve-a.log"
  a_pid=$serve_pid a_port=$serve_port
  start_serve "$db" "$work/serve-b.log"
  b_pid=$serve_pid b_port=$serve_port
  if [ -z "$a_port" ] || [ -z "$b_port" ]; then
    echo "-- PostgreSQL x2: a kith serve did not start:"; tail -3 "$work/serve-a.log" "$work/serve-b.log"
  else
    start_wrk read "$a_port" "$half_a" 1 8 "$work/warm-a.txt" "$WARM"
    wa=$wrk_pid
    start_wrk read "$b_port" "$half_b" 1 9 "$work/warm-b.txt" "$WARM"
    wb=$wrk_pid
    wait "$wa"; forget "$wa"
    wait "$wb"; forget "$wb"
    for mode in read token; do
      start_wrk "$mode" "$a_port" "$half_a" 1 1 "$work/wrk-a.txt"
      wa=$wrk_pid
      start_wrk "$mode" "$b_port" "$half_b" 1 2 "$work/wrk-b.txt"
      wb=$wrk_pid
      wait "$wa"; forget "$wa"
      wait "$wb"; forget "$wb"
      what=$(what_of $mode)
      figures "PostgreSQL 1 of 2" "$what" "" "$work/wrk-a.txt"
      figures "PostgreSQL 2 of 2" "$what" "" "$work/wrk-b.txt"
      figures "PostgreSQL both" "$what" "  (req/s summed; p50/p90/p99 the worse of the two)" \
        "$work/wrk-a.txt" "$work/wrk-b.txt"
    done
  fi
  stop_serve "$a_pid" "PostgreSQL 1 of 2"
  stop_serve "$b_pid" "PostgreSQL 2 of 2"
done
exit 0
