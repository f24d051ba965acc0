#pragma once
// Shared by the libFuzzer targets (README.md, "Reliability", says how to run them).
//
// A target may throw flowpic::Error only: that is the one-line user error the program prints.
// Any other exception escapes LLVMFuzzerTestOneInput, libFuzzer reports it as a crash, and it is
// a finding (a std::out_of_range or a json::type_error would reach the user as a bare what()).
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "common/error.hpp"
#include "common/h5.hpp"

namespace flowpic::fuzz {

// The input written to a file (HDF5 readers need a path), in /dev/shm when it exists so runs do
// not touch the disk; removed when the object goes out of scope.
class InputFile {
 public:
  InputFile(const uint8_t* data, size_t size, const char* suffix) {
    const char* dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    path_ = std::string(dir) + "/flowpic-fuzz-" + std::to_string(getpid()) + suffix;
    FILE* f = std::fopen(path_.c_str(), "wb");
    if (!f) std::abort();
    if (size && std::fwrite(data, 1, size, f) != size) std::abort();
    std::fclose(f);
  }
  ~InputFile() { std::remove(path_.c_str()); }
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Runs `f`, swallowing flowpic::Error (expected for bad input) after checking it is one line.
template <typename F>
void expect_clean(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    std::string w = e.what();
    if (w.empty() || w.find('\n') != std::string::npos) {
      std::fprintf(stderr, "error message is not one line: [%s]\n", w.c_str());
      std::abort();
    }
  }
}

// Every HDF5 identifier flowpic opened must be closed again, on errors too (RAII h5::Id). HDF5's
// own allocations on its error paths for damaged files are third-party (tests/sanitizers/lsan.supp);
// an identifier left open is ours, so it is checked here.
inline void expect_no_open_hdf5_ids() {
  ssize_t open_ids = H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL);
  if (open_ids != 0) {
    std::fprintf(stderr, "%zd HDF5 identifiers left open\n", open_ids);
    std::abort();
  }
}

}  // namespace flowpic::fuzz
