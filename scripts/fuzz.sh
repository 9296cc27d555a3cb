#!/usr/bin/env bash
# Runs every fuzz target in BUILD_DIR/bin/fuzz_* for SECONDS each, with its seed corpus.
set -euo pipefail
build=${1:-build-fuzz}
secs=${2:-20}
shopt -s nullglob
targets=("$build"/bin/fuzz_*)
[ ${#targets[@]} -gt 0 ] || { echo "no fuzz targets built" >&2; exit 1; }
for t in "${targets[@]}"; do
  t=$(readlink -f "$t")
  name=$(basename "$t")
  corpus=$(mktemp -d)
  seeds="fuzz/corpus/${name#fuzz_}"
  [ -d "$seeds" ] && cp -r "$seeds"/. "$corpus"/
  echo "fuzzing $name for ${secs}s"
  log=$(mktemp)
  if ! (cd "$corpus" && "$t" -max_total_time="$secs" -max_len=4096 -print_final_stats=1 . >"$log" 2>&1); then
    grep -v '^#' "$log" | tail -60
    echo "fuzz target $name found a failure (input saved in $corpus)" >&2
    exit 1
  fi
  tail -3 "$log"
  rm -rf "$corpus" "$log"
done
echo "fuzzing: ${#targets[@]} targets ran without a crash"
