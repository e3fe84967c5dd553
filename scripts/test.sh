#!/usr/bin/env bash
# test.sh — everything `make test` runs: unit tests (plain and under
# ASan+UBSan, and with the store-backed suites on a throwaway PostgreSQL 15),
# then the API, durability and conformance tests against a real
# `kith serve` on loopback (the API tests on SQLite and again on
# PostgreSQL), and the web interface in Chromium. Each suite runs even if an
# earlier one failed; the exit status is non-zero if any failed. The API
# tests on PostgreSQL run beside the browser tests (one waits on a database
# server, the other on a browser), their output kept until both finish; each
# suite says how long it took.
set -uo pipefail
cd "$(dirname "$0")/.."

failed=()
passed=0
result() { # name status seconds
  if [ "$2" = 0 ]; then echo "=== $1: passed ($3 s)"; passed=$((passed + 1)); else echo "=== $1: FAILED ($3 s)"; failed+=("$1"); fi
}
run() {
  local name="$1"; shift
  echo "=== $name"
  local t0=$SECONDS
  "$@"
  result "$name" $? $((SECONDS - t0))
}
# run_pair NAME1 CMD1 -- NAME2 CMD2: both at once, then each one's output in turn
run_pair() {
  local n1="$1"; shift
  local c1=(); while [ "$1" != -- ]; do c1+=("$1"); shift; done; shift
  local n2="$1"; shift
  local logs; logs=$(mktemp -d)
  local t0=$SECONDS
  ( "${c1[@]}" > "$logs/1" 2>&1; echo $? > "$logs/1.rc"; echo $((SECONDS - t0)) > "$logs/1.s" ) &
  ( "$@" > "$logs/2" 2>&1; echo $? > "$logs/2.rc"; echo $((SECONDS - t0)) > "$logs/2.s" ) &
  wait
  echo "=== $n1"; cat "$logs/1"; result "$n1" "$(cat "$logs/1.rc")" "$(cat "$logs/1.s")"
  echo "=== $n2"; cat "$logs/2"; result "$n2" "$(cat "$logs/2.rc")" "$(cat "$logs/2.s")"
  rm -rf "$logs"
}

make -j2 --no-print-directory bin/kith build/unit-tests || { echo "build failed"; exit 1; }
run "unit tests" make --no-print-directory unit
run "unit tests under ASan+UBSan" make --no-print-directory unit-asan
run "unit tests on PostgreSQL" make --no-print-directory unit-pg
run "API tests" node --test --test-concurrency=1 tests/api/
run_pair "API tests on PostgreSQL" make --no-print-directory api-pg -- \
  "browser tests (web interface)" make --no-print-directory browser
run "FHIRPath conformance" make --no-print-directory fhirpath-conformance
run "SQL on FHIR conformance" make --no-print-directory sof-conformance
run "fuzz smoke (libFuzzer)" make --no-print-directory fuzz-smoke

if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED suites: ${failed[*]}"
  echo "suites: $passed passed, ${#failed[@]} failed"
  exit 1
fi
echo "suites: $passed passed, 0 failed"
