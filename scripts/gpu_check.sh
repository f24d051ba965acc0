#!/usr/bin/env bash
# GPU verification on a lent GPU machine (the `device` tool), from programs built on the CPU
# machine: the device has CUDA, cuDNN and cuBLAS but none of Debian's libraries and no network.
#   1. here:       bash scripts/device_bundle.sh            -> .device/bundle.tar.xz
#   2. on device:  run(command="bash scripts/gpu_check.sh STEP", carry=[".device"])
#   usage: scripts/gpu_check.sh STEP [STEP...]
# Steps (each fits the device's 10-minute command limit; `all` = every step, in order):
#   info        the GPU, driver, CUDA and cuDNN versions, and that every program finds its libraries
#   tests       every GoogleTest suite, GPU cases included (CPU vs GPU for every kernel and layer)
#   bench       scripts/bench_images.sh, scripts/bench_nn.sh cuda and scripts/bench_sparse.sh cuda (PyTorch on CUDA beside ours)
#   experiment  run_experiment quickstart on cpu and cuda, and vpn_category (FlowPic 1500x1500,
#               the paper network, 40 epochs) on cuda with the built-in synthetic data
# Each step's summary goes to <step>.summary.txt in $OUT (the device tool's output folder;
# ./gpu-check-out elsewhere), every log and result file into gpu-check-logs.tar.gz beside them
# (the device tool brings back at most 8 files).
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $# -gt 0 ]] || { echo "usage: scripts/gpu_check.sh info|tests|bench|experiment|all ..." >&2; exit 2; }
steps=("$@")
[[ "${steps[*]}" == all ]] && steps=(info tests bench experiment)
for s in "${steps[@]}"; do
  case "$s" in info|tests|bench|experiment) ;; *) echo "gpu_check.sh: unknown step '$s' (info, tests, bench, experiment, all)" >&2; exit 2 ;; esac
done
final="${OUT:-$PWD/gpu-check-out}"
out=/tmp/flowpic-gpu-check
rm -rf "$out" && mkdir -p "$out" "$final"
[[ -f .device/bundle.tar.xz ]] || { echo "gpu_check.sh: .device/bundle.tar.xz is missing: run scripts/device_bundle.sh here and carry .device" >&2; exit 1; }
bundle=/tmp/flowpic-bundle
if [[ ! -f "$bundle/manifest" || .device/bundle.tar.xz -nt "$bundle/manifest" ]]; then
  rm -rf "$bundle" && mkdir -p "$bundle" && tar -C "$bundle" -xJf .device/bundle.tar.xz
