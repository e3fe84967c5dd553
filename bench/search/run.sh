#!/usr/bin/env bash
# bench/search/run.sh — token search on a large store (`make bench-search`).
# A measuring program, not a test: prints figures, exits 0.
#
#  1. Builds bench/out/search.db once (kept between runs): 100,000 Patients
#     and SEARCH_OBS (default 5,000,000) Observations (gen-observations.mjs),
#     loaded with `kith import`, printing the import rate.
#  2. Serves it and runs wrk at 16 connections for 20 s with
#     Observation?code=http://loinc.org|X&subject=Patient/Y (random patient and
#     code; bench/search/token.lua): requests/s and latency percentiles.
#  3. Times `Observation?code=http://loinc.org|8867-4&_summary=count` (a fifth
#     of all Observations match) three times.
# Loopback only; the server is stopped on exit.
set -uo pipefail
cd "$(dirname "$0")/../.."
KITH=${KITH_BIN:-bin/kith}
OBS=${SEARCH_OBS:-5000000}
PATIENTS=100000
PER=$(( OBS / PATIENTS ))
DB=bench/out/search.db
mkdir -p bench/out
[ -x "$KITH" ] || make -s bin/kith
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done' EXIT

if [ ! -f "$DB" ] || [ "$(sqlite3 "$DB" "select count(*) from resource where rtype='Observation'" 2>/dev/null)" != "$((PER * PATIENTS))" ]; then
  rm -f "$DB" "$DB-wal" "$DB-shm"
  [ -f bench/out/patients.ndjson ] || node bench/gen-patients.mjs "$PATIENTS" > bench/out/patients.ndjson
  echo "-- generating $((PER * PATIENTS)) Observations"
  node bench/search/gen-observations.mjs "$PATIENTS" "$PER" > bench/out/observations.ndjson
  echo "-- importing (this is the import benchmark too)"
  /usr/bin/time -f "   import wall %e s, peak RSS %M KB" "$KITH" import --db "$DB" --quiet \
    bench/out/patients.ndjson bench/out/observations.ndjson
fi
echo "-- store: $(sqlite3 "$DB" "select count(*) from resource") resources, $(du -h "$DB" | cut -f1) on disk"

"$KITH" client add bench --scopes 'system/*.cruds' --db "$DB" >/dev/null
KITH_TOKEN=$("$KITH" client token bench --expires 1d --db "$DB"); export KITH_TOKEN
"$KITH" serve --db "$DB" --port 0 --quiet 2> bench/out/search-serve.log &
pids+=($!)
for _ in $(seq 50); do port=$(grep -o '127.0.0.1:[0-9]*' bench/out/search-serve.log | head -1 | cut -d: -f2); [ -n "$port" ] && break; sleep 0.1; done
base="http://127.0.0.1:$port"
echo "-- token search: Observation?code=...&subject=..., 16 connections, 20 s"
wrk -t2 -c16 -d20s --latency -s bench/search/token.lua "$base" | grep -E "Requests/sec|  50%|  90%|  99%|Non-2xx|Socket"
echo "-- _summary=count over a fifth of all Observations"
for i in 1 2 3; do
  curl -s -H "Authorization: Bearer $KITH_TOKEN" -o /tmp/kith-count.json -w "   %{time_total} s" "$base/fhir/Observation?code=http://loinc.org%7C8867-4&_summary=count"
  echo "  total $(grep -o '"total":[0-9]*' /tmp/kith-count.json)"
done
echo "-- peak RSS of kith serve: $(grep VmHWM /proc/${pids[0]}/status | awk '{print $2/1024 " MB"}')"
