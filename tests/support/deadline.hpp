#pragma once
// Runs a reader on a hostile input in a child process with a deadline, so that a hang or a crash
// inside a library fails the test (with what happened) instead of hanging or killing the suite.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <thread>

#include "common/error.hpp"

namespace flowpic::testing {

// "error: <one line>" when `reader` threw flowpic::Error with a one-line message; otherwise a
// description of what went wrong: "returned without an error", "hung for over N s",
// "killed by signal N", "threw something else", "a multi-line error".
inline std::string outcome_in_child(const std::function<void()>& reader, int seconds = 30) {
  int fds[2];
  if (pipe(fds) != 0) return "pipe failed";
  std::fflush(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    std::string msg;
    int code = 0;
    try {
      reader();
      msg = "returned without an error";
      code = 2;
    } catch (const Error& e) {
      msg = e.what();
      code = msg.find('\n') == std::string::npos ? 0 : 3;
    } catch (...) {
      msg = "threw something other than flowpic::Error";
      code = 4;
    }
    (void)!write(fds[1], msg.data(), msg.size());
    _exit(code);
  }
  close(fds[1]);
  int status = 0;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > until) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      close(fds[0]);
      return "hung for over " + std::to_string(seconds) + " s";
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::string msg;
  char buf[4096];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) msg.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  if (WEXITSTATUS(status) == 0) return "error: " + msg;
  if (WEXITSTATUS(status) == 3) return "a multi-line error: " + msg;
  return msg;
}

}  // namespace flowpic::testing
