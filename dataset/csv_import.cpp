// Import of the FlowPic authors' per-session CSV (TrafficParser/generic_parser.py in
// github.com/talshapira/FlowPic). One row per unidirectional session, no header:
//
//   pcap_name, ip_src, port_src, ip_dst, port_dst, proto, start_time, length, ts_1..ts_n, <empty>, size_1..size_n
//
// What the authors' code writes (checked in its source):
//  - pcap_name is the capture's file name up to its first '.', so no extension;
//  - proto is the string "TCP" or "UDP" (we also accept 6 / 17);
//  - start_time is the absolute time (seconds since the epoch, float) of the session's first packet;
//  - ts_i are RELATIVE to that first packet: round(ts - first_ts, 6), in file order, so ts_1 = 0;
//  - size_i is len(ip), the IP packet's length as captured (its total length for whole packets);
//  - a session is every packet of the 5-tuple in the file, with no idle timeout.
// Our rule: times are kept as written. If they are not sorted (a capture with out-of-order
// timestamps gives negative or decreasing ts), packets are sorted by time (stable), the earliest
// becomes time 0 and start_time moves by the same amount; the packets are counted as reordered.
#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <fstream>
#include <memory>
#include <string_view>

#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "common/progress.hpp"
#include "dataset/csv_row.hpp"
#include "dataset/flow_sink.hpp"
#include "dataset/ingest.hpp"

namespace flowpic {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
  return s;
}

template <typename T>
bool parse_number(std::string_view s, T& out) {
  s = trim(s);
  if (s.empty()) return false;
  if (s.front() == '+') s.remove_prefix(1);
  auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size()) return false;
  if constexpr (std::is_floating_point_v<T>) return std::isfinite(out);
  return true;
}

bool parse_address(std::string_view text, uint8_t& version, std::array<uint8_t, 16>& bytes) {
  char buf[64];
  text = trim(text);
  if (text.size() >= sizeof buf) return false;
  std::copy(text.begin(), text.end(), buf);
  buf[text.size()] = '\0';
  bytes = {};
  if (inet_pton(AF_INET, buf, bytes.data()) == 1) {
    version = 4;
    return true;
  }
  if (inet_pton(AF_INET6, buf, bytes.data()) == 1) {
    version = 6;
    return true;
  }
  return false;
}

bool parse_protocol(std::string_view text, uint8_t& proto) {
  text = trim(text);
  std::string p(text);
  for (char& c : p) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (p == "TCP" || p == "6")
    proto = 6;
  else if (p == "UDP" || p == "17")
    proto = 17;
  else
    return false;
  return true;
}

}  // namespace

