#!/usr/bin/env bash
# run.sh DB PORT — what `make run` does after building: create the database
# with a synthetic place of 20,000 people (kith synth) if it does not exist
# yet, then serve. KITH_RUN_PEOPLE changes the size.
set -euo pipefail
cd "$(dirname "$0")/.."
db="$1"; port="$2"
people="${KITH_RUN_PEOPLE:-20000}"
if [ ! -f "$db" ]; then
  echo "Creating $db with a synthetic place of $people people (kith synth; about a minute)..."
  rm -f "$db.partial" "$db.partial-wal" "$db.partial-shm"
  bin/kith synth --people "$people" --seed 1 --db "$db.partial" --out "$db.synth"
  mv "$db.partial" "$db"
  rm -f "$db.partial-wal" "$db.partial-shm"
  echo "Loaded: $(sqlite3 "$db" 'SELECT count(*) FROM resource WHERE deleted = 0') resources;" \
       "the ground truth and the council's CLD extract are in $db.synth/"
fi
cat <<MSG

  Kith is starting on http://localhost:$port/
    FHIR API:      http://localhost:$port/fhir/metadata
    e.g.           curl 'http://localhost:$port/fhir/Patient?name=smith&_count=5'
                   curl 'http://localhost:$port/fhir/HealthcareService?_elements=name,comment'
    health:        http://localhost:$port/healthz   metrics: http://localhost:$port/metrics
  Sign-in is not needed yet: the API is open on this machine only (127.0.0.1).
  Everyone in the database is synthetic (kith synth); see docs/synthetic-place.md.
  Stop with Ctrl-C.

MSG
exec bin/kith serve --db "$db" --port "$port"
