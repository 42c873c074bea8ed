#!/usr/bin/env bash
# Runs the cargo-fuzz targets in agent/fuzz (nightly + cargo-fuzz; see
# scripts/setup.sh), one at a time, each from the seed corpus in
# agent/fuzz/seeds/<target> plus its own growing corpus in
# agent/fuzz/corpus/<target> (not in git).
#
#   scripts/fuzz.sh smoke [SECONDS] [TARGET...]     short run of each target (CI; default 12 s)
#   scripts/fuzz.sh campaign SECONDS [TARGET...]    long run, niced: each target until 10 M
#                                                    executions or SECONDS; appends a line per
#                                                    target to agent/fuzz/campaign.log
#   scripts/fuzz.sh list
#
# FUZZ_SANITIZER=none builds without AddressSanitizer (cargo fuzz -s none) for
# more executions per second. The targets and everything they
# reach are safe Rust (netinit-core's one `unsafe` is in a unit test), so ASan
# adds little there; what is lost is LeakSanitizer and libFuzzer's per-malloc
# limit (-rss_limit_mb still holds). The campaign log records which was used.
#
# A crash or a hang (a single input over 10 s) fails the run; the input is
# kept in agent/fuzz/artifacts/<target>/ for `cargo +nightly fuzz run
# --fuzz-dir agent/fuzz <target> <file>`.
set -euo pipefail
cd "$(dirname "$0")/.."

FUZZ=(cargo +nightly fuzz)
DIR=agent/fuzz
BIN=$DIR/target/x86_64-unknown-linux-gnu/release
SAN=${FUZZ_SANITIZER:-address}

targets() { "${FUZZ[@]}" list --fuzz-dir "$DIR"; }

build() {
  local out
  out=$("${FUZZ[@]}" build -O -s "$SAN" --fuzz-dir "$DIR" 2>&1) || { echo "$out" >&2; exit 1; }
}

# run TARGET LIMIT-FLAG -> prints "TARGET runs execs/s seconds corpus verdict"
run_one() {
  local t=$1 log
  shift
  mkdir -p "$DIR/corpus/$t" "$DIR/artifacts/$t" "$DIR/seeds/$t"
  log=$(mktemp)
  local begun=$SECONDS rc=0
  $NICE "$BIN/$t" "$@" -timeout=10 -rss_limit_mb=2048 -max_len=4096 -print_final_stats=1 \
    -artifact_prefix="$DIR/artifacts/$t/" "$DIR/corpus/$t" "$DIR/seeds/$t" >"$log" 2>&1 || rc=$?
  local runs execs corpus
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  execs=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  corpus=$(find "$DIR/corpus/$t" -type f | wc -l)
  local verdict=ok
  if ((rc != 0)); then
    verdict="FAILED (exit $rc)"
    grep -E -A12 "panicked at|ERROR: libFuzzer|SUMMARY" "$log" | head -40 >&2 || true
  fi
  printf '%-15s %12s runs %8s exec/s %6ss corpus %5s  %s\n' "$t" "${runs:-?}" "${execs:-?}" "$((SECONDS - begun))" "$corpus" "$verdict"
  rm -f "$log"
  ((rc == 0))
}

mode=${1:-smoke}
shift || true
pick() {
  chosen=("$@")
  ((${#chosen[@]})) || mapfile -t chosen < <(targets)
}
case $mode in
  list) targets ;;
  smoke)
    secs=12
    if [[ ${1:-} =~ ^[0-9]+$ ]]; then secs=$1; shift; fi
    build
    NICE=""
    failed=0
    pick "$@"
    # A fixed seed: the same commit meets the same inputs, so a smoke
    # verdict repeats. Exploring is the campaign's job (FUZZ_SEED=0 is random).
    for t in "${chosen[@]}"; do run_one "$t" "-max_total_time=$secs" "-seed=${FUZZ_SEED:-1}" || failed=1; done
    exit $failed
    ;;
  campaign)
    budget=${1:?campaign needs SECONDS (e.g. 3600)}
    shift
    build
    # The commit the targets were built from (a later commit changes nothing in this run).
    rev=$(git rev-parse --short HEAD)
    if ! git diff --quiet HEAD -- agent/core agent/fuzz/fuzz_targets agent/fuzz/src; then rev="$rev+dirty"; fi
    NICE="nice -n 19"
    failed=0
    pick "$@"
    for t in "${chosen[@]}"; do
      line=$(run_one "$t" "-max_total_time=$budget" -runs=10000000) || failed=1
      echo "$line"
      echo "$(date -u +%FT%TZ) $rev san=$SAN max ${budget}s: $line" >>"$DIR/campaign.log"
    done
    exit $failed
    ;;
  *) echo "usage: scripts/fuzz.sh smoke [SECONDS] [TARGET...] | campaign SECONDS [TARGET...] | list" >&2; exit 2 ;;
esac
