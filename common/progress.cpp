#include "common/progress.hpp"

#include <unistd.h>

#include <cmath>

namespace flowpic {

bool Progress::stderr_is_terminal() { return isatty(fileno(stderr)) != 0; }

Progress::Progress(std::string label, double total, std::string unit, double plain_interval_s)
    : label_(std::move(label)),
      unit_(std::move(unit)),
      total_(total),
      plain_interval_s_(plain_interval_s),
      tty_(stderr_is_terminal()),
      start_(std::chrono::steady_clock::now()),
      last_print_(start_) {}

Progress::~Progress() {
  if (tty_ && drawn_ && !finished_) std::fputc('\n', stderr);
}

std::string Progress::human(double v, const std::string& unit) {
  static const char* pre[] = {"", "k", "M", "G", "T"};
  int i = 0;
  double a = std::fabs(v);
  while (a >= 1000 && i < 4) {
    a /= 1000;
    v /= 1000;
    ++i;
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, i == 0 ? "%.0f %s%s" : "%.2f %s%s", v, pre[i], unit.c_str());
  return buf;
}

void Progress::update(double done, const std::string& extra) {
  done_ = done;
  extra_ = extra;
  auto now = std::chrono::steady_clock::now();
  double since = std::chrono::duration<double>(now - last_print_).count();
  if ((tty_ && since >= 0.2) || (!tty_ && since >= plain_interval_s_)) {
    last_print_ = now;
    print(false);
  }
}

void Progress::finish(const std::string& summary) {
  if (finished_) return;
  if (!summary.empty()) extra_ = summary;
  print(true);
  finished_ = true;
}

void Progress::clear() {
  if (finished_) return;
  if (tty_ && drawn_) std::fputs("\r\033[K", stderr);
  drawn_ = false;
  finished_ = true;
}

void Progress::print(bool final_line) {
  double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  double rate = el > 0 ? done_ / el : 0;
  std::string line = label_ + ": " + human(done_, unit_);
  if (total_ > 0) {
    char pct[32];
    std::snprintf(pct, sizeof pct, " / %s (%.1f%%)", human(total_, unit_).c_str(), 100.0 * done_ / total_);
    line += pct;
  }
  line += ", " + human(rate, unit_) + "/s";
  if (!final_line && total_ > 0 && rate > 0) {
    char eta[32];
    std::snprintf(eta, sizeof eta, ", ETA %.0f s", (total_ - done_) / rate);
    line += eta;
  } else if (final_line) {
    char t[32];
    std::snprintf(t, sizeof t, ", %.1f s", el);
    line += t;
  }
  if (!extra_.empty()) line += ", " + extra_;
  if (tty_) {
    std::fprintf(stderr, "\r\033[K%s%s", line.c_str(), final_line ? "\n" : "");
    drawn_ = !final_line;
  } else {
    std::fprintf(stderr, "%s\n", line.c_str());
  }
  std::fflush(stderr);
}

}  // namespace flowpic