fi
bin="$bundle/bin"
# The programs were built with the source folder's absolute path compiled in (configs, test data):
# point that path at this checkout.
source_dir=$(sed -n 's/^source_dir=//p' "$bundle/manifest")
if [[ "$source_dir" != "$PWD" && ! -e "$source_dir" ]]; then mkdir -p "$(dirname "$source_dir")" && ln -s "$PWD" "$source_dir"; fi
# CUDA libraries: the toolkit's, and those of the machine's PyTorch wheels (cuDNN, cuBLAS).
py="${PYTHON:-$(command -v python3 || true)}"   # the device's python3 holds PyTorch and numpy
nv=""
if [[ -n "$py" ]]; then
  nv=$("$py" -c 'import glob, os, site
dirs = sorted({d for sp in site.getsitepackages() for d in glob.glob(os.path.join(sp, "nvidia", "*", "lib"))})
print(":".join(dirs))' 2>/dev/null || true)
fi
export LD_LIBRARY_PATH="$bundle/lib:/usr/local/cuda/lib64:${nv}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export PATH="$bin:$PATH"

run_info() {
  {
    echo "== manifest"; cat "$bundle/manifest"
    echo "== nvidia-smi"; nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv 2>&1 || true
    echo "== nvcc"; (nvcc --version 2>/dev/null || /usr/local/cuda/bin/nvcc --version 2>/dev/null) | tail -n 1 || true
    echo "== libraries"
    local bad=0
    for b in "$bin"/*; do
      if ldd "$b" | grep -q "not found"; then echo "$(basename "$b"): $(ldd "$b" | grep 'not found' | tr -s ' \t' ' ' | tr '\n' ';')"; bad=1; fi
    done
    if [[ $bad == 0 ]]; then echo "every program finds its libraries"; fi
    for lib in libcudart.so.13 libcublas.so.13 libcudnn.so.9; do
      echo "$lib -> $(ldd "$bin/test_nn" | awk -v l="$lib" '$1 == l {print $3}')"
    done
    echo "== a training step on the GPU (LeNet-5, batch 2)"
    bench_nn_train --device cuda --model configs/models/lenet5.json --input 1x32x32 --batch 2 --iters 1 --warmup 0 2>&1 | tail -n 3 || true
  } 2>&1 | tee "$out/info.summary.txt" || true
}

run_tests() {
  local status=0
  : >"$out/tests.summary.txt"
  for t in test_common test_dataset test_kernels test_nn test_experiments test_apps; do
    local rc=0 t0=$SECONDS
    "$bin/$t" --gtest_brief=1 >"$out/$t.txt" 2>&1 || rc=$?
    local passed skipped failed
    passed=$(grep -m1 -o '\[  PASSED  \] [0-9]*' "$out/$t.txt" | grep -o '[0-9]*$' || echo 0)
    skipped=$(grep -m1 -o '\[  SKIPPED \] [0-9]*' "$out/$t.txt" | grep -o '[0-9]*$' || echo 0)
    failed=$(grep -m1 -o '\[  FAILED  \] [0-9]* test' "$out/$t.txt" | grep -o '[0-9]*' || echo 0)
    echo "$t: exit $rc, passed $passed, skipped $skipped, failed $failed, $((SECONDS - t0)) s" | tee -a "$out/tests.summary.txt"
    grep '^\[  FAILED  \] [A-Za-z]' "$out/$t.txt" | sort -u | tee -a "$out/tests.summary.txt" || true
    [[ $rc == 0 ]] || status=1
  done
  return $status
}

run_bench() {
  local status=0
  FLOWPIC_PREBUILT="$bin" PYTHON="${py:-python3}" bash scripts/bench_images.sh --runs 5 >"$out/bench_images.txt" 2>&1 || status=1
  FLOWPIC_PREBUILT="$bin" TORCH_PY="${py:-python3}" REPEATS=3 THREADS="$(nproc)" bash scripts/bench_nn.sh cuda \
    >"$out/bench_nn_cuda.txt" 2>&1 || status=1
  FLOWPIC_PREBUILT="$bin" TORCH_PY="${py:-python3}" REPEATS=3 THREADS="$(nproc)" bash scripts/bench_sparse.sh cuda \
    >"$out/bench_sparse_cuda.txt" 2>&1 || status=1
  cat "$out/bench_images.txt" "$out/bench_nn_cuda.txt" "$out/bench_sparse_cuda.txt" >"$out/bench.summary.txt"
  cat "$out/bench.summary.txt"
  return $status
}

run_experiment_step() {
  local status=0 res=/tmp/flowpic-gpu-results
  rm -rf "$res"
  : >"$out/experiment.summary.txt"
  for device in cpu cuda; do
    local t0=$SECONDS
    run_experiment configs/quickstart.json --set device="$device" --set output="$res/$device" \
      >"$out/quickstart_$device.txt" 2>&1 || status=1
    echo "quickstart on $device: $((SECONDS - t0)) s; $(grep -E '^(run [a-z]|accuracy|early stop)|error:' "$out/quickstart_$device.txt" | head -n 3 | tr '\n' ' ')" \
      | tee -a "$out/experiment.summary.txt"
  done
  local t0=$SECONDS
  run_experiment configs/vpn_category.json --set dataset.source=synthetic --set device=cuda --set output="$res/paper" \
    >"$out/vpn_category_cuda.txt" 2>&1 || status=1
  echo "vpn_category (1500x1500, paper network) on cuda: $((SECONDS - t0)) s; $(grep -E '^(run [a-z]|accuracy|early stop)|error:' "$out/vpn_category_cuda.txt" | head -n 3 | tr '\n' ' ')" \
    | tee -a "$out/experiment.summary.txt"
  find "$res" -name '*.h5' | head -n 3 | while read -r f; do cp "$f" "$out/$(echo "${f#$res/}" | tr '/' '_')"; done
  return $status
}

status=0
for s in "${steps[@]}"; do
  echo "==== gpu_check.sh $s ($(date -u +%H:%M:%S))"
  case "$s" in
    info) run_info ;;
    tests) run_tests || status=1 ;;
    bench) run_bench || status=1 ;;
    experiment) run_experiment_step || status=1 ;;
  esac
done
cp "$out"/*.summary.txt "$final"/
tar -C "$out" -czf "$final/gpu-check-logs.tar.gz" .
echo "gpu_check.sh: summaries and gpu-check-logs.tar.gz in $final (exit $status)"
exit $status
