// flowpic_data ingest | import-csv | import-ucdavis | info | merge
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "apps/cli.hpp"
#include "apps/command_line.hpp"
#include "dataset/ingest.hpp"
#include "dataset/ucdavis_import.hpp"

namespace flowpic::cli {

namespace {

int finish(const IngestReport& report) {
  for (const auto& w : report.warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
  std::printf("%s", report.summary().c_str());
  return 0;
}

// What ingest, import-csv and merge share: inputs, the store to write, --quiet.
struct StoreWriting {
  std::vector<std::string> inputs;
  std::string out;
  bool quiet = false;
};

void add_inputs_and_out(CLI::App* sub, StoreWriting& s, const char* inputs, const char* inputs_help,
                        const char* out_help) {
  sub->add_option(inputs, s.inputs, inputs_help)->required()->take_all()->type_name("");
  sub->add_option("--out", s.out, out_help)->required()->type_name("STORE.h5");
}

void add_quiet(CLI::App* sub, StoreWriting& s) { sub->add_flag("--quiet", s.quiet, "no progress line"); }

}  // namespace

Action add_ingest(CLI::App& flowpic_data) {
  struct State : StoreWriting {
    IngestOptions o;
    std::vector<std::string> labels;
    uint64_t max_open_sessions = 0;
  };
  auto s = std::make_shared<State>();
  CLI::App* sub =
      add_command(flowpic_data, "ingest", "read pcap/pcapng captures into a packet store",
                  "Reads pcap/pcapng captures (folders are scanned for *.pcap, *.pcapng, *.cap, sorted) into a\n"
                  "packet store of bidirectional sessions (layout: docs/packet_store.md).\n"
                  "\n"
                  "Damaged files keep their complete packets; files that are not captures or have an unknown\n"
                  "link type are reported and skipped. A closing summary lists flows per label and skipped packets.");
  add_inputs_and_out(sub, *s, "CAPTURES_OR_DIRS", "pcap/pcapng captures, or folders of them",
                     "the store to write (written under a temporary name, renamed when complete)");
  sub->add_option("--labels", s->labels, "label map (configs/labels/*.json); may be repeated, rules tried in order")
      ->type_name("MAP.json")
      ->take_all();
  sub->add_option("--idle-timeout", s->o.flow.idle_timeout_s,
                  "a session with no packet for S seconds ends (default 120)")
      ->type_name("S")
      ->check(seconds());
  sub->add_option("--linger", s->o.flow.tcp_close_linger_s,
                  "after a TCP RST or FINs from both sides, packets join for S seconds (default 1)")
      ->type_name("S")
      ->check(seconds());
  s->max_open_sessions = s->o.flow.max_open_sessions;
  sub->add_option("--max-open-sessions", s->max_open_sessions,
                  "memory bound: at most N sessions open at once; beyond it the least recently\n"
                  "active one ends early (counted in the summary; default 1048576; 1 to 4294967296)")
      ->type_name("N")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 32).description(""));
  sub->add_flag("--decapsulate", s->o.decode.decapsulate,
                "IP-in-IP tunnels (IPv4/IPv6 in IPv4/IPv6): the inner TCP/UDP packets become the\n"
                "flows (inner addresses, ports, IP lengths; up to 4 tunnels deep); without it tunnel\n"
                "packets are skipped (ip_tunnel). Recorded in the store's flow_options");
  add_quiet(sub, *s);
  return [s](const std::string& command) {
    s->o.flow.max_open_sessions = static_cast<size_t>(s->max_open_sessions);
    s->o.label_map_paths = s->labels;
    s->o.command = command;
    s->o.progress = !s->quiet;
    return finish(ingest_captures(s->inputs, s->out, s->o));
  };
}

