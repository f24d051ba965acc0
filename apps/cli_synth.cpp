// flowpic_data synth: writes the built-in synthetic traffic (labelled pcap captures).
#include <cstdio>
#include <memory>
#include <string>

#include "apps/cli.hpp"
#include "apps/command_line.hpp"
#include "dataset/synth.hpp"

namespace flowpic::cli {

Action add_synth(CLI::App& flowpic_data) {
  struct State {
    synth::SynthOptions o;
    bool quiet = false;
  };
  auto s = std::make_shared<State>();
  CLI::App* sub =
      add_command(flowpic_data, "synth", "generate the built-in synthetic traffic (labelled pcap captures)",
                  "Generates SYNTHETIC encrypted-traffic captures (not ISCX data): DIR/captures/*.pcap, one per\n"
                  "category, application and encapsulation (VoIP, Video, File Transfer, Chat, Browsing over\n"
                  "Non-VPN, VPN and Tor, plus a few Email and P2P), named like their ISCX counterparts so the\n"
                  "label maps in configs/labels/ label them; DIR/manifest.json, the ground truth; DIR/README.md.\n"
                  "The same seed, preset and scale give byte-identical captures. Model: docs/synthetic_traffic.md.");
  sub->add_option("--out", s->o.out_dir, "output folder (created)")->required()->type_name("DIR");
  sub->add_option("--seed", s->o.seed, "seed of every random choice (default 1; 0 to 18446744073709551615)")
      ->type_name("N")
      ->check(whole_number_64());
  sub->add_option("--preset", s->o.preset,
                  "small (default: about 300 MB in about a second, for the quickstart) or\n"
                  "paper (reference Table II: blocks x 60 s of capture per category and\n"
                  "encapsulation; about 46 GB)")
      ->type_name("NAME")
      ->check(CLI::IsMember({"small", "paper"}));
  sub->add_option("--scale", s->o.scale, "multiplies every capture's duration (default 1; at least 10 s each)")
      ->type_name("X")
      ->check(positive_number());
  sub->add_flag("--quiet", s->quiet, "no progress line");
  return [s](const std::string& command) {
    s->o.command = command;
    s->o.progress = !s->quiet;
    synth::SynthReport r = synth::generate_synthetic(s->o);
    std::fputs(r.summary(s->o).c_str(), stdout);
    return 0;
  };
}

}  // namespace flowpic::cli
