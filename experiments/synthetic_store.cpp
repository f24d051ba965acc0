#include "experiments/synthetic_store.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "dataset/ingest.hpp"
#include "dataset/packet_store.hpp"
#include "dataset/synth.hpp"

namespace flowpic {

std::string find_config_file(const std::string& relative) {
  const std::string here = "configs/" + relative;
  if (file_exists(here)) return here;
  const std::string source = std::string(FLOWPIC_SOURCE_DIR) + "/configs/" + relative;
  if (file_exists(source)) return source;
  fail("cannot find configs/", relative, " (looked in the working directory and in ", FLOWPIC_SOURCE_DIR, ")");
}

std::string ensure_synthetic_store(const std::string& dir, uint64_t seed, const std::string& preset, double scale) {
  std::string base = dir + "/" + preset + "-seed" + std::to_string(seed);
  if (scale != 1.0) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "-scale%g", scale);
    base += buf;
  }
  const std::string store = base + "/store.h5";
  // Processes of one sweep (shards, MPI ranks, Slurm tasks) may all find the store missing: the
  // first to take the cache folder's lock makes it, the others wait and then find it there.
  make_dirs(base);
  const std::string lock_path = base + "/.generate.lock";
  const int lock = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock < 0) fail("cannot open ", lock_path, " (the synthetic data's lock)");
  struct Unlock {
    int fd;
    ~Unlock() { ::close(fd); }  // closing the descriptor releases the lock
  } unlock{lock};
  while (::flock(lock, LOCK_EX) != 0)
    if (errno != EINTR) fail("cannot lock ", lock_path);
  if (file_exists(store)) {
    // A cache written by an older flowpic (or damaged) is made again rather than failing the run.
    try {
      PacketStoreReader check(store);
      return store;
    } catch (const Error& e) {
      std::fprintf(stderr, "the cached synthetic store cannot be used (%s): generating it again\n", e.what());
    }
  }
  std::fprintf(stderr,
               "built-in SYNTHETIC traffic (preset %s, seed %llu) is not in %s yet: generating and ingesting it\n",
               preset.c_str(), static_cast<unsigned long long>(seed), base.c_str());
  synth::SynthOptions so;
  so.out_dir = base;
  so.seed = seed;
  so.preset = preset;
  so.scale = scale;
  so.command = "run_experiment (built-in synthetic data)";
  synth::SynthReport sr = synth::generate_synthetic(so);
  std::fprintf(stderr, "%s", sr.summary(so).c_str());
  IngestOptions io;
  io.label_map_paths = {find_config_file("labels/iscx_vpn_nonvpn.json"), find_config_file("labels/iscx_tor.json")};
  io.command = "run_experiment (built-in synthetic data): ingest " + base + "/captures";
  IngestReport ir = ingest_captures(list_captures({base + "/captures"}), store, io);
  std::fprintf(stderr, "%s", ir.summary().c_str());
  return store;
}

}  // namespace flowpic