Action add_import_csv(CLI::App& flowpic_data) {
  struct State : StoreWriting {
    std::vector<std::string> labels;
  };
  auto s = std::make_shared<State>();
  CLI::App* sub = add_command(
      flowpic_data, "import-csv", "import the FlowPic authors' per-session CSV files into a packet store",
      "Imports the FlowPic authors' per-session CSV files (one unidirectional session a row:\n"
      "pcap_name, ip_src, port_src, ip_dst, port_dst, proto, start_time, length, ts..., <empty>, sizes...;\n"
      "ts relative to the session's first packet). Labels come from the label map by pcap_name.\n"
      "A malformed line is reported with its file and line number and skipped.");
  add_inputs_and_out(sub, *s, "CSV_FILES", "the authors' CSV files", "the store to write");
  sub->add_option("--labels", s->labels, "label map (configs/labels/*.json); may be repeated, rules tried in order")
      ->type_name("MAP.json")
      ->take_all();
  add_quiet(sub, *s);
  return [s](const std::string& command) {
    IngestOptions o;
    o.label_map_paths = s->labels;
    o.command = command;
    o.progress = !s->quiet;
    return finish(import_authors_csv(s->inputs, s->out, o));
  };
}

Action add_import_ucdavis(CLI::App& flowpic_data) {
  struct State : StoreWriting {
    std::string partition;
  };
  auto s = std::make_shared<State>();
  CLI::App* sub = add_command(
      flowpic_data, "import-ucdavis", "import the UC Davis ICDM'19 QUIC dataset into a packet store",
      "Imports the UC Davis ICDM'19 dataset (Rezaei & Liu 2019; tcbench's ucdavis-icdm19): one text file\n"
      "per flow, one line per packet (absolute time, time since the first packet, size, direction 0/1).\n"
      "Each DIR is the dataset root (the folders pretraining, Retraining(script-triggered),\n"
      "Retraining(human-triggered)), one partition folder, or a folder of class folders (then --partition\n"
      "names it). Labels: app (google-doc, google-drive, google-music, google-search, youtube), partition\n"
      "(pretraining, retraining-script-triggered, retraining-human-triggered) and flow_id (the file name).\n"
      "A damaged line is reported with its file and line and skipped; the summary lists flows per app\n"
      "and partition.");
  add_inputs_and_out(sub, *s, "DIRS", "the dataset root, partition folders or folders of class folders",
                     "the store to write (written under a temporary name, renamed when complete)");
  sub->add_option("--partition", s->partition,
                  "the partition of DIRS that are folders of class folders (e.g. retraining-script-triggered)")
      ->type_name("NAME");
  add_quiet(sub, *s);
  return [s](const std::string& command) {
    UcdavisImportOptions o;
    o.partition = s->partition;
    o.command = command;
    o.progress = !s->quiet;
    return finish(import_ucdavis(s->inputs, s->out, o));
  };
}

Action add_info(CLI::App& flowpic_data) {
  auto store = std::make_shared<std::string>();
  CLI::App* sub =
      add_command(flowpic_data, "info", "summarise a packet store",
                  "Summarises a packet store: sources and their status, flows and packets, flows per label in\n"
                  "each label column, skipped packets by reason, captures no label rule matched.");
  sub->add_option("STORE.h5", *store, "the packet store")->required()->type_name("");
  return [store](const std::string&) {
    std::printf("%s", describe_store(*store).c_str());
    return 0;
  };
}

Action add_merge(CLI::App& flowpic_data) {
  auto s = std::make_shared<StoreWriting>();
  CLI::App* sub =
      add_command(flowpic_data, "merge", "combine packet stores into one",
                  "Combines packet stores into one: flows and sources concatenated in the order given, label\n"
                  "tables merged by column name and value, skipped counts summed.");
  add_inputs_and_out(sub, *s, "STORES", "the packet stores to combine, in order", "the store to write");
  add_quiet(sub, *s);
  return [s](const std::string& command) { return finish(merge_stores(s->inputs, s->out, command, !s->quiet)); };
}

}  // namespace flowpic::cli
