#!/usr/bin/env bash
# unit-pg.sh — the unit tests with every store-backed suite on PostgreSQL 15
# (scripts/with-pg.sh: a throwaway server, each test store its own schema).
#   scripts/unit-pg.sh UNIT_TESTS_BINARY [criterion options...]
cd "$(dirname "$0")/.."
bin=${1:?usage: $0 UNIT_TESTS_BINARY [criterion options]}
shift
KITH_FHIR_PACKAGE=${KITH_FHIR_PACKAGE:-node_modules/hl7.fhir.r4.examples} exec scripts/with-pg.sh "$bin" "$@"
