#!/usr/bin/env bash
# run.sh — Kith HTTP benchmarks (`make bench`). A measuring program, not a
# test: it prints figures and exits 0 whether or not targets are met.
#
#  1. Generates N synthetic Patients as NDJSON (bench/gen-patients.mjs) into
#     bench/out/ and loads them with `kith import` into a fresh
#     bench/out/bench.db, printing the import rate. If the import did not put
#     every Patient at its own id, that is reported and the data set is loaded
#     over HTTP PUT instead (bench/load-http.mjs) so the rest can still run.
#  2. Read by id (bench/read.lua) at 64 keep-alive connections for each
#     --threads value in BENCH_THREADS (plus the server's default).
#  3. Create (bench/create.lua) at each of BENCH_CREATE_CONNS connections,
#     with --sync full (the default) and --sync normal; checks that the
#     Patient count grew by the number of 201s wrk saw.
#  4. Peak RSS (VmHWM) of every `kith serve` it ran, then a summary table.
#
# All traffic is on 127.0.0.1; servers listen on a free port (--port 0).
# Servers it started are stopped on exit. Tunables (environment):
#   BENCH_PATIENTS=100000  BENCH_READ_SECS=20  BENCH_CREATE_SECS=10
#   BENCH_THREADS="1 2 4 8"  BENCH_CREATE_CONNS="16 64"  BENCH_READ_CONNS=64
#   KITH_BIN=PATH  measure that kith binary instead of building bin/kith
#   BENCH_PERF=1   also profile the server with `perf record` during the
#                  default-threads read run and the first sync=full create
#                  run, and print the top of `perf report`.
set -uo pipefail
cd "$(dirname "$0")/.."

