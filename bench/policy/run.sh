#!/usr/bin/env bash
# run.sh — what sign-in, the access policy and the audit trail cost per request
# (`make bench-policy`). A measuring program, not a test: it prints figures.
#
# On a synthetic place of BENCH_POLICY_PEOPLE (default 3,000) people it reads
# Patients by id with wrk for BENCH_POLICY_SECS (default 15) seconds each, as:
#   1. a system client (token and scope check, audit; no care-relationship rule);
#   2. a GP (token, scope check, the care-relationship rule in SQL, audit),
#      reading patients of the GP's own practice (all allowed);
#   3. the same GP reading patients of other practices (all hidden: 404).
# The differences between the medians are the policy's cost. It then counts
# the audit entries written against the requests wrk made (audit keeps up?),
# and runs `kith audit verify` on the whole log.
set -uo pipefail
cd "$(dirname "$0")/../.."
N=${BENCH_POLICY_PEOPLE:-3000}
SECS=${BENCH_POLICY_SECS:-15}
KITH=${KITH_BIN:-bin/kith}
[ -n "${KITH_BIN:-}" ] || make -s bin/kith || exit 1
OUT=bench/out/policy
rm -rf "$OUT" && mkdir -p "$OUT"
DB=$OUT/place.db
echo "== building a place of $N people"
"$KITH" synth --people "$N" --seed 1 --db "$DB" --quiet || exit 1
"$KITH" client add bench --scopes 'system/*.cruds' --db "$DB" >/dev/null
printf 'bench-password\n' | "$KITH" user add --username gp1 --role gp --org gp-Z00001 --practitioner pr-1 \
  --password-stdin --db "$DB" >/dev/null
sqlite3 "$DB" "SELECT r.rid FROM resource r JOIN sp_reference g ON g.rkey = r.rkey WHERE r.rtype = 'Patient'
  AND g.tid = 'gp-Z00001' AND g.ttype = 'Organization'" > "$OUT/own.txt"
sqlite3 "$DB" "SELECT r.rid FROM resource r JOIN sp_reference g ON g.rkey = r.rkey WHERE r.rtype = 'Patient'
  AND g.tid != 'gp-Z00001' AND g.ttype = 'Organization' LIMIT 2000" > "$OUT/other.txt"
SYS=$("$KITH" client token bench --expires 1d --db "$DB")
GP=$("$KITH" user token gp1 --expires 1d --db "$DB")
"$KITH" serve --db "$DB" --port 0 --quiet 2> "$OUT/serve.log" &
PID=$!
trap 'kill $PID 2>/dev/null' EXIT
for _ in $(seq 100); do
  port=$(sed -n 's/.*"url":"http:\/\/127.0.0.1:\([0-9]*\)\/".*/\1/p' "$OUT/serve.log" | head -1)
  [ -n "$port" ] && break
  sleep 0.1
done
URL=http://127.0.0.1:$port
before=$(sqlite3 "$DB" 'SELECT count(*) FROM kith_audit')
total=0
run() { # LABEL TOKEN IDS
  local r
  r=$(IDS_FILE="$3" KITH_TOKEN="$2" wrk -t2 -c32 -d"${SECS}s" --latency -s bench/policy/read.lua "$URL" | grep '^RESULT')
  read -r _ reqs rps p50 p90 p99 non2xx <<< "$r"
  total=$((total + reqs))
  printf "  %-36s %8.0f req/s  p50 %6.3f ms  p90 %6.3f ms  p99 %6.3f ms  non-2xx %d\n" "$1" "$rps" "$p50" "$p90" "$p99" "$non2xx"
  eval "P50_$4=$p50; RPS_$4=$rps"
}
echo "== reads by id, 32 connections, ${SECS}s each ($(wc -l < "$OUT/own.txt") patients at the GP's practice)"
run "system client" "$SYS" "$OUT/own.txt" sys
run "GP, own practice (allowed)" "$GP" "$OUT/own.txt" own
run "GP, other practices (hidden: 404)" "$GP" "$OUT/other.txt" other
sleep 1
kill $PID; wait $PID 2>/dev/null
after=$(sqlite3 "$DB" 'SELECT count(*) FROM kith_audit')
echo "== audit: $((after - before)) entries written for $total requests"
"$KITH" audit verify --db "$DB"
awk -v a="$P50_sys" -v b="$P50_own" -v c="$P50_other" -v ra="$RPS_sys" -v rb="$RPS_own" -v rc="$RPS_other" \
    -v cores="$(nproc)" 'BEGIN {
  printf "== the care-relationship rule adds %.0f us to the median read at 32 connections (allowed), %.0f us (hidden)\n", (b - a) * 1000, (c - a) * 1000
  printf "== and costs %.0f us of CPU per read (allowed), %.0f us (hidden): (1/rate - 1/rate_system) x %d cores\n", (1 / rb - 1 / ra) * cores * 1e6, (1 / rc - 1 / ra) * cores * 1e6, cores }'