// One CSV line -> one unidirectional flow. Returns "" on success, else what is wrong.
std::string AuthorsCsvRowParser::parse(std::string_view line, FlowRecord& flow, std::string& pcap_name,
                                       uint64_t& reordered) {
  fields_.clear();
  size_t start = 0;
  while (true) {
    size_t comma = line.find(',', start);
    fields_.push_back(line.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  if (fields_.size() < 10)
    return "expected at least 10 fields (name, 5-tuple, start_time, length, ts..., empty, sizes...), got " +
           std::to_string(fields_.size());
  pcap_name = std::string(trim(fields_[0]));
  if (pcap_name.empty()) return "field 1 (pcap_name) is empty";
  FlowKey& k = flow.key;
  uint8_t vb = 0;
  if (!parse_address(fields_[1], k.ip_version, k.addr_a))
    return "field 2 (ip_src) is not an IP address: '" + std::string(trim(fields_[1])) + "'";
  if (!parse_address(fields_[3], vb, k.addr_b))
    return "field 4 (ip_dst) is not an IP address: '" + std::string(trim(fields_[3])) + "'";
  if (vb != k.ip_version) return "ip_src and ip_dst are of different IP versions";
  if (!parse_number(fields_[2], k.port_a))
    return "field 3 (port_src) is not a port number: '" + std::string(trim(fields_[2])) + "'";
  if (!parse_number(fields_[4], k.port_b))
    return "field 5 (port_dst) is not a port number: '" + std::string(trim(fields_[4])) + "'";
  if (!parse_protocol(fields_[5], k.protocol))
    return "field 6 (proto) must be TCP or UDP, got '" + std::string(trim(fields_[5])) + "'";
  double start_time = 0;
  if (!parse_number(fields_[6], start_time))
    return "field 7 (start_time) is not a number: '" + std::string(trim(fields_[6])) + "'";
  uint64_t n = 0;
  if (!parse_number(fields_[7], n) || n == 0)
    return "field 8 (length) is not a positive packet count: '" + std::string(trim(fields_[7])) + "'";
  if (n > fields_.size())
    return "length says " + std::to_string(n) + " packets but the line has only " + std::to_string(fields_.size()) +
           " fields";
  size_t want = 9 + 2 * n;
  size_t have = fields_.size();
  if (have == want + 1 && trim(fields_.back()).empty()) --have;  // a trailing comma
  if (have != want)
    return "length says " + std::to_string(n) + " packets, so " + std::to_string(want) + " fields, but the line has " +
           std::to_string(have);
  if (!trim(fields_[8 + n]).empty())
    return "field " + std::to_string(9 + n) + " (between times and sizes) should be empty";
  flow.time.resize(n);
  flow.ip_length.resize(n);
  for (size_t i = 0; i < n; ++i) {
    if (!parse_number(fields_[8 + i], flow.time[i]))
      return "field " + std::to_string(9 + i) + " (ts_" + std::to_string(i + 1) + ") is not a number: '" +
             std::string(trim(fields_[8 + i])) + "'";
    if (!parse_number(fields_[9 + n + i], flow.ip_length[i]))
      return "field " + std::to_string(10 + n + i) + " (size_" + std::to_string(i + 1) + ") is not a packet size: '" +
             std::string(trim(fields_[9 + n + i])) + "'";
  }
  reordered = normalise_times(flow, start_time);
  // Finite numbers can still add up to infinity (1e308 + 1e308): the store needs finite times.
  if (!std::isfinite(flow.start_time) || !std::isfinite(flow.time.back()))
    return "the times are too large (start_time plus ts overflows); the line is damaged";
  flow.view = FlowView::kUnidirectional;
  flow.payload_length.assign(n, kUnknownPayload);
  flow.direction.assign(n, 0);
  flow.tcp_flags.assign(n, 0);
  return "";
}

// Sorts by time when needed and makes the earliest packet time 0 (see the file comment).
uint64_t AuthorsCsvRowParser::normalise_times(FlowRecord& flow, double start_time) {
  const uint64_t reordered = sort_by_time(flow);
  const double first = flow.time[0];
  for (double& t : flow.time) t -= first;
  flow.start_time = start_time + first;
  return reordered;
}

IngestReport import_authors_csv(const std::vector<std::string>& csv_files, const std::string& out_path,
                                const IngestOptions& options) {
  const auto t0 = std::chrono::steady_clock::now();
  if (csv_files.empty()) fail("no CSV files given; nothing to import");
  for (const auto& f : csv_files)
    if (!file_exists(f)) fail(f, ": no such file");
  std::unique_ptr<LabelMap> labels;
  if (!options.label_map_paths.empty())
    labels = std::make_unique<LabelMap>(LabelMap::load_all(options.label_map_paths));

  IngestReport report;
  PacketStoreWriter writer(out_path, labels ? labels->columns() : std::vector<std::string>{});
  if (labels) writer.set_label_map(labels->name(), labels->text());
  writer.set_flow_options(flow_options_json(options.flow, labels.get(), "authors_csv_unidirectional"));
  writer.set_command(options.command);
  FlowSink sink(writer, labels.get(), report);

  uint64_t total = 0;
  for (const auto& f : csv_files) total += file_size(f);
  std::unique_ptr<Progress> progress;
  if (options.progress) progress = std::make_unique<Progress>("import-csv", static_cast<double>(total), "B");
  uint64_t bytes_before = 0;

  AuthorsCsvRowParser parser;
  FlowRecord flow;
  std::string line, pcap_name;
  for (const std::string& path : csv_files) {
    ++report.files;
    const uint64_t size = file_size(path);
    report.bytes += size;
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      report.warnings.push_back(path + ": cannot open; file skipped");
      ++report.files_damaged;
      continue;
    }
    // One source per capture named in the file.
    std::map<std::string, uint32_t> sources;
    uint64_t line_no = 0, malformed = 0, first_malformed = 0;
    uint32_t current = UINT32_MAX;
    std::string current_name;
    while (std::getline(in, line)) {
      ++line_no;
      std::string_view view = trim(line);
      if (view.empty()) continue;
      uint64_t reordered = 0;
      std::string err = parser.parse(line, flow, pcap_name, reordered);
      if (!err.empty()) {
        if (++malformed == 1) first_malformed = line_no;
        if (malformed <= static_cast<uint64_t>(kMaxWarningsPerFile))
          report.warnings.push_back(path + ":" + std::to_string(line_no) + ": " + err + "; line skipped");
        continue;
      }
      if (pcap_name != current_name || current == UINT32_MAX) {
        auto it = sources.find(pcap_name);
        if (it == sources.end()) {
          SourceInfo info;
          info.name = pcap_name;
          info.path = path;
          info.size_bytes = size;
          it = sources.emplace(pcap_name, writer.add_source(info)).first;
        }
        current = it->second;
        current_name = pcap_name;
        sink.begin_source(current, pcap_name);
      }
      SourceInfo& src = writer.source(current);
      src.packets_read += flow.size();
      src.packets_reordered += reordered;
      report.packets_read += flow.size();
      report.packets_reordered += reordered;
      sink.add(flow);
      if (progress && (line_no & 0x3FF) == 0)
        progress->update(static_cast<double>(bytes_before) + static_cast<double>(in.tellg()));
    }
    if (malformed > static_cast<uint64_t>(kMaxWarningsPerFile))
      report.warnings.push_back(path + ": " + std::to_string(malformed - kMaxWarningsPerFile) +
                                " more malformed lines skipped");
    if (malformed) {
      report.malformed_lines += malformed;
      ++report.files_damaged;
      std::string status = std::to_string(malformed) + " malformed lines skipped (first at line " +
                           std::to_string(first_malformed) + ")";
      for (auto& [name, index] : sources) writer.source(index).status = status;
      if (sources.empty()) {  // nothing usable in the file: still list it, with what went wrong
        SourceInfo info;
        info.name = base_name(path);
        info.path = path;
        info.size_bytes = size;
        info.status = status;
        writer.add_source(info);
      }
    } else if (sources.empty()) {
      SourceInfo info;
      info.name = base_name(path);
      info.path = path;
      info.size_bytes = size;
      info.status = "empty: no sessions";
      writer.add_source(info);
      report.warnings.push_back(path + ": no sessions in the file");
    }
    bytes_before += size;
    if (progress) progress->update(static_cast<double>(bytes_before));
  }
  if (report.packets_read == 0 && report.files_damaged == report.files)
    fail("no usable session in the ", report.files,
         " CSV files (first problem: ", report.warnings.empty() ? std::string("none") : report.warnings.front(),
         "); no store written");
  sink.finish();
  writer.commit();
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (progress) progress->finish();
  return report;
}

}  // namespace flowpic
