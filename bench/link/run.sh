#!/usr/bin/env bash
# bench/link/run.sh — probabilistic record linkage (`make bench-link`).
# A measuring program, not a test: it prints figures and exits 0 whether or
# not the targets are met.
#
#  1. Scale: `kith synth --identities N` writes N GP records and N council
#     records without NHS numbers (half of them copies of GP records made
#     with the place's error process, half other people) and who is who.
#     `kith link --left people.csv --right council.csv` links them; its
#     report gives the pairs compared per blocking rule, what EM learned and
#     the time of each stage; /usr/bin/time gives wall time and peak RSS.
#     Target: N = 1,000,000 in under 60 s on the 2-core machine.
#     bench/link/evaluate.mjs scores the links against the truth.
#  2. Quality on the synthetic place: `kith synth --people P --out` (FHIR and
#     CLD), then `kith link` of the council's rows without an NHS number
#     against the people the GP practices hold; precision and recall at each
#     threshold (the precision-recall curve). Target at the default threshold
#     (0.99): precision >= 0.99, recall >= 0.97.
#
# Files go to bench/out/link (kept between runs; the identities are made
# again only when N or the binary changes). Tunables (environment):
#   BENCH_LINK_N=1000000  BENCH_LINK_PLACE=150000  BENCH_LINK_THREADS=2
#   KITH_BIN=PATH (measure that binary, no build)
set -uo pipefail
cd "$(dirname "$0")/../.."

N=${BENCH_LINK_N:-1000000}
PLACE=${BENCH_LINK_PLACE:-150000}
THREADS=${BENCH_LINK_THREADS:-2}
KITH=${KITH_BIN:-bin/kith}
OUT=bench/out/link
mkdir -p "$OUT"
[ -n "${KITH_BIN:-}" ] || make --no-print-directory bin/kith >/dev/null || exit 1

echo "== machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.1f GB", $2/1048576}' /proc/meminfo), $(uname -r)"

ID="$OUT/identities-$N"
if [ ! -s "$ID/truth-identities.csv" ] || [ "$KITH" -nt "$ID/truth-identities.csv" ]; then
  rm -rf "$ID"
  echo "== generating $N GP records and $N council records (kith synth --identities)"
  /usr/bin/time -f "   %e s wall, peak RSS %M KB" "$KITH" synth --identities "$N" --out "$ID" || exit 1
fi

echo "== kith link: $N x $N records, $THREADS threads"
/usr/bin/time -f "   wall %e s, user %U s, sys %S s, peak RSS %M KB" \
  "$KITH" link --left "$ID/people.csv" --right "$ID/council.csv" --out "$OUT/links-$N.csv" \
  --threads "$THREADS" --review-from 0 | sed 's/^/   /'
echo "== quality at scale (every council record's best candidate against the truth)"
node bench/link/evaluate.mjs --links "$OUT/links-$N.csv" --truth "$ID/truth-identities.csv" | sed 's/^/   /'

PD="$OUT/place-$PLACE"
if [ ! -s "$PD/truth-people.csv" ] || [ "$KITH" -nt "$PD/truth-people.csv" ]; then
  rm -rf "$PD"
  echo "== generating a place of $PLACE people (kith synth --out)"
  "$KITH" synth --people "$PLACE" --out "$PD" --quiet >/dev/null || exit 1
  rm -f "$PD"/*.ndjson # only the CLD and the truth are needed here
fi
echo "== the place's CLD rows without an NHS number against the people the GP practices hold"
"$KITH" link --left "$PD/truth-people.csv" --right "$PD/cld.csv" --out "$OUT/links-place.csv" --review-from 0 \
  --quiet
node bench/link/evaluate.mjs --links "$OUT/links-place.csv" --place "$PD" | sed 's/^/   /'
exit 0
