#!/usr/bin/env bash
# run.sh DB PORT — what `make run` does after building: create the database
# with the official FHIR R4 examples if it does not exist yet, then serve.
set -euo pipefail
cd "$(dirname "$0")/.."
db="$1"; port="$2"
if [ ! -f "$db" ]; then
  echo "Creating $db with the official FHIR R4 example resources (a synthetic population comes later)..."
  node tools/example-files.mjs node_modules/hl7.fhir.r4.examples > build/example-files.txt
  xargs -a build/example-files.txt bin/kith import --db "$db" --quiet >/dev/null || true
  echo "Loaded: $(sqlite3 "$db" 'SELECT count(*) FROM resource WHERE deleted = 0') resources."
fi
cat <<MSG

  Kith is starting on http://localhost:$port/
    FHIR API:      http://localhost:$port/fhir/metadata
    e.g.           curl http://localhost:$port/fhir/Patient
    health:        http://localhost:$port/healthz   metrics: http://localhost:$port/metrics
  Sign-in is not needed yet: the API is open on this machine only (127.0.0.1).
  Stop with Ctrl-C.

MSG
exec bin/kith serve --db "$db" --port "$port"
