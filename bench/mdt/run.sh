#!/usr/bin/env bash
# bench/mdt/run.sh — how fast a neighbourhood's MDT case list is found, on a
# synthetic place. A measuring program, not a test: it prints figures and
# exits 0 whether or not the target is met.
#
#  1. A place of KITH_BENCH_MDT_PEOPLE people (default 20,000): `kith synth
#     --db` (its six programme neighbourhoods each have an MDT, CareTeam
#     mdt-int-N), then bench/mdt/risk.mjs writes RiskAssessments (eFI and
#     emergency admission risk, in the shape `kith frailty` writes) for
#     everyone aged 65+ and referrals for MDT discussion for one in 60 of them
#     in the programme neighbourhoods, and `kith import` loads them. A user
#     `bench-chair` (role mdt-chair, organisation org-int-1, the MDT's chair
#     Practitioner pr-1) is added. Kept in build/bench-mdt/place-N.db and
#     built again only when N, the generator or risk.mjs change; each run
#     works on a copy.
#  2. Serves the copy with KITH_NOW at the end of the place's three years
#     (2026-03-31T09:00:00Z), the escalation sweep off.
#  3. POST CareTeam/mdt-int-1/$find-cases as the chair, BENCH_MDT_REQUESTS
#     times one after another (each writes the case list and its case
#     CareTeams, fsync'd): p50/p95/max. Target: p95 < 200 ms. Then with
#     frailty=moderate (more candidates), and as a system client (no access
#     policy in the SQL) for comparison; then the agenda, the minutes and the
#     MDT measures over the programme's two years (the synthetic place's own
#     MDT discussions: repeats, admissions before and after).
#
# Tunables: KITH_BENCH_MDT_PEOPLE=20000 (20,000-50,000 is the brief's range)
#   BENCH_MDT_REQUESTS=40  KITH_BIN=PATH (measure that binary, no build)
set -uo pipefail
cd "$(dirname "$0")/../.."

N=${KITH_BENCH_MDT_PEOPLE:-20000} REQS=${BENCH_MDT_REQUESTS:-40} KITH=${KITH_BIN:-bin/kith}
NOW=2026-03-31T09:00:00Z T_P95=200
DIR=build/bench-mdt
DATA=$DIR/place-$N CACHE=$DIR/place-$N.db STAMP=$DIR/place-$N.stamp WORK=$DIR/run.db OUT=$DIR/out
mkdir -p "$OUT"
missing=$(for t in node curl sqlite3 awk sha256sum timeout; do command -v "$t" >/dev/null || printf '%s ' "$t"; done)
[ -z "$missing" ] || { echo "bench-mdt: needs $missing" >&2; exit 1; }
if [ -z "${KITH_BIN:-}" ]; then
  make --no-print-directory bin/kith >"$OUT/build.log" 2>&1 ||
    echo "bench-mdt: WARNING: 'make bin/kith' failed (see $OUT/build.log); measuring the existing $KITH" >&2
fi
[ -x "$KITH" ] || { echo "bench-mdt: no $KITH to measure" >&2; exit 1; }

SERVER_PID=""
stop_server() { # SIGTERM, 5 s to finish, then SIGKILL
  [ -n "$SERVER_PID" ] || return 0
  kill -TERM "$SERVER_PID" 2>/dev/null
  timeout 5 tail --pid="$SERVER_PID" -f /dev/null 2>/dev/null || kill -KILL "$SERVER_PID" 2>/dev/null
  SERVER_PID=""
}
trap stop_server EXIT
trap 'exit 130' INT TERM
say() { printf '%s\n' "$*"; }
secs_since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

say "== Kith MDT case-finding benchmark: $N people, $(nproc) CPUs, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
say "   load average before: $LOAD0"

