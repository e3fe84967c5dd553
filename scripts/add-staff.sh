#!/usr/bin/env bash
# add-staff.sh KITH DB — staff accounts of each kind for a synthetic place
# (kith synth's organisations and practitioners), all with the password read
# from standard input: what `make run` and bench/web make to sign in with.
# (The administrator, admin, is added by the caller.)
set -euo pipefail
kith="$1"; db="$2"
IFS= read -r password
while read -r user role org practitioner; do
  printf '%s\n' "$password" | "$kith" user add --db "$db" --username "$user" --role "$role" \
    --org "$org" --practitioner "$practitioner" --password-stdin >/dev/null
done <<'STAFF'
gp gp gp-Z00001 pr-1
nurse community-nurse org-community pr-61
socialworker social-worker la-E06000999 pr-67
discharge discharge-coordinator org-acute pr-181
coordinator mdt-chair org-int-1 pr-69
STAFF
