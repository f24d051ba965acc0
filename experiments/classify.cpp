#include "experiments/classify.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <unordered_map>

#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "common/h5.hpp"
#include "common/progress.hpp"
#include "dataset/capture_reader.hpp"
#include "dataset/decode.hpp"
#include "dataset/ingest.hpp"
#include "dataset/label_map.hpp"
#include "dataset/live_capture.hpp"
#include "experiments/classify_stream.hpp"
#include "nn/backend.hpp"
#include "nn/model.hpp"
#include "nn/weights.hpp"

namespace flowpic {

namespace {

std::string protocol_name(uint8_t p) { return p == 6 ? "TCP" : p == 17 ? "UDP" : std::to_string(p); }

struct Endpoints {
  std::string src, dst;
  uint16_t sport, dport;
};
Endpoints endpoints(const FlowKey& k, uint8_t direction) {
  // Direction 1: the responder's packets; 0 and 2 (both) are named from the initiator.
  if (direction == 1) return {k.addr_string(false), k.addr_string(true), k.port_b, k.port_a};
  return {k.addr_string(true), k.addr_string(false), k.port_a, k.port_b};
}

const char* direction_name(uint8_t d) { return d == 0 ? "initiator" : d == 1 ? "responder" : "both"; }

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

// What a record needs besides the window: class names, label columns and the sources' names and labels.
struct RowContext {
  std::vector<std::string> class_names;
  std::vector<std::string> label_columns;
  std::vector<std::string> source_names;
  std::vector<std::vector<std::string>> source_labels;  // per source, per column
  json representation;
  std::string backend;
  bool live = false;  // a "time" field first
};

// One record's fields.
struct Row {
  const std::string* capture;
  uint32_t flow;
  const FlowKey* key;
  double flow_start;
  const Sample* sample;
  int32_t predicted;
  const float* probs;
  const std::vector<std::string>* labels;  // null: none
  double time = 0;                         // live: when classified
};

std::string csv_header(const RowContext& c) {
  std::string out = c.live ? "time," : "";
  out +=
      "capture,flow,src,src_port,dst,dst_port,protocol,direction,window,window_start_s,start_time,packets,predicted,"
      "confidence";
  for (const auto& name : c.class_names) out += "," + csv_field("p_" + name);
  for (const auto& l : c.label_columns) out += "," + csv_field("label_" + l);
  return out + "\n";
}

// printf's "%.<precision>f" or "%.<precision>g" of x appended: std::to_chars writes the same
// characters (it is specified as printf in the C locale) without printf's format parsing and
// locale, which was most of the time spent writing a row.
void append_number(std::string& out, double x, std::chars_format format, int precision) {
  char b[64];
  const std::to_chars_result r = std::to_chars(b, b + sizeof b, x, format, precision);
  if (r.ec == std::errc()) {
    out.append(b, r.ptr);
    return;
  }
  char big[512];  // |x| beyond about 1e57 in fixed notation: too long for b
  std::snprintf(big, sizeof big, format == std::chars_format::fixed ? "%.*f" : "%.*g", precision, x);
  out += big;
}
void append_fixed6(std::string& out, double x) { append_number(out, x, std::chars_format::fixed, 6); }
template <typename T>
void append_int(std::string& out, T v) {
  char b[24];
  out.append(b, std::to_chars(b, b + sizeof b, v).ptr);
}

void csv_row(const RowContext& c, const Row& r, std::string& out) {
  const Sample& s = *r.sample;
  const Endpoints e = endpoints(*r.key, s.direction);
  const size_t k = c.class_names.size();
  if (c.live) {
    append_fixed6(out, r.time);
    out += ',';
  }
  out += csv_field(*r.capture);
  out += ',';
  append_int(out, r.flow);
  out += ',';
  out += e.src;
  out += ',';
  append_int(out, e.sport);
  out += ',';
  out += e.dst;
  out += ',';
  append_int(out, e.dport);
  out += ',';
  out += protocol_name(r.key->protocol);
  out += ',';
  out += direction_name(s.direction);
  out += ',';
  append_int(out, s.index);
  out += ',';
  append_fixed6(out, s.start);
  out += ',';
  append_fixed6(out, r.flow_start + s.start);
  out += ',';
  append_int(out, s.packets);
  out += ',';
  out += csv_field(c.class_names[static_cast<size_t>(r.predicted)]);
  out += ',';
  append_fixed6(out, r.probs[static_cast<size_t>(r.predicted)]);
  for (size_t j = 0; j < k; ++j) {
    out += ',';
    append_number(out, r.probs[j], std::chars_format::general, 7);
  }
  if (r.labels)
    for (const auto& v : *r.labels) {
      out += ',';
      out += csv_field(v);
    }
  out += '\n';
}

json json_row(const RowContext& c, const Row& r) {
  const Sample& s = *r.sample;
  const Endpoints e = endpoints(*r.key, s.direction);
  const size_t k = c.class_names.size();
  json probs = json::object();
  for (size_t j = 0; j < k; ++j) probs[c.class_names[j]] = r.probs[j];
  json row = {{"capture", *r.capture},
              {"flow", r.flow},
              {"src", e.src},
              {"src_port", e.sport},
              {"dst", e.dst},
              {"dst_port", e.dport},
              {"protocol", protocol_name(r.key->protocol)},
              {"direction", direction_name(s.direction)},
              {"window", s.index},
              {"window_start_s", s.start},
              {"start_time", r.flow_start + s.start},
              {"packets", s.packets},
              {"predicted", c.class_names[static_cast<size_t>(r.predicted)]},
              {"confidence", r.probs[static_cast<size_t>(r.predicted)]},
              {"probabilities", probs}};
  if (c.live) row["time"] = r.time;
  if (r.labels && !c.label_columns.empty()) {
    json labels = json::object();
    for (size_t i = 0; i < c.label_columns.size(); ++i) labels[c.label_columns[i]] = (*r.labels)[i];
    row["labels"] = labels;
  }
  return row;
}

// The JSON document, written as it grows: exactly what json::dump(2) prints for
// {"backend", "classes", "representation", "windows"}, whose keys it sorts so that "windows" is last.
std::string json_head(const RowContext& c) {
  json doc = {{"classes", c.class_names},
              {"representation", c.representation},
              {"backend", c.backend},
              {"windows", json::array()}};
  std::string s = doc.dump(2);
  const std::string tail = "[]\n}";
  FLOWPIC_ASSERT(s.size() > tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0);
  return s.substr(0, s.size() - tail.size()) + "[";
}
std::string json_element(const json& row, bool first) {
  std::string body = row.dump(2), out = first ? "\n" : ",\n";
  size_t start = 0;
  for (;;) {
    size_t nl = body.find('\n', start);
    out += "    " + body.substr(start, nl == std::string::npos ? std::string::npos : nl - start + 1);
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  return out;
}
std::string json_tail(bool any) { return any ? "\n  ]\n}\n" : "]\n}\n"; }

// Windows and flows per predicted class, and the text classification_summary prints.
struct SummaryCounter {
  std::vector<uint64_t> windows, flows;
  uint64_t total_windows = 0, total_flows = 0;
  std::unordered_map<uint64_t, std::vector<bool>> classes_of;  // session -> classes predicted so far

  explicit SummaryCounter(size_t classes) : windows(classes, 0), flows(classes, 0) {}
  void window(uint64_t session, int32_t predicted) {
    ++windows[static_cast<size_t>(predicted)];
    ++total_windows;
    auto& seen = classes_of[session];
    seen.resize(windows.size(), false);
    seen[static_cast<size_t>(predicted)] = true;
  }
  void flow_end(uint64_t session) {
    ++total_flows;
    auto it = classes_of.find(session);
    if (it == classes_of.end()) return;
    for (size_t k = 0; k < it->second.size(); ++k)
      if (it->second[k]) ++flows[k];
    classes_of.erase(it);
  }
  // input: the StreamClassifier's input_reason() (which input path the CNN ran; empty before a batch).
  std::string text(const std::vector<std::string>& class_names, const std::string& backend, const std::string& input,
                   const SampleIndexStats& stats) const {
    std::ostringstream out;
    out << "classify: " << total_windows << " windows from " << total_flows << " flows on " << backend << "\n";
    if (!input.empty()) out << "  input: " << input << "\n";
    out << "  predicted class           windows     flows\n";
    for (size_t k = 0; k < class_names.size(); ++k) {
      char b[256];
      std::snprintf(b, sizeof b, "  %-22s %9llu %9llu\n", class_names[k].c_str(),
                    static_cast<unsigned long long>(windows[k]), static_cast<unsigned long long>(flows[k]));
      out << b;
    }
    out << "  sample index: " << stats.to_json().dump() << "\n";
    return out.str();
  }
};

// Records into a file as they come.
class WriterSink final : public RecordSink {
 public:
  WriterSink(const RowContext& ctx, const std::string& format, FILE* out, bool flush_each)
      : ctx_(ctx), format_(format), out_(out), flush_(flush_each), summary_(ctx.class_names.size()) {
    if (format_ == "csv") put(csv_header(ctx_));
    if (format_ == "json") put(json_head(ctx_));
  }
  ~WriterSink() override { write_out(); }  // the records so far, when close() was not reached (an error)
  void window(const WindowResult& r) override {
    const std::string& capture = ctx_.source_names.at(r.flow.source);
    const std::vector<std::string>* labels =
        ctx_.label_columns.empty() ? nullptr : &ctx_.source_labels.at(r.flow.source);
    Row row{&capture,    r.sample.flow,          &r.flow.key, r.flow.start_time, &r.sample,
            r.predicted, r.probabilities.data(), labels,      r.classified_at};
    if (format_ == "csv") {
      csv_row(ctx_, row, buf_);  // straight into the output buffer
    } else if (format_ == "jsonl") {
      buf_ += json_row(ctx_, row).dump() + "\n";
    } else {
      buf_ += json_element(json_row(ctx_, row), !any_);
    }
    any_ = true;
    if (flush_ || buf_.size() >= kWriteAt) write_out();
    if (flush_) std::fflush(out_);
    summary_.window(r.flow.session, r.predicted);
  }
  void flow_end(const FlowEnd& e) override { summary_.flow_end(e.flow.session); }
  void close() {
    if (format_ == "json") put(json_tail(any_));
    write_out();
    std::fflush(out_);
    if (std::ferror(out_)) fail("classify: cannot write the records (", std::strerror(errno), ")");
  }
  const SummaryCounter& summary() const { return summary_; }

 private:
  // Records are written 1 MB at a time (a row at a time with flush_each: live).
  static constexpr size_t kWriteAt = size_t{1} << 20;
  void put(const std::string& s) {
    buf_ += s;
    if (flush_) write_out();
  }
  void write_out() {
    std::fwrite(buf_.data(), 1, buf_.size(), out_);
    buf_.clear();
  }
  const RowContext& ctx_;
  std::string format_;
  FILE* out_;
  bool flush_;
  bool any_ = false;
  std::string buf_;
  SummaryCounter summary_;
};

// Every record kept in a Classification.
class CollectSink final : public RecordSink {
 public:
  explicit CollectSink(Classification& c) : c_(c) {}
  void window(const WindowResult& r) override {
    c_.samples.push_back(r.sample);
    c_.predicted.push_back(r.predicted);
    c_.probabilities.insert(c_.probabilities.end(), r.probabilities.begin(), r.probabilities.end());
  }
  void flow_end(const FlowEnd& e) override {
    PacketStore& s = c_.store;
    const size_t f = e.flow.flow;
    if (s.keys.size() <= f) {
      s.keys.resize(f + 1);
      s.start_time.resize(f + 1);
      s.source.resize(f + 1);
      s.view.resize(f + 1, FlowView::kSession);
    }
    s.keys[f] = e.flow.key;
    s.start_time[f] = e.flow.start_time;
    s.source[f] = e.flow.source;
  }

 private:
  Classification& c_;
};

// The label map's values for each capture, warning once per name without a rule (as ingestion does).
void label_sources(const LabelMap* labels, const std::vector<std::string>& files, RowContext& ctx,
                   std::vector<std::string>& warnings) {
  ctx.source_names.clear();
  ctx.source_labels.clear();
  std::set<std::string> warned;
  for (const auto& f : files) {
    ctx.source_names.push_back(base_name(f));
    if (!labels) {
      ctx.source_labels.emplace_back();
      continue;
    }
    LabelMap::Match m = labels->match(f);
    if (!m.matched()) {
      if (warned.insert(stem(f)).second)
        warnings.push_back(f + ": no label rule matches '" + stem(f) + "'; its flows are stored without labels");
      ctx.source_labels.emplace_back(labels->columns().size());
    } else {
      ctx.source_labels.push_back(m.values);
    }
  }
  if (labels) ctx.label_columns = labels->columns();
}

struct OfflineOutcome {
  bool interrupted = false;
  uint64_t packets = 0;
  std::vector<std::string> warnings;
  std::vector<std::string> statuses;  // per file: "ok" or what happened
};

// Reads every capture through `sc` (which must be finished by the caller afterwards).
OfflineOutcome read_captures(const ClassifyOptions& o, const std::vector<std::string>& files, StreamClassifier& sc) {
  OfflineOutcome out;
  uint64_t total = 0;
  for (const auto& f : files) total += file_size(f);
  std::unique_ptr<Progress> progress;
  if (o.progress) progress = std::make_unique<Progress>("classify", static_cast<double>(total), "B");
  const auto t0 = std::chrono::steady_clock::now();
  uint64_t bytes_before = 0, damaged = 0;
  for (uint32_t i = 0; i < files.size() && !out.interrupted; ++i) {
    const std::string& path = files[i];
    std::unique_ptr<CaptureReader> reader;
    try {
      reader = std::make_unique<CaptureReader>(path);
    } catch (const Error& e) {
      out.warnings.push_back(std::string(e.what()) + "; file skipped");
      out.statuses.push_back(std::string("skipped: ") + e.what());
      ++damaged;
      continue;
    }
    const int link = reader->link_type();
    if (!link_type_supported(link)) {
      const std::string why = path + ": unknown link type " + reader->link_type_name() +
                              " (supported: Ethernet, Linux cooked SLL/SLL2, raw IP, BSD loopback)";
      out.warnings.push_back(why + "; file skipped");
      out.statuses.push_back("skipped: " + why);
      ++damaged;
      continue;
    }
    sc.begin_source(i);
    CaptureRecord rec;
    DecodedPacket pkt;
    while (reader->next(rec)) {
      if (decode_packet(link, rec.data, rec.caplen, rec.wire_len, pkt) == DecodeStatus::kOk) sc.add(pkt, rec.time_ns);
      if ((reader->records() & 0x3FFF) == 0) {
        if (o.stop && o.stop->load()) {
          out.interrupted = true;
          break;
        }
        if (progress) {
          double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
          progress->update(static_cast<double>(bytes_before + reader->position()),
                           Progress::human((out.packets + reader->records()) / std::max(el, 1e-9), "packets") + "/s");
        }
      }
    }
    sc.end_source();
    out.packets += reader->records();
    bytes_before += file_size(path);
    if (!reader->damage().empty()) {
      const std::string& d = reader->damage();
      bool truncated = d.find("truncated") != std::string::npos;
      const std::string status = std::string(truncated ? "truncated" : "damaged") + " after " +
                                 std::to_string(reader->records()) + " packets: " + d;
      out.warnings.push_back(path + ": " + status + " (the complete packets before it are kept)");
      out.statuses.push_back(status);
      ++damaged;
    } else {
      out.statuses.push_back("ok");
    }
  }
  if (out.packets == 0 && damaged == files.size())
    fail("none of the ", files.size(), " files could be read (first: ", out.warnings.front(), "); nothing classified");
  if (progress) {
    double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    progress->finish(Progress::human(out.packets / std::max(el, 1e-9), "packets") + "/s");
  }
  return out;
}

void warn_all(const std::vector<std::string>& warnings) {
  for (const auto& w : warnings) std::fprintf(stderr, "classify: warning: %s\n", w.c_str());
}

void warn_evicted(const StreamCounters& c, const ClassifyOptions& o) {
  if (c.evicted)
    std::fprintf(stderr,
                 "classify: warning: %llu sessions were ended early: more than %zu were open at once (raise "
                 "--max-open-sessions if memory allows)\n",
                 static_cast<unsigned long long>(c.evicted), o.flow.max_open_sessions);
  if (c.late_packets)
    std::fprintf(stderr,
                 "classify: warning: %llu packets came out of time order after their window was classified; "
                 "left out\n",
                 static_cast<unsigned long long>(c.late_packets));
}

StreamOptions offline_stream(const ClassifyOptions& o) {
  StreamOptions s;
  s.flow = o.flow;
  s.batch_size = std::max(1, o.batch_size);
  s.ordered = true;
  s.runners = o.runners;
  s.runner_threads = o.runner_threads;
  return s;
}

std::unique_ptr<LabelMap> load_labels(const std::vector<std::string>& paths) {
  if (paths.empty()) return nullptr;
  return std::make_unique<LabelMap>(LabelMap::load_all(paths));
}

std::vector<std::string> capture_files(const ClassifyOptions& o) {
  std::vector<std::string> files = list_captures(o.captures);
  if (files.empty()) fail("no capture files (*.pcap, *.pcapng, *.cap) among the given paths; nothing to classify");
  return files;
}

}  // namespace

Classification classify_captures(const ClassifyOptions& o) {
  ClassifierModel model = load_classifier(o.model_path, o.config_path, o.device);
  const std::vector<std::string> files = capture_files(o);
  std::unique_ptr<LabelMap> labels = load_labels(o.label_maps);
  Classification c;
  c.class_names = model.class_names;
  c.representation = model.representation_json;
  c.backend = model.backend_name;
  RowContext ctx;
  std::vector<std::string> warnings;
  label_sources(labels.get(), files, ctx, warnings);
  CollectSink sink(c);
  OfflineOutcome out;
  {
    StreamClassifier sc(model, offline_stream(o), labels.get(), sink);
    out = read_captures(o, files, sc);
    sc.finish();
    c.stats = sc.index_stats();
    c.input = sc.input_reason();
    warn_evicted(sc.counters(), o);
  }
  warnings.insert(warnings.end(), out.warnings.begin(), out.warnings.end());
  warn_all(warnings);
  // The flows' provenance, as the store would have it.
  for (size_t i = 0; i < files.size(); ++i) {
    SourceInfo s;
    s.name = ctx.source_names[i];
    s.path = files[i];
    c.store.sources.push_back(s);
  }
  const size_t flows = c.store.keys.size();
  c.store.offsets.assign(flows + 1, 0);
  for (size_t col = 0; col < ctx.label_columns.size(); ++col) {
    LabelColumn l;
    l.name = ctx.label_columns[col];
    l.ids.resize(flows, -1);
    for (size_t f = 0; f < flows; ++f) {
      const std::string& v = ctx.source_labels[c.store.source[f]][col];
      if (v.empty()) continue;
      int32_t id = l.id_of(v);
      if (id < 0) {
        id = static_cast<int32_t>(l.values.size());
        l.values.push_back(v);
      }
      l.ids[f] = id;
    }
    c.store.labels.push_back(std::move(l));
  }
  return c;
}

ClassifyRun classify_captures_to(const ClassifyOptions& o, const std::string& format, FILE* file) {
  ClassifierModel model = load_classifier(o.model_path, o.config_path, o.device);
  const std::vector<std::string> files = capture_files(o);
  std::unique_ptr<LabelMap> labels = load_labels(o.label_maps);
  RowContext ctx;
  ctx.class_names = model.class_names;
  ctx.representation = model.representation_json;
  ctx.backend = model.backend_name;
  std::vector<std::string> warnings;
  label_sources(labels.get(), files, ctx, warnings);
  WriterSink sink(ctx, format, file, false);
  ClassifyRun run;
  {
    StreamClassifier sc(model, offline_stream(o), labels.get(), sink);
    OfflineOutcome out = read_captures(o, files, sc);
    sc.finish();
    sink.close();
    warnings.insert(warnings.end(), out.warnings.begin(), out.warnings.end());
    warn_all(warnings);
    warn_evicted(sc.counters(), o);
    run.summary = sink.summary().text(ctx.class_names, ctx.backend, sc.input_reason(), sc.index_stats());
    run.interrupted = out.interrupted;
    run.packets = out.packets;
  }
  run.windows = sink.summary().total_windows;
  run.flows = sink.summary().total_flows;
  return run;
}

namespace {

int64_t realtime_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// One stats line: totals since the start and rates over the last interval.
std::string stats_line(double elapsed, double interval, const StreamCounters& now, const StreamCounters& before,
                       const LiveCaptureStats& pcap, uint64_t not_decoded) {
  const double dt = std::max(interval, 1e-9);
  const uint64_t batches = now.batches - before.batches;
  const double mean_ms = batches ? (now.batch_seconds - before.batch_seconds) * 1000.0 / batches : 0.0;
  char b[768];
  std::snprintf(b, sizeof b,
                "classify: stats: %.1f s: packets %llu (+%llu, %.1f/s; %llu not TCP/UDP), pcap received %llu "
                "dropped %llu if_dropped %llu, open sessions %llu (evicted %llu), windows classified %llu (+%llu, "
                "%.2f/s), batches %llu (+%llu), batch latency %.2f ms mean %.2f ms max, buffered packets %llu\n",
                elapsed, static_cast<unsigned long long>(now.packets),
                static_cast<unsigned long long>(now.packets - before.packets), (now.packets - before.packets) / dt,
                static_cast<unsigned long long>(not_decoded), static_cast<unsigned long long>(pcap.received),
                static_cast<unsigned long long>(pcap.dropped), static_cast<unsigned long long>(pcap.interface_dropped),
                static_cast<unsigned long long>(now.open_sessions), static_cast<unsigned long long>(now.evicted),
                static_cast<unsigned long long>(now.windows_classified),
                static_cast<unsigned long long>(now.windows_classified - before.windows_classified),
                (now.windows_classified - before.windows_classified) / dt, static_cast<unsigned long long>(now.batches),
                static_cast<unsigned long long>(batches), mean_ms, now.max_batch_ms,
                static_cast<unsigned long long>(now.buffered_packets));
  return b;
}

}  // namespace

ClassifyRun classify_live(const ClassifyOptions& o, const std::string& format, FILE* file) {
  if (format == "json") fail("classify --interface writes csv or jsonl records (one per line), not json");
  ClassifierModel model = load_classifier(o.model_path, o.config_path, o.device);
  LiveCaptureOptions lo;
  lo.interface = o.interface;
  lo.filter = o.filter;
  lo.promiscuous = o.promiscuous;
  LiveCapture cap(lo);
  const int link = cap.link_type();
  if (!link_type_supported(link))
    fail("interface '", o.interface, "' has link type ", link,
         ", which the decoder does not read (supported: Ethernet, Linux cooked SLL/SLL2, raw IP, BSD loopback)");
  RowContext ctx;
  ctx.class_names = model.class_names;
  ctx.representation = model.representation_json;
  ctx.backend = model.backend_name;
  ctx.live = true;
  ctx.source_names = {o.interface};
  ctx.source_labels = {{}};
  WriterSink sink(ctx, format, file, true);
  StreamOptions so;
  so.flow = o.flow;
  so.batch_size = std::max(1, o.batch_size);
  so.batch_deadline_s = o.batch_deadline_s;
  so.ordered = false;
  so.finalize_on_clock = true;
  so.runners = o.runners;
  so.runner_threads = o.runner_threads;
  std::fprintf(stderr, "classify: capturing on %s (link type %d%s%s), model on %s; stop with Ctrl-C\n",
               o.interface.c_str(), link, o.filter.empty() ? "" : ", filter ", o.filter.c_str(),
               model.backend_name.c_str());
  ClassifyRun run;
  StreamClassifier sc(model, so, nullptr, sink);
  sc.begin_source(0);
  const auto t0 = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
  double next_stats = o.stats_s > 0 ? o.stats_s : INFINITY, last_stats = 0, next_tick = 0;
  StreamCounters before;
  uint64_t not_decoded = 0;
  CaptureRecord rec;
  DecodedPacket pkt;
  for (uint64_t n = 0;; ++n) {
    if (o.stop && o.stop->load()) {
      run.interrupted = true;
      break;
    }
    const int got = cap.next(rec);
    if (got == 1) {
      if (decode_packet(link, rec.data, rec.caplen, rec.wire_len, pkt) == DecodeStatus::kOk)
        sc.add(pkt, rec.time_ns);
      else
        ++not_decoded;
    }
    if (got == 1 && (n & 0xFF) != 0) continue;  // the clock is looked at every 256 packets or on a timeout
    const double t = elapsed();
    if (o.duration_s > 0 && t >= o.duration_s) break;
    if (t >= next_tick) {  // windows whose time has passed, sessions idle for the timeout
      sc.advance(realtime_ns());
      next_tick = t + 0.1;
    }
    if (t >= next_stats) {
      const StreamCounters now = sc.counters();
      std::fputs(stats_line(t, t - last_stats, now, before, cap.stats(), not_decoded).c_str(), stderr);
      before = now;
      last_stats = t;
      next_stats += o.stats_s;
    }
  }
  const LiveCaptureStats pcap = cap.stats();
  sc.end_source();  // every open session ends: its last windows are classified
  sc.finish();
  sink.close();
  const StreamCounters end = sc.counters();
  const double t = elapsed();
  std::fputs(stats_line(t, t - last_stats, end, before, pcap, not_decoded).c_str(), stderr);
  warn_evicted(end, o);
  char b[512];
  std::snprintf(b, sizeof b,
                "classify: live summary: %.1f s on %s%s: %llu packets (%.1f/s), pcap received %llu dropped %llu, "
                "%llu flows, %llu windows classified in %llu batches (%.2f ms mean)\n",
                t, o.interface.c_str(), run.interrupted ? ", stopped by a signal" : "",
                static_cast<unsigned long long>(end.packets), end.packets / std::max(t, 1e-9),
                static_cast<unsigned long long>(pcap.received), static_cast<unsigned long long>(pcap.dropped),
                static_cast<unsigned long long>(end.flows), static_cast<unsigned long long>(end.windows_classified),
                static_cast<unsigned long long>(end.batches),
                end.batches ? end.batch_seconds * 1000.0 / end.batches : 0.0);
  run.summary = std::string(b) + sink.summary().text(ctx.class_names, ctx.backend, sc.input_reason(), sc.index_stats());
  run.windows = sink.summary().total_windows;
  run.flows = sink.summary().total_flows;
  run.packets = end.packets;
  return run;
}

namespace {

// Each sample of a classification as an output row (its flow's source, key and labels).
template <typename F>
void for_each_row(const Classification& c, F&& emit) {
  const size_t k = c.class_names.size();
  std::vector<std::string> labels;
  for (size_t i = 0; i < c.samples.size(); ++i) {
    const Sample& s = c.samples[i];
    labels.clear();
    for (const auto& l : c.store.labels) labels.push_back(c.store.label_of(s.flow, l.name));
    const Row row{&c.store.sources[c.store.source[s.flow]].name,
                  s.flow,
                  &c.store.keys[s.flow],
                  c.store.start_time[s.flow],
                  &s,
                  c.predicted[i],
                  c.probabilities.data() + i * k,
                  &labels};
    emit(row);
  }
}

}  // namespace

std::string classification_csv(const Classification& c) {
  RowContext ctx;
  ctx.class_names = c.class_names;
  for (const auto& l : c.store.labels) ctx.label_columns.push_back(l.name);
  std::string out = csv_header(ctx);
  for_each_row(c, [&](const Row& row) { csv_row(ctx, row, out); });
  return out;
}

json classification_json(const Classification& c) {
  RowContext ctx;
  ctx.class_names = c.class_names;
  for (const auto& l : c.store.labels) ctx.label_columns.push_back(l.name);
  json rows = json::array();
  for_each_row(c, [&](const Row& row) { rows.push_back(json_row(ctx, row)); });
  return {{"classes", c.class_names}, {"representation", c.representation}, {"backend", c.backend}, {"windows", rows}};
}

std::string classification_summary(const Classification& c) {
  SummaryCounter s(c.class_names.size());
  for (size_t i = 0; i < c.samples.size(); ++i) s.window(c.samples[i].flow, c.predicted[i]);
  for (size_t f = 0; f < c.store.num_flows(); ++f) s.flow_end(f);
  return s.text(c.class_names, c.backend, c.input, c.stats);
}

ExportedWeights export_weights(const std::string& result_path, const std::string& out_path) {
  ModelFacts facts = read_model_facts(result_path);
  auto backend = nn::make_backend("cpu");
  nn::Model model = nn::load_model(result_path, *backend);
  h5::quiet_errors();
  make_dirs(parent_dir(out_path));
  AtomicFile out(out_path);
  {
    h5::Id f = h5::create_file(out.temp_path());
    nn::write_weights(model, f, "/");
    h5::Id root = h5::open_group(f, "/");
    h5::set_attr(root, "class_names", json(facts.class_names).dump());
    if (!facts.representation.is_null()) h5::set_attr(root, "representation", facts.representation.dump());
    h5::set_attr(root, "source_result", result_path);
  }
  out.commit();
  return {model.parameter_count(), facts.class_names.size()};
}

}  // namespace flowpic
