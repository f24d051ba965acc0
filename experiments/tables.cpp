#include "experiments/tables.hpp"

#include <cstdio>
#include <iterator>
#include <utility>

#include "common/atomic_file.hpp"
#include "experiments/table_cells.hpp"
#include "experiments/table_render.hpp"

namespace flowpic {

namespace {

// The papers' classes and encapsulations: label in the tables, part of the config names.
const std::vector<std::pair<std::string, std::string>> kClasses = {{"VoIP", "voip"},
                                                                   {"Video", "video"},
                                                                   {"File Transfer", "file_transfer"},
                                                                   {"Chat", "chat"},
                                                                   {"Browsing", "browsing"}};
const std::vector<std::pair<std::string, std::string>> kEncaps = {
    {"Non-VPN", "nonvpn"}, {"VPN", "vpn"}, {"Tor", "tor"}};

bool paper_has_class_vs_all(const std::string& cls, const std::string& enc) {
  return !(cls == "browsing" && enc == "vpn");
}

// Each table's rows and columns, with its cells; the first caption sentence says what it shows.
void fill_table3_summary(CellBuilder& b, Table& t) {
  t.label_headers = {"Task"};
  t.columns = {"accuracy"};
  t.rows.push_back({{"Non-VPN traffic categorization"}, {b.cell("nonvpn_category", "test", "accuracy")}});
  t.rows.push_back({{"VPN traffic categorization"}, {b.cell("vpn_category", "test", "accuracy")}});
  t.rows.push_back({{"Tor traffic categorization"}, {b.cell("tor_category", "test", "accuracy")}});
  for (const auto& [enc, e] : kEncaps) {
    std::vector<std::string> configs;
    for (const auto& [cls, c] : kClasses)
      if (paper_has_class_vs_all(c, e)) configs.push_back("class_vs_all_" + c + "_" + e);
    t.rows.push_back({{"Class vs all, average, " + enc}, {b.average("class_vs_all_average_" + e, configs)}});
  }
  t.rows.push_back({{"Encryption technique (Non-VPN / VPN / Tor)"}, {b.cell("encapsulation", "test", "accuracy")}});
  t.rows.push_back({{"Encryption technique: Tor recall"}, {b.cell("encapsulation", "test", "recall:Tor")}});
  t.rows.push_back({{"Encryption technique: Tor precision"}, {b.cell("encapsulation", "test", "precision:Tor")}});
  t.rows.push_back(
      {{"Application identification (10 VoIP and Video apps, Non-VPN)"}, {b.cell("application", "test", "accuracy")}});
  t.caption.push_back("Test accuracy per task.");
}

void fill_table4_class_vs_all(CellBuilder& b, Table& t) {
  t.label_headers = {"Class", "Trained on"};
  for (const auto& [enc, e] : kEncaps) t.columns.push_back("test " + enc);
  for (const auto& [cls, c] : kClasses)
    for (const auto& [enc, e] : kEncaps) {
      if (!paper_has_class_vs_all(c, e)) continue;
      TableRow r;
      r.labels = {cls, enc};
      const std::string config = "class_vs_all_" + c + "_" + e;
      for (const auto& [test_enc, te] : kEncaps) {
        if (!paper_has_class_vs_all(c, te)) {
          TableCell na;
          na.applicable = false;
          r.cells.push_back(na);
          continue;
        }
        r.cells.push_back(b.cell(config, te == e ? "test" : "cross:" + test_enc, "accuracy"));
      }
      t.rows.push_back(r);
    }
  t.caption.push_back(
      "Rows: class and training encapsulation; columns: the encapsulation tested on (the training one: its "
      "test split; the others: the config's cross:<encapsulation> evaluation groups). Browsing has no VPN "
      "captures (n/a).");
}

void fill_unseen_applications(CellBuilder& b, Table& t) {
  t.label_headers = {"Experiment"};
  t.columns = {"held-out applications", "test (seen applications)"};
  const std::vector<std::pair<std::string, std::string>> rows = {
      {"Video without Vimeo and YouTube", "unseen_video_no_vimeo_youtube"},
      {"Video without Facebook", "unseen_video_no_facebook"},
      {"VoIP without Facebook", "unseen_voip_no_facebook"}};
  for (const auto& [label, config] : rows)
    t.rows.push_back({{label}, {b.cell(config, "held_out", "accuracy"), b.cell(config, "test", "accuracy")}});
  t.caption.push_back(
      "Class vs all (Non-VPN) with the named applications held out of training; 'held-out applications' "
      "is the evaluation group of their samples against the test split's negatives.");
}

void fill_application_identification(CellBuilder& b, Table& t) {
  t.label_headers = {"Measure"};
  t.columns = {"value"};
  t.rows.push_back({{"accuracy (10 applications)"}, {b.cell("application", "test", "accuracy")}});
  // The classes of the runs (in their order) when there are any, else the paper's ten applications.
  const RunSet& rs = b.runs("application");
  std::vector<std::string> classes = {"VoIP:Hangouts",  "VoIP:Facebook",  "VoIP:VoipBuster", "VoIP:Skype",
                                      "Video:Hangouts", "Video:Facebook", "Video:Netflix",   "Video:Vimeo",
                                      "Video:YouTube",  "Video:Skype"};
  if (!rs.runs.empty()) classes = rs.runs.front().class_names;
  for (const auto& c : classes) t.rows.push_back({{"recall " + c}, {b.cell("application", "test", "recall:" + c)}});
  t.caption.push_back(
      "Non-VPN VoIP and Video applications; per application our recall (the 2019 text gives per-application "
      "numbers for Skype VoIP, Vimeo and YouTube without naming the measure).");
}

void fill_payload_images(CellBuilder& b, Table& t) {
  t.label_headers = {"Experiment"};
  t.columns = {"macro F1", "accuracy"};
  t.rows.push_back(
      {{"conventional encrypted traffic (6 Non-VPN traffic types)"},
       {b.cell("payload_conventional", "test", "macro_f1", 2), b.cell("payload_conventional", "test", "accuracy", 2)}});
  t.rows.push_back({{"VPN traffic (6 VPN traffic types)"},
                    {b.cell("payload_vpn", "test", "macro_f1", 2), b.cell("payload_vpn", "test", "accuracy", 2)}});
  t.caption.push_back("Macro F1 over the traffic types (the paper reports F1; its accuracy is not in the abstract).");
}

// tcbench (IMC'23) Table 3: per augmentation, configs/tcbench/ucdavis_32_<augmentation>.json; the
// same runs also come from the 32x32 sweep's points (<sweep>/type=<augmentation>).
void fill_tcbench_table3(CellBuilder& b, Table& t) {
  t.label_headers = {"Augmentation"};
  t.columns = {"script", "human", "leftover"};
  const std::vector<std::pair<std::string, std::string>> rows = {
      {"No augmentation", "none"},       {"Change RTT", "change_rtt"},           {"Time shift", "time_shift"},
      {"Packet loss", "packet_loss"},    {"Horizontal flip", "horizontal_flip"}, {"Rotate", "rotate"},
      {"Colour jitter", "colour_jitter"}};
  const std::string sweep = "tcbench/ucdavis_32_sweep";
  for (const auto& [label, aug] : rows) {
    const std::string config = "tcbench/ucdavis_32_" + aug;
    TableRow r;
    r.labels = {label};
    for (const auto& group : t.columns)
      r.cells.push_back(b.cell_in({config, sweep + "/type=" + aug}, config, group, "accuracy", 2, sweep));
    t.rows.push_back(r);
  }
  t.caption.push_back(
      "UC Davis ICDM'19, tcbench's protocol: LeNet-5 on 32x32 FlowPics of the first 15 s, trained on 100 flows per "
      "class of the pretraining partition (validation carved from them), tested on the script- and human-triggered "
      "partitions and on the pretraining flows not drawn (leftover); ours over the split seeds (training.repeats), "
      "read from each augmentation's config or else from the 32x32 sweep's point.");
}

struct TableSpec {
  const char* id;
  const char* title;
  void (*fill)(CellBuilder& b, Table& t);
  const char* real_data = "ISCX";  // what a non-synthetic store holds, for the caption
};

const TableSpec kTables[] = {
    {"table3_summary", "FlowPic Table III: summary (accuracy, %)", fill_table3_summary},
    {"table4_class_vs_all", "FlowPic Table IV: class vs all (accuracy, %)", fill_table4_class_vs_all},
    {"unseen_applications", "FlowPic: unseen applications (accuracy, %)", fill_unseen_applications},
    {"application_identification", "FlowPic: application identification (%)", fill_application_identification},
    {"payload_images", "Payload-size images (He & Li): F1 and accuracy (%)", fill_payload_images},
    {"tcbench_table3", "tcbench (IMC'23) Table 3: ucdavis-icdm19, 32x32, accuracy by augmentation (%)",
     fill_tcbench_table3, "UC Davis ICDM'19"},
};

}  // namespace

std::vector<RenderedTable> make_tables(const TableOptions& o) {
  ResultsDir results(o.results_dir);
  std::vector<RenderedTable> out;
  for (const TableSpec& spec : kTables) {
    if (o.progress) std::fprintf(stderr, "make_tables: %s (%zu/%zu)\n", spec.id, out.size() + 1, std::size(kTables));
    TableProvenance provenance(o.configs_dir,
                               spec.real_data);  // per table: its caption names the runs of its own cells
    CellBuilder b(results, provenance);
    Table t;
    t.id = spec.id;
    t.title = spec.title;
    spec.fill(b, t);
    finish_caption(t, provenance, o.note);
    out.push_back(render_table(t));
  }
  return out;
}

void write_tables(const std::vector<RenderedTable>& tables, const std::string& out_dir) {
  std::string all =
      "# Reproduced tables\n\nGenerated by make_tables from result files; one section per table "
      "(also as .tex and .csv beside this file).\n\n";
  for (const auto& t : tables) {
    write_text_atomically(out_dir + "/" + t.id + ".md", t.markdown);
    write_text_atomically(out_dir + "/" + t.id + ".tex", t.latex);
    write_text_atomically(out_dir + "/" + t.id + ".csv", t.csv);
    all += t.markdown + "\n";
  }
  write_text_atomically(out_dir + "/all.md", all);
}

}  // namespace flowpic
