#!/usr/bin/env bash
# run.sh — FHIRPath speed: Kith's engine against the reference engine
# fhirpath.js on the same work in the same run (`make fhirpath-bench`).
# A measuring program, not a test: prints figures and exits 0.
#
# The work is every R4 SearchParameter expression over every official
# example of its base type (the pairs tests/conformance/crosscheck.mjs
# checks). Both engines parse every expression and resource first; only
# evaluation is timed, BENCH_FHIRPATH_ROUNDS times over all pairs
# (default 10) after one untimed warm-up round each, in CPU time (Kith is
# single-threaded here; fhirpath.js's figure includes its GC threads).
# Prints expressions per CPU second for each and the ratio.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -x bin/kith ] || make --no-print-directory bin/kith
exec node bench/fhirpath/bench.mjs "${BENCH_FHIRPATH_ROUNDS:-10}"
