#!/usr/bin/env bash
# The newcomer's main command: sets up, builds, and runs the quickstart experiment on the built-in
# SYNTHETIC traffic (generated, ingested into a packet store and cached under data/synthetic/ on
# first use): the five FlowPic categories of Non-VPN traffic, 32x32 mini-FlowPics, LeNet-5, CPU.
# The result file lands in results/quickstart/seed1.h5 (layout: docs/results.md).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
dir=$(bash scripts/build.sh auto run_experiment flowpic_data | tail -n 1)
"$dir/apps/run_experiment" configs/quickstart.json "$@"
echo
"$dir/apps/flowpic_data" info data/synthetic/small-seed1/store.h5 | sed -n 1,20p   # sed reads to the end: no SIGPIPE (head would make the script exit 141 under pipefail)
