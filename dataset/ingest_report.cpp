#include "dataset/ingest_report.hpp"

#include <sstream>

#include "common/progress.hpp"

namespace flowpic {

std::string IngestReport::summary() const {
  std::ostringstream os;
  auto h = [](double v, const char* unit) { return Progress::human(v, unit); };
  os << "files: " << files;
  if (files_damaged) os << " (" << files_damaged << " damaged or skipped)";
  os << ", " << h(static_cast<double>(bytes), "B") << ", packets read " << packets_read << ", kept " << packets_kept
     << ", flows " << flows;
  if (packets_reordered) os << ", reordered packets " << packets_reordered;
  if (malformed_lines) os << ", malformed lines " << malformed_lines;
  if (sessions_ended_early) os << ", sessions ended early (open-session cap) " << sessions_ended_early;
  os << "\n";
  if (decapsulate)
    os << "decapsulation: on (IP-in-IP inner packets are the flows), " << packets_decapsulated
       << " packets decoded from inside tunnels\n";
  if (seconds > 0) {
    os << "time: " << std::fixed;
    os.precision(2);
    os << seconds << " s, " << h(bytes / seconds, "B") << "/s, " << h(packets_read / seconds, "packets") << "/s\n";
    os.unsetf(std::ios::fixed);
  }
  if (!flows_per_label.empty()) {
    os << "flows per label:\n";
    for (const auto& [k, n] : flows_per_label) os << "  " << k << ": " << n << "\n";
  }
  if (!skipped.empty()) {
    os << "skipped packets by reason:\n";
    for (const auto& [k, n] : skipped) os << "  " << k << ": " << n << "\n";
  }
  if (!warnings.empty()) os << "warnings: " << warnings.size() << "\n";
  return os.str();
}

}  // namespace flowpic
