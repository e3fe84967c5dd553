#!/usr/bin/env bash
# bench/care/run.sh — care coordination on a large place (`make bench-care`).
# A measuring program, not a test: it prints figures and exits 0 whether or
# not the targets are met.
#
#  1. A place of KITH_BENCH_PEOPLE people (default 250,000): bench/care/gen.mjs
#     writes it as NDJSON (GP practices, ~60 teams with their services, one
#     referral per 5 people over three years; the benchmark team, team-001,
#     has 50 members and ~2,000 open Tasks), `kith import` loads it, and two
#     users are added: a community nurse in team-001 (linked to Practitioner
#     pr-001-01) and a GP at gp-P0001. The database is kept in
#     build/bench-care/place-N.db and built again only when gen.mjs changes
#     (or N); each run works on a copy, so runs start from the same state.
#  2. Serves the copy (KITH_NOW fixed at the place's "now" so the same Tasks
#     are overdue on every run; the escalation sweep off so it does not write
#     during the measurements), warms up, then GET /fhir/Task/$worklist with
#     list=team, mine and overdue as the nurse, BENCH_CARE_REQUESTS requests
#     (or BENCH_CARE_SECS seconds) at each concurrency in BENCH_CARE_CONC:
#     p50/p95/p99/max and requests/s. Target: p95 < 50 ms. For comparison,
#     list=team once more as a system client (team=team-001), whose searches
#     skip the care-relationship rule that a person's do.
#  3. Referrals: POST /fhir/ServiceRequest/$refer as the GP (a random patient
#     of the practice to a random team's service) for BENCH_CARE_REFER_SECS
#     seconds at each concurrency in BENCH_CARE_REFER_CONC: referrals/s and
#     latency; checks that ServiceRequests grew by the 201s seen.
#  4. Peak RSS (VmHWM) of kith serve.
#
# Loopback only; the server is stopped on exit. Tunables (environment):
#   KITH_BENCH_PEOPLE=250000 (20000 for a quick run)  BENCH_CARE_REQUESTS=500
#   BENCH_CARE_SECS=30  BENCH_CARE_CONC="1 8"  BENCH_CARE_REFER_SECS=20
#   BENCH_CARE_REFER_CONC="1 4"  KITH_BIN=PATH (measure that binary, no build)
#   BENCH_CARE_PERF=1  profile the server with perf during list=team at c=1
set -uo pipefail
cd "$(dirname "$0")/../.."

N=${KITH_BENCH_PEOPLE:-250000}
REQS=${BENCH_CARE_REQUESTS:-500}
SECS=${BENCH_CARE_SECS:-30}
CONCS=${BENCH_CARE_CONC:-"1 8"}
REFER_SECS=${BENCH_CARE_REFER_SECS:-20}
REFER_CONCS=${BENCH_CARE_REFER_CONC:-"1 4"}
PERF=${BENCH_CARE_PERF:-0}
KITH=${KITH_BIN:-bin/kith}
DIR=build/bench-care
DATA=$DIR/place-$N
CACHE=$DIR/place-$N.db
STAMP=$DIR/place-$N.stamp
WORK=$DIR/run.db
OUT=$DIR/out
T_P95=50

mkdir -p "$OUT"
for tool in node curl sqlite3 awk sha256sum; do
  command -v "$tool" >/dev/null || { echo "bench-care: '$tool' is needed but not installed" >&2; exit 1; }
done
if [ -n "${KITH_BIN:-}" ]; then
  [ -x "$KITH" ] || { echo "bench-care: KITH_BIN=$KITH is not an executable" >&2; exit 1; }
elif ! make --no-print-directory bin/kith >"$OUT/build.log" 2>&1; then
  [ -x "$KITH" ] || { echo "bench-care: cannot build $KITH (see $OUT/build.log)" >&2; exit 1; }
  echo "bench-care: WARNING: 'make bin/kith' failed (see $OUT/build.log); measuring the existing $KITH" >&2
fi

