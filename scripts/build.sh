#!/usr/bin/env bash
# Configures and builds flowpic into build/<name>.  usage: scripts/build.sh [cpu|auto|cuda] [targets...]
#   cpu  : FLOWPIC_CUDA=OFF (works on any machine)         -> build/cpu
#   auto : CUDA when nvcc and cuDNN are found (default)    -> build/auto
#   cuda : FLOWPIC_CUDA=ON, fails clearly without CUDA     -> build/cuda
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-auto}"; shift || true
case "$mode" in
  cpu) flag=OFF ;; auto) flag=AUTO ;; cuda) flag=ON ;;
  *) echo "build.sh: unknown mode '$mode' (cpu, auto or cuda)" >&2; exit 2 ;;
esac
mkdir -p build
dir="build/$mode"
jobs="${FLOWPIC_JOBS:-$(nproc)}"
cmake -S . -B "$dir" -DFLOWPIC_CUDA="$flag" -DCMAKE_BUILD_TYPE="${FLOWPIC_BUILD_TYPE:-Release}" >"$dir.configure.log" 2>&1 \
  || { mkdir -p build; cat "$dir.configure.log" >&2; exit 1; }
if [[ $# -gt 0 ]]; then
  cmake --build "$dir" -j "$jobs" --target "$@"
else
  cmake --build "$dir" -j "$jobs"
fi
echo "$dir"
