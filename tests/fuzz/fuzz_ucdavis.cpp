// Lines of a UC Davis ICDM'19 flow file through the line parser of `flowpic_data import-ucdavis`,
// then whole files through the importer (a class folder holding the input as one flow file).
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "dataset/packet_store.hpp"
#include "dataset/ucdavis_import.hpp"
#include "fuzz_support.hpp"

using namespace flowpic;

namespace {

// A folder of class folders, made once per process, whose one flow file each input replaces.
const std::filesystem::path& work_dir() {
  static const std::filesystem::path dir = [] {
    const char* base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";  // off the disk when possible
    auto d = std::filesystem::path(base) / ("flowpic-fuzz-ucdavis-" + std::to_string(getpid()));
    std::filesystem::create_directories(d / "in" / "Youtube");
    return d;
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  size_t start = 0;
  while (start <= text.size()) {
    const size_t nl = text.find('\n', start);
    std::string_view line = text.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
    UcdavisPacket p;
    const std::string err = parse_ucdavis_line(line, p);
    if (err.empty()) {
      if (!(p.absolute_time >= 0) || !std::isfinite(p.absolute_time) || !(p.time >= 0) || !std::isfinite(p.time) ||
          p.size < 1 || p.size > 65535 || p.direction > 1)
        std::abort();
    } else if (err.find('\n') != std::string::npos) {
      std::abort();
    }
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  if (size > 4096) return 0;  // whole files: small ones (the line parser above takes the rest)
  const auto& dir = work_dir();
  {
    std::ofstream(dir / "in" / "Youtube" / "flow.txt", std::ios::binary)
        .write(text.data(), std::streamsize(text.size()));
  }
  UcdavisImportOptions o;
  o.partition = "fuzz";
  o.progress = false;
  const std::string out = (dir / "store.h5").string();
  fuzz::expect_clean([&] {
    IngestReport r = import_ucdavis({(dir / "in").string()}, out, o);
    PacketStore s = read_packet_store(out);
    if (s.num_flows() != 1 || r.flows != 1) std::abort();
    for (size_t i = 1; i < s.num_packets(); ++i)
      if (s.time[i] < s.time[i - 1] || !(s.time[0] == 0)) std::abort();
  });
  fuzz::expect_no_open_hdf5_ids();
  return 0;
}
