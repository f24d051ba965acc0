#!/usr/bin/env bash
# Training throughput of the CNN engine against PyTorch on the same architectures, same inputs,
# same batch sizes, Adam, 2 threads each, in the same run:
#   FlowPic paper network at 1x1500x1500, batch 32 and 128; LeNet-5 at 1x32x32, batch 256.
# Each configuration runs REPEATS times alternating the two engines; the table reports the
# median of the per-run medians. Needs python3-torch (bash scripts/setup.sh --bench).
#   usage: scripts/bench_nn.sh [cpu|cuda]      (env: REPEATS=3 THREADS=2 BUILD=build/cpu,
#          FLOWPIC_PREBUILT=DIR with bench_nn_train, TORCH_PY=python with torch)
# Both engines use GNU OpenMP; OMP_WAIT_POLICY defaults to passive here (idle threads sleep
# instead of spinning), which on a shared, oversubscribed machine is worth 3-8x to both.
set -euo pipefail
cd "$(dirname "$0")/.."
device="${1:-cpu}"
repeats="${REPEATS:-3}"
threads="${THREADS:-2}"
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-passive}"
if [[ "$device" == cuda ]]; then build="${BUILD:-build/cuda}"; mode=cuda; else build="${BUILD:-build/cpu}"; mode=cpu; fi
# FLOWPIC_PREBUILT=DIR: use DIR/bench_nn_train as it is (a device bundle, scripts/gpu_check.sh).
if [[ -n "${FLOWPIC_PREBUILT:-}" ]]; then bin="$FLOWPIC_PREBUILT/bench_nn_train"
else bash scripts/build.sh "$mode" bench_nn_train >/dev/null; bin="$build/bench/bench_nn_train"; fi
if [[ "$device" == cuda ]] && ! "$bin" --device cuda --model configs/models/lenet5.json --input 1x32x32 --batch 2 \
    --iters 1 --warmup 0 >/dev/null 2>&1; then
  echo "bench_nn.sh: no usable CUDA device here; GPU benchmark skipped" >&2
  exit 0
fi
torch_py="${TORCH_PY:-/usr/bin/python3}"
"$torch_py" -c "import torch" 2>/dev/null || { echo "bench_nn.sh: PyTorch missing; run: bash scripts/setup.sh --bench" >&2; exit 1; }
run_torch=1
if [[ "$device" == cuda ]] && ! "$torch_py" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
  echo "bench_nn.sh: this PyTorch has no CUDA; the PyTorch column is left out" >&2
  run_torch=0
fi

# name | model | input | batch | iters | warmup
configs=(
  "paper-b32|configs/models/flowpic_paper.json|1x1500x1500|32|3|1"
  "paper-b128|configs/models/flowpic_paper.json|1x1500x1500|128|2|1"
  "lenet5-b256|configs/models/lenet5.json|1x32x32|256|20|3"
)
out="$(mktemp)"
trap 'rm -f "$out"' EXIT
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg), OMP_WAIT_POLICY=$OMP_WAIT_POLICY" >&2
for cfg in "${configs[@]}"; do
  IFS='|' read -r name model input batch iters warmup <<<"$cfg"
  for ((r = 0; r < repeats; ++r)); do
    OMP_NUM_THREADS="$threads" "$bin" --model "$model" --input "$input" --batch "$batch" --iters "$iters" \
      --warmup "$warmup" --device "$device" 2>/dev/null | sed "s/^{/{\"config\": \"$name\", /" >>"$out"
    [[ $run_torch == 1 ]] && OMP_NUM_THREADS="$threads" "$torch_py" scripts/bench_nn_torch.py --model "$model" --input "$input" --batch "$batch" \
      --iters "$iters" --warmup "$warmup" --threads "$threads" --device "$device" 2>/dev/null \
      | sed "s/^{/{\"config\": \"$name\", /" >>"$out" || true
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
"$torch_py" - "$out" "$device" "$threads" "$repeats" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
device, threads, repeats = sys.argv[2], sys.argv[3], sys.argv[4]
print(f"| config | input | batch | flowpic images/s | PyTorch images/s | ratio |  ({device}, {threads} threads, median of {repeats} runs)")
print("|---|---|---|---|---|---|")
for cfg in dict.fromkeys(r["config"] for r in rows):
    f = [r["images_per_s"] for r in rows if r["config"] == cfg and r["engine"] == "flowpic"]
    t = [r["images_per_s"] for r in rows if r["config"] == cfg and r["engine"] != "flowpic"]
    one = next(r for r in rows if r["config"] == cfg)
    mf = statistics.median(f)
    if t:
        mt = statistics.median(t)
        print(f"| {cfg} | {one['input']} | {one['batch']} | {mf:.1f} | {mt:.1f} | {mf / mt:.2f} |")
    else:
        print(f"| {cfg} | {one['input']} | {one['batch']} | {mf:.1f} | n/a | n/a |")
PY
