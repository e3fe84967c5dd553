#!/usr/bin/env bash
# bench/risk/run.sh — the emergency admission risk model at population scale.
# A measuring program, not a test: it prints figures and exits 0 whether or
# not the target is met.
#
# Target (issue 7): `kith risk fit` on 1,000,000 people in under 60 s on the
# 2-core machine.
#
#  1. Scale: the place of N people that bench/frailty/place.sh makes (NDJSON;
#     shared with bench/frailty), then `kith risk fit --ndjson DIR --dry-run`:
#     its report gives the time to read the records (parsing the JSON of
#     every Patient, Condition, MedicationRequest and Observation, and of the
#     Encounters that can matter: inpatient stays, A&E attendances, MDT
#     discussions), to compute every person's features and to fit (IRLS).
#     /usr/bin/time gives wall time and peak RSS.
#  2. Against the ground truth, at scale: the same with --truth, which adds
#     the generator's form of model (one row per person per 30-day step over
#     the three years: about 36 rows a person) and the generating model's AUC.
#  3. On a database, the whole path: `kith risk fit` then `kith risk score`
#     (twice: the second writes nothing) on the bench/frailty database of P
#     people, which holds the CLD social care the NDJSON files do not.
#
# Tunables (environment):
#   BENCH_RISK_N=1000000  BENCH_RISK_TRUTH_N=1000000  BENCH_FRAILTY_DB_PEOPLE=20000
#   KITH_BIN=PATH (measure that binary, no build)
set -uo pipefail
cd "$(dirname "$0")/../.."

N=${BENCH_RISK_N:-1000000}
TN=${BENCH_RISK_TRUTH_N:-$N}
P=${BENCH_FRAILTY_DB_PEOPLE:-20000}
KITH=${KITH_BIN:-bin/kith}
[ -n "${KITH_BIN:-}" ] || make --no-print-directory bin/kith >/dev/null || exit 1

echo "== machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.1f GB", $2/1048576}' /proc/meminfo), $(uname -r)"

PL="bench/out/pop/place-$N"
KITH="$KITH" bench/frailty/place.sh "$PL" "$N" || exit 1
ls -l "$PL"/*.ndjson | awk '{printf "   %s %.0f MB\n", $NF, $5/1048576}'
echo "== kith risk fit --ndjson: $N people"
/usr/bin/time -f "   wall %e s, user %U s, sys %S s, peak RSS %M KB" \
  "$KITH" risk fit --ndjson "$PL" --dry-run --quiet | sed 's/^/   /'

TP="bench/out/pop/place-$TN"
KITH="$KITH" bench/frailty/place.sh "$TP" "$TN" || exit 1
echo "== kith risk fit --ndjson --truth: $TN people, with the step model"
/usr/bin/time -f "   wall %e s, user %U s, sys %S s, peak RSS %M KB" \
  "$KITH" risk fit --ndjson "$TP" --truth "$TP/ground-truth.json" --dry-run --quiet | sed 's/^/   /'

DB="bench/out/frailty/place-$P.db"
if [ ! -s "$DB" ]; then
  mkdir -p bench/out/frailty
  echo "== loading a place of $P people into a database (kith synth --db)"
  /usr/bin/time -f "   %e s wall, peak RSS %M KB" "$KITH" synth --people "$P" --db "$DB" --quiet || exit 1
fi
echo "== kith risk fit --db: $P people, with the ground truth"
/usr/bin/time -f "   wall %e s, peak RSS %M KB" \
  "$KITH" risk fit --db "$DB" --truth "$DB.synth/ground-truth.json" --quiet | sed 's/^/   /'
for run in first second; do
  echo "== kith risk score --db ($run run)"
  /usr/bin/time -f "   wall %e s, peak RSS %M KB" "$KITH" risk score --db "$DB" --quiet | sed 's/^/   /'
done
exit 0