N=${BENCH_PATIENTS:-100000}
READ_SECS=${BENCH_READ_SECS:-20}
CREATE_SECS=${BENCH_CREATE_SECS:-10}
THREADS_LIST=${BENCH_THREADS:-"1 2 4 8"}
CREATE_CONNS=${BENCH_CREATE_CONNS:-"16 64"}
READ_CONNS=${BENCH_READ_CONNS:-64}
PERF=${BENCH_PERF:-0}
KITH=${KITH_BIN:-bin/kith}
OUT=bench/out
DB=$OUT/bench.db
NDJSON=$OUT/patients.ndjson
WIDTH=$(( ${#N} > 6 ? ${#N} : 6 ))

# Targets (figures only; they never change the exit status).
T_READ_RPS=15000 T_READ_P99=5 T_CREATE_RPS=3000 T_RSS_MB=150

mkdir -p "$OUT"
for tool in wrk node curl awk; do
  command -v "$tool" >/dev/null || { echo "bench: '$tool' is needed but not installed" >&2; exit 1; }
done
if [ -n "${KITH_BIN:-}" ]; then
  [ -x "$KITH" ] || { echo "bench: KITH_BIN=$KITH is not an executable" >&2; exit 1; }
elif ! make --no-print-directory bin/kith >"$OUT/build.log" 2>&1; then
  [ -x "$KITH" ] || { echo "bench: cannot build $KITH (see $OUT/build.log)" >&2; exit 1; }
  echo "bench: WARNING: 'make bin/kith' failed (see $OUT/build.log); measuring the existing $KITH" >&2
fi

PIDS=()
SERVER_PID="" URL="" HWM_KB=0
cleanup() { # stop what this script started: TERM, then KILL after 5 s
  local p i
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for i in $(seq 50); do
    local alive=0
    for p in "${PIDS[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    (( alive )) || break
    sleep 0.1
  done
  for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
  wait 2>/dev/null
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { printf '%s\n' "$*"; }

# run_child CMD...: run CMD as a child this script can stop at once when it
# is signalled (bash runs traps only after a foreground command ends, but
# `wait` returns early). Exit status is CMD's.
run_child() {
  "$@" &
  local pid=$! rc
  PIDS+=("$pid")
  wait "$pid"
  rc=$?
  forget_pid "$pid"
  return "$rc"
}
forget_pid() {
  local keep=() p
  for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
  PIDS=("${keep[@]+"${keep[@]}"}")
}
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

# A bearer token for every /fhir request (wrk scripts and load-http.mjs read KITH_TOKEN).
issue_token() {
  "$KITH" client add bench --scopes 'system/*.cruds' --db "$DB" >/dev/null &&
    KITH_TOKEN=$("$KITH" client token bench --expires 1d --db "$DB") && export KITH_TOKEN
}
AUTH() { printf 'Authorization: Bearer %s' "${KITH_TOKEN:-}"; }

# start_server LABEL [serve flags...]: sets SERVER_PID, URL, SERVER_THREADS.
start_server() {
  local log="$OUT/serve-$1.log"
  shift
  issue_token || { say "bench: cannot issue a token" >&2; return 1; }
  "$KITH" serve --db "$DB" --bind 127.0.0.1 --port 0 --quiet "$@" 2>"$log" &
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
  # Startup may take a while (schema migration, index rebuild): wait up to
  # 5 minutes while the process lives, and say so if it was slow.
  local port="" t0=$SECONDS
  while (( SECONDS - t0 < 300 )); do
    port=$(sed -n 's/.*"msg":"serving","url":"http:\/\/127\.0\.0\.1:\([0-9]*\)\/".*/\1/p' "$log" | head -1)
    if [ -n "$port" ] && curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null; then
      URL="http://127.0.0.1:$port"
      SERVER_THREADS=$(sed -n 's/.*"msg":"serving".*"threads":\([0-9]*\).*/\1/p' "$log" | head -1)
      if (( SECONDS - t0 > 2 )); then
        say "   (kith serve took $(( SECONDS - t0 )) s to start; see $log)"
      fi
      return 0
    fi
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.05
  done
  say "bench: kith serve did not start; its log:" >&2
  cat "$log" >&2
  exit 1
}

# Memory of the running server, in kB: HWM_KB is the peak RSS so far
# (VmHWM); RSS_ANON_KB / RSS_FILE_KB split the current RSS into heap and
# file-backed pages (SQLite maps the db file once per connection, so shared
# file pages count once per mapping); PSS_KB counts each page once.
sample_hwm() {
  HWM_KB=$(awk '/^VmHWM:/ { print $2 }' "/proc/$SERVER_PID/status" 2>/dev/null || echo 0)
  RSS_ANON_KB=$(awk '/^RssAnon:/ { print $2 }' "/proc/$SERVER_PID/status" 2>/dev/null || echo 0)
  RSS_FILE_KB=$(awk '/^RssFile:/ { print $2 }' "/proc/$SERVER_PID/status" 2>/dev/null || echo 0)
  PSS_KB=$(awk '/^Pss:/ { print $2 }' "/proc/$SERVER_PID/smaps_rollup" 2>/dev/null || echo 0)
}

stop_server() {
  [ -n "$SERVER_PID" ] || return 0
  sample_hwm
  kill -TERM "$SERVER_PID" 2>/dev/null
  local i
  for i in $(seq 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$SERVER_PID" 2>/dev/null
  wait "$SERVER_PID" 2>/dev/null
  forget_pid "$SERVER_PID"
  SERVER_PID=""
}

patient_total() {
  curl -fsS -H "$(AUTH)" "$URL/fhir/Patient?_count=0" 2>/dev/null | sed -n 's/.*"total":\([0-9]*\).*/\1/p'
}

# perf_start LABEL: profile the running server in the background (BENCH_PERF=1).
PERF_PID=""
perf_start() {
  [ "$PERF" = 1 ] && command -v perf >/dev/null || return 0
  perf record -F 499 -g -p "$SERVER_PID" -o "$OUT/perf-$1.data" -- sleep "$2" >/dev/null 2>&1 &
  PERF_PID=$!
  PIDS+=("$PERF_PID")
}
perf_report() {
  [ -n "$PERF_PID" ] || return 0
  wait "$PERF_PID" 2>/dev/null
  PERF_PID=""
  say "  perf ($1): top functions by self time (full data: $OUT/perf-$1.data)"
  perf report -i "$OUT/perf-$1.data" --stdio --no-children --sort dso,symbol -g none 2>/dev/null |
    grep -E '^ +[0-9.]+%' | head -25 | sed 's/ *- *- *$//; s/^/    /'
}

# run_wrk LABEL CONNS SECS SCRIPT [script args...]: sets R_* from the RESULT line.
run_wrk() {
  local label=$1 conns=$2 secs=$3 script=$4
  shift 4
  run_child wrk -t2 -c"$conns" -d"${secs}s" --timeout 10s --latency -s "$script" "$URL" -- "$@" \
    >"$OUT/wrk-$label.txt" 2>&1
  local line
  line=$(grep '^RESULT' "$OUT/wrk-$label.txt" | tail -1)
  if [ -z "$line" ]; then
    say "bench: wrk gave no result for $label:" >&2
    cat "$OUT/wrk-$label.txt" >&2
    R_REQS=0 R_RPS=0 R_P50=0 R_P90=0 R_P99=0 R_MAX=0 R_NON2XX=0 R_ERRS=0 R_201=0
    return 1
  fi
  IFS=$'\t' read -r _ R_REQS _ R_RPS R_P50 R_P90 R_P99 R_MAX R_NON2XX R_ERRS R_201 <<<"$line"
}

ROWS=()   # summary rows, tab-separated
add_row() { ROWS+=("$(printf '%s\t' "$@")"); }

say "== Kith benchmark: $N Patients, $(nproc) CPUs, wrk -t2, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
say "   kith $("$KITH" --version 2>/dev/null | head -1), db $DB"
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
say "   load average before: $LOAD0"
if awk -v l="${LOAD0%% *}" 'BEGIN { exit !(l > 0.5) }'; then
  say "   WARNING: the machine is busy; other processes share its CPUs and the figures will be noisy"
fi

# ---- 1. data set ---------------------------------------------------------
t0=$(date +%s.%N)
run_child node bench/gen-patients.mjs "$N" >"$NDJSON" || { echo "bench: generator failed" >&2; exit 1; }
say "-- generated $(wc -l <"$NDJSON") Patients ($(du -m "$NDJSON" | cut -f1) MB) in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"

rm -f "$DB" "$DB-wal" "$DB-shm"
run_child "$KITH" import --db "$DB" "$NDJSON" >"$OUT/import.out" 2>"$OUT/import.err"
IMPORT_RC=$?
IMPORT_LINE=$(grep '^Loaded' "$OUT/import.out" | head -1)
IMPORT_LOADED=$(sed -n 's/^Loaded \([0-9]*\) resources.*/\1/p' <<<"$IMPORT_LINE")
IMPORT_REJECTED=$(sed -n 's/.*rejected \([0-9]*\),.*/\1/p' <<<"$IMPORT_LINE")
IMPORT_RATE=$(sed -n 's/.*(\([0-9.]*\)\/s).*/\1/p' <<<"$IMPORT_LINE")
say "-- kith import (exit $IMPORT_RC): ${IMPORT_LINE:-no summary line}"
if [ -s "$OUT/import.err" ]; then
  say "   first messages ($(wc -l <"$OUT/import.err") lines in $OUT/import.err):"
  head -3 "$OUT/import.err" | cut -c1-200 | sed 's/^/     /'
fi

# Check the import put every Patient at its own id; else load over HTTP.
start_server check --sync normal
DEFAULT_THREADS=${SERVER_THREADS:-8}
have=$(patient_total)
first=$(curl -s -H "$(AUTH)" -o /dev/null -w '%{http_code}' "$URL/fhir/Patient/bench-$(printf "%0${WIDTH}d" 1)")
last=$(curl -s -H "$(AUTH)" -o /dev/null -w '%{http_code}' "$URL/fhir/Patient/bench-$(printf "%0${WIDTH}d" "$N")")
DATA_NOTE="kith import"
if [ "${have:-0}" != "$N" ] || [ "$first" != 200 ] || [ "$last" != 200 ]; then
  say "!! the import did not load the data set at its ids: Patient total ${have:-?} (want $N)," \
      "bench-…1 -> $first, bench-…$N -> $last"
  say "   falling back to PUT /fhir/Patient/ID over HTTP (--sync normal) for the data set"
  stop_server
  rm -f "$DB" "$DB-wal" "$DB-shm"
  start_server load --sync normal
  run_child node bench/load-http.mjs "$URL" "$NDJSON" 16 >"$OUT/load-http.out" 2>&1
  read -r _ L_OK L_FAIL L_SECS L_RATE < <(grep '^LOADED' "$OUT/load-http.out")
  have=$(patient_total)
  say "-- HTTP load: ${L_OK:-?} ok, ${L_FAIL:-?} failed in ${L_SECS:-?} s (${L_RATE:-?} PUT/s); Patient total now ${have:-?}"
  DATA_NOTE="HTTP PUT fallback (import failed)"
  if [ "${have:-0}" != "$N" ]; then
    say "bench: could not build the data set; stopping" >&2
    exit 1
  fi
fi
stop_server

# ---- 2. read by id, per --threads ---------------------------------------
say "-- read by id: GET /fhir/Patient/{random id}, $READ_CONNS connections, ${READ_SECS}s each"
tlist=$(printf '%s\n' $THREADS_LIST "$DEFAULT_THREADS" | awk '!seen[$0]++' | sort -n | tr '\n' ' ')
BEST_T="" BEST_RPS=0 LOW_T="" LOW_P99="" MAX_HWM_KB=0 MAX_PSS_KB=0
for t in $tlist; do
  start_server "read-t$t" --threads "$t"
  run_wrk "read-t$t-warmup" "$READ_CONNS" 3 bench/read.lua "$N" "$WIDTH"
  [ "$t" = "$DEFAULT_THREADS" ] && perf_start read "$(( READ_SECS / 2 ))"
  run_wrk "read-t$t" "$READ_CONNS" "$READ_SECS" bench/read.lua "$N" "$WIDTH"
  sample_hwm
  (( HWM_KB > MAX_HWM_KB )) && MAX_HWM_KB=$HWM_KB
  (( PSS_KB > MAX_PSS_KB )) && MAX_PSS_KB=$PSS_KB
  tag=$t
  [ "$t" = "$DEFAULT_THREADS" ] && tag="$t*"
  say "   threads $(printf '%-4s' "$tag") $(printf '%8.0f' "$R_RPS") req/s  p50 $R_P50  p90 $R_P90  p99 $R_P99  max $R_MAX ms" \
      " non-2xx $R_NON2XX  socket errors $R_ERRS  peak RSS $(mb "$HWM_KB") MB (now: anon $(mb "$RSS_ANON_KB"), file $(mb "$RSS_FILE_KB"), PSS $(mb "$PSS_KB"))"
  add_row read "$tag" full "$READ_CONNS" "$R_RPS" "$R_P50" "$R_P90" "$R_P99" "$R_NON2XX" "$R_ERRS" "$(mb "$HWM_KB")" "-"
  if [ "$t" = "$DEFAULT_THREADS" ]; then
    READ_RPS=$R_RPS READ_P99=$R_P99
    perf_report read
  fi
  if awk -v a="$R_RPS" -v b="$BEST_RPS" 'BEGIN { exit !(a > b) }'; then BEST_T=$t BEST_RPS=$R_RPS; fi
  if [ -z "$LOW_P99" ] || awk -v a="$R_P99" -v b="$LOW_P99" 'BEGIN { exit !(a < b) }'; then LOW_T=$t LOW_P99=$R_P99; fi
  stop_server
done

# ---- 3. create ---------------------------------------------------------------
CREATE_OK=1 CREATE_CLEAN=1 CREATE_FULL_MIN="" PERF_CREATE_DONE=""
for sync in full normal; do
  say "-- create: POST /fhir/Patient, --sync $sync, threads $DEFAULT_THREADS (default), ${CREATE_SECS}s each"
  start_server "create-$sync" --sync "$sync"
  for c in $CREATE_CONNS; do
    before=$(patient_total)
    if [ "$sync" = full ] && [ -z "$PERF_CREATE_DONE" ]; then
      perf_start create "$(( CREATE_SECS / 2 ))"
      PERF_CREATE_DONE=1
    fi
    run_wrk "create-$sync-c$c" "$c" "$CREATE_SECS" bench/create.lua
    sleep 0.5 # let requests in flight when wrk stopped finish
    after=$(patient_total)
    sample_hwm
    (( HWM_KB > MAX_HWM_KB )) && MAX_HWM_KB=$HWM_KB
    (( PSS_KB > MAX_PSS_KB )) && MAX_PSS_KB=$PSS_KB
    grew=$(( ${after:-0} - ${before:-0} ))
    extra=$(( grew - R_201 ))
    # wrk drops requests in flight at its deadline (and ones it timed out);
    # the server may still complete them, so the store may grow by up to
    # CONNS + timeouts more than the 201s wrk saw, never by fewer.
    if (( extra >= 0 && extra <= c + R_ERRS )); then
      check="OK (grew $grew = $R_201 x 201 + $extra in flight at stop)"
    else
      check="MISMATCH (grew $grew, 201s $R_201)"
      CREATE_OK=0
    fi
    [ "$R_NON2XX" = 0 ] && [ "$R_ERRS" = 0 ] || CREATE_CLEAN=0
    say "   conns $(printf '%-3s' "$c") $(printf '%8.0f' "$R_RPS") req/s  p50 $R_P50  p90 $R_P90  p99 $R_P99  max $R_MAX ms" \
        " non-2xx $R_NON2XX  socket errors $R_ERRS  peak RSS $(mb "$HWM_KB") MB (PSS $(mb "$PSS_KB"))  count check: $check"
    add_row create "$DEFAULT_THREADS*" "$sync" "$c" "$R_RPS" "$R_P50" "$R_P90" "$R_P99" "$R_NON2XX" "$R_ERRS" \
      "$(mb "$HWM_KB")" "${check%% *}"
    if [ "$sync" = full ]; then
      if [ -z "$CREATE_FULL_MIN" ] || awk -v a="$R_RPS" -v b="$CREATE_FULL_MIN" 'BEGIN { exit !(a < b) }'; then
        CREATE_FULL_MIN=$R_RPS
      fi
    fi
    perf_report create
  done
  stop_server
done

# ---- 4. summary ----------------------------------------------------------------
met() { if awk "BEGIN { exit !($1) }"; then echo "met"; else echo "MISSED"; fi; }
say ""
say "== Summary ($N Patients, $(nproc) CPUs, client wrk -t2 on the same machine; * = default threads)"
if [ "$DATA_NOTE" = "kith import" ]; then
  say "import: ${IMPORT_LOADED:-?} loaded, ${IMPORT_REJECTED:-?} rejected, ${IMPORT_RATE:-?} resources/s (as kith import reports)"
else
  say "import: BROKEN - kith import loaded ${IMPORT_LOADED:-?}, rejected ${IMPORT_REJECTED:-?} (${IMPORT_RATE:-?}/s reported);" \
      "data set loaded by $DATA_NOTE at ${L_RATE:-?} PUT/s"
fi
{
  printf 'test\tthreads\tsync\tconns\treq/s\tp50 ms\tp90 ms\tp99 ms\tnon-2xx\tsock err\tpeak RSS MB\tcount check\n'
  printf '%s\n' "${ROWS[@]}"
} | awk -F'\t' '{ if (NR > 1) $5 = sprintf("%.0f", $5);
                  printf "%-7s %-8s %-6s %-6s %9s %8s %8s %8s %8s %9s %12s  %s\n", $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12 }'
say "reads by --threads: most req/s with $BEST_T ($(printf '%.0f' "$BEST_RPS") req/s), lowest p99 with $LOW_T ($LOW_P99 ms); default is $DEFAULT_THREADS"
say "peak RSS (VmHWM) of any kith serve: $(mb "$MAX_HWM_KB") MB; largest PSS seen: $(mb "$MAX_PSS_KB") MB (file pages counted once)"
say "targets:"
target() { printf '  %-46s %10s  %s\n' "$1" "$2" "$3"; }
ok_if() { [ "$1" = 1 ] && echo met || echo MISSED; }
target "read >= $T_READ_RPS req/s (default threads)" "$(printf '%.0f' "${READ_RPS:-0}")" "$(met "${READ_RPS:-0} >= $T_READ_RPS")"
target "read p99 < $T_READ_P99 ms (default threads)" "${READ_P99:-?}" "$(met "${READ_P99:-999} < $T_READ_P99")"
target "create >= $T_CREATE_RPS req/s (--sync full, worst run)" "$(printf '%.0f' "${CREATE_FULL_MIN:-0}")" \
  "$(met "${CREATE_FULL_MIN:-0} >= $T_CREATE_RPS")"
target "create: 0 non-2xx, 0 socket errors" "" "$(ok_if "$CREATE_CLEAN")"
target "create: store grew by the 201s wrk saw" "" "$(ok_if "$CREATE_OK")"
target "peak RSS (VmHWM) < $T_RSS_MB MB" "$(mb "$MAX_HWM_KB")" "$(met "$MAX_HWM_KB < $T_RSS_MB * 1024")"
say "load average before: $LOAD0, after: $(cut -d' ' -f1-3 /proc/loadavg) (this run adds about 2)"
say "raw outputs: $OUT/ (wrk-*.txt, serve-*.log, import.*)"
exit 0
