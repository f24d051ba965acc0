#include "apps/command_line.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <memory>
#include <regex>

namespace flowpic::cli {

namespace {

// The deepest subcommand selected on the command line (`app` itself when none was).
const CLI::App* selected(const CLI::App& app) {
  const CLI::App* a = &app;
  while (!a->get_subcommands().empty()) a = a->get_subcommands().front();
  return a;
}

// The program as messages name it: "classify", "flowpic_data ingest".
std::string program_path(const CLI::App& app) {
  std::string s = app.get_name();
  for (const CLI::App* a = &app; !a->get_subcommands().empty();) {
    a = a->get_subcommands().front();
    s += " " + a->get_name();
  }
  return s;
}

bool looks_like_option(const std::string& a) { return a.size() > 1 && a[0] == '-'; }

// What went wrong, in a few words naming the option or argument. CLI11's own message where it is clear;
// arguments nobody took (collected, not refused by CLI11) first, since they explain the rest: an
// unknown command, else an unknown option, else an argument too many.
std::string what_went_wrong(const CLI::App& app, const CLI::Error& e) {
  const std::vector<std::string> extras = app.remaining(true);
  if (!extras.empty()) {
    if (app.get_require_subcommand_min() > 0 && app.get_subcommands().empty())
      for (const auto& x : extras)
        if (!looks_like_option(x)) return "unknown command '" + x + "'";
    for (const auto& x : extras)
      if (looks_like_option(x)) return "unknown option '" + x + "'";
    return "unexpected argument '" + extras.front() + "'";
  }
  const std::string m = e.what();
  const std::string kind = e.get_name();
  std::smatch g;
  if (kind == "RequiredError") {
    if (app.get_require_subcommand_min() > 0 && app.get_subcommands().empty()) return "no command given";
    // "--out is required" -> "--out STORE.h5 is required"
    static const std::regex required("(-[^ ]+) is required");
    if (std::regex_match(m, g, required)) {
      try {
        const CLI::Option* o = selected(app)->get_option(g[1].str());
        if (!o->get_type_name().empty()) return g[1].str() + " " + o->get_type_name() + " is required";
      } catch (const CLI::OptionNotFound&) {}
    }
  } else if (kind == "ArgumentMismatch") {
    // "--out: 1 required STORE.h5 missing" -> "--out needs a value"
    static const std::regex missing("([^ ]+): ([0-9]+) required .* missing");
    if (std::regex_match(m, g, missing))
      return g[1].str() + (g[2].str() == "1" ? " needs a value" : " needs " + g[2].str() + " values");
  } else if (kind == "ConversionError") {
    // "Could not convert: --seed = x" -> "--seed: 'x' is not a valid value"
    static const std::regex convert("Could not convert: ([^ ]+) = (.*)");
    if (std::regex_match(m, g, convert)) return g[1].str() + ": '" + g[2].str() + "' is not a valid value";
  }
  return m;
}

// CLI11's failure message, replaced: one line, naming the program and where its usage is.
std::string one_line_failure(const CLI::App* app, const CLI::Error& e) {
  const std::string path = program_path(*app);
  std::string what = what_went_wrong(*app, e);
  std::replace(what.begin(), what.end(), '\n', ' ');
  return path + ": error: " + what + " (see '" + path + " --help')\n";
}

// CLI11's help in flowpic's order: the usage line first, then what the program does, its arguments
// and options, its commands, and the footer.
class Formatter : public CLI::Formatter {
 public:
  std::string make_help(const CLI::App* app, std::string name, CLI::AppFormatMode mode) const override {
    if (mode == CLI::AppFormatMode::Sub) return make_expanded(app);
    std::string out = make_usage(app, name);
    if (!app->get_description().empty()) out += "\n" + make_description(app);
    out += make_positionals(app) + make_groups(app, mode) + make_subcommands(app, mode);
    out += "\n" + make_footer(app);
    return out;
  }
};

void set_up(CLI::App& app) {
  app.option_defaults()->group("options")->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.set_help_flag("-h,--help", "this text");
  app.allow_extras();  // reported by run_command_line, in our words
  app.failure_message(one_line_failure);
  auto f = std::make_shared<Formatter>();
  app.formatter(f);
  f->label("Usage", "usage");
  f->label("OPTIONS", "options");
  f->label("SUBCOMMAND", "<command>");
  f->label("Positionals", "arguments");
  f->label("REQUIRED", "(required)");
  f->column_width(28);
}

}  // namespace

std::unique_ptr<CLI::App> make_app(const std::string& name, const std::string& description) {
  auto app = std::make_unique<CLI::App>(description, name);
  set_up(*app);
  return app;
}

CLI::App* add_command(CLI::App& parent, const std::string& name, const std::string& summary,
                      const std::string& description) {
  CLI::App* sub = parent.add_subcommand(name, summary);
  sub->set_help_flag("-h,--help", "this text");  // again: in the group the parent's option defaults name
  sub->group("commands");
  sub->footer(description);
  return sub;
}

int run_command_line(CLI::App& app, const std::vector<std::string>& args, const std::function<int()>& run) {
  try {
    try {
      std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 takes them last first
      app.parse(reversed);
      if (!app.remaining(true).empty()) throw CLI::ExtrasError(app.remaining(true));
    } catch (const CLI::Success& e) {
      return app.exit(e);  // --help, --version
    } catch (const CLI::ParseError& e) {
      if (!args.empty()) throw;
      std::cerr << app.help();  // nothing given: the whole usage
      return 2;
    }
    std::fflush(stdout);
    return run();
  } catch (const CLI::ParseError& e) {  // a usage error, from the parser or from run (usage_error)
    std::fflush(stdout);
    app.exit(e, std::cout, std::cerr);
    return 2;
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "%s: error: %s\n", program_path(app).c_str(), e.what());
    return 1;
  }
}

int run_command_line(CLI::App& app, int argc, char** argv, const std::function<int()>& run) {
  return run_command_line(app, std::vector<std::string>(argv + std::min(argc, 1), argv + argc), run);
}

void usage_error(const std::string& what) { throw CLI::ValidationError(what); }

CLI::Validator seconds() {
  return CLI::Validator(
      [](std::string& v) -> std::string {
        char* end = nullptr;
        const double x = std::strtod(v.c_str(), &end);
        if (v.empty() || *end != '\0' || !std::isfinite(x) || x < 0)
          return "expected a number of seconds >= 0, got '" + v + "'";
        return "";
      },
      "");
}

CLI::Validator whole_number_64() {
  return CLI::Validator(
      [](std::string& v) -> std::string {
        char* end = nullptr;
        errno = 0;
        std::strtoull(v.c_str(), &end, 10);
        if (v.empty() || v.find_first_not_of("0123456789") != std::string::npos || errno == ERANGE)
          return "expected a whole number from 0 to 18446744073709551615, got '" + v + "'";
        return "";
      },
      "");
}

CLI::Validator positive_number() {
  return CLI::Validator(
      [](std::string& v) -> std::string {
        char* end = nullptr;
        const double x = std::strtod(v.c_str(), &end);
        if (v.empty() || *end != '\0' || !std::isfinite(x) || !(x > 0)) return "expected a number > 0, got '" + v + "'";
        return "";
      },
      "");
}

std::string command_string(const std::string& program, const std::vector<std::string>& args) {
  std::string s = program;
  for (const auto& a : args) s += " " + a;
  return s;
}

}  // namespace flowpic::cli
