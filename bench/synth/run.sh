#!/usr/bin/env bash
# run.sh — how fast `kith synth` builds a synthetic place, and how big it is
# (`make bench-synth`). A measuring program, not a test: it prints figures
# and exits 0 whether or not the targets are met.
#
#  1. Generate BENCH_SYNTH_PEOPLE people (default 100,000; three years) as
#     files only (--out): the generator's own speed, resources per person.
#  2. The same place into a fresh SQLite database (--db): wall time, people
#     and resources per second through the bulk loader, peak RSS, database
#     size per 100,000 people. Target: 100,000 people in under 2 minutes.
#  3. The largest place the 999 NHS number range allows (900,000 people):
#     files only by default; BENCH_SYNTH_LARGE_DB=1 loads it into a database
#     too (hours at current rates, and ~70 GB of disk).
#
# Tunables: BENCH_SYNTH_PEOPLE, BENCH_SYNTH_LARGE (0 skips step 3),
# BENCH_SYNTH_LARGE_DB, BENCH_SYNTH_DIR (default bench/out/synth), KITH_BIN.
set -uo pipefail
cd "$(dirname "$0")/../.."

N=${BENCH_SYNTH_PEOPLE:-100000}
LARGE=${BENCH_SYNTH_LARGE:-900000}
DIR=${BENCH_SYNTH_DIR:-bench/out/synth}
KITH=${KITH_BIN:-bin/kith}
[ -n "${KITH_BIN:-}" ] || make -s bin/kith || exit 1
mkdir -p "$DIR"

# run LABEL ARGS... — time a kith synth run; sets SECS and RSS_MB
run() {
  local label="$1"; shift
  local t="$DIR/time.txt"
  /usr/bin/time -f "%e %M" -o "$t" "$KITH" synth --quiet "$@" > "$DIR/$label.out" 2> "$DIR/$label.err"
  local status=$?
  read -r SECS RSS_KB < <(tail -1 "$t")
  RSS_MB=$(awk -v k="$RSS_KB" 'BEGIN { printf "%.0f", k / 1024 }')
  if [ $status -ne 0 ]; then echo "  $label: kith synth failed (exit $status):"; tail -5 "$DIR/$label.err"; fi
  return $status
}

count_lines() { cat "$1"/*.ndjson | wc -l; }

echo "== 1. generate $N people to files"
rm -rf "$DIR/files"
run files --people "$N" --seed 1 --out "$DIR/files"
FILES_SECS=$SECS; FILES_RSS=$RSS_MB
RESOURCES=$(count_lines "$DIR/files")
CLD_ROWS=$(( $(wc -l < "$DIR/files/cld.csv") - 1 ))
FILES_MB=$(du -sm "$DIR/files" | cut -f1)
echo "  $FILES_SECS s, $RESOURCES resources, $CLD_ROWS CLD rows, $FILES_MB MB of files, peak RSS $FILES_RSS MB"
for t in Patient Encounter Condition MedicationRequest Observation; do
  printf "    %-18s %10d\n" "$t" "$(wc -l < "$DIR/files/$t.ndjson")"
done

echo "== 2. the same place into a fresh SQLite database"
rm -rf "$DIR/place.db" "$DIR/place.db-wal" "$DIR/place.db-shm" "$DIR/place.db.synth"
run db --people "$N" --seed 1 --db "$DIR/place.db"
DB_SECS=$SECS; DB_RSS=$RSS_MB
DB_MB=$(du -m "$DIR/place.db" | cut -f1)
LOADED=$(sqlite3 "$DIR/place.db" 'SELECT count(*) FROM resource')
echo "  $DB_SECS s, $LOADED resources loaded, database $DB_MB MB, peak RSS $DB_RSS MB"

LARGE_SECS=""; LARGE_DB_SECS=""
if [ "$LARGE" -gt 0 ]; then
  echo "== 3. a place of $LARGE people (files)"
  rm -rf "$DIR/large"
  run large --people "$LARGE" --seed 1 --out "$DIR/large" && LARGE_SECS=$SECS
  echo "  $LARGE_SECS s, peak RSS $RSS_MB MB, $(du -sm "$DIR/large" | cut -f1) MB of files"
  rm -rf "$DIR/large"
  if [ "${BENCH_SYNTH_LARGE_DB:-0}" = 1 ]; then
    rm -rf "$DIR/large.db"*
    run largedb --people "$LARGE" --seed 1 --db "$DIR/large.db" && LARGE_DB_SECS=$SECS
    echo "  into SQLite: $LARGE_DB_SECS s, database $(du -m "$DIR/large.db" | cut -f1) MB"
  fi
fi

echo
echo "== summary (machine: $(nproc) cores)"
awk -v n="$N" -v fs="$FILES_SECS" -v ds="$DB_SECS" -v res="$RESOURCES" -v mb="$DB_MB" -v rss="$DB_RSS" \
    -v large="$LARGE" -v ls="$LARGE_SECS" -v lds="$LARGE_DB_SECS" 'BEGIN {
  printf "  generator alone           %8.0f people/s  (%d people in %.1f s)\n", n / fs, n, fs
  printf "  into SQLite               %8.0f people/s, %.0f resources/s  (%.1f s; target: 100,000 people < 120 s)\n", n / ds, res / ds, ds
  printf "  resources per person      %8.1f\n", res / n
  printf "  database per 100,000      %8.0f MB\n", mb * 100000 / n
  printf "  peak RSS loading          %8.0f MB\n", rss
  if (ls != "") printf "  %d people, files only   %8.1f s\n", large, ls
  if (lds != "") printf "  %d people, into SQLite  %8.1f s\n", large, lds
  else if (large > 0) printf "  %d people, into SQLite  ~%.0f s at the measured rate (not run; BENCH_SYNTH_LARGE_DB=1)\n", large, ds * large / n
}'
