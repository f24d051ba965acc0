// The UC Davis ICDM'19 dataset into a packet store (format and labels in ucdavis_import.hpp).
#include "dataset/ucdavis_import.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>

#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "common/json_util.hpp"
#include "common/progress.hpp"
#include "dataset/flow_sink.hpp"
#include "dataset/packet_store.hpp"

namespace flowpic {

namespace fs = std::filesystem;

const std::vector<std::string>& ucdavis_label_columns() {
  static const std::vector<std::string> columns = {"app", "partition", "flow_id"};
  return columns;
}

std::string ucdavis_app_name(const std::string& class_folder, bool* known) {
  static const std::pair<const char*, const char*> kApps[] = {
      {"google doc", "google-doc"},       {"google drive", "google-drive"}, {"google music", "google-music"},
      {"google search", "google-search"}, {"youtube", "youtube"},
  };
  std::string lower;
  for (char c : class_folder) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const auto& [folder, app] : kApps)
    if (lower == folder || lower == app) {
      if (known) *known = true;
      return app;
    }
  if (known) *known = false;
  for (char& c : lower)
    if (c == ' ') c = '-';
  return lower;
}

std::string ucdavis_partition_name(const std::string& folder) {
  if (folder == "pretraining") return "pretraining";
  if (folder == "Retraining(script-triggered)") return "retraining-script-triggered";
  if (folder == "Retraining(human-triggered)") return "retraining-human-triggered";
  return "";
}

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }

// The whitespace-separated fields of a line (at most `max` + 1, so that extra ones are seen).
size_t split_fields(std::string_view line, std::string_view* fields, size_t max) {
  size_t n = 0, i = 0;
  while (i < line.size() && n <= max) {
    while (i < line.size() && is_space(line[i])) ++i;
    if (i == line.size()) break;
    size_t j = i;
    while (j < line.size() && !is_space(line[j])) ++j;
    if (n < max) fields[n] = line.substr(i, j - i);
    ++n;
    i = j;
  }
  return n;
}

bool parse_double(std::string_view s, double& v) {
  const char* end = s.data() + s.size();
  auto r = std::from_chars(s.data(), end, v);
  return r.ec == std::errc() && r.ptr == end && std::isfinite(v);
}

bool parse_uint(std::string_view s, uint64_t& v) {
  const char* end = s.data() + s.size();
  auto r = std::from_chars(s.data(), end, v);
  return r.ec == std::errc() && r.ptr == end;
}

std::string quoted(std::string_view s) {
  std::string t(s.substr(0, 40));
  return "'" + t + (s.size() > 40 ? "...'" : "'");
}

// A flow file to read, with its labels.
struct FlowFile {
  std::string path, app, partition;
};

std::vector<fs::path> sorted_entries(const fs::path& dir, bool folders) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.empty() || name[0] == '.') continue;
    std::error_code tec;
    if (folders ? it->is_directory(tec) : it->is_regular_file(tec)) out.push_back(it->path());
  }
  if (ec) fail(dir.string(), ": cannot list the folder: ", ec.message());
  std::sort(out.begin(), out.end());
  return out;
}

// The flow files of one partition folder (its class folders' files).
void add_partition(const fs::path& folder, const std::string& partition, std::vector<FlowFile>& files,
                   IngestReport& report) {
  const auto classes = sorted_entries(folder, true);
  if (classes.empty())
    fail(folder.string(), ": no class folders (expected Google Doc, Google Drive, ... with one file per flow)");
  for (const auto& c : classes) {
    bool known = false;
    const std::string app = ucdavis_app_name(c.filename().string(), &known);
    if (!known)
      report.warnings.push_back(c.string() +
                                ": not one of the dataset's five classes; its flows are labelled app=" + app);
    const auto flows = sorted_entries(c, false);
    if (flows.empty()) report.warnings.push_back(c.string() + ": no flow files");
    for (const auto& f : flows) files.push_back({f.string(), app, partition});
  }
}

