#include "experiments/classify.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "common/h5.hpp"
#include "common/progress.hpp"
#include "dataset/ingest.hpp"
#include "experiments/config.hpp"
#include "experiments/image_batcher.hpp"
#include "nn/backend.hpp"
#include "nn/model.hpp"
#include "nn/weights.hpp"

namespace flowpic {

namespace {

// A folder under the system's temporary directory, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string t = (std::filesystem::temp_directory_path() / "flowpic-classify-XXXXXX").string();
    if (!mkdtemp(t.data())) fail("cannot create a temporary folder ", t);
    path_ = t;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// What the model file says about how it was trained: class names and representation.
struct ModelFacts {
  std::vector<std::string> class_names;
  json representation;  // null when the file does not say
};

ModelFacts read_model_facts(const std::string& path) {
  h5::quiet_errors();
  ModelFacts m;
  h5::Id f = h5::open_file(path);
  const std::string format = h5::has_attr(f, "format") ? h5::get_attr_string(f, "format") : "";
  if (format == "flowpic-result") {
    json config = parse_json(h5::get_attr_string(f, "config"), path + ": config attribute");
    if (config.contains("representation")) m.representation = config["representation"];
    m.class_names = h5::read_strings(f, "/classes");
  } else if (format.rfind("flowpic-weights", 0) == 0) {
    if (h5::has_attr(f, "representation"))
      m.representation = parse_json(h5::get_attr_string(f, "representation"), path + ": representation attribute");
    if (h5::has_attr(f, "class_names"))
      m.class_names = parse_json(h5::get_attr_string(f, "class_names"), path + ": class_names attribute")
                          .get<std::vector<std::string>>();
  } else {
    fail(path, ": not a flowpic result or weights file (attribute format is '", format, "')");
  }
  return m;
}

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

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string num(double x, const char* f = "%.6f") {
  char b[64];
  std::snprintf(b, sizeof b, f, x);
  return b;
}

}  // namespace

Classification classify_captures(const ClassifyOptions& o) {
  ModelFacts facts = read_model_facts(o.model_path);
  Classification c;
  RepresentationConfig rep;
  if (!o.config_path.empty()) {
    ExperimentConfig cfg = load_experiment(o.config_path);
    rep = RepresentationConfig::from_json(cfg.representation, {cfg.file, "representation"});
  } else if (!facts.representation.is_null()) {
    rep = RepresentationConfig::from_json(facts.representation, {o.model_path, "representation"});
  } else {
    fail(o.model_path,
         ": the file does not record its representation (a weights file saved without export_weights); "
         "give the experiment config it was trained with: --config configs/X.json");
  }
  c.representation = rep.to_json();

  auto backend = std::shared_ptr<nn::Backend>(nn::make_backend(o.device));
  nn::Model model = nn::load_model(o.model_path, *backend);
  const nn::Shape in = model.options().input;
  if (in.c != rep.channels() || in.h != rep.height() || in.w != rep.width())
    fail(o.model_path, ": the model takes ", in.c, "x", in.h, "x", in.w, " images but the representation makes ",
         rep.channels(), "x", rep.height(), "x", rep.width(),
         o.config_path.empty() ? "" : " (from --config " + o.config_path + ")");
  const size_t classes = static_cast<size_t>(model.options().classes);
  c.class_names = facts.class_names;
  if (c.class_names.size() != classes) {
    c.class_names.clear();
    for (size_t k = 0; k < classes; ++k) c.class_names.push_back("class" + std::to_string(k));
  }
  c.backend = backend->description();

  // Ingest exactly as training data is ingested, into a temporary store.
  TempDir tmp;
  IngestOptions io;
  io.label_map_paths = o.label_maps;
  io.progress = o.progress;
  io.command = "classify";
  const std::string store_path = tmp.path() + "/store.h5";
  IngestReport report = ingest_captures(list_captures(o.captures), store_path, io);
  for (const auto& w : report.warnings) std::fprintf(stderr, "classify: warning: %s\n", w.c_str());

  c.store = read_packet_store(store_path);
  SampleIndex index = build_sample_index(c.store, rep, nullptr);
  c.stats = index.stats;
  c.samples = std::move(index.samples);
  const size_t n = c.samples.size();
  c.predicted.reserve(n);
  c.probabilities.reserve(n * classes);
  if (n > 0) {
    const int batch = std::max(1, o.batch_size);
    const InputChoice input =
        choose_batch_input("auto", model, rep, false, c.samples, "classify");  // images or their cells
    ImageBatcher batcher(c.store, rep, c.samples, backend->device(), batch, nullptr, input.input);
    std::vector<size_t> ids;
    Progress progress("classify", double(n), "windows", 10.0);
    for (size_t b = 0; b < n; b += static_cast<size_t>(batch)) {
      const size_t m = std::min(n - b, static_cast<size_t>(batch));
      ids.resize(m);
      for (size_t i = 0; i < m; ++i) ids[i] = b + i;
      std::vector<float> p = batcher.predict(model, ids.data(), m);
      for (size_t i = 0; i < m; ++i) {
        const float* row = p.data() + i * classes;
        c.predicted.push_back(static_cast<int32_t>(std::max_element(row, row + classes) - row));
        c.probabilities.insert(c.probabilities.end(), row, row + classes);
      }
      if (o.progress) progress.update(double(b + m));
    }
    if (o.progress) progress.finish();
  }
  return c;
}

std::string classification_csv(const Classification& c) {
  std::ostringstream out;
  out << "capture,flow,src,src_port,dst,dst_port,protocol,direction,window,window_start_s,start_time,packets,predicted,"
         "confidence";
  for (const auto& name : c.class_names) out << "," << csv_field("p_" + name);
  for (const auto& l : c.store.labels) out << "," << csv_field("label_" + l.name);
  out << "\n";
  const size_t k = c.class_names.size();
  for (size_t i = 0; i < c.samples.size(); ++i) {
    const Sample& s = c.samples[i];
    const FlowKey& key = c.store.keys[s.flow];
    Endpoints e = endpoints(key, s.direction);
    out << csv_field(c.store.sources[c.store.source[s.flow]].name) << "," << s.flow << "," << e.src << "," << e.sport
        << "," << e.dst << "," << e.dport << "," << protocol_name(key.protocol) << ","
        << (s.direction == 0   ? "initiator"
            : s.direction == 1 ? "responder"
                               : "both")
        << "," << s.index << "," << num(s.start) << "," << num(c.store.start_time[s.flow] + s.start) << "," << s.packets
        << "," << csv_field(c.class_names[static_cast<size_t>(c.predicted[i])]) << ","
        << num(c.probabilities[i * k + static_cast<size_t>(c.predicted[i])]);
    for (size_t j = 0; j < k; ++j) out << "," << num(c.probabilities[i * k + j], "%.7g");
    for (const auto& l : c.store.labels) out << "," << csv_field(c.store.label_of(s.flow, l.name));
    out << "\n";
  }
  return out.str();
}

json classification_json(const Classification& c) {
  json rows = json::array();
  const size_t k = c.class_names.size();
  for (size_t i = 0; i < c.samples.size(); ++i) {
    const Sample& s = c.samples[i];
    const FlowKey& key = c.store.keys[s.flow];
    Endpoints e = endpoints(key, s.direction);
    json probs = json::object();
    for (size_t j = 0; j < k; ++j) probs[c.class_names[j]] = c.probabilities[i * k + j];
    json row = {{"capture", c.store.sources[c.store.source[s.flow]].name},
                {"flow", s.flow},
                {"src", e.src},
                {"src_port", e.sport},
                {"dst", e.dst},
                {"dst_port", e.dport},
                {"protocol", protocol_name(key.protocol)},
                {"direction", s.direction == 0   ? "initiator"
                              : s.direction == 1 ? "responder"
                                                 : "both"},
                {"window", s.index},
                {"window_start_s", s.start},
                {"start_time", c.store.start_time[s.flow] + s.start},
                {"packets", s.packets},
                {"predicted", c.class_names[static_cast<size_t>(c.predicted[i])]},
                {"confidence", c.probabilities[i * k + static_cast<size_t>(c.predicted[i])]},
                {"probabilities", probs}};
    if (!c.store.labels.empty()) {
      json labels = json::object();
      for (const auto& l : c.store.labels) labels[l.name] = c.store.label_of(s.flow, l.name);
      row["labels"] = labels;
    }
    rows.push_back(row);
  }
  return {{"classes", c.class_names}, {"representation", c.representation}, {"backend", c.backend}, {"windows", rows}};
}

std::string classification_summary(const Classification& c) {
  std::vector<size_t> windows(c.class_names.size(), 0);
  std::vector<std::set<uint32_t>> flows(c.class_names.size());
  for (size_t i = 0; i < c.samples.size(); ++i) {
    ++windows[static_cast<size_t>(c.predicted[i])];
    flows[static_cast<size_t>(c.predicted[i])].insert(c.samples[i].flow);
  }
  std::ostringstream out;
  out << "classify: " << c.samples.size() << " windows from " << c.store.num_flows() << " flows on " << c.backend
      << "\n";
  out << "  predicted class           windows     flows\n";
  for (size_t k = 0; k < c.class_names.size(); ++k) {
    char b[256];
    std::snprintf(b, sizeof b, "  %-22s %9zu %9zu\n", c.class_names[k].c_str(), windows[k], flows[k].size());
    out << b;
  }
  out << "  sample index: " << c.stats.to_json().dump() << "\n";
  return out.str();
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
