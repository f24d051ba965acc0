#!/usr/bin/env bash
# Runs a sweep as a Slurm job array: one array task per share, then a summary job.
#   usage: scripts/slurm_sweep.sh CONFIG.json [--tasks N] [--cpu] [--dry-run] [--dir DIR]
#                                 [--program PATH] [--set key=value]... [sbatch options...]
#   --tasks N      array tasks (default: the sweep's number of runs, one run each); task i runs
#                  share i/N of the runs (run_experiment takes it from SLURM_ARRAY_TASK_ID/COUNT)
#   --cpu          no GPU per task (default: --gres=gpu:1 each)
#   --dry-run      print the job scripts and the sbatch commands; submit nothing
#   --dir DIR      where the job scripts and Slurm's logs go (default: <output>/<name>/slurm)
#   --program P    run_experiment to use (default: build/cuda, else build/auto, else build/cpu)
#   --set k=v      passed to run_experiment (repeatable)
#   anything else  passed to both sbatch calls (e.g. --partition=gpu --time=02:00:00)
# Each task runs `run_experiment CONFIG --resume`: resubmitting after a failure redoes only what is
# missing. The summary job (--dependency=afterok:<array job id>) runs `run_experiment CONFIG
# --summary-only`. The folder must be visible from every node (a shared file system).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
usage() { sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[[ $# -ge 1 ]] || usage
config="$1"; shift
[[ "$config" == -h || "$config" == --help ]] && usage
[[ -f "$config" ]] || { echo "slurm_sweep.sh: error: no config file '$config'" >&2; exit 2; }
config="$(cd "$(dirname "$config")" && pwd)/$(basename "$config")"
tasks="" cpu=0 dry=0 dir="" program=""
sets=() sbatch_opts=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --tasks) [[ $# -ge 2 ]] || usage; tasks="$2"; shift 2 ;;
    --tasks=*) tasks="${1#*=}"; shift ;;
    --cpu) cpu=1; shift ;;
    --dry-run) dry=1; shift ;;
    --dir) [[ $# -ge 2 ]] || usage; dir="$2"; shift 2 ;;
    --program) [[ $# -ge 2 ]] || usage; program="$2"; shift 2 ;;
    --set) [[ $# -ge 2 ]] || usage; sets+=(--set "$2"); shift 2 ;;
    -h|--help) usage ;;
    *) sbatch_opts+=("$1"); shift ;;
  esac
done
if [[ -z "$program" ]]; then
  for m in cuda auto cpu; do
    if [[ -x "$repo/build/$m/apps/run_experiment" ]]; then program="$repo/build/$m/apps/run_experiment"; break; fi
  done
  [[ -n "$program" ]] || { echo "slurm_sweep.sh: error: no run_experiment built (bash scripts/build.sh cuda)" >&2; exit 1; }
fi
program="$(cd "$(dirname "$program")" && pwd)/$(basename "$program")"

# The sweep's runs, one a line ("position path"), after a "# <output>/<name>/ ..." line, from the
# config alone (no data is read). This script is no array task: Slurm's share variables are cleared.
listing="$(env -u SLURM_ARRAY_TASK_ID -u SLURM_STEP_ID "$program" "$config" "${sets[@]}" --list-runs)"
runs="$(printf '%s\n' "$listing" | grep -v '^#' || true)"
n_runs=$(printf '%s\n' "$runs" | grep -c . || true)
[[ "$n_runs" -ge 1 ]] || { echo "slurm_sweep.sh: error: the config has no runs" >&2; exit 1; }
[[ -n "$tasks" ]] || tasks=$n_runs
[[ "$tasks" =~ ^[1-9][0-9]*$ ]] || { echo "slurm_sweep.sh: error: --tasks: expected a number >= 1, got '$tasks'" >&2; exit 2; }
if [[ "$tasks" -gt "$n_runs" ]]; then tasks=$n_runs; fi
sweep_dir="$(printf '%s\n' "$listing" | sed -n 's|^# \(.*\)/ .*|\1|p' | head -1)"
[[ -n "$dir" ]] || dir="$sweep_dir/slurm"
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
job="flowpic-$(basename "$sweep_dir")"
q() { printf '%q' "$1"; }
cmd_args="$(q "$config")"
for s in "${sets[@]}"; do cmd_args+=" $(q "$s")"; done

array_script="$dir/array.sbatch"
summary_script="$dir/summary.sbatch"
{
  echo "#!/bin/bash"
  echo "# $n_runs runs of $(basename "$config") in $tasks array tasks (written by scripts/slurm_sweep.sh)"
  echo "#SBATCH --job-name=$job"
  echo "#SBATCH --array=0-$((tasks - 1))"
  echo "#SBATCH --ntasks=1"
  [[ $cpu == 1 ]] || echo "#SBATCH --gres=gpu:1"
  echo "#SBATCH --output=$dir/array-%A_%a.out"
  echo "cd $(q "$PWD")"
  echo "# share SLURM_ARRAY_TASK_ID of SLURM_ARRAY_TASK_COUNT; --resume skips what an earlier submission finished"
  echo "exec $(q "$program") $cmd_args --resume"
} >"$array_script"
{
  echo "#!/bin/bash"
  echo "# the summary of $(basename "$config"), after every array task succeeded (written by scripts/slurm_sweep.sh)"
  echo "#SBATCH --job-name=$job-summary"
  echo "#SBATCH --ntasks=1"
  echo "#SBATCH --output=$dir/summary-%j.out"
  echo "cd $(q "$PWD")"
  echo "exec $(q "$program") $cmd_args --summary-only"
} >"$summary_script"

opts=""
for o in "${sbatch_opts[@]}"; do opts+=" $(q "$o")"; done
if [[ $dry == 1 ]]; then
  echo "== $array_script"
  cat "$array_script"
  echo "== $summary_script"
  cat "$summary_script"
  echo "== commands (not run: --dry-run)"
  echo "sbatch --parsable$opts $array_script"
  echo "sbatch --parsable$opts --dependency=afterok:<array job id> $summary_script"
  exit 0
fi
command -v sbatch >/dev/null || { echo "slurm_sweep.sh: error: sbatch not found (is this a Slurm login node?)" >&2; exit 1; }
array_id="$(sbatch --parsable "${sbatch_opts[@]}" "$array_script")"
array_id="${array_id%%;*}"
summary_id="$(sbatch --parsable "${sbatch_opts[@]}" --dependency=afterok:"$array_id" "$summary_script")"
summary_id="${summary_id%%;*}"
echo "submitted array job $array_id ($tasks tasks, $n_runs runs) and summary job $summary_id (after $array_id)"
echo "logs: $dir/; results: $sweep_dir/"
