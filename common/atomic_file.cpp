#include "common/atomic_file.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "common/error.hpp"

namespace flowpic {

std::string parent_dir(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string base_name(const std::string& path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string stem(const std::string& path) {
  std::string b = base_name(path);
  size_t dot = b.find_last_of('.');
  return (dot == std::string::npos || dot == 0) ? b : b.substr(0, dot);
}

bool file_exists(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0;
}

uint64_t file_size(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) fail("cannot read ", path, ": ", std::strerror(errno));
  return static_cast<uint64_t>(st.st_size);
}

void make_dirs(const std::string& path) {
  if (path.empty() || path == "." || path == "/") return;
  struct stat st {};
  if (stat(path.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) fail("cannot create folder ", path, ": a file of that name exists");
    return;
  }
  make_dirs(parent_dir(path));
  if (mkdir(path.c_str(), 0755) != 0 && errno != EEXIST)
    fail("cannot create folder ", path, ": ", std::strerror(errno));
}

AtomicFile::AtomicFile(std::string final_path) : final_(std::move(final_path)) {
  static std::atomic<unsigned> counter{0};
  std::string dir = parent_dir(final_);
  struct stat st {};
  if (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    fail("cannot write ", final_, ": folder ", dir, " does not exist");
  temp_ = dir + "/." + base_name(final_) + ".partial-" + std::to_string(getpid()) + "-" + std::to_string(counter++);
}

AtomicFile::~AtomicFile() {
  if (!committed_) std::remove(temp_.c_str());
}

void AtomicFile::commit() {
  int fd = open(temp_.c_str(), O_RDONLY);
  if (fd < 0) fail("cannot finish ", final_, ": temporary file ", temp_, " is gone: ", std::strerror(errno));
  // The data must be on disk before the name points at it, or a power cut could leave a whole-
  // looking name over missing blocks.
  if (fsync(fd) != 0 && errno != EINVAL) {
    int e = errno;
    close(fd);
    fail("cannot finish ", final_, ": writing ", temp_, " to disk failed: ", std::strerror(e));
  }
  close(fd);
  if (std::rename(temp_.c_str(), final_.c_str()) != 0)
    fail("cannot move ", temp_, " to ", final_, ": ", std::strerror(errno));
  committed_ = true;
  // Make the rename itself durable (best effort: some file systems cannot fsync a folder).
  int dfd = open(parent_dir(final_).c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    fsync(dfd);
    close(dfd);
  }
}

void write_text_atomically(const std::string& path, const std::string& text) {
  try {
    make_dirs(parent_dir(path));
  } catch (const Error& e) {
    fail("cannot write ", path, ": ", e.what());
  }
  AtomicFile out(path);
  int fd = open(out.temp_path().c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0) fail("cannot write ", path, ": cannot create ", out.temp_path(), ": ", std::strerror(errno));
  const char* p = text.data();
  size_t left = text.size();
  while (left > 0) {
    ssize_t n = write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int e = n < 0 ? errno : EIO;
      close(fd);
      fail("cannot write ", path, ": writing ", out.temp_path(), " failed: ", std::strerror(e));
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  // close() can be the first to report a failed write (NFS, quotas).
  if (close(fd) != 0) fail("cannot write ", path, ": closing ", out.temp_path(), " failed: ", std::strerror(errno));
  out.commit();
}

int remove_stale_partials(const std::string& final_path) {
  const std::string dir = parent_dir(final_path);
  const std::string prefix = "." + base_name(final_path) + ".partial-";
  DIR* d = opendir(dir.c_str());
  if (!d) return 0;
  int removed = 0;
  while (dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name.compare(0, prefix.size(), prefix) != 0) continue;
    // ".<name>.partial-<pid>-<n>": only a process that no longer exists leaves one behind for good.
    char* end = nullptr;
    long pid = std::strtol(name.c_str() + prefix.size(), &end, 10);
    if (pid <= 0 || *end != '-' || pid == getpid()) continue;
    if (kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;
    if (std::remove((dir + "/" + name).c_str()) == 0) ++removed;
  }
  closedir(d);
  return removed;
}

}  // namespace flowpic
