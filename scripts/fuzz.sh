#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz) into build/fuzz and runs one or all of them.
#   usage: scripts/fuzz.sh TARGET|all SECONDS [extra libFuzzer flags...]
#   targets: capture decode csv ucdavis label_map config store result
# The corpus lives in build/fuzz/corpus/<target> (seeds from fuzz_make_seeds are added on every
# run); crashes go to build/fuzz/findings/<target>/. FLOWPIC_FUZZ_JOBS=N runs N targets at once
# with `all` (default 2). Reproduce a finding: build/fuzz/fuzz_<target> <file>.
set -euo pipefail
cd "$(dirname "$0")/.."
all_targets="capture decode csv ucdavis label_map config store result"
target="${1:?usage: scripts/fuzz.sh TARGET|all SECONDS}"
seconds="${2:?usage: scripts/fuzz.sh TARGET|all SECONDS}"
shift 2
if [[ "$target" == all ]]; then targets="$all_targets"; else targets="$target"; fi
for t in $targets; do
  [[ " $all_targets " == *" $t "* ]] || { echo "fuzz.sh: unknown target '$t' (one of: $all_targets, all)" >&2; exit 2; }
done
command -v clang++ >/dev/null || { echo "fuzz.sh: clang++ is needed (apt-get install clang)" >&2; exit 1; }

dir=build/fuzz
mkdir -p "$dir"
if [[ ! -f "$dir/CMakeCache.txt" ]]; then
  cmake -S . -B "$dir" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DFLOWPIC_CUDA=OFF -DFLOWPIC_FUZZ=ON -DFLOWPIC_TESTS=OFF -DFLOWPIC_BENCH=OFF >"$dir.configure.log" 2>&1 \
    || { cat "$dir.configure.log" >&2; exit 1; }
else
  cmake "$dir" >"$dir.configure.log" 2>&1 || { cat "$dir.configure.log" >&2; exit 1; }  # new targets appear
fi
cmake --build "$dir" -j "${FLOWPIC_JOBS:-$(nproc)}" --target fuzz_make_seeds $(for t in $targets; do echo fuzz_$t; done)
seeds="$dir/seeds"
rm -rf "$seeds"
ASAN_OPTIONS=detect_leaks=0 "$dir/fuzz_make_seeds" "$seeds" "$PWD"

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=0}"
# libhdf5 (not instrumented) leaks a little on its error paths for damaged files: suppressed there
# only; the store/result targets check that flowpic closes every HDF5 identifier itself.
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$PWD/tests/sanitizers/lsan.supp:print_suppressions=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
run_one() {
  local t="$1" corpus="$dir/corpus/$1" out="$dir/findings/$1" rc=0
  shift
  mkdir -p "$corpus" "$out"
  [[ -d "$seeds/$t" ]] && cp -n "$seeds/$t"/* "$corpus"/ 2>/dev/null || true
  local dict=""
  [[ -f "tests/fuzz/$t.dict" ]] && dict="-dict=tests/fuzz/$t.dict"
  echo "== fuzz_$t for ${seconds}s (corpus $corpus, findings $out, log $dir/fuzz_$t.log)"
  # -timeout: an input taking over 10 s is a hang; -rss_limit_mb/-malloc_limit_mb: a single
  # allocation over 2 GiB (an absurd size from the input) is a finding.
  # Run a copy, so rebuilding while a target runs does not touch the running binary.
  mkdir -p "$dir/run" && cp "$dir/fuzz_$t" "$dir/run/fuzz_$t"
  "$dir/run/fuzz_$t" "$corpus" $dict -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2560 -malloc_limit_mb=2048 \
    -artifact_prefix="$out/" -print_final_stats=1 "$@" >"$dir/fuzz_$t.log" 2>&1 || rc=$?
  grep -E "^(stat::number_of_executed_units|stat::average_exec_per_sec|Done)" "$dir/fuzz_$t.log" | sed "s/^/   fuzz_$t: /" || true
  if [[ $rc -ne 0 ]]; then echo "   fuzz_$t: FOUND a problem (exit $rc), see $dir/fuzz_$t.log and $out/" >&2; fi
  return $rc
}
status=0
jobs_max="${FLOWPIC_FUZZ_JOBS:-2}"
for t in $targets; do
  while [[ $(jobs -rp | wc -l) -ge $jobs_max ]]; do wait -n || status=1; done
  run_one "$t" "$@" &
done
while [[ $(jobs -rp | wc -l) -gt 0 ]]; do wait -n || status=1; done
wait || true
exit $status
