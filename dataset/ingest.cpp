// Capture ingestion: files -> libpcap -> decode_packet -> FlowAssembler -> FlowSink -> PacketStoreWriter.
#include "dataset/ingest.hpp"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>
#include <memory>
#include <sstream>

#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "common/json_util.hpp"
#include "common/progress.hpp"
#include "dataset/capture_reader.hpp"
#include "dataset/decode.hpp"
#include "dataset/flow_assembler.hpp"
#include "dataset/flow_sink.hpp"

namespace flowpic {

// ---------------------------------------------------------------------------------------------
// Capture listing

namespace {

bool has_capture_extension(const std::string& name) {
  size_t dot = name.find_last_of('.');
  if (dot == std::string::npos) return false;
  std::string ext = name.substr(dot + 1);
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext == "pcap" || ext == "pcapng" || ext == "cap";
}

}  // namespace

std::vector<std::string> list_captures(const std::vector<std::string>& files_or_dirs) {
  std::vector<std::string> out;
  for (const std::string& p : files_or_dirs) {
    struct stat st {};
    if (stat(p.c_str(), &st) != 0) fail(p, ": no such file or folder");
    if (!S_ISDIR(st.st_mode)) {
      out.push_back(p);
      continue;
    }
    DIR* d = opendir(p.c_str());
    if (!d) fail(p, ": cannot list the folder: ", std::strerror(errno));
    std::vector<std::string> found;
    while (dirent* e = readdir(d)) {
      std::string name = e->d_name;
      if (name.empty() || name[0] == '.' || !has_capture_extension(name)) continue;
      std::string full = p + (p.back() == '/' ? "" : "/") + name;
      struct stat fs {};
      if (stat(full.c_str(), &fs) == 0 && S_ISREG(fs.st_mode)) found.push_back(full);
    }
    closedir(d);
    std::sort(found.begin(), found.end());
    out.insert(out.end(), found.begin(), found.end());
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Capture ingestion

namespace {

// Reads one capture file into the sink; fills the file's SourceInfo and the report.
class CaptureIngester {
 public:
  CaptureIngester(const FlowOptions& flow, const DecodeOptions& decode, FlowSink& sink, IngestReport& report)
      : sink_(sink),
        report_(report),
        assembler_(flow, [this](FlowRecord& r) { sink_.add(r); }),
        decode_(decode),
        max_open_(flow.max_open_sessions) {}

  // `progress(bytes_of_this_file, packets_of_this_file)` is called every few thousand packets.
  template <typename OnProgress>
  void read(const std::string& path, SourceInfo& source, OnProgress&& progress) {
    std::unique_ptr<CaptureReader> reader;
    try {
      reader = std::make_unique<CaptureReader>(path);
    } catch (const Error& e) {
      skip_file(source, e.what());
      return;
    }
    const int link = reader->link_type();
    if (!link_type_supported(link)) {
      skip_file(source, path + ": unknown link type " + reader->link_type_name() +
                            " (supported: " + supported_link_types() + ")");
      return;
    }
    CaptureRecord rec;
    DecodedPacket pkt;
    while (reader->next(rec)) {
      DecodeStatus st = decode_packet(link, rec.data, rec.caplen, rec.wire_len, pkt, decode_);
      if (st == DecodeStatus::kOk) {
        if (pkt.tunnel_depth) ++report_.packets_decapsulated;
        assembler_.add(pkt, rec.time_ns);
      } else
        ++skipped_[static_cast<size_t>(st)];
      if ((reader->records() & 0x3FFF) == 0) progress(reader->position(), reader->records());
    }
    const uint64_t reordered_before = assembler_.reordered_packets();
    assembler_.finish();
    source.packets_read = reader->records();
    source.packets_reordered = assembler_.reordered_packets() - reordered_before;
    report_.packets_read += reader->records();
    report_.packets_reordered += source.packets_reordered;
    if (!reader->damage().empty()) {
      const std::string& d = reader->damage();
      bool truncated = d.find("truncated") != std::string::npos;
      source.status = std::string(truncated ? "truncated" : "damaged") + " after " + std::to_string(reader->records()) +
                      " packets: " + d;
      report_.warnings.push_back(path + ": " + source.status + " (the complete packets before it are kept)");
      ++report_.files_damaged;
    }
  }

  // Copies the per-reason skip counts into the report.
  void finish() {
    report_.sessions_ended_early = assembler_.sessions_ended_early();
    if (report_.sessions_ended_early)
      report_.warnings.push_back(std::to_string(report_.sessions_ended_early) +
                                 " sessions were ended early: more than " + std::to_string(max_open_) +
                                 " were open at once (raise --max-open-sessions if memory allows)");
    for (size_t i = 1; i < skipped_.size(); ++i)
      if (skipped_[i]) report_.skipped[skip_reason_name(static_cast<DecodeStatus>(i))] += skipped_[i];
    if (uint64_t tunnels = skipped_[static_cast<size_t>(DecodeStatus::kIpTunnel)])
      report_.warnings.push_back(std::to_string(tunnels) +
                                 " IP-in-IP tunnel packets were skipped (ip_tunnel); --decapsulate makes their inner "
                                 "TCP/UDP packets the flows");
  }

 private:
  void skip_file(SourceInfo& source, const std::string& why) {
    source.status = "skipped: " + why;
    report_.warnings.push_back(why + "; file skipped");
    ++report_.files_damaged;
  }

  FlowSink& sink_;
  IngestReport& report_;
  FlowAssembler assembler_;
  DecodeOptions decode_;
  std::array<uint64_t, static_cast<size_t>(DecodeStatus::kCount)> skipped_{};
  size_t max_open_;
};

std::unique_ptr<LabelMap> load_labels(const std::vector<std::string>& paths) {
  if (paths.empty()) return nullptr;
  return std::make_unique<LabelMap>(LabelMap::load_all(paths));
}

}  // namespace

IngestReport ingest_captures(const std::vector<std::string>& captures, const std::string& out_path,
                             const IngestOptions& options) {
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::string> files = list_captures(captures);
  if (files.empty()) fail("no capture files (*.pcap, *.pcapng, *.cap) among the given paths; nothing to ingest");
  std::unique_ptr<LabelMap> labels = load_labels(options.label_map_paths);

  IngestReport report;
  report.decapsulate = options.decode.decapsulate;
  PacketStoreWriter writer(out_path, labels ? labels->columns() : std::vector<std::string>{});
  if (labels) writer.set_label_map(labels->name(), labels->text());
  writer.set_flow_options(flow_options_json(options.flow, labels.get(), "sessions", &options.decode));
  writer.set_command(options.command);
  FlowSink sink(writer, labels.get(), report);
  CaptureIngester ingester(options.flow, options.decode, sink, report);

  uint64_t total = 0;
  for (const auto& f : files) total += file_size(f);
  std::unique_ptr<Progress> progress;
  if (options.progress) progress = std::make_unique<Progress>("ingest", static_cast<double>(total), "B");
  uint64_t bytes_before = 0, packets_before = 0;

  for (const std::string& path : files) {
    SourceInfo info;
    info.name = base_name(path);
    info.path = path;
    info.size_bytes = file_size(path);
    uint32_t index = writer.add_source(info);
    sink.begin_source(index, path);
    ++report.files;
    ingester.read(path, writer.source(index), [&](uint64_t bytes, uint64_t packets) {
      if (!progress) return;
      double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      progress->update(static_cast<double>(bytes_before + bytes),
                       Progress::human((packets_before + packets) / std::max(el, 1e-9), "packets") + "/s");
    });
    bytes_before += info.size_bytes;
    packets_before += writer.source(index).packets_read;
    if (progress) progress->update(static_cast<double>(bytes_before));
    report.bytes += info.size_bytes;
  }
  ingester.finish();
  if (report.packets_read == 0 && report.files_damaged == report.files)
    fail("none of the ", report.files, " files could be read (first: ", report.warnings.front(), "); no store written");
  sink.finish();
  writer.commit();
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (progress)
    progress->finish(Progress::human(report.packets_read / std::max(report.seconds, 1e-9), "packets") + "/s");
  return report;
}

}  // namespace flowpic
