#!/usr/bin/env bash
# Sets up, builds and runs every test. The newcomer's test command and what CI runs.
#   - the CPU-only build (FLOWPIC_CUDA=OFF), all suites;
#   - where nvcc is present, also the CUDA build (compile and link; GPU cases skip without a device);
#   - in CI (CI=true) or with FLOWPIC_SANITIZE=1, also the ASan+UBSan build of the whole suite
#     (scripts/sanitize.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
mkdir -p build
status=0
run_suite() {
  local mode="$1"
  echo "== building ($mode)"
  bash scripts/build.sh "$mode" >/dev/null
  echo "== testing ($mode)"
  (cd "build/$mode" && ctest --output-on-failure -j "$(nproc)" --timeout 600) || status=1
}
run_suite cpu
if command -v nvcc >/dev/null 2>&1 || [[ -x /usr/local/cuda/bin/nvcc ]]; then
  run_suite cuda
fi
# The ASan+UBSan suite (scripts/sanitize.sh, about 4 min on 2 cores): always in CI (CI=true),
# on request elsewhere (FLOWPIC_SANITIZE=1); FLOWPIC_SANITIZE=0 leaves it out.
sanitize="${FLOWPIC_SANITIZE:-}"
[[ -z "$sanitize" && "${CI:-}" == true ]] && sanitize=1
if [[ "$sanitize" == 1 ]]; then
  echo "== sanitizers (ASan + UBSan)"
  bash scripts/sanitize.sh || status=1
fi
exit $status
