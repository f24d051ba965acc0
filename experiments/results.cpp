#include "experiments/results.hpp"

#include <unistd.h>

#include <cmath>

#include "common/atomic_file.hpp"
#include "common/build_info.hpp"
#include "common/device.hpp"
#include "common/error.hpp"
#include "common/time_format.hpp"

namespace flowpic {

namespace {

template <typename T, typename F>
std::vector<T> column(const std::vector<EpochRecord>& h, F f) {
  std::vector<T> out;
  out.reserve(h.size());
  for (const auto& e : h) out.push_back(static_cast<T>(f(e)));
  return out;
}

}  // namespace

json base_provenance(const std::string& command) {
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  return {{"program", "flowpic"},         {"version", kVersion},
          {"git_commit", kGitCommit},     {"host", host},
          {"created", utc_now_iso8601()}, {"command", command},
          {"cuda", cuda_versions()},      {"device_present", cuda_device_description()}};
}

void write_result(const std::string& path, const RunResult& r, const std::function<void(hid_t file)>& write_weights) {
  make_dirs(parent_dir(path));
  remove_stale_partials(path);
  AtomicFile out(path);
  {
    h5::Id f = h5::create_file(out.temp_path());
    h5::set_attr(f, "format", std::string("flowpic-result"));
    h5::set_attr(f, "format_version", int64_t{kResultFormatVersion});
    h5::set_attr(f, "experiment", r.experiment);
    h5::set_attr(f, "run", r.run);
    h5::set_attr(f, "data_source", r.data_source);
    h5::set_attr(f, "selection", r.selection);
    h5::set_attr(f, "optimistic", int64_t{r.selection == "test_optimistic"});
    h5::set_attr(f, "interrupted", int64_t{r.interrupted});
    h5::set_attr(f, "best_epoch", int64_t{r.best_epoch});
    h5::set_attr(f, "config", r.config.dump());
    h5::set_attr(f, "provenance", r.provenance.dump());
    h5::set_attr(f, "samples", r.samples.dump());
    h5::write_strings(f, "/classes", r.class_names);

    h5::Id hist = h5::create_group(f, "/history");
    h5::write(hist, "epoch", column<int32_t>(r.history, [](auto& e) { return e.epoch; }));
    h5::write(hist, "train_loss", column<double>(r.history, [](auto& e) { return e.train_loss; }));
    h5::write(hist, "train_accuracy", column<double>(r.history, [](auto& e) { return e.train_accuracy; }));
    h5::write(hist, "val_loss", column<double>(r.history, [](auto& e) { return e.val_loss; }));
    h5::write(hist, "val_accuracy", column<double>(r.history, [](auto& e) { return e.val_accuracy; }));
    h5::write(hist, "seconds", column<double>(r.history, [](auto& e) { return e.seconds; }));
    h5::write(hist, "images_per_s", column<double>(r.history, [](auto& e) { return e.images_per_s; }));

    json timings(r.timings);
    h5::set_attr(f, "timings", timings.dump());

    std::vector<std::string> group_names;
    for (const auto& g : r.groups) {
      group_names.push_back(g.name);
      const size_t n = g.truth.size(), k = r.class_names.size();
      if (g.flow.size() != n || g.direction.size() != n || g.window_start.size() != n || g.predicted.size() != n ||
          g.probabilities.size() != n * k)
        fail("result ", path, ": evaluation group '", g.name, "' has columns of different lengths");
      h5::Id grp = h5::create_group(f, "/evaluation/" + g.name);
      h5::set_attr(grp, "metrics", g.metrics.to_json().dump());
      h5::set_attr(grp, "accuracy", g.metrics.accuracy);
      h5::set_attr(grp, "macro_f1", g.metrics.macro_f1);
      std::vector<int64_t> confusion;
      for (const auto& row : g.metrics.confusion) confusion.insert(confusion.end(), row.begin(), row.end());
      h5::write(grp, "confusion", confusion, {hsize_t(k), hsize_t(k)});
      h5::write(grp, "flow", g.flow);
      h5::write(grp, "direction", g.direction);
      h5::write(grp, "window_start", g.window_start);
      h5::write(grp, "truth", g.truth);
      h5::write(grp, "predicted", g.predicted);
      h5::write(grp, "probabilities", g.probabilities, {hsize_t(n), hsize_t(k)});
    }
    h5::write_strings(f, "/evaluation_groups", group_names);
    if (write_weights) write_weights(f);
  }
  out.commit();
}

RunResult read_result(const std::string& path) {
  h5::Id f = h5::open_file(path);
  if (!h5::has_attr(f, "format") || h5::get_attr_string(f, "format") != "flowpic-result")
    fail(path, ": not a flowpic result file");
  int64_t version = h5::get_attr_int(f, "format_version");
  if (version > kResultFormatVersion)
    fail(path, ": result format version ", version, " is newer than this program's ", kResultFormatVersion,
         "; update flowpic");
  if (version < kResultFormatVersion)
    fail(path, ": result format version ", version, " was written by an older flowpic; run the experiment again");
  RunResult r;
  r.experiment = h5::get_attr_string(f, "experiment");
  r.run = h5::get_attr_string(f, "run");
  r.data_source = h5::get_attr_string(f, "data_source");
  r.selection = h5::get_attr_string(f, "selection");
  r.interrupted = h5::get_attr_int(f, "interrupted") != 0;
  r.best_epoch = static_cast<int>(h5::get_attr_int(f, "best_epoch"));
  auto parse_attr = [&](const char* name) { return parse_json(h5::get_attr_string(f, name), path + ":" + name); };
  r.config = parse_attr("config");
  r.provenance = parse_attr("provenance");
  r.samples = parse_attr("samples");
  json timings = parse_attr("timings");
  for (auto it = timings.begin(); it != timings.end(); ++it) r.timings[it.key()] = it.value().get<double>();
  r.class_names = h5::read_strings(f, "/classes");

  auto epoch = h5::read<int32_t>(f, "/history/epoch");
  auto tl = h5::read<double>(f, "/history/train_loss"), ta = h5::read<double>(f, "/history/train_accuracy");
  auto vl = h5::read<double>(f, "/history/val_loss"), va = h5::read<double>(f, "/history/val_accuracy");
  auto sec = h5::read<double>(f, "/history/seconds"), ips = h5::read<double>(f, "/history/images_per_s");
  for (size_t i = 0; i < epoch.size(); ++i)
    r.history.push_back({epoch[i], tl.at(i), ta.at(i), vl.at(i), va.at(i), sec.at(i), ips.at(i)});

  for (const auto& name : h5::read_strings(f, "/evaluation_groups")) {
    GroupPredictions g;
    g.name = name;
    const std::string p = "/evaluation/" + name + "/";
    h5::Id grp = h5::open_group(f, "/evaluation/" + name);
    json m = parse_json(h5::get_attr_string(grp, "metrics"), path + ":" + p + "metrics");
    g.flow = h5::read<uint32_t>(f, p + "flow");
    g.direction = h5::read<uint8_t>(f, p + "direction");
    g.window_start = h5::read<double>(f, p + "window_start");
    g.truth = h5::read<int32_t>(f, p + "truth");
    g.predicted = h5::read<int32_t>(f, p + "predicted");
    g.probabilities = h5::read<float>(f, p + "probabilities");
    g.metrics = compute_metrics(g.truth, g.predicted, r.class_names);
    if (std::fabs(g.metrics.accuracy - m.value("accuracy", -1.0)) > 1e-12)
      fail(path, ": ", p, "metrics disagree with the stored predictions (damaged file?)");
    r.groups.push_back(std::move(g));
  }
  return r;
}

}  // namespace flowpic
