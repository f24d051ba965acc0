#pragma once
// Progress of long work on stderr: on a terminal one line redrawn a few times a second with
// items done, rate and ETA; otherwise a plain line every `plain_interval_s` seconds and at the end.
#include <chrono>
#include <cstdio>
#include <string>

namespace flowpic {

class Progress {
 public:
  // total <= 0: unknown (no ETA). unit names what is counted ("B", "packets", "windows").
  Progress(std::string label, double total, std::string unit, double plain_interval_s = 10.0);
  ~Progress();
  void update(double done, const std::string& extra = "");
  void finish(const std::string& summary = "");
  // Ends without a closing line: on a terminal the progress line is erased (the caller prints its
  // own summary line instead).
  void clear();
  static bool stderr_is_terminal();
  // "1.23 GB", "45.6 k"; bytes use decimal units.
  static std::string human(double value, const std::string& unit);

 private:
  void print(bool final_line);
  std::string label_, unit_, extra_;
  double total_, done_ = 0, plain_interval_s_;
  bool tty_, finished_ = false, drawn_ = false;
  std::chrono::steady_clock::time_point start_, last_print_;
};

}  // namespace flowpic
