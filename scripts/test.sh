#!/usr/bin/env bash
# test.sh — everything `make test` runs: unit tests (plain and under
# ASan+UBSan, and with the store-backed suites on a throwaway PostgreSQL 15),
# then the API, durability and conformance tests against a real
# `kith serve` on loopback (the API tests on SQLite and again on
# PostgreSQL). Each suite runs even if an earlier one failed; the exit
# status is non-zero if any failed.
set -uo pipefail
cd "$(dirname "$0")/.."

failed=()
passed=0
run() {
  local name="$1"; shift
  echo "=== $name"
  if "$@"; then echo "=== $name: passed"; passed=$((passed + 1)); else echo "=== $name: FAILED"; failed+=("$name"); fi
}

make -j2 --no-print-directory bin/kith build/unit-tests || { echo "build failed"; exit 1; }
run "unit tests" make --no-print-directory unit
run "unit tests under ASan+UBSan" make --no-print-directory unit-asan
run "unit tests on PostgreSQL" make --no-print-directory unit-pg
run "API tests" node --test --test-concurrency=1 tests/api/
run "API tests on PostgreSQL" make --no-print-directory api-pg
run "browser tests (web interface)" make --no-print-directory browser
run "FHIRPath conformance" make --no-print-directory fhirpath-conformance
run "SQL on FHIR conformance" make --no-print-directory sof-conformance
run "fuzz smoke (libFuzzer)" make --no-print-directory fuzz-smoke

if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED suites: ${failed[*]}"
  echo "suites: $passed passed, ${#failed[@]} failed"
  exit 1
fi
echo "suites: $passed passed, 0 failed"
