#!/usr/bin/env bash
# fuzz.sh SECONDS TARGET... — run each libFuzzer target for SECONDS of CPU
# time from its seed corpus (tests/fuzz/seeds/NAME), keeping the corpus it
# grows in build/fuzz/corpus/NAME and any crash in build/fuzz/crashes.
# Exits non-zero if any target crashed.
set -uo pipefail
cd "$(dirname "$0")/.."
secs="$1"; shift
mkdir -p build/fuzz/crashes
status=0
for t in "$@"; do
  name="$(basename "$t")"; seeds="tests/fuzz/seeds/${name#fuzz_}"
  corpus="build/fuzz/corpus/${name#fuzz_}"
  mkdir -p "$corpus"
  echo "=== fuzz $name for ${secs}s"
  if ! ASAN_OPTIONS=detect_leaks=1 "$t" -max_total_time="$secs" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix=build/fuzz/crashes/"$name"- -print_final_stats=1 "$corpus" "$seeds" > "build/fuzz/$name.log" 2>&1; then
    echo "=== fuzz $name: CRASH (see build/fuzz/$name.log and build/fuzz/crashes/)"
    tail -30 "build/fuzz/$name.log"
    status=1
  else
    echo "=== fuzz $name: $(grep -E '^stat::number_of_executed_units' "build/fuzz/$name.log" | awk '{print $2}') runs, no crash"
  fi
done
exit $status
