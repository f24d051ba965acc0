#include "dataset/flow_sink.hpp"

#include <algorithm>

#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "common/json_util.hpp"

namespace flowpic {

FlowSink::FlowSink(PacketStoreWriter& writer, const LabelMap* labels, IngestReport& report)
    : writer_(writer), map_(labels), report_(report) {}

const FlowSink::Labels& FlowSink::labels_of(const std::string& match_name) {
  std::string key = stem(match_name);
  auto it = cache_.find(key);
  if (it != cache_.end()) return it->second;
  Labels l;
  if (map_) {
    LabelMap::Match m = map_->match(match_name);
    l.matched = m.matched();
    l.values = m.matched() ? m.values : std::vector<std::string>(map_->columns().size());
    if (!m.matched()) {
      report_.warnings.push_back(match_name + ": no label rule matches '" + key +
                                 "'; its flows are stored without labels");
      writer_.add_unmatched_source(key);
    } else {
      const auto& rules = map_->rules();
      const auto& win = rules[static_cast<size_t>(m.rule)];
      l.rule = win.origin + ": " + win.pattern;
      if (!m.overlapping.empty()) {
        std::string others;
        for (int r : m.overlapping) others += (others.empty() ? "" : ", ") + rules[static_cast<size_t>(r)].origin;
        report_.warnings.push_back(match_name + ": label rules overlap: '" + key + "' matches " + win.origin +
                                   " (used) and also " + others + "; make the patterns exclusive");
      }
    }
    const auto& cols = map_->columns();
    for (size_t c = 0; c < cols.size(); ++c)
      l.report_keys.push_back(cols[c] + "=" + (l.values[c].empty() ? "(none)" : l.values[c]));
  }
  return cache_.emplace(key, std::move(l)).first->second;
}

void FlowSink::begin_source(uint32_t source, const std::string& match_name) {
  source_ = source;
  current_ = &labels_of(match_name);
  writer_.source(source).label_rule = current_->rule;
  writer_.set_current_labels(current_->values);
}

void FlowSink::add(FlowRecord& flow) {
  FLOWPIC_ASSERT(current_ != nullptr);
  const uint64_t n = flow.size();
  if (map_) {
    if (const FlowFilter* f = map_->filter_for(flow.key)) {
      report_.skipped["filter:" + f->name] += n;
      return;
    }
  }
  flow.source = source_;
  writer_.add_flow(flow);
  SourceInfo& s = writer_.source(source_);
  s.flows += 1;
  s.packets_kept += n;
  report_.flows += 1;
  report_.packets_kept += n;
  for (const auto& k : current_->report_keys) report_.flows_per_label[k] += 1;
}

void FlowSink::finish() {
  for (const auto& [reason, n] : report_.skipped) writer_.add_skipped(reason, n);
}

std::string flow_options_json(const FlowOptions& options, const LabelMap* labels, const std::string& kind,
                              const DecodeOptions* decode) {
  json j;
  j["kind"] = kind;
  if (kind == "sessions") {
    j["idle_timeout_s"] = options.idle_timeout_s;
    j["tcp_close_linger_s"] = options.tcp_close_linger_s;
    j["max_open_sessions"] = options.max_open_sessions;
    j["syn_starts_session"] = true;
    j["out_of_order"] = "sorted by time within each flow at flow close (stable)";
  }
  if (decode) {
    // true: the flows are the innermost packets of IP-in-IP tunnels; false: tunnel packets were skipped.
    j["decapsulate"] = decode->decapsulate;
    if (decode->decapsulate) j["max_tunnel_depth"] = kMaxTunnelDepth;
  }
  json filters = json::array();
  if (labels)
    for (const auto& f : labels->flow_filters()) filters.push_back(f.name);
  j["flow_filters"] = filters;
  return j.dump();
}

}  // namespace flowpic