SERVER_PID="" PERF_PID=""
cleanup() {
  local p
  for p in $PERF_PID $SERVER_PID; do kill -TERM "$p" 2>/dev/null; done
  for _ in $(seq 50); do
    [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  [ -n "$SERVER_PID" ] && kill -KILL "$SERVER_PID" 2>/dev/null
  wait 2>/dev/null
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { printf '%s\n' "$*"; }
secs_since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
meta() { node -p "JSON.parse(require('fs').readFileSync('$DATA/bench.json','utf8'))$1"; }

say "== Kith care coordination benchmark: $N people, $(nproc) CPUs, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
say "   kith $("$KITH" --version 2>/dev/null | head -1) ($KITH, built $(date -u -r "$KITH" +%Y-%m-%dT%H:%MZ));" \
    "source at $(git rev-parse --short HEAD 2>/dev/null || echo ?)$(git diff --quiet HEAD -- src 2>/dev/null || echo ' with local changes in src/')"
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
say "   load average before: $LOAD0"
if awk -v l="${LOAD0%% *}" 'BEGIN { exit !(l > 0.5) }'; then
  say "   WARNING: the machine is busy; other processes share its CPUs and the figures will be noisy"
fi

# ---- 1. the place ------------------------------------------------------------
WANT_STAMP="$(sha256sum bench/care/gen.mjs | cut -c1-64) people=$N"
if [ -f "$CACHE" ] && [ -f "$DATA/bench.json" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$WANT_STAMP" ]; then
  say "-- place: cached $CACHE ($(du -m "$CACHE" | cut -f1) MB; built $(date -u -r "$STAMP" +%Y-%m-%dT%H:%MZ))"
else
  say "-- place: building (gen.mjs changed, or no cached database for $N people)"
  rm -rf "$DATA" "$CACHE" "$CACHE-wal" "$CACHE-shm" "$STAMP" "$CACHE.tmp"*
  t0=$(date +%s.%N)
  node bench/care/gen.mjs --people "$N" --out "$DATA" --now "$(date -u +%Y-%m-%dT%H:%M:00Z)" >"$OUT/gen.out" ||
    { echo "bench-care: gen.mjs failed" >&2; exit 1; }
  sed 's/^/   /' "$OUT/gen.out"
  say "   generated in $(secs_since "$t0") s ($(du -sm "$DATA" | cut -f1) MB of NDJSON)"
  files=()
  for t in Organization Practitioner PractitionerRole HealthcareService Patient ServiceRequest Task EpisodeOfCare Flag; do
    [ -f "$DATA/$t.ndjson" ] && files+=("$DATA/$t.ndjson")
  done
  /usr/bin/time -f "%e %M" -o "$OUT/import.time" "$KITH" import --db "$CACHE.tmp" --quiet "${files[@]}" \
    >"$OUT/import.out" 2>"$OUT/import.err"
  rc=$?
  read -r ISECS IRSS <"$OUT/import.time"
  say "   kith import (exit $rc): $(grep '^Loaded' "$OUT/import.out" | head -1); wall $ISECS s, peak RSS $(mb "$IRSS") MB"
  if [ $rc -ne 0 ]; then
    head -5 "$OUT/import.err" | sed 's/^/     /'
    echo "bench-care: the import failed; stopping" >&2
    exit 1
  fi
  for u in "nurse community-nurse $(meta .team) $(meta .nurse_practitioner)" "gp gp $(meta .gp_org) $(meta .gp_practitioner)"; do
    set -- $u
    printf 'bench-care-password\n' | "$KITH" user add --username "bench-$1" --role "$2" --org "$3" --practitioner "$4" \
      --password-stdin --db "$CACHE.tmp" >/dev/null || { echo "bench-care: cannot add user bench-$1" >&2; exit 1; }
  done
  "$KITH" client add bench-care --scopes 'system/*.cruds' --db "$CACHE.tmp" >/dev/null ||
    { echo "bench-care: cannot add the client" >&2; exit 1; }
  sqlite3 "$CACHE.tmp" 'PRAGMA wal_checkpoint(TRUNCATE);' >/dev/null
  rm -f "$CACHE.tmp-wal" "$CACHE.tmp-shm"
  mv "$CACHE.tmp" "$CACHE"
  say "$WANT_STAMP" >"$STAMP"
  say "   database $CACHE: $(du -m "$CACHE" | cut -f1) MB"
fi
TEAM=$(meta .team)
NOW=$(meta .now)
say "   $(meta .people) people, $(meta .practices) practices, $(meta .teams) teams, $(meta .referrals) referrals;" \
    "now fixed at $NOW"
say "   $TEAM: $(meta .team_members) active members; $(meta .expected.team_open) open Tasks" \
    "($(meta .expected.team_overdue) overdue, $(meta .expected.team_org_owned_open) owned by the team itself)," \
    "$(meta .expected.mine_open) owned by the nurse ($(meta .nurse_practitioner))"

rm -f "$WORK" "$WORK-wal" "$WORK-shm"
cp "$CACHE" "$WORK" || { echo "bench-care: cannot copy $CACHE" >&2; exit 1; }
NURSE=$("$KITH" user token bench-nurse --expires 4h --db "$WORK") &&
  GP=$("$KITH" user token bench-gp --expires 4h --db "$WORK") &&
  SYS=$("$KITH" client token bench-care --expires 4h --db "$WORK") ||
  { echo "bench-care: cannot issue tokens" >&2; exit 1; }

# ---- 2. serve ------------------------------------------------------------------
KITH_NOW=$NOW "$KITH" serve --db "$WORK" --bind 127.0.0.1 --port 0 --quiet --escalate-every 0 2>"$OUT/serve.log" &
SERVER_PID=$!
URL="" t0=$SECONDS
while (( SECONDS - t0 < 300 )); do
  port=$(sed -n 's/.*"msg":"serving","url":"http:\/\/127\.0\.0\.1:\([0-9]*\)\/".*/\1/p' "$OUT/serve.log" | head -1)
  if [ -n "$port" ] && curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null; then
    URL="http://127.0.0.1:$port"
    break
  fi
  kill -0 "$SERVER_PID" 2>/dev/null || break
  sleep 0.1
done
[ -n "$URL" ] || { echo "bench-care: kith serve did not start:" >&2; cat "$OUT/serve.log" >&2; exit 1; }
THREADS=$(sed -n 's/.*"msg":"serving".*"threads":\([0-9]*\).*/\1/p' "$OUT/serve.log" | head -1)
say "-- kith serve: $URL, $THREADS threads, --sync full, started in $(( SECONDS - t0 )) s"

ROWS=()
# measure LABEL TOKEN load.mjs-args...: runs load.mjs, prints its line, keeps its RESULT
measure() {
  local label=$1 tok=$2
  shift 2
  KITH_TOKEN=$tok node bench/care/load.mjs "$@" --label "$label" >"$OUT/load.txt" 2>&1
  grep -v '^RESULT' "$OUT/load.txt" | sed 's/^/   /'
  local line
  line=$(grep '^RESULT' "$OUT/load.txt" | tail -1)
  [ -n "$line" ] && ROWS+=("$line")
  IFS=$'\t' read -r _ _ R_N R_OK R_NON2XX R_ERR R_SECS R_RPS R_P50 R_P95 R_P99 R_MAX R_TOTAL R_ENTRIES <<<"$line"
}

perf_start() {
  [ "$PERF" = 1 ] && command -v perf >/dev/null || return 0
  perf record -F 999 -g -p "$SERVER_PID" -o "$OUT/perf-worklist.data" >/dev/null 2>&1 &
  PERF_PID=$!
}
perf_stop() {
  [ -n "$PERF_PID" ] || return 0
  kill -INT "$PERF_PID" 2>/dev/null
  wait "$PERF_PID" 2>/dev/null
  PERF_PID=""
  say "   perf: top functions by self time during list=team c=1 (full data: $OUT/perf-worklist.data)"
  perf report -i "$OUT/perf-worklist.data" --stdio --no-children --sort dso,symbol -g none 2>/dev/null |
    grep -E '^ +[0-9.]+%' | head -25 | sed 's/ *- *- *$//; s/^/     /'
}

WL='/fhir/Task/$worklist'
say "-- warm-up: 20 requests of each worklist"
for list in team mine overdue; do
  KITH_TOKEN=$NURSE node bench/care/load.mjs get "$URL" "$WL?list=$list" --requests 20 --seconds 60 >/dev/null 2>&1
done
say "-- worklists as the nurse (community-nurse, $TEAM, $(meta .nurse_practitioner)): up to $REQS requests or ${SECS}s each"
declare -A P95
for list in team mine overdue; do
  for c in $CONCS; do
    [ "$list" = team ] && [ "$c" = "${CONCS%% *}" ] && perf_start
    measure "$list c$c" "$NURSE" get "$URL" "$WL?list=$list" --concurrency "$c" --requests "$REQS" --seconds "$SECS"
    [ "$list" = team ] && [ "$c" = "${CONCS%% *}" ] && perf_stop
    P95["$list c$c"]=$R_P95
  done
done
say "-- for comparison: list=team as a system client (no care-relationship rule in the searches)"
measure "team c1 system" "$SYS" get "$URL" "$WL?list=team&team=$TEAM" --concurrency 1 --requests "$REQS" --seconds "$SECS"

# ---- 3. referrals ----------------------------------------------------------------
sr_count() { sqlite3 "$WORK" "SELECT count(*) FROM resource WHERE rtype = 'ServiceRequest' AND deleted = 0" 2>/dev/null; }
say "-- referrals: POST /fhir/ServiceRequest/\$refer as the GP ($(meta .gp_org), $(meta .gp_patients) registered patients)" \
    "to the $(meta .teams) teams' services, ${REFER_SECS}s each"
SERVICES=$(meta ".services.join(',')")
REFER_OK=1
for c in $REFER_CONCS; do
  before=$(sr_count)
  measure "refer c$c" "$GP" refer "$URL" --patients "$DATA/gp-patients.txt" --services "$SERVICES" \
    --concurrency "$c" --requests 100000000 --seconds "$REFER_SECS"
  after=$(sr_count)
  grew=$(( ${after:-0} - ${before:-0} ))
  if [ "$grew" = "${R_OK:-x}" ]; then say "   ServiceRequests grew by $grew = the 201s seen"
  else say "   MISMATCH: ServiceRequests grew by $grew, 201s seen ${R_OK:-?}"; REFER_OK=0; fi
done

# ---- 4. memory ---------------------------------------------------------------------
HWM_KB=$(awk '/^VmHWM:/ { print $2 }' "/proc/$SERVER_PID/status")
RSS_KB=$(awk '/^VmRSS:/ { print $2 }' "/proc/$SERVER_PID/status")
ANON_KB=$(awk '/^RssAnon:/ { print $2 }' "/proc/$SERVER_PID/status")
FILE_KB=$(awk '/^RssFile:/ { print $2 }' "/proc/$SERVER_PID/status")
say "-- kith serve memory: peak RSS (VmHWM) $(mb "$HWM_KB") MB; now RSS $(mb "$RSS_KB") MB" \
    "(anon $(mb "$ANON_KB"), file $(mb "$FILE_KB"))"

# ---- summary -------------------------------------------------------------------------
say ""
say "== Summary ($N people, $TEAM of $(meta .team_members), $(nproc) CPUs, client on the same machine; ms)"
{
  printf 'test\trequests\tok\tnon-2xx\terrors\tsecs\treq/s\tp50\tp95\tp99\tmax\ttotal\tentries\n'
  printf '%s\n' "${ROWS[@]}" | cut -f2-
} | awk -F'\t' '{ printf "  %-16s %8s %7s %7s %6s %7s %8s %7s %7s %7s %7s %6s %7s\n", $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13 }'
say "  (total: the worklist Bundle's total as the nurse sees it; the place has $(meta .expected.team_open) open, $(meta .expected.team_overdue) overdue for $TEAM, $(meta .expected.mine_open) the nurse's)"
say "targets:"
for k in "team c1" "team c8" "mine c1" "mine c8" "overdue c1" "overdue c8"; do
  [ -n "${P95[$k]:-}" ] || continue
  printf '  %-34s %8s  %s\n' "worklist $k p95 < $T_P95 ms" "${P95[$k]}" \
    "$(awk -v a="${P95[$k]}" -v t="$T_P95" 'BEGIN { print (a < t ? "met" : "MISSED") }')"
done
printf '  %-34s %8s  %s\n' "referrals: store grew by the 201s" "" "$([ $REFER_OK = 1 ] && echo met || echo MISSED)"
say "peak RSS (VmHWM) of kith serve: $(mb "$HWM_KB") MB"
say "load average before: $LOAD0, after: $(cut -d' ' -f1-3 /proc/loadavg)"
say "raw outputs: $OUT/ (serve.log, import.*, gen.out); database copy: $WORK"
exit 0
