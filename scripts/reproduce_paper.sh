#!/usr/bin/env bash
# Runs every paper config (FlowPic Tables III and IV, unseen applications, application
# identification; He & Li payload images), then make_tables on their results.
#
# usage: scripts/reproduce_paper.sh [--synthetic] [--reduced] [--results DIR] [--resume] [--build DIR]
#                                   [--only NAME]... [run_experiment args, e.g. --set training.epochs=2]
#   --synthetic    run on the built-in SYNTHETIC data (--set dataset.source=synthetic);
#                  results go to results/synthetic unless --results is given
#   --reduced      a documented reduced setting for 2-core CPUs: FlowPic configs at 32x32 (mini-FlowPic) with
#                  LeNet-5 (--set representation.resolution=32 --set model=configs/models/lenet5.json);
#                  the payload-image configs are unchanged. The tables say so in their captions.
#   --results DIR  where result files and tables/ go (default results, or results/synthetic)
#   --resume       skip runs whose result file is complete (run_experiment --resume)
#   --build DIR    the build folder holding apps/run_experiment (default: build/cpu, else build/auto, build/cuda)
#   --only NAME    run only this config (repeatable); make_tables still reads every config's results
# Every other argument goes to each run_experiment unchanged. A config that fails is reported and
# the others still run; the tables show its cells as gaps. Exit status 1 when any config failed.
set -uo pipefail
cd "$(dirname "$0")/.."
command_line="scripts/reproduce_paper.sh $*"
synthetic=0 reduced=0 results="" build="" resume=() only=() extra=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --synthetic) synthetic=1 ;;
    --reduced) reduced=1 ;;
    --results) results="${2:?--results needs a folder}"; shift ;;
    --build) build="${2:?--build needs a folder}"; shift ;;
    --resume) resume=(--resume) ;;
    --only) only+=("${2:?--only needs a config name}"); shift ;;
    -h|--help) sed -n 2,19p "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) extra+=("$1") ;;
  esac
  shift
done
if [[ -z "$build" ]]; then
  for b in build/cpu build/auto build/cuda; do
    [[ -x "$b/apps/run_experiment" && -x "$b/apps/make_tables" ]] && { build="$b"; break; }
  done
fi
if [[ -z "$build" || ! -x "$build/apps/run_experiment" ]]; then
  echo "reproduce_paper.sh: no build with run_experiment and make_tables; run: bash scripts/build.sh cpu run_experiment make_tables" >&2
  exit 2
fi
[[ -z "$results" ]] && { [[ $synthetic == 1 ]] && results=results/synthetic || results=results; }

configs=(nonvpn_category vpn_category tor_category encapsulation application
         class_vs_all_voip_nonvpn class_vs_all_voip_vpn class_vs_all_voip_tor
         class_vs_all_video_nonvpn class_vs_all_video_vpn class_vs_all_video_tor
         class_vs_all_file_transfer_nonvpn class_vs_all_file_transfer_vpn class_vs_all_file_transfer_tor
         class_vs_all_chat_nonvpn class_vs_all_chat_vpn class_vs_all_chat_tor
         class_vs_all_browsing_nonvpn class_vs_all_browsing_tor
         unseen_video_no_vimeo_youtube unseen_video_no_facebook unseen_voip_no_facebook
         payload_conventional payload_vpn)
if [[ ${#only[@]} -gt 0 ]]; then configs=("${only[@]}"); fi

common=(--set "output=$results")
[[ $synthetic == 1 ]] && common+=(--set dataset.source=synthetic)
start=$(date +%s)
failed=()
n=0
for c in "${configs[@]}"; do
  n=$((n + 1))
  [[ -f "configs/$c.json" ]] || { echo "reproduce_paper.sh: configs/$c.json does not exist" >&2; failed+=("$c"); continue; }
  args=("configs/$c.json" "${common[@]}")
  if [[ $reduced == 1 && $c != payload_* ]]; then
    args+=(--set representation.resolution=32 --set model=configs/models/lenet5.json)
  fi
  args+=("${resume[@]}" "${extra[@]}")
  t0=$(date +%s)
  echo "=== [$n/${#configs[@]}] run_experiment ${args[*]}" >&2
  if "$build/apps/run_experiment" "${args[@]}"; then
    echo "=== [$n/${#configs[@]}] $c done in $(( $(date +%s) - t0 )) s" >&2
  else
    rc=$?
    echo "=== [$n/${#configs[@]}] $c FAILED (exit $rc) after $(( $(date +%s) - t0 )) s" >&2
    failed+=("$c")
    [[ $rc == 130 ]] && { echo "reproduce_paper.sh: interrupted" >&2; break; }
  fi
done
elapsed=$(( $(date +%s) - start ))
note="Made by: $command_line (runs took $((elapsed / 60)) min $((elapsed % 60)) s on $(nproc) CPU cores, $(date -u +%Y-%m-%d))."
[[ ${#failed[@]} -gt 0 ]] && note+=" Failed configs: ${failed[*]}."
"$build/apps/make_tables" "$results" --note "$note" || exit 1
echo "reproduce_paper.sh: $((${#configs[@]} - ${#failed[@]}))/${#configs[@]} configs ran in ${elapsed} s; tables in $results/tables" >&2
[[ ${#failed[@]} -eq 0 ]] || { echo "reproduce_paper.sh: failed: ${failed[*]}" >&2; exit 1; }
