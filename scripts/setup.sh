#!/usr/bin/env bash
# Installs what a fresh Debian machine lacks to build and test flowpic, idempotently, and says
# what it does. Run as root or with sudo available. Nothing is downloaded outside Debian's archive.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config git       # toolchain
  libpcap-dev                                # capture reading (pcap, pcapng)
  libhdf5-dev hdf5-tools                     # packet store, images, results, weights
  nlohmann-json3-dev                         # configs, label maps, models
  libre2-dev                                 # label-map patterns
  libgtest-dev googletest                    # tests
  libpng-dev zlib1g-dev                      # flowpic_data render
  libcli11-dev                               # command lines of the programs
  libopenblas-dev libomp-dev                 # CPU backend of the CNN engine
  tcpdump                                    # capture tools used by tests and benchmarks
  libopenmpi-dev openmpi-bin                 # MPI sweeps and data-parallel training (optional in the build; tested)
)
# Optional extras for benchmarks and plots (never needed by tests or CI): bash scripts/setup.sh --bench
# (time: /usr/bin/time for peak memory in scripts/bench_ingest.sh; tshark: the ingestion test's
# optional cross-check on loopback traffic, skipped without it)
BENCH_PACKAGES=(python3-numpy python3-h5py python3-dpkt python3-matplotlib python3-torch time tshark)

want=("${PACKAGES[@]}")
if [[ "${1:-}" == "--bench" ]]; then want+=("${BENCH_PACKAGES[@]}"); fi

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "setup: all ${#want[@]} packages already installed"
  exit 0
fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "setup: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  SUDO="sudo"
fi
echo "setup: installing ${#missing[@]} Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done"
