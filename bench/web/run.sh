#!/usr/bin/env bash
# bench/web/run.sh — the staff web interface's speed on a large synthetic
# place (`make bench-web`). A measuring program, not a test: prints figures.
#   WEB_BENCH_PEOPLE  size of the place (default 250000; made once, kept in
#                     WEB_BENCH_DIR, default /tmp/kith-web-bench: about 15 minutes
#                     on 2 cores the first time)
#   WEB_BENCH_VISITS  visits of each page (default 20)
# Prints, per page, the render time in Chromium and the server's time for
# the page's API requests (from kith's request log), then peak RSS of kith.
set -uo pipefail
cd "$(dirname "$0")/../.."
KITH=${KITH_BIN:-bin/kith}
PEOPLE=${WEB_BENCH_PEOPLE:-250000}
DIR=${WEB_BENCH_DIR:-/tmp/kith-web-bench}
[ -x "$KITH" ] || make -s bin/kith
export KITH_WEB_DIR="${KITH_WEB_DIR:-$PWD/web}" # this checkout's pages, whichever binary serves them
bench/web/place.sh "$DIR" "$PEOPLE" || exit 0
db="$DIR/place.db"
port=$((20000 + RANDOM % 30000))
log="$DIR/serve.log"
"$KITH" serve --db "$db" --port "$port" 2> "$log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait 2>/dev/null' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done
token=$("$KITH" user token gp --db "$db" --expires 1h)
# the GP's registered patient with the most history, and a referral of them to the social care front door
ids=$(curl -s -H "Authorization: Bearer $token" "http://127.0.0.1:$port/fhir/Patient?general-practitioner=Organization/gp-Z00001&_count=1000&_elements=id" |
  node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log((JSON.parse(s).entry||[]).map(e=>"'"'"'"+e.resource.id+"'"'"'").join(",")))')
person=$(sqlite3 "$db" "SELECT patient FROM resource WHERE patient IN ($ids) AND deleted = 0 GROUP BY patient ORDER BY count(*) DESC LIMIT 1")
task=$(curl -s -H "Authorization: Bearer $token" -H 'Content-Type: application/fhir+json' \
  -d "{\"resourceType\":\"Parameters\",\"parameter\":[{\"name\":\"patient\",\"valueReference\":{\"reference\":\"Patient/$person\"}},{\"name\":\"service\",\"valueReference\":{\"reference\":\"HealthcareService/hs-asc-front-door\"}},{\"name\":\"priority\",\"valueCode\":\"routine\"},{\"name\":\"reason\",\"valueString\":\"Benchmark referral\"}]}" \
  "http://127.0.0.1:$port/fhir/ServiceRequest/\$refer" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{try{const b=JSON.parse(s);console.log((b.entry||[]).map(e=>e.resource).find(r=>r.resourceType==="Task")?.id||"")}catch{console.log("")}})')
printf '{"person":"%s","task":"%s"}\n' "$person" "$task" > "$DIR/pick.json"
echo "place: $PEOPLE people ($(sqlite3 "$db" 'SELECT count(*) FROM resource WHERE deleted = 0') resources); person with most history: $person ($(sqlite3 "$db" "SELECT count(*) FROM resource WHERE patient = '$person'") resources)"
node bench/web/pages.mjs "http://127.0.0.1:$port" "$DIR" "$log"
echo "kith serve peak RSS: $(awk '/VmHWM/ {print $2 " kB"}' /proc/$pid/status)"
