#pragma once
// Every file flowpic writes goes to a temporary name in the same folder and is renamed into place
// only when complete, so a crash or Ctrl-C never leaves a file that looks whole.
#include <cstdint>
#include <string>

namespace flowpic {

class AtomicFile {
 public:
  // Picks "<dir>/.<name>.partial-<pid>-<n>" beside `final_path`; the folder must exist.
  explicit AtomicFile(std::string final_path);
  ~AtomicFile();  // removes the temporary file unless commit() ran
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  const std::string& temp_path() const { return temp_; }
  const std::string& final_path() const { return final_; }
  // Flushes the temporary file to disk and renames it over the final path.
  void commit();

 private:
  std::string final_;
  std::string temp_;
  bool committed_ = false;
};

// Writes a text file (tables, summaries, manifests, READMEs) through an AtomicFile: creates the
// folder, writes and closes the temporary file, then commits (fsync, rename, folder sync). Every
// failure (creating, writing, closing, renaming) throws naming `path`.
void write_text_atomically(const std::string& path, const std::string& text);

// Removes the temporary files that killed runs left beside `final_path`
// (".<name>.partial-<pid>-<n>" of a process that no longer exists); returns how many.
// Writers of single files (packet store, result, weights) call it before starting.
int remove_stale_partials(const std::string& final_path);

// Creates a folder and its parents (mkdir -p); errors name the path.
void make_dirs(const std::string& path);
std::string parent_dir(const std::string& path);
std::string base_name(const std::string& path);  // "a/b/c.pcap" -> "c.pcap"
std::string stem(const std::string& path);       // "a/b/c.pcapng" -> "c"
bool file_exists(const std::string& path);
uint64_t file_size(const std::string& path);  // throws naming the path

}  // namespace flowpic
