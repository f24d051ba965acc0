#!/usr/bin/env bash
# Packs the CUDA build's programs for a lent GPU machine (the `device` tool), which has CUDA,
# cuDNN and cuBLAS (in its PyTorch) but not Debian's HDF5, libpcap, OpenBLAS or GoogleTest, and
# cannot install anything. Builds build/cuda here, then writes .device/bundle.tar.xz (ignored by
# git): the test, benchmark and command-line programs, stripped, plus every shared library they
# need except the C/C++ runtime and the CUDA libraries the machine has.
#   usage: scripts/device_bundle.sh
#   then:  device run, carry [".device"]:  bash scripts/gpu_check.sh all     (see that script)
set -euo pipefail
cd "$(dirname "$0")/.."
programs=(tests/test_common tests/test_dataset tests/test_kernels tests/test_nn tests/test_experiments tests/test_apps
          bench/bench_images bench/bench_nn_train bench/bench_nn_first_conv bench/bench_sparse
          apps/run_experiment apps/flowpic_data)
targets=()
for p in "${programs[@]}"; do targets+=("$(basename "$p")"); done
dir=$(bash scripts/build.sh cuda "${targets[@]}" | tail -n 1)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bin" "$stage/lib"
for p in "${programs[@]}"; do
  [[ -x "$dir/$p" ]] || { echo "device_bundle.sh: $dir/$p was not built" >&2; exit 1; }
  strip -o "$stage/bin/$(basename "$p")" "$dir/$p"
done
# Shared libraries: what ldd resolves, less what every Linux has (glibc and its parts such as
# libresolv, which must match the machine's own glibc; libstdc++, libgcc) and the
# CUDA libraries that the device's CUDA and PyTorch provide (driver, runtime, cuBLAS, cuDNN).
skip='^(linux-vdso|ld-linux|libc\.|libm\.|libdl\.|librt\.|libpthread\.|libresolv\.|libnss_|libanl\.|libutil\.|libstdc\+\+|libgcc_s|libcuda\.|libcudart|libcublas|libcudnn|libnvrtc|libnvJitLink)'
missing=0
for b in "$stage"/bin/*; do
  while read -r name _ path _; do
    [[ "$name" =~ $skip ]] && continue
    if [[ "$path" == "not" || -z "$path" ]]; then echo "device_bundle.sh: $(basename "$b") needs $name, not found here" >&2; missing=1; continue; fi
    [[ -e "$stage/lib/$name" ]] || cp -L "$path" "$stage/lib/$name"
  done < <(ldd "$b" | grep '=>')
done
[[ $missing == 0 ]] || exit 1
{
  echo "source_dir=$PWD"
  echo "commit=$(git rev-parse HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo -dirty)"
  echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ) on $(hostname)"
  echo "cuda=$(/usr/local/cuda/bin/nvcc --version | tail -n 1)"
  echo "cudnn_headers=$(awk '/define CUDNN_(MAJOR|MINOR|PATCHLEVEL) /{printf "%s%s", sep, $3; sep="."}' /usr/local/cuda/include/cudnn_version.h)"
  echo "needs=$(for f in "$stage"/bin/* "$stage"/lib/*; do objdump -T "$f" 2>/dev/null | grep -o 'GLIBC_2\.[0-9]*\|GLIBCXX_3\.4\.[0-9]*'; done \
    | sort -u | sort -t. -k1,1 -k2,2n -k3,3n | awk -F. '{m[$1]=$0} END {print m["GLIBC_2"], m["GLIBCXX_3"]}') or newer"
  echo "cuda_libraries_needed=$(for b in "$stage"/bin/*; do ldd "$b"; done | awk '{print $1}' | grep -E '^lib(cudart|cublas|cudnn)' | sort -u | tr '\n' ' ')"
} >"$stage/manifest"
mkdir -p .device
tar -C "$stage" -cJf .device/bundle.tar.xz bin lib manifest
cat "$stage/manifest"
echo "device_bundle.sh: .device/bundle.tar.xz, $(du -h .device/bundle.tar.xz | cut -f1) ($(ls "$stage/bin" | wc -l) programs, $(ls "$stage/lib" | wc -l) libraries)"
