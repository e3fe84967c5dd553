#!/usr/bin/env bash
# bench/view/run.sh — SQL on FHIR views: rows per second of `kith view`.
# A measuring program, not a test: it prints figures and exits 0.
#
# `kith synth --people N --out DIR` writes the synthetic place as NDJSON
# (N = 20,000 gives about 376,000 Encounters and 511,000 resources in all).
# Then, each timed with the rows and resources it reports:
#   1. encounters: one row per Encounter (9 columns: keys, codes, period,
#      a forEachOrNull over type codings) as CSV;
#   2. patients:   one row per Patient with a forEach over names, and a
#      where[] on the NHS number, read from every file of the place (the
#      other types are read, parsed and skipped) as NDJSON;
#   3. the same encounters view from a gzip-compressed file.
# Figures: rows/s and resources/s (wall time, one thread), and rows per CPU second.
#
# Files go to bench/out/view (the place is made again only when N or the
# binary changes). Tunables: BENCH_VIEW_PEOPLE=20000, KITH_BIN=PATH (measure
# that binary, no build).
set -uo pipefail
cd "$(dirname "$0")/../.."

PEOPLE=${BENCH_VIEW_PEOPLE:-20000}
KITH=${KITH_BIN:-bin/kith}
OUT=bench/out/view
PLACE="$OUT/place-$PEOPLE"
mkdir -p "$OUT"
[ -n "${KITH_BIN:-}" ] || make --no-print-directory bin/kith >/dev/null || exit 1

echo "== machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.1f GB", $2/1048576}' /proc/meminfo), $(uname -r)"
if [ ! -s "$PLACE/Encounter.ndjson" ] || [ "$KITH" -nt "$PLACE/Encounter.ndjson" ]; then
  rm -rf "$PLACE"
  echo "== generating the place: kith synth --people $PEOPLE"
  "$KITH" synth --people "$PEOPLE" --out "$PLACE" --quiet >/dev/null || exit 1
fi
[ -s "$PLACE/Encounter.ndjson.gz" ] || gzip -1 -k "$PLACE/Encounter.ndjson"

cat >"$OUT/encounters.json" <<'EOF'
{"resourceType": "ViewDefinition", "name": "encounters", "status": "active", "resource": "Encounter",
 "select": [
  {"column": [
    {"name": "encounter", "path": "getResourceKey()"},
    {"name": "patient", "path": "subject.getReferenceKey(Patient)"},
    {"name": "status", "path": "status"},
    {"name": "class", "path": "class.code"},
    {"name": "start", "path": "period.start"},
    {"name": "end", "path": "period.end"},
    {"name": "provider", "path": "serviceProvider.getReferenceKey(Organization)"}]},
  {"forEachOrNull": "type.coding.first()", "column": [
    {"name": "type_system", "path": "system"},
    {"name": "type_code", "path": "code"}]}]}
EOF
cat >"$OUT/patients.json" <<'EOF'
{"resourceType": "ViewDefinition", "name": "patient_names", "status": "active", "resource": "Patient",
 "constant": [{"name": "nhs", "valueUri": "https://fhir.nhs.uk/Id/nhs-number"}],
 "select": [
  {"column": [
    {"name": "patient", "path": "getResourceKey()"},
    {"name": "nhs_number", "path": "identifier.where(system = %nhs).value.first()"},
    {"name": "gender", "path": "gender"},
    {"name": "birth_date", "path": "birthDate"},
    {"name": "postcode", "path": "address.first().postalCode"},
    {"name": "practice", "path": "generalPractitioner.first().getReferenceKey(Organization)"}]},
  {"forEach": "name", "column": [
    {"name": "use", "path": "use"},
    {"name": "family", "path": "family"},
    {"name": "given", "path": "given.join(' ')"}]}],
 "where": [{"path": "identifier.where(system = %nhs).exists()"}]}
EOF

# run NAME FORMAT FILES...: time one `kith view`, print its figures (wall time, and CPU time
# which other work on the machine disturbs less)
run() {
  local name="$1" format="$2"; shift 2
  local json wall cpu
  json=$(/usr/bin/time -f "%e %U %S" -o "$OUT/time.txt" "$KITH" view "$OUT/$name.json" "$@" --format "$format" \
    --out "$OUT/$name.$format" --json) || { echo "kith view $name failed"; return; }
  read -r wall cpu sys <"$OUT/time.txt"
  node -e '
    const [name, fmt, wall, user, sys, text] = process.argv.slice(1);
    const j = JSON.parse(text), w = Number(wall), c = Number(user) + Number(sys);
    const n = (x) => Math.round(x).toLocaleString("en-GB").padStart(9);
    console.log(`${name.padEnd(14)} ${fmt.padEnd(7)} ${String(j.rows).padStart(8)} rows from ${String(j.resources).padStart(7)} resources` +
      ` in ${w.toFixed(2)} s: ${n(j.rows / w)} rows/s, ${n(j.resources / w)} resources/s; per CPU second ${n(j.rows / c)} rows`);
  ' "$name" "$format" "$wall" "$cpu" "$sys" "$json"
}

echo "== kith view over $(wc -l <"$PLACE/Encounter.ndjson") Encounters and $(cat "$PLACE"/*.ndjson | wc -l) resources in all"
run encounters csv "$PLACE/Encounter.ndjson"
run encounters ndjson "$PLACE/Encounter.ndjson"
run patients ndjson "$PLACE"/*.ndjson
cp "$OUT/encounters.json" "$OUT/encounters-gz.json"
run encounters-gz csv "$PLACE/Encounter.ndjson.gz"
exit 0
