#!/usr/bin/env bash
# bench/frailty/place.sh DIR N — make (once) a synthetic place of N people as
# NDJSON in DIR, for bench/frailty and bench/risk. `kith synth` makes at
# most 909,090 people a place (the NHS number test range), so N above that
# is two places of N/2 (seeds 1 and 2) put together, the second one's
# Patient ids renamed pat- to pbt- so that nobody is two people. The place's
# ground-truth.json (seed 1) goes with it: the hazard coefficients, start
# and years are the same for every seed. Delete DIR to make it again.
# Uses $KITH (default bin/kith).
set -uo pipefail
DIR=$1
N=$2
KITH=${KITH:-bin/kith}
[ -s "$DIR/ground-truth.json" ] && exit 0
if [ "$N" -le 909090 ]; then
  rm -rf "$DIR"
  echo "== generating a place of $N people as NDJSON (kith synth --out)"
  /usr/bin/time -f "   %e s wall, peak RSS %M KB" "$KITH" synth --people "$N" --out "$DIR" --quiet || exit 1
  exit 0
fi
H=$((N / 2))
if [ ! -s "$DIR.a/ground-truth.json" ] || [ ! -s "$DIR.b/ground-truth.json" ]; then
  rm -rf "$DIR" "$DIR.a" "$DIR.b"
  echo "== generating two places of $H people as NDJSON (kith synth --out, seeds 1 and 2, side by side)"
  /usr/bin/time -f "   seed 1: %e s wall, peak RSS %M KB" "$KITH" synth --people "$H" --seed 1 --out "$DIR.a" --quiet &
  /usr/bin/time -f "   seed 2: %e s wall, peak RSS %M KB" "$KITH" synth --people "$((N - H))" --seed 2 --out "$DIR.b" --quiet &
  wait
  [ -s "$DIR.a/ground-truth.json" ] && [ -s "$DIR.b/ground-truth.json" ] || exit 1
fi
# one file at a time, moving rather than copying, so the disk holds little more than one place
mkdir -p "$DIR"
for t in Patient Condition MedicationRequest Observation Procedure Encounter; do
  [ -f "$DIR.a/$t.ndjson" ] || continue
  mv "$DIR.a/$t.ndjson" "$DIR/$t.ndjson"
  sed 's/pat-/pbt-/g' "$DIR.b/$t.ndjson" >> "$DIR/$t.ndjson" || exit 1
  rm -f "$DIR.b/$t.ndjson"
done
# the organisations (practices, neighbourhoods, localities) are the same ids in both: seed 1's, for bench/report
[ -f "$DIR.a/Organization.ndjson" ] && mv "$DIR.a/Organization.ndjson" "$DIR/Organization.ndjson"
cp "$DIR.a/ground-truth.json" "$DIR/"
rm -rf "$DIR.a" "$DIR.b"
