#!/usr/bin/env bash
# bench/report/run.sh — `kith report`: the integration indicators (issue 8)
# of a place of a million people over three years. A measuring program, not
# a test: it prints figures and exits 0 whether or not the target is met.
#
# Target (issue 8): all indicators for a 1,000,000-person place over 3 years
# in under 60 s on the 2-core machine; and the time to generate the report.
#
# The place is bench/frailty/place.sh's (bench/out/pop/place-N, shared with
# bench/frailty and bench/risk: `kith synth --out`, NDJSON, two places of
# N/2 put together above 909,090 people; made once, delete it to make it
# again). `kith report --ndjson` reads Patient, Organization and Encounter
# (about 12 GB for a million people: every GP appointment and community visit
# is looked at, as text, to be passed over), computes every indicator for
# every month, locality, neighbourhood, practice and the 65+ cohort, and
# writes index.html and the CSV files. Its own timing splits read, compute
# and write; /usr/bin/time gives the wall time and peak RSS. Run with 2
# reading threads (the default) and with 1, and a second time with 2 once
# the files are in the page cache.
#
# Tunables (environment): BENCH_REPORT_N=1000000, KITH_BIN=PATH (measure
# that binary, no build).
set -uo pipefail
cd "$(dirname "$0")/../.."

N=${BENCH_REPORT_N:-1000000}
KITH=${KITH_BIN:-bin/kith}
OUT=bench/out/report
mkdir -p "$OUT"
[ -n "${KITH_BIN:-}" ] || make --no-print-directory bin/kith >/dev/null || exit 1

echo "== machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.1f GB", $2/1048576}' /proc/meminfo), $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"

PL="bench/out/pop/place-$N"
KITH="$KITH" bench/frailty/place.sh "$PL" "$N" || exit 1
if [ ! -s "$PL/Organization.ndjson" ]; then
  echo "   note: $PL has no Organization.ndjson (made before bench/frailty/place.sh kept it):"
  echo "   practices are reported without their neighbourhoods and localities; delete $PL to make it again"
fi
ls -l "$PL"/{Patient,Organization,Encounter}.ndjson 2>/dev/null | awk '{printf "   %s %.0f MB\n", $NF, $5/1048576}'
echo "   $(wc -l < "$PL/Patient.ndjson") people"

for T in 2 1 2; do
  echo "== kith report --ndjson (--threads $T)"
  rm -rf "$OUT/place-$N"
  /usr/bin/time -f "   wall %e s, user %U s, sys %S s, peak RSS %M KB" \
    "$KITH" report --ndjson "$PL" --out "$OUT/place-$N" --threads "$T" | sed 's/^/   /'
done
ls -l "$OUT/place-$N" | awk 'NR > 1 {printf "   %s %.1f MB\n", $NF, $5/1048576}'
echo "   $(($(wc -l < "$OUT/place-$N/indicators.csv") - 1)) rows in indicators.csv"
exit 0
