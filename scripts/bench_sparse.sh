#!/usr/bin/env bash
# The sparse first layer (issue 16): the paper network's full training step (images or cells built
# + forward + backward + Adam) at 1500 x 1500, batch 32, on real windows of the built-in synthetic
# store, sparse path against the dense path and against PyTorch (dense, the same windows' images
# prebuilt and handed to it), 2 threads each, in the same run; plus the random-image row (1 pixel
# in 16 non-zero). Each engine runs REPEATS times, alternating; the table gives medians of the
# per-run medians; the LAST line is `ratio sparse/dense: X.XX` (dense step time / sparse step time).
#   usage: scripts/bench_sparse.sh [cpu|cuda]   (env: REPEATS=3 THREADS=2 BATCH=32 ITERS=3
#          BUILD=build/cpu, FLOWPIC_PREBUILT=DIR with bench_sparse, TORCH_PY=python with torch)
# PyTorch comes from python3-torch (bash scripts/setup.sh --bench); without it the PyTorch column
# is left out, with a note. The first run builds the synthetic store (data/synthetic, a minute).
set -euo pipefail
cd "$(dirname "$0")/.."
device="${1:-cpu}"
repeats="${REPEATS:-3}"
threads="${THREADS:-2}"
batch="${BATCH:-32}"
iters="${ITERS:-3}"
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-passive}"
if [[ "$device" == cuda ]]; then build="${BUILD:-build/cuda}"; mode=cuda; else build="${BUILD:-build/cpu}"; mode=cpu; fi
if [[ -n "${FLOWPIC_PREBUILT:-}" ]]; then bin="$FLOWPIC_PREBUILT/bench_sparse"
else bash scripts/build.sh "$mode" bench_sparse >/dev/null; bin="$build/bench/bench_sparse"; fi
torch_py="${TORCH_PY:-/usr/bin/python3}"
run_torch=1
if ! "$torch_py" -c "import torch, numpy" 2>/dev/null; then
  echo "bench_sparse.sh: PyTorch (or numpy) missing for $torch_py: the PyTorch column is left out (bash scripts/setup.sh --bench)" >&2
  run_torch=0
elif [[ "$device" == cuda ]] && ! "$torch_py" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
  echo "bench_sparse.sh: this PyTorch has no CUDA; the PyTorch column is left out" >&2
  run_torch=0
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
out="$tmp/runs.jsonl"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg), OMP_WAIT_POLICY=$OMP_WAIT_POLICY" >&2
for ((r = 0; r < repeats; ++r)); do
  dump=()
  [[ $r == 0 && $run_torch == 1 ]] && dump=(--dump-images "$tmp/batch.f32")
  OMP_NUM_THREADS="$threads" "$bin" --batch "$batch" --iters "$iters" --warmup 1 --device "$device" "${dump[@]}" \
    2>"$tmp/bench.err" >>"$out" || { cat "$tmp/bench.err" >&2; exit 1; }
  if [[ $run_torch == 1 ]]; then
    OMP_NUM_THREADS="$threads" "$torch_py" scripts/bench_nn_torch.py --model configs/models/flowpic_paper.json \
      --input 1x1500x1500 --batch "$batch" --iters "$iters" --warmup 1 --threads "$threads" --device "$device" \
      --images "$tmp/batch.f32" 2>/dev/null | sed 's/^{/{"case": "store", "path": "pytorch", /' >>"$out"
  fi
done
head -1 "$tmp/bench.err" >&2
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
python3 - "$out" "$device" "$threads" "$repeats" "$batch" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
device, threads, repeats, batch = sys.argv[2:6]
def med(case, path):
    v = [r.get("step_ms", r.get("median_ms")) for r in rows if r["case"] == case and r["path"] == path]
    return statistics.median(v) if v else None
def cells(case):
    return statistics.median(r["cells_per_image"] for r in rows if r["case"] == case and r["path"] == "sparse")
store = [r for r in rows if r["case"] == "store" and r["path"] == "sparse"]
print(f"FlowPic paper network, 1x1500x1500, batch {batch}, {device}, {threads} threads, median of {repeats} runs")
print("| batch | packets/image | cells/image | dense ms | sparse ms | PyTorch ms | sparse/dense | sparse/PyTorch |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for case, label in (("store", "synthetic store windows"), ("random", "random, 1 pixel in 16")):
    d, s, t = med(case, "dense"), med(case, "sparse"), med(case, "pytorch")
    pk = f"{store[0]['packets_per_image']:.0f}" if case == "store" else "-"
    tt = f"{t:.1f}" if t else "-"
    rt = f"{t / s:.2f}" if t else "-"
    print(f"| {label} | {pk} | {cells(case):.0f} | {d:.1f} | {s:.1f} | {tt} | {d / s:.2f} | {rt} |")
print(f"ratio sparse/dense: {med('store', 'dense') / med('store', 'sparse'):.2f}")
PY
