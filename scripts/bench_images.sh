#!/usr/bin/env bash
# Image builder benchmark: our CPU (and GPU, when present) builders and numpy.histogram2d (the
# authors' computation) on the same synthetic windows, in one invocation.
#   usage: scripts/bench_images.sh [--quick] [--runs N]     (writes the tables to stdout)
# Needs python3-numpy (bash scripts/setup.sh --bench). Builds bench_images in build/auto.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=5
quick=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) quick="--quick"; shift ;;
    --runs) runs="$2"; shift 2 ;;
    *) echo "usage: scripts/bench_images.sh [--quick] [--runs N]" >&2; exit 2 ;;
  esac
done
# FLOWPIC_PREBUILT=DIR: use DIR/bench_images as it is (a device bundle, scripts/gpu_check.sh);
# PYTHON: the interpreter with numpy (default Debian's /usr/bin/python3).
if [[ -n "${FLOWPIC_PREBUILT:-}" ]]; then bin="$FLOWPIC_PREBUILT/bench_images"
else bin="$(bash scripts/build.sh "${FLOWPIC_BENCH_MODE:-auto}" bench_images | tail -1)/bench/bench_images"; fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "## flowpic (bench_images $quick --runs $runs)"
echo
"$bin" --out-dir "$tmp" --runs "$runs" $quick
echo
echo "## numpy (scripts/bench_images_numpy.py, same windows)"
echo
"${PYTHON:-/usr/bin/python3}" scripts/bench_images_numpy.py "$tmp" --runs 3