// Every flow file under the folders given, by the layout each one has.
std::vector<FlowFile> list_flow_files(const std::vector<std::string>& dirs, const UcdavisImportOptions& o,
                                      IngestReport& report) {
  std::vector<FlowFile> files;
  for (const std::string& d : dirs) {
    std::error_code ec;
    if (!fs::is_directory(d, ec)) fail(d, fs::exists(d, ec) ? ": not a folder" : ": no such folder");
    fs::path dir(d);
    if (dir.filename().empty()) dir = dir.parent_path();  // "root/" -> "root"
    std::vector<fs::path> partitions;
    for (const auto& s : sorted_entries(dir, true))
      if (!ucdavis_partition_name(s.filename().string()).empty()) partitions.push_back(s);
    if (!partitions.empty()) {  // the dataset root
      for (const auto& p : partitions) add_partition(p, ucdavis_partition_name(p.filename().string()), files, report);
    } else if (!ucdavis_partition_name(dir.filename().string()).empty()) {  // one partition folder
      add_partition(dir, ucdavis_partition_name(dir.filename().string()), files, report);
    } else {  // a folder of class folders
      if (o.partition.empty())
        fail(d,
             ": a folder of class folders, not the dataset root or a partition folder (pretraining, "
             "Retraining(script-triggered), Retraining(human-triggered)): name its partition with --partition NAME");
      add_partition(dir, o.partition, files, report);
    }
  }
  return files;
}

}  // namespace

std::string parse_ucdavis_line(std::string_view line, UcdavisPacket& out) {
  std::string_view f[4];
  const size_t n = split_fields(line, f, 4);
  if (n != 4)
    return "expected 4 columns (absolute time, time since the first packet, size, direction), found " +
           std::to_string(n);
  if (!parse_double(f[0], out.absolute_time) || out.absolute_time < 0)
    return "absolute time " + quoted(f[0]) + " is not a non-negative number";
  if (!parse_double(f[1], out.time) || out.time < 0)
    return "time since the first packet " + quoted(f[1]) + " is not a non-negative number";
  uint64_t size = 0, dir = 0;
  if (!parse_uint(f[2], size) || size < 1 || size > 65535)
    return "packet size " + quoted(f[2]) + " is not a whole number from 1 to 65535";
  if (!parse_uint(f[3], dir) || dir > 1) return "direction " + quoted(f[3]) + " is not 0 or 1";
  out.size = static_cast<uint32_t>(size);
  out.direction = static_cast<uint8_t>(dir);
  return "";
}

