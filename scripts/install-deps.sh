#!/usr/bin/env bash
# install-deps.sh — install what Kith needs on Debian 12 (bookworm), then the
# pinned npm packages. Idempotent and quick when everything is present.
# Debian packages come from scripts/apt-packages.txt; npm ones from
# package-lock.json (npm ci). Runs apt-get as root, or through sudo.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

missing=()
while read -r line; do
  line="${line%%#*}"; line="$(echo "$line" | xargs)"
  [ -z "$line" ] && continue
  name="${line%%=*}"
  if ! dpkg-query -W -f='${Status}' "$name" 2>/dev/null | grep -q "ok installed"; then
    missing+=("$line")
  fi
done < scripts/apt-packages.txt
# Node.js and npm: Debian's nodejs + npm unless a node is already installed.
command -v node >/dev/null 2>&1 || missing+=("nodejs")
command -v npm >/dev/null 2>&1 || missing+=("npm")

if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  pinned=()
  for p in "${missing[@]}"; do
    name="${p%%=*}"
    if [ "$p" != "$name" ]; then
      want="${p#*=}"
      if apt-cache madison "$name" 2>/dev/null | awk -F'|' '{gsub(/ /,"",$2); print $2}' | grep -qxF "$want"; then
        pinned+=("$p")
      else
        echo "install-deps: $name $want is no longer in the archive; taking the current bookworm version"
        pinned+=("$name")
      fi
    else
      pinned+=("$p")
    fi
  done
  $SUDO apt-get install -y -qq --no-install-recommends "${pinned[@]}"
fi

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "install-deps: installing npm packages (package-lock.json)"
  npm ci --no-audit --no-fund --loglevel=error
fi
