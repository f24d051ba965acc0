#pragma once
// Command lines of every program, parsed with CLI11 and handled alike:
//   --help / -h    the usage on stdout, exit status 0 (`flowpic_data <command> --help`: that command's);
//   a usage error  one line "<program>: error: <what> (see '<program> --help')" on stderr, exit status 2
//                  (unknown option or command, missing value, bad number, value outside its set, missing
//                  or extra arguments); with no arguments at all, the whole usage on stderr instead;
//   a run error    one line "<program>: error: <what>" on stderr, exit status 1 (an exception from the library).
//   interrupted    exit status 130 where a program stops cleanly on a signal, keeping what is done
//                  (run_experiment on SIGINT; classify on SIGINT or SIGTERM, after its records and summary).
// <program> is the program's name, followed by the subcommand's for flowpic_data.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace flowpic::cli {

// A CLI::App set up for flowpic: lower-case headings, one-line failure messages, extras collected
// (reported by run_command_line as unknown options), and options that take one value keeping the
// last one given. Options that may be repeated collect every value: give them ->take_all().
std::unique_ptr<CLI::App> make_app(const std::string& name, const std::string& description);

// A subcommand of `parent` set up like make_app's app.
CLI::App* add_command(CLI::App& parent, const std::string& name, const std::string& summary,
                      const std::string& description);

// Parses `args` (the arguments after the program's name) with `app`, then returns what `run` returns;
// usage errors, --help and run errors as above. `run` may call usage_error.
int run_command_line(CLI::App& app, const std::vector<std::string>& args, const std::function<int()>& run);
int run_command_line(CLI::App& app, int argc, char** argv, const std::function<int()>& run);

// A usage error found after parsing (options that exclude each other, ...): exit status 2.
[[noreturn]] void usage_error(const std::string& what);

// Checks of numbers that CLI::Range does not cover (it lets NaN and infinity through):
// a finite number of seconds >= 0; a finite number > 0; a whole number from 0 to 2^64 - 1, in decimal
// (CLI11 reads "-1" as 2^64 - 1 and "0x10" as 16 for unsigned types).
CLI::Validator seconds();
CLI::Validator positive_number();
CLI::Validator whole_number_64();

// The command as typed ("flowpic_data ingest a.pcap --out s.h5"), recorded in the files programs write.
std::string command_string(const std::string& program, const std::vector<std::string>& args);

}  // namespace flowpic::cli