# ---- 1. the place -----------------------------------------------------------------
WANT_STAMP="$(cat src/synth/place.c src/synth/synth.c src/synth/tables.c bench/mdt/risk.mjs | sha256sum | cut -c1-64) people=$N"
if [ -f "$CACHE" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$WANT_STAMP" ]; then
  say "-- place: cached $CACHE ($(du -m "$CACHE" | cut -f1) MB)"
else
  say "-- place: building (kith synth --people $N --seed 1 --db, then RiskAssessments)"
  rm -rf "$DATA" "$CACHE" "$CACHE-wal" "$CACHE-shm" "$STAMP" "$CACHE.tmp"*
  mkdir -p "$DATA"
  t0=$(date +%s.%N)
  "$KITH" synth --people "$N" --seed 1 --db "$CACHE.tmp" --out "$DATA" --quiet >"$OUT/synth.out" 2>&1 ||
    { echo "bench-mdt: kith synth failed:" >&2; tail -5 "$OUT/synth.out" >&2; exit 1; }
  say "   kith synth: $(secs_since "$t0") s"
  node bench/mdt/risk.mjs --truth "$DATA/truth-people.csv" --now "$NOW" --out "$DATA" | sed 's/^/   /' ||
    { echo "bench-mdt: risk.mjs failed" >&2; exit 1; }
  "$KITH" import --db "$CACHE.tmp" --quiet "$DATA/RiskAssessment.ndjson" "$DATA/ServiceRequest.ndjson" >"$OUT/import.out" 2>&1 ||
    { echo "bench-mdt: the import failed:" >&2; tail -5 "$OUT/import.out" >&2; exit 1; }
  say "   kith import: $(grep '^Loaded' "$OUT/import.out" | head -1)"
  find "$DATA" -name '*.ndjson' ! -name RiskAssessment.ndjson ! -name ServiceRequest.ndjson -delete # in the database now
  printf 'bench-mdt-password\n' | "$KITH" user add --username bench-chair --role mdt-chair --org org-int-1 \
    --practitioner pr-1 --password-stdin --db "$CACHE.tmp" >/dev/null || { echo "bench-mdt: cannot add the chair" >&2; exit 1; }
  "$KITH" client add bench-mdt --scopes 'system/*.cruds' --db "$CACHE.tmp" >/dev/null ||
    { echo "bench-mdt: cannot add the client" >&2; exit 1; }
  # the WAL folded in, the finished database takes the cache's name
  { sqlite3 "$CACHE.tmp" 'PRAGMA wal_checkpoint(TRUNCATE);' >/dev/null && rm -f "$CACHE.tmp-wal" "$CACHE.tmp-shm" &&
    mv "$CACHE.tmp" "$CACHE" && say "$WANT_STAMP" >"$STAMP"; } || { echo "bench-mdt: cannot keep $CACHE" >&2; exit 1; }
  say "   built in $(secs_since "$t0") s: $CACHE, $(du -m "$CACHE" | cut -f1) MB"
fi
q() { sqlite3 "$CACHE" "$1" 2>/dev/null; }
say "   $(q "SELECT count(*) FROM resource WHERE rtype='Patient' AND deleted=0") Patients," \
    "$(q "SELECT count(*) FROM resource WHERE rtype='RiskAssessment' AND deleted=0") RiskAssessments," \
    "$(q "SELECT count(*) FROM resource WHERE rtype='Encounter' AND deleted=0") Encounters," \
    "$(q "SELECT count(*) FROM resource WHERE rtype='CareTeam' AND deleted=0") MDTs"

rm -f "$WORK" "$WORK-wal" "$WORK-shm"
cp "$CACHE" "$WORK" || { echo "bench-mdt: cannot copy $CACHE" >&2; exit 1; }
CHAIR=$("$KITH" user token bench-chair --expires 4h --db "$WORK") &&
  SYS=$("$KITH" client token bench-mdt --expires 4h --db "$WORK") || { echo "bench-mdt: cannot issue tokens" >&2; exit 1; }

# ---- 2. serve ---------------------------------------------------------------------
KITH_NOW=$NOW "$KITH" serve --db "$WORK" --bind 127.0.0.1 --port 0 --quiet --escalate-every 0 2>"$OUT/serve.log" &
SERVER_PID=$!
# the URL the server logs it serves at, once /healthz answers there (nothing if it never does)
served_url() {
  local url
  for _ in $(seq 3000); do
    url=$(grep -o '"url":"http://127.0.0.1:[0-9]*/"' "$OUT/serve.log" | head -1 | cut -d'"' -f4)
    [ -n "$url" ] && curl -fsS -o /dev/null "${url}healthz" 2>/dev/null && { echo "${url%/}"; return; }
    kill -0 "$SERVER_PID" 2>/dev/null || return
    sleep 0.1
  done
}
URL=$(served_url)
[ -n "$URL" ] || { echo "bench-mdt: kith serve did not start:" >&2; cat "$OUT/serve.log" >&2; exit 1; }
say "-- kith serve: $URL, KITH_NOW=$NOW"

ROWS=()
measure() { # LABEL TOKEN METHOD PATH [BODY]
  local label=$1 tok=$2 method=$3 path=$4 body=${5:-}
  local args=("$method" "$URL$path" --requests "$REQS" --label "$label")
  [ -n "$body" ] && args+=(--body "$body")
  KITH_TOKEN=$tok node bench/mdt/time.mjs "${args[@]}" >"$OUT/time.txt" 2>&1
  grep -v '^RESULT' "$OUT/time.txt" | sed 's/^NOTE /     /; s/^/   /'
  ROWS+=("$(grep '^RESULT' "$OUT/time.txt" | tail -1)")
}

FIND='/fhir/CareTeam/mdt-int-1/$find-cases'
say "-- case finding for mdt-int-1 (Kithbury Central), $REQS requests one after another"
measure "find-cases (chair)" "$CHAIR" POST "$FIND" '{"resourceType":"Parameters"}'
P95_CHAIR=$(printf '%s\n' "${ROWS[-1]}" | cut -f6)
measure "find-cases moderate" "$CHAIR" POST "$FIND" \
  '{"resourceType":"Parameters","parameter":[{"name":"frailty","valueCode":"moderate"},{"name":"max-cases","valueInteger":40}]}'
measure "find-cases (system)" "$SYS" POST "$FIND" '{"resourceType":"Parameters"}'

say "-- a meeting from the last list, its agenda and minutes"
LIST=$(curl -fsS -H "Authorization: Bearer $CHAIR" -H 'Content-Type: application/fhir+json' -X POST "$URL$FIND" \
  -d '{"resourceType":"Parameters"}' | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const b=JSON.parse(s);console.log(b.entry.find(e=>e.resource.resourceType==="List").resource.id)})')
