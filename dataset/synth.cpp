#include "dataset/synth.hpp"

#include "dataset/synth_capture.hpp"

#include <chrono>
#include <cstdio>
#include <set>
#include <sstream>

#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "common/progress.hpp"
#include "common/time_format.hpp"

namespace flowpic::synth {

namespace {

std::string readme_text(const SynthOptions& o, const std::vector<CaptureSpec>& specs) {
  std::ostringstream os;
  os << "# Synthetic traffic (not ISCX data)\n\n"
     << "Every capture in `captures/` was made by `flowpic_data synth` (generator version " << kGeneratorVersion
     << ", seed " << o.seed << ", preset " << o.preset << ", scale " << o.scale << ").\n"
     << "They are **synthetic**: packet sizes and times follow the per-category models of\n"
     << "docs/synthetic_traffic.md, payload bytes are pseudo-random. The file names mirror the ISCX\n"
     << "VPN-nonVPN 2016 and Tor-nonTor 2016 captures only so that the shipped label maps label them;\n"
     << "results on this data say nothing about the ISCX datasets.\n\n"
     << "`manifest.json` lists, per capture, the sessions that were generated (5-tuple, role,\n"
     << "packets, bytes, first and last time) as ground truth for ingestion.\n\n"
     << specs.size() << " captures; the same seed and preset give byte-identical files.\n";
  return os.str();
}

}  // namespace

json manifest_entry(const CaptureSpec& spec, const Trace& trace, const PcapWriteResult& written) {
  struct Acc {
    uint64_t packets = 0, packets_a = 0, ip_bytes = 0;
    int64_t first = 0, last = 0;
  };
  std::vector<Acc> acc(trace.sessions.size());
  for (const Packet& p : trace.packets) {
    Acc& a = acc[p.session];
    if (a.packets == 0) a.first = p.t_ns;
    a.last = p.t_ns;
    ++a.packets;
    if (p.dir == 0) ++a.packets_a;
    a.ip_bytes += ip_length(trace.sessions[p.session], p);
  }
  json sessions = json::array();
  for (size_t i = 0; i < trace.sessions.size(); ++i) {
    const Session& s = trace.sessions[i];
    const Acc& a = acc[i];
    if (a.packets == 0) continue;  // a session whose only packets were lost
    sessions.push_back({{"ip_version", s.addr_a.version},
                        {"protocol", s.protocol == 6 ? "TCP" : "UDP"},
                        {"addr_a", s.addr_a.str()},
                        {"port_a", s.port_a},
                        {"addr_b", s.addr_b.str()},
                        {"port_b", s.port_b},
                        {"role", s.role},
                        {"note", s.note},
                        {"packets", a.packets},
                        {"packets_a", a.packets_a},
                        {"ip_bytes", a.ip_bytes},
                        {"first_time_ns", a.first},
                        {"last_time_ns", a.last}});
  }
  json e = {{"name", spec.name},
            {"category", category_name(spec.category)},
            {"application", spec.application},
            {"encapsulation", encap_name(spec.encap)},
            {"dataset", spec.dataset},
            {"model", process_name(app_model(spec.category, spec.application).params)},
            {"upload", spec.upload},
            {"seed", spec.seed},
            {"duration_s", spec.duration_s},
            {"tstamp_precision", spec.nanosecond ? "nano" : "micro"},
            {"start_time", iso8601_utc_ns(capture_start_ns(spec))},
            {"packets", written.packets},
            {"file_bytes", written.file_bytes},
            {"ip_bytes", written.ip_bytes},
            {"sessions", sessions}};
  return e;
}

SynthReport generate_synthetic(const SynthOptions& o) {
  if (o.out_dir.empty()) fail("synth: no output folder given (--out DIR)");
  const auto start = std::chrono::steady_clock::now();
  const std::vector<CaptureSpec> specs = plan_captures(o.preset, o.scale, o.seed);
  const std::string cap_dir = o.out_dir + "/captures";
  make_dirs(cap_dir);
  SynthReport report;
  report.out_dir = o.out_dir;

  // Captures an earlier run wrote here and this one does not would be ingested with the new ones:
  // remove them, but only those the earlier manifest lists as generated.
  const std::string manifest_path = o.out_dir + "/manifest.json";
  if (file_exists(manifest_path)) {
    std::set<std::string> now;
    for (const auto& s : specs) now.insert(s.name);
    try {
      json old = load_json_file(manifest_path);
      if (old.contains("files") && old["files"].is_array())
        for (const auto& f : old["files"]) {
          if (!f.contains("name") || !f["name"].is_string()) continue;
          std::string name = f["name"].get<std::string>();
          if (name.find('/') != std::string::npos || now.count(name)) continue;
          if (std::remove((cap_dir + "/" + name).c_str()) == 0) report.removed.push_back(name);
        }
    } catch (const Error&) {
      // An unreadable old manifest: leave the folder as it is; the new one replaces it.
    }
  }

  double total_s = 0;
  for (const auto& s : specs) total_s += s.duration_s;
  json files = json::array();
  Progress progress("synth (seconds of traffic)", total_s, "s");
  double done_s = 0;
  for (const CaptureSpec& spec : specs) {
    Trace trace = generate_capture(spec);
    PcapWriteResult w =
        write_pcap(trace, cap_dir + "/" + spec.name, spec.nanosecond, derive_seed(spec.seed, "payload"));
    json entry = manifest_entry(spec, trace, w);
    SynthGroupTotals& g = report.groups[{category_name(spec.category), encap_name(spec.encap)}];
    ++g.files;
    g.sessions += entry["sessions"].size();
    g.packets += w.packets;
    g.bytes += w.file_bytes;
    g.duration_s += spec.duration_s;
    ++report.files;
    report.packets += w.packets;
    report.bytes += w.file_bytes;
    report.sessions += entry["sessions"].size();
    files.push_back(std::move(entry));
    done_s += spec.duration_s;
    if (o.progress) progress.update(done_s, spec.name + ", " + Progress::human(static_cast<double>(report.bytes), "B"));
  }
  if (o.progress)
    progress.finish(std::to_string(report.files) + " captures, " +
                    Progress::human(static_cast<double>(report.bytes), "B"));

  json manifest = {{"synthetic", true},
                   {"note",
                    "Synthetic traffic made by flowpic_data synth; not ISCX data. File names mirror the ISCX "
                    "captures so the shipped label maps apply. See docs/synthetic_traffic.md."},
                   {"generator", "flowpic_data synth"},
                   {"generator_version", kGeneratorVersion},
                   {"seed", o.seed},
                   {"preset", o.preset},
                   {"scale", o.scale},
                   {"command", o.command},
                   {"captures_dir", "captures"},
                   {"files", std::move(files)}};
  write_text_atomically(manifest_path, manifest.dump(1) + "\n");
  write_text_atomically(o.out_dir + "/README.md", readme_text(o, specs));
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

std::string SynthReport::summary(const SynthOptions& o) const {
  std::ostringstream os;
  char line[256];
  std::snprintf(
      line, sizeof line,
      "wrote %llu SYNTHETIC captures (not ISCX data) to %s/captures: %s packets, %s, %llu sessions, in %.1f s\n",
      static_cast<unsigned long long>(files), out_dir.c_str(),
      Progress::human(static_cast<double>(packets), "").c_str(),
      Progress::human(static_cast<double>(bytes), "B").c_str(), static_cast<unsigned long long>(sessions), seconds);
  os << line;
  os << "seed " << o.seed << ", preset " << o.preset << ", scale " << o.scale << ", generator version "
     << kGeneratorVersion << "; ground truth in " << out_dir << "/manifest.json\n";
  if (!removed.empty())
    os << "removed " << removed.size() << " capture(s) of an earlier run that this one does not produce\n";
  os << "per category and encapsulation:\n";
  std::snprintf(line, sizeof line, "  %-14s %-8s %6s %9s %10s %10s %10s\n", "category", "encap", "files", "sessions",
                "packets", "bytes", "minutes");
  os << line;
  for (const auto& [key, g] : groups) {
    std::snprintf(line, sizeof line, "  %-14s %-8s %6llu %9llu %10s %10s %10.1f\n", key.first.c_str(),
                  key.second.c_str(), static_cast<unsigned long long>(g.files),
                  static_cast<unsigned long long>(g.sessions),
                  Progress::human(static_cast<double>(g.packets), "").c_str(),
                  Progress::human(static_cast<double>(g.bytes), "B").c_str(), g.duration_s / 60);
    os << line;
  }
  return os.str();
}

}  // namespace flowpic::synth
