#!/usr/bin/env bash
# run.sh DB PORT — what `make run` does after building: create the database
# with a synthetic place of 20,000 people (kith synth) if it does not exist
# yet, its council records linked to the NHS ones (kith link), everyone's
# frailty and admission risk scored (kith frailty, kith risk), then serve. KITH_RUN_PEOPLE changes the size.
set -euo pipefail
cd "$(dirname "$0")/.."
db="$1"; port="$2"
people="${KITH_RUN_PEOPLE:-20000}"
if [ ! -f "$db" ]; then
  echo "Creating $db with a synthetic place of $people people (kith synth; about a minute)..."
  rm -f "$db.partial" "$db.partial-wal" "$db.partial-shm"
  bin/kith synth --people "$people" --seed 1 --db "$db.partial" --out "$db.synth"
  # an administrator for this machine: the password is printed once, here
  password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=' | head -c 20)
  printf '%s\n' "$password" | bin/kith user add --db "$db.partial" --username admin --role administrator \
    --org org-icb --password-stdin >/dev/null
  # staff of the synthetic place to try the web interface with (same password)
  printf '%s\n' "$password" | scripts/add-staff.sh bin/kith "$db.partial"
  # the council's people without an NHS number, joined to the NHS records of the same people
  # a planning system (secondary use: never sees people with the national data opt-out)
  bin/kith client add population-health --scopes 'system/*.rs' --purpose secondary-use --db "$db.partial" >/dev/null
  bin/kith link --db "$db.partial" --quiet
  # population health: everyone's frailty and emergency admission risk (cohorts, MDT case finding)
  bin/kith frailty --db "$db.partial" --quiet >/dev/null
  bin/kith risk fit --db "$db.partial" --quiet >/dev/null
  bin/kith risk score --db "$db.partial" --quiet >/dev/null
  mv "$db.partial" "$db"
  rm -f "$db.partial-wal" "$db.partial-shm"
  # the indicators the web interface's dashboards show (an operator reruns this nightly)
  rm -rf "$db.report"
  bin/kith report --db "$db" --out "$db.report" >/dev/null
  (umask 077; printf '%s\n' "$password" > "$db.synth/password.txt")
  echo "Created the users admin (administrator), gp, nurse, socialworker, discharge and coordinator"
  echo "(the MDT coordinator of Riverside neighbourhood), all with the password: $password"
  echo "(kept for this synthetic place in $db.synth/password.txt)"
  echo "Loaded: $(sqlite3 "$db" 'SELECT count(*) FROM resource WHERE deleted = 0') resources;" \
       "the ground truth and the council's CLD extract are in $db.synth/"
fi
token=$(bin/kith user token admin --db "$db" --expires 8h)
analyst=$(bin/kith client token population-health --db "$db" --expires 8h 2>/dev/null || echo "(none: bin/kith client add population-health --scopes 'system/*.rs' --purpose secondary-use)")
cat <<MSG

  Kith is starting on http://localhost:$port/
    Web:           open http://localhost:$port/ and sign in as admin, gp, nurse, socialworker,
                   discharge or coordinator with the password in $db.synth/password.txt
                   (see docs/web.md)
    FHIR API:      http://localhost:$port/fhir/metadata  (open; everything else needs a token)
    Sign in:       every /fhir request carries a bearer token. One for the user 'admin',
                   valid for 8 hours (make another with: bin/kith user token admin):
                     export KITH_TOKEN=$token
    e.g.           curl -H "Authorization: Bearer \$KITH_TOKEN" 'http://localhost:$port/fhir/Patient?name=smith&_count=5'
                   curl -H "Authorization: Bearer \$KITH_TOKEN" 'http://localhost:$port/fhir/AuditEvent?_count=5'
    Services:      curl -H "Authorization: Bearer \$KITH_TOKEN" 'http://localhost:$port/fhir/HealthcareService/\$find?need=falls&age=80'
                   curl 'http://localhost:$port/openreferral/services'   (Open Referral UK, open to all)
    Referrals:     POST /fhir/ServiceRequest/\$refer, then GET /fhir/Task/\$worklist?list=team
                   (see docs/care-coordination.md)
    Identity:      POST /fhir/Patient/\$match; bin/kith link review, bin/kith link explain ID
                   (record linkage of the council's records without an NHS number: docs/identity.md)
    Population:    the planning system 'population-health' sees everyone without the data opt-out:
                     export KITH_ANALYST_TOKEN=$analyst
                   curl -H "Authorization: Bearer \$KITH_ANALYST_TOKEN" 'http://localhost:$port/fhir/Group/\$risk-pyramid?age-from=65'
                   MDTs: POST /fhir/CareTeam/mdt-int-1/\$find-cases (docs/mdt.md); SQL on FHIR: bin/kith view
    Users:         bin/kith user add --username U --role gp --org gp-Z00001 --password-stdin
    health:        http://localhost:$port/healthz   metrics: http://localhost:$port/metrics
  Every access is audited (bin/kith audit verify). Everyone in the database is synthetic
  (kith synth; see docs/synthetic-place.md). Stop with Ctrl-C.

MSG
exec bin/kith serve --db "$db" --port "$port"
