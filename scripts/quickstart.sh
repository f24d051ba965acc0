#!/usr/bin/env bash
# The newcomer's main command: sets up, builds, and runs the main job on the built-in synthetic
# traffic (generate captures, ingest them into a packet store, summarise it).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
dir=$(bash scripts/build.sh auto flowpic_data | tail -n 1)
bin="$dir/dataset/flowpic_data"
"$bin" synth --out data/synthetic --seed 1 --preset small
"$bin" ingest data/synthetic/captures --labels configs/labels/iscx_vpn_nonvpn.json \
  --labels configs/labels/iscx_tor.json --out data/synthetic/store.h5
"$bin" info data/synthetic/store.h5