APPT=$(curl -fsS -H "Authorization: Bearer $CHAIR" -H 'Content-Type: application/fhir+json' -X POST \
  "$URL/fhir/CareTeam/mdt-int-1/\$plan-meeting" \
  -d "{\"resourceType\":\"Parameters\",\"parameter\":[{\"name\":\"list\",\"valueReference\":{\"reference\":\"List/$LIST\"}},{\"name\":\"start\",\"valueDateTime\":\"2026-04-02T13:00:00Z\"}]}" |
  node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const b=JSON.parse(s);console.log(b.entry.find(e=>e.resource.resourceType==="Appointment").resource.id)})')
if [ -n "$APPT" ]; then
  measure "agenda" "$CHAIR" GET "/fhir/Appointment/$APPT/\$agenda"
  measure "agenda markdown" "$CHAIR" GET "/fhir/Appointment/$APPT/\$agenda?format=markdown"
else
  say "   (could not plan a meeting)"
fi
say "-- MDT measures for mdt-int-1 over the programme's two years"
measure "mdt-measures" "$CHAIR" GET '/fhir/CareTeam/mdt-int-1/$mdt-measures?from=2024-04-01&to=2026-04-01'

# ---- summary --------------------------------------------------------------------------
say ""
say "== Summary ($N people, $(nproc) CPUs, client on the same machine; ms)"
{
  printf 'test\trequests\tok\tp50\tp95\tmax\tmean\n'
  printf '%s\n' "${ROWS[@]}" | cut -f2-
} | awk -F'\t' '{ printf "  %-22s %8s %5s %8s %8s %8s %8s\n", $1, $2, $3, $4, $5, $6, $7 }'
printf '  %-40s %8s  %s\n' "case list p95 < $T_P95 ms (as the chair)" "$P95_CHAIR" \
  "$(awk -v a="$P95_CHAIR" -v t="$T_P95" 'BEGIN { print (a != "" && a < t ? "met" : "MISSED") }')"
say "load average before: $LOAD0, after: $(cut -d' ' -f1-3 /proc/loadavg)"
say "raw outputs: $OUT/; database copy: $WORK"
exit 0
