// flowpic_data synth: writes the built-in synthetic traffic (labelled pcap captures).
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "common/error.hpp"
#include "apps/cli.hpp"
#include "dataset/synth.hpp"

namespace flowpic::cli {

namespace {

const char* kUsage =
    "usage: flowpic_data synth --out DIR [--seed N] [--preset small|paper] [--scale X] [--quiet]\n"
    "\n"
    "Generates SYNTHETIC encrypted-traffic captures (not ISCX data): DIR/captures/*.pcap, one per\n"
    "category, application and encapsulation (VoIP, Video, File Transfer, Chat, Browsing over\n"
    "Non-VPN, VPN and Tor, plus a few Email and P2P), named like their ISCX counterparts so the\n"
    "label maps in configs/labels/ label them; DIR/manifest.json, the ground truth; DIR/README.md.\n"
    "The same seed, preset and scale give byte-identical captures. Model: docs/synthetic_traffic.md.\n"
    "\n"
    "  --out DIR        output folder (created)\n"
    "  --seed N         seed of every random choice (default 1)\n"
    "  --preset NAME    small (default: about 300 MB in about a second, for the quickstart) or\n"
    "                   paper (reference Table II: blocks x 60 s of capture per category and\n"
    "                   encapsulation; about 46 GB)\n"
    "  --scale X        multiplies every capture's duration (default 1; at least 10 s each)\n"
    "  --quiet          no progress line\n";

std::string value_of(const Args& args, size_t& i) {
  if (i + 1 >= args.size()) fail(args[i], " needs a value (see flowpic_data synth --help)");
  return args[++i];
}

}  // namespace

int synth(const Args& args) {
  synth::SynthOptions o;
  o.command = "flowpic_data synth";
  for (const auto& a : args) o.command += " " + a;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (a == "--out") {
      o.out_dir = value_of(args, i);
    } else if (a == "--seed") {
      std::string v = value_of(args, i);
      char* end = nullptr;
      errno = 0;
      unsigned long long s = std::strtoull(v.c_str(), &end, 10);
      if (v.empty() || *end || v[0] == '-' || errno == ERANGE)
        fail("--seed must be an integer from 0 to 18446744073709551615 (got '", v, "')");
      o.seed = s;
    } else if (a == "--preset") {
      o.preset = value_of(args, i);
      if (o.preset != "small" && o.preset != "paper") fail("unknown preset '", o.preset, "': use small or paper");
    } else if (a == "--scale") {
      std::string v = value_of(args, i);
      char* end = nullptr;
      o.scale = std::strtod(v.c_str(), &end);
      if (v.empty() || *end || !(o.scale > 0)) fail("--scale must be a positive number (got '", v, "')");
    } else if (a == "--quiet") {
      o.progress = false;
    } else {
      std::fprintf(stderr, "flowpic_data synth: unknown option '%s'\n%s", a.c_str(), kUsage);
      return 2;
    }
  }
  if (o.out_dir.empty()) {
    std::fprintf(stderr, "flowpic_data synth: --out DIR is required\n%s", kUsage);
    return 2;
  }
  synth::SynthReport r = synth::generate_synthetic(o);
  std::fputs(r.summary(o).c_str(), stdout);
  return 0;
}

}  // namespace flowpic::cli
