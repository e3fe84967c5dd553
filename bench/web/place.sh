#!/usr/bin/env bash
# bench/web/place.sh DIR PEOPLE — the synthetic place the web interface's
# benchmark runs on, made once and kept in DIR (place.db, place.db.report,
# staff accounts with the password in DIR/password.txt): kith synth, then
# frailty and admission risk scored, then the report published.
set -euo pipefail
cd "$(dirname "$0")/../.."
dir="$1"; people="$2"
KITH=${KITH_BIN:-bin/kith}
mkdir -p "$dir"
if [ -f "$dir/place.db" ]; then exit 0; fi
t0=$(date +%s)
"$KITH" synth --people "$people" --seed 3 --db "$dir/place.partial" >/dev/null
"$KITH" frailty --db "$dir/place.partial" --quiet >/dev/null
"$KITH" risk fit --db "$dir/place.partial" --quiet >/dev/null
"$KITH" risk score --db "$dir/place.partial" --quiet >/dev/null
password=bench-password-1
printf '%s\n' "$password" > "$dir/password.txt"
printf '%s\n' "$password" | scripts/add-staff.sh "$KITH" "$dir/place.partial"
printf '%s\n' "$password" | "$KITH" user add --db "$dir/place.partial" --username admin --role administrator \
  --org org-icb --password-stdin >/dev/null
mv "$dir/place.partial" "$dir/place.db"
rm -f "$dir/place.partial-wal" "$dir/place.partial-shm"
"$KITH" report --db "$dir/place.db" --out "$dir/place.db.report" >/dev/null
echo "made a place of $people people in $(( $(date +%s) - t0 )) s: $dir/place.db"
