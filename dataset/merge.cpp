// Merging packet stores, and the summary of a store (`flowpic_data info`).
#include <algorithm>
#include <chrono>
#include <memory>
#include <set>
#include <sstream>

#include "common/error.hpp"
#include "common/progress.hpp"
#include "dataset/ingest.hpp"
#include "dataset/packet_store.hpp"

namespace flowpic {

namespace {

// Flows are copied in batches of about this many packets, so merging needs memory for the
// per-flow columns of the inputs plus one batch, not for their packets.
constexpr uint64_t kBatchPackets = 1 << 22;

// Several texts -> one: the text itself when all agree, else a JSON list of them (each text is JSON).
std::string combine_json_texts(const std::vector<std::string>& texts) {
  std::vector<std::string> distinct;
  for (const auto& t : texts)
    if (std::find(distinct.begin(), distinct.end(), t) == distinct.end()) distinct.push_back(t);
  if (distinct.size() == 1) return distinct[0];
  std::string out = "[";
  for (size_t i = 0; i < distinct.size(); ++i)
    out += (i ? "," : "") + (distinct[i].empty() ? std::string("null") : distinct[i]);
  return out + "]";
}

}  // namespace

IngestReport merge_stores(const std::vector<std::string>& stores, const std::string& out_path,
                          const std::string& command, bool progress_on) {
  const auto t0 = std::chrono::steady_clock::now();
  if (stores.empty()) fail("no packet stores given; nothing to merge");
  std::vector<std::unique_ptr<PacketStoreReader>> readers;
  std::vector<std::string> columns, map_names, map_texts, options;
  uint64_t total_packets = 0;
  for (const auto& path : stores) {
    if (path == out_path) fail(path, ": the output must not be one of the inputs");
    readers.push_back(std::make_unique<PacketStoreReader>(path));
    const PacketStore& s = readers.back()->flows();
    for (const auto& c : s.labels)
      if (std::find(columns.begin(), columns.end(), c.name) == columns.end()) columns.push_back(c.name);
    if (!s.label_map_name.empty() && std::find(map_names.begin(), map_names.end(), s.label_map_name) == map_names.end())
      map_names.push_back(s.label_map_name);
    map_texts.push_back(s.label_map_json);
    options.push_back(s.flow_options);
    total_packets += readers.back()->num_packets();
  }

  IngestReport report;
  PacketStoreWriter writer(out_path, columns);
  std::string name;
  for (const auto& n : map_names) name += (name.empty() ? "" : "+") + n;
  writer.set_label_map(name, combine_json_texts(map_texts));
  writer.set_flow_options(combine_json_texts(options));
  writer.set_command(command);

  std::unique_ptr<Progress> progress;
  if (progress_on) progress = std::make_unique<Progress>("merge", static_cast<double>(total_packets), "packets");
  std::set<std::string> unmatched;
  FlowRecord rec;
  PacketStore batch;
  std::vector<std::string> values(columns.size());
  uint64_t packets_done = 0;

  for (const auto& reader : readers) {
    const PacketStore& s = reader->flows();
    ++report.files;
    std::vector<uint32_t> source_index(s.sources.size());
    for (size_t i = 0; i < s.sources.size(); ++i) {
      source_index[i] = writer.add_source(s.sources[i]);
      report.packets_read += s.sources[i].packets_read;
      report.bytes += s.sources[i].size_bytes;
    }
    for (const auto& [reason, n] : s.skipped) report.skipped[reason] += n;
    for (const auto& u : s.unmatched_sources)
      if (unmatched.insert(u).second) writer.add_unmatched_source(u);
    // Label column of the output -> column of this store (-1 = absent).
    std::vector<int> column_of(columns.size());
    for (size_t c = 0; c < columns.size(); ++c) column_of[c] = s.label_column(columns[c]);

    size_t first = 0;
    while (first < s.num_flows()) {
      size_t count = 0;
      while (first + count < s.num_flows() &&
             (count == 0 || s.offsets[first + count + 1] - s.offsets[first] <= kBatchPackets))
        ++count;
      reader->read_packets(first, count, batch);
      for (size_t i = 0; i < count; ++i) {
        const size_t f = first + i;
        const uint64_t b = batch.offsets[i], e = batch.offsets[i + 1];
        rec.key = s.keys[f];
        rec.start_time = s.start_time[f];
        rec.source = source_index[s.source[f]];
        rec.view = s.view[f];
        rec.time.assign(batch.time.begin() + b, batch.time.begin() + e);
        rec.ip_length.assign(batch.ip_length.begin() + b, batch.ip_length.begin() + e);
        rec.payload_length.assign(batch.payload_length.begin() + b, batch.payload_length.begin() + e);
        rec.direction.assign(batch.direction.begin() + b, batch.direction.begin() + e);
        rec.tcp_flags.assign(batch.tcp_flags.begin() + b, batch.tcp_flags.begin() + e);
        for (size_t c = 0; c < columns.size(); ++c) {
          values[c].clear();
          if (column_of[c] >= 0) {
            const LabelColumn& lc = s.labels[static_cast<size_t>(column_of[c])];
            if (lc.ids[f] >= 0) values[c] = lc.values[static_cast<size_t>(lc.ids[f])];
          }
          report.flows_per_label[columns[c] + "=" + (values[c].empty() ? "(none)" : values[c])] += 1;
        }
        writer.set_current_labels(values);
        writer.add_flow(rec);
        report.flows += 1;
        report.packets_kept += rec.size();
      }
      packets_done += batch.time.size();
      if (progress) progress->update(static_cast<double>(packets_done));
      first += count;
    }
  }
  for (const auto& [reason, n] : report.skipped) writer.add_skipped(reason, n);
  writer.commit();
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (progress) progress->finish();
  return report;
}

std::string describe_store(const std::string& path) {
  PacketStoreReader reader(path);
  const PacketStore& s = reader.flows();
  std::ostringstream os;
  os << path << ": flowpic packet store, " << s.num_flows() << " flows, " << reader.num_packets() << " packets, "
     << s.sources.size() << " sources\n";
  os << "created " << s.created << " by: " << s.command << "\n";
  os << "label map: " << (s.label_map_name.empty() ? "(none)" : s.label_map_name) << "\n";
  os << "flow options: " << s.flow_options << "\n";
  size_t sessions = std::count(s.view.begin(), s.view.end(), FlowView::kSession);
  os << "views: " << sessions << " bidirectional sessions, " << s.num_flows() - sessions << " unidirectional flows\n";
  os << "sources:\n";
  for (const auto& src : s.sources) {
    os << "  " << src.name << ": " << src.packets_read << " packets read, " << src.packets_kept << " kept, "
       << src.flows << " flows";
    if (src.packets_reordered) os << ", " << src.packets_reordered << " reordered";
    if (!src.label_rule.empty()) os << ", rule " << src.label_rule;
    if (src.status != "ok") os << " [" << src.status << "]";
    os << "\n";
  }
  for (const auto& c : s.labels) {
    std::vector<uint64_t> flows(c.values.size(), 0), packets(c.values.size(), 0);
    uint64_t none = 0;
    for (size_t f = 0; f < s.num_flows(); ++f) {
      if (c.ids[f] < 0) {
        ++none;
        continue;
      }
      flows[static_cast<size_t>(c.ids[f])] += 1;
      packets[static_cast<size_t>(c.ids[f])] += s.offsets[f + 1] - s.offsets[f];
    }
    os << "flows per " << c.name << ":\n";
    for (size_t v = 0; v < c.values.size(); ++v)
      os << "  " << c.values[v] << ": " << flows[v] << " flows, " << packets[v] << " packets\n";
    if (none) os << "  (none): " << none << " flows\n";
  }
  if (!s.skipped.empty()) {
    os << "skipped packets by reason:\n";
    for (const auto& [r, n] : s.skipped) os << "  " << r << ": " << n << "\n";
  }
  if (!s.unmatched_sources.empty()) {
    os << "unmatched sources (no label rule):";
    for (const auto& u : s.unmatched_sources) os << " " << u;
    os << "\n";
  }
  return os.str();
}

}  // namespace flowpic
