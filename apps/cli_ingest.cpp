// flowpic_data ingest | import-csv | info | merge
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "common/error.hpp"
#include "apps/cli.hpp"
#include "dataset/ingest.hpp"

namespace flowpic::cli {

namespace {

// Just enough option parsing for these subcommands: "--name value", "--name=value", flags and
// positional arguments. Unknown options and missing values are usage errors (exit status 2).
class OptionParser {
 public:
  OptionParser(std::string command, std::string help) : command_(std::move(command)), help_(std::move(help)) {}
  void value(const std::string& name) { takes_value_.insert(name); }
  void flag(const std::string& name) { flags_.insert(name); }

  // nullopt: go on; otherwise the exit status (0 after --help, 2 after a usage error).
  std::optional<int> parse(const Args& args) {
    for (size_t i = 0; i < args.size(); ++i) {
      const std::string& a = args[i];
      if (a == "--help" || a == "-h") {
        std::printf("%s", help_.c_str());
        return 0;
      }
      if (a.size() < 2 || a[0] != '-' || a == "-") {
        positional_.push_back(a);
        continue;
      }
      if (a == "--") {
        positional_.insert(positional_.end(), args.begin() + static_cast<long>(i) + 1, args.end());
        break;
      }
      std::string name = a, val;
      bool inline_value = false;
      if (size_t eq = a.find('='); eq != std::string::npos) {
        name = a.substr(0, eq);
        val = a.substr(eq + 1);
        inline_value = true;
      }
      if (flags_.count(name) && !inline_value) {
        set_flags_.insert(name);
      } else if (takes_value_.count(name)) {
        if (!inline_value) {
          if (i + 1 >= args.size()) return usage_error("option " + name + " needs a value");
          val = args[++i];
        }
        values_[name].push_back(val);
      } else {
        return usage_error("unknown option '" + a + "'");
      }
    }
    return std::nullopt;
  }

  int usage_error(const std::string& what) const {
    std::fprintf(stderr, "flowpic_data %s: %s (see 'flowpic_data %s --help')\n", command_.c_str(), what.c_str(),
                 command_.c_str());
    return 2;
  }
  const std::vector<std::string>& positional() const { return positional_; }
  bool has(const std::string& name) const { return set_flags_.count(name) || values_.count(name); }
  const std::vector<std::string>& all(const std::string& name) const {
    static const std::vector<std::string> none;
    auto it = values_.find(name);
    return it == values_.end() ? none : it->second;
  }
  std::string one(const std::string& name) const {
    const auto& v = all(name);
    return v.empty() ? "" : v.back();
  }
  // A number of seconds >= 0 given to `name`, or nullopt after printing the usage error.
  std::optional<double> seconds(const std::string& name, double fallback) const {
    if (!values_.count(name)) return fallback;
    const std::string& s = one(name);
    char* end = nullptr;
    double v = std::strtod(s.c_str(), &end);
    if (s.empty() || *end != '\0' || !std::isfinite(v) || v < 0) {
      usage_error(name + " expects a number of seconds >= 0, got '" + s + "'");
      return std::nullopt;
    }
    return v;
  }