IngestReport import_ucdavis(const std::vector<std::string>& dirs, const std::string& out_path,
                            const UcdavisImportOptions& options) {
  const auto t0 = std::chrono::steady_clock::now();
  if (dirs.empty()) fail("no folders given; nothing to import");
  IngestReport report;
  const std::vector<FlowFile> files = list_flow_files(dirs, options, report);
  if (files.empty())
    fail("no flow files under ", dirs.front(), dirs.size() > 1 ? " and the other folders" : "", "; no store written");

  PacketStoreWriter writer(out_path, ucdavis_label_columns());
  writer.set_flow_options(json{{"kind", "ucdavis_icdm19"},
                               {"flow", "one file = one flow, both directions (column 4 as the direction)"},
                               {"time", "column 2 (time since the first packet), sorted when out of order"},
                               {"start_time", "column 1 of the earliest packet"},
                               {"size", "column 3, stored as ip_length; payload sizes unknown"}}
                              .dump());
  writer.set_command(options.command);

  uint64_t total = 0;
  for (const auto& f : files) total += file_size(f.path);
  std::unique_ptr<Progress> progress;
  if (options.progress) progress = std::make_unique<Progress>("import-ucdavis", static_cast<double>(total), "B");
  uint64_t bytes_done = 0;

  FlowRecord flow;
  std::string line;
  UcdavisPacket p;
  for (const FlowFile& file : files) {
    ++report.files;
    const uint64_t size = file_size(file.path);
    report.bytes += size;
    SourceInfo info;
    info.name = base_name(file.path);
    info.path = file.path;
    info.size_bytes = size;
    std::ifstream in(file.path, std::ios::binary);
    if (!in) {
      ++report.files_damaged;
      report.warnings.push_back(file.path + ": cannot open; file skipped");
      info.status = "cannot open";
      writer.add_source(info);
      continue;
    }
    flow = FlowRecord{};
    flow.key.protocol = 17;  // QUIC; the dataset has no addresses or ports
    flow.view = FlowView::kSession;
    double first_absolute = 0, first_time = 0;
    uint64_t line_no = 0, malformed = 0, first_malformed = 0;
    while (std::getline(in, line)) {
      ++line_no;
      std::string_view v(line);
      while (!v.empty() && is_space(v.back())) v.remove_suffix(1);
      while (!v.empty() && is_space(v.front())) v.remove_prefix(1);
      if (v.empty()) continue;
      std::string err = parse_ucdavis_line(v, p);
      if (!err.empty()) {
        if (++malformed == 1) first_malformed = line_no;
        if (malformed <= static_cast<uint64_t>(kMaxWarningsPerFile))
          report.warnings.push_back(file.path + ":" + std::to_string(line_no) + ": " + err + "; line skipped");
        continue;
      }
      if (flow.time.empty() || p.time < first_time) {
        first_time = p.time;
        first_absolute = p.absolute_time;
      }
      flow.time.push_back(p.time);
      flow.ip_length.push_back(p.size);
      flow.payload_length.push_back(kUnknownPayload);
      flow.direction.push_back(p.direction);
      flow.tcp_flags.push_back(0);
    }
    if (in.bad()) {
      report.warnings.push_back(file.path + ": read error after line " + std::to_string(line_no) +
                                "; the lines before it are kept");
      info.status = "read error after line " + std::to_string(line_no);
      ++report.files_damaged;
    }
    if (malformed > static_cast<uint64_t>(kMaxWarningsPerFile))
      report.warnings.push_back(file.path + ": " + std::to_string(malformed - kMaxWarningsPerFile) +
                                " more malformed lines skipped");
    if (malformed) {
      report.malformed_lines += malformed;
      if (info.status == "ok") ++report.files_damaged;
      info.status = std::to_string(malformed) + " malformed lines skipped (first at line " +
                    std::to_string(first_malformed) + ")";
    }
    info.packets_read = flow.size();
    report.packets_read += flow.size();
    if (flow.size() == 0) {
      if (!malformed && info.status == "ok") {
        ++report.files_damaged;
        info.status = "empty: no packets";
      }
      report.warnings.push_back(file.path + ": no packet left in the file (" + info.status + "); no flow stored");
      writer.add_source(info);
      bytes_done += size;
      continue;
    }
    info.packets_reordered = sort_by_time(flow);
    report.packets_reordered += info.packets_reordered;
    // The store's times start at the flow's earliest packet; its start is that packet's absolute time.
    for (double& t : flow.time) t -= first_time;
    flow.start_time = first_absolute;
    info.packets_kept = flow.size();
    info.flows = 1;
    flow.source = writer.add_source(info);
    writer.set_current_labels({file.app, file.partition, base_name(file.path)});
    writer.add_flow(flow);
    report.flows += 1;
    report.packets_kept += flow.size();
    report.flows_per_label["app=" + file.app] += 1;
    report.flows_per_label["partition=" + file.partition] += 1;
    report.flows_per_label["partition=" + file.partition + ", app=" + file.app] += 1;
    bytes_done += size;
    if (progress) progress->update(static_cast<double>(bytes_done));
  }
  if (report.flows == 0)
    fail("no usable flow in the ", report.files,
         " files (first problem: ", report.warnings.empty() ? std::string("none") : report.warnings.front(),
         "); no store written");
  writer.commit();
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (progress) progress->finish();
  return report;
}

}  // namespace flowpic