 private:
  std::string command_, help_;
  std::set<std::string> takes_value_, flags_, set_flags_;
  std::map<std::string, std::vector<std::string>> values_;
  std::vector<std::string> positional_;
};

std::string command_line(const std::string& sub, const Args& args) {
  std::string s = "flowpic_data " + sub;
  for (const auto& a : args) s += " " + a;
  return s;
}

int finish(const IngestReport& report) {
  for (const auto& w : report.warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
  std::printf("%s", report.summary().c_str());
  return 0;
}

const char* kIngestHelp =
    "usage: flowpic_data ingest CAPTURES_OR_DIRS... --out STORE.h5 [options]\n"
    "\n"
    "Reads pcap/pcapng captures (folders are scanned for *.pcap, *.pcapng, *.cap, sorted) into a\n"
    "packet store of bidirectional sessions (layout: docs/packet_store.md).\n"
    "\n"
    "options:\n"
    "  --out STORE.h5      the store to write (written under a temporary name, renamed when complete)\n"
    "  --labels MAP.json   label map (configs/labels/*.json); may be repeated, rules tried in order\n"
    "  --idle-timeout S    a session with no packet for S seconds ends (default 120)\n"
    "  --linger S          after a TCP RST or FINs from both sides, packets join for S seconds (default 1)\n"
    "  --max-open-sessions N  memory bound: at most N sessions open at once; beyond it the least\n"
    "                      recently active one ends early (counted in the summary; default 1048576)\n"
    "  --quiet             no progress line\n"
    "  --help              this text\n"
    "\n"
    "Damaged files keep their complete packets; files that are not captures or have an unknown\n"
    "link type are reported and skipped. A closing summary lists flows per label and skipped packets.\n";

const char* kImportHelp =
    "usage: flowpic_data import-csv CSV_FILES... --out STORE.h5 [--labels MAP.json]... [--quiet]\n"
    "\n"
    "Imports the FlowPic authors' per-session CSV files (one unidirectional session a row:\n"
    "pcap_name, ip_src, port_src, ip_dst, port_dst, proto, start_time, length, ts..., <empty>, sizes...;\n"
    "ts relative to the session's first packet). Labels come from the label map by pcap_name.\n"
    "A malformed line is reported with its file and line number and skipped.\n";

const char* kInfoHelp =
    "usage: flowpic_data info STORE.h5\n"
    "\n"
    "Summarises a packet store: sources and their status, flows and packets, flows per label in\n"
    "each label column, skipped packets by reason, captures no label rule matched.\n";

const char* kMergeHelp =
    "usage: flowpic_data merge A.h5 B.h5 ... --out C.h5 [--quiet]\n"
    "\n"
    "Combines packet stores into one: flows and sources concatenated in the order given, label\n"
    "tables merged by column name and value, skipped counts summed.\n";

}  // namespace

int ingest(const Args& args) {
  OptionParser p("ingest", kIngestHelp);
  p.value("--out");
  p.value("--labels");
  p.value("--idle-timeout");
  p.value("--linger");
  p.value("--max-open-sessions");
  p.flag("--quiet");
  if (auto rc = p.parse(args)) return *rc;
  if (p.positional().empty()) return p.usage_error("no captures or folders given");
  if (p.one("--out").empty()) return p.usage_error("--out STORE.h5 is required");
  IngestOptions o;
  auto idle = p.seconds("--idle-timeout", o.flow.idle_timeout_s);
  auto linger = p.seconds("--linger", o.flow.tcp_close_linger_s);
  if (!idle || !linger) return 2;
  o.flow.idle_timeout_s = *idle;
  o.flow.tcp_close_linger_s = *linger;
  if (p.has("--max-open-sessions")) {
    const std::string& s = p.one("--max-open-sessions");
    char* end = nullptr;
    unsigned long long n = std::strtoull(s.c_str(), &end, 10);
    if (s.empty() || s[0] == '-' || *end != '\0' || n < 1 || n > (1ull << 32))
      return p.usage_error("--max-open-sessions expects a whole number from 1 to 4294967296, got '" + s + "'");
    o.flow.max_open_sessions = static_cast<size_t>(n);
  }
  o.label_map_paths = p.all("--labels");
  o.command = command_line("ingest", args);
  o.progress = !p.has("--quiet");
  return finish(ingest_captures(p.positional(), p.one("--out"), o));
}

int import_csv(const Args& args) {
  OptionParser p("import-csv", kImportHelp);
  p.value("--out");
  p.value("--labels");
  p.flag("--quiet");
  if (auto rc = p.parse(args)) return *rc;
  if (p.positional().empty()) return p.usage_error("no CSV files given");
  if (p.one("--out").empty()) return p.usage_error("--out STORE.h5 is required");
  IngestOptions o;
  o.label_map_paths = p.all("--labels");
  o.command = command_line("import-csv", args);
  o.progress = !p.has("--quiet");
  return finish(import_authors_csv(p.positional(), p.one("--out"), o));
}

int info(const Args& args) {
  OptionParser p("info", kInfoHelp);
  if (auto rc = p.parse(args)) return *rc;
  if (p.positional().size() != 1) return p.usage_error("give exactly one store");
  std::printf("%s", describe_store(p.positional()[0]).c_str());
  return 0;
}

int merge(const Args& args) {
  OptionParser p("merge", kMergeHelp);
  p.value("--out");
  p.flag("--quiet");
  if (auto rc = p.parse(args)) return *rc;
  if (p.positional().empty()) return p.usage_error("no stores given");
  if (p.one("--out").empty()) return p.usage_error("--out STORE.h5 is required");
  return finish(merge_stores(p.positional(), p.one("--out"), command_line("merge", args), !p.has("--quiet")));
}

}  // namespace flowpic::cli
