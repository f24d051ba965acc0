// classify --interface on the loopback interface with real traffic (UDP sockets of the test), as
// root: records for the real 5-tuples, stats lines that add up, SIGTERM's clean stop; and the same
// traffic saved by tcpdump and classified offline gives the same records. Skipped (saying why)
// without the privilege to capture or without tcpdump. Plus the one-line errors of live capture.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/h5.hpp"
#include "common/json_util.hpp"
#include "experiments/config.hpp"
#include "experiments/trainer.hpp"
#include "kernels/sample_index.hpp"
#include "nn/backend.hpp"
#include "nn/weights.hpp"
#include "support/temp_dir.hpp"

namespace ft = flowpic::testing;

namespace flowpic {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Root, or CAP_NET_RAW (bit 13) among the effective capabilities (/proc/self/status, CapEff).
bool can_capture() {
  if (geteuid() == 0) return true;
  std::istringstream in(read_file("/proc/self/status"));
  for (std::string line; std::getline(in, line);)
    if (line.rfind("CapEff:", 0) == 0) return (std::stoull(line.substr(7), nullptr, 16) >> 13) & 1;
  return false;
}

bool have_program(const std::string& name) {
  return std::system(("command -v " + name + " >/dev/null 2>&1").c_str()) == 0;
}

// Starts `cmd` under sh (exec'd, so the pid is the program's), stdout and stderr to files.
pid_t start(const std::string& cmd, const std::string& out, const std::string& err) {
  pid_t pid = fork();
  if (pid == 0) {
    dup2(open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644), 1);
    dup2(open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644), 2);
    execl("/bin/sh", "sh", "-c", ("exec " + cmd).c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  return pid;
}
int wait_for(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
bool wait_for_text(const std::string& file, const std::string& text, double seconds) {
  for (auto t0 = std::chrono::steady_clock::now();
       std::chrono::steady_clock::now() - t0 < std::chrono::duration<double>(seconds);) {
    if (read_file(file).find(text) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

// An untrained LeNet-5 for 32x32 mini-FlowPics of 2 s blocks, as a weights file that records its
// classes and representation (what export_weights writes): classify needs nothing else.
std::string make_model(const ft::TempDir& dir) {
  const std::string rep =
      R"({"type": "flowpic", "resolution": 32, "transform": "clip255", "block_s": 2, "packets_more_than": 2})";
  const std::string text = R"({"name": "live", "dataset": {"source": "synthetic"}, "representation": )" + rep +
                           R"(, "model": "configs/models/lenet5.json", "task": {"type": "category"}})";
  const std::string cfg_path = dir.file("c.json");
  std::ofstream(cfg_path) << text;
  ExperimentConfig cfg = load_experiment(cfg_path);
  RepresentationConfig r = RepresentationConfig::parse(rep, "rep");
  auto backend = nn::make_backend("cpu");
  nn::Model model = build_model(cfg, r, 3, *backend, 7);
  const std::string path = dir.file("model.h5");
  h5::quiet_errors();
  h5::Id f = h5::create_file(path);
  nn::write_weights(model, f, "/");
  h5::Id root = h5::open_group(f, "/");
  h5::set_attr(root, "class_names", json(std::vector<std::string>{"a", "b", "c"}).dump());
  h5::set_attr(root, "representation", r.to_json().dump());
  return path;
}

// Two UDP flows to a server socket that echoes: `per_flow` packets each way per flow over ~`seconds`.
std::vector<uint16_t> send_traffic(uint16_t server_port, int per_flow, double seconds) {
  auto udp = [](uint16_t port) {
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    return s;
  };
  const int server = udp(server_port);
  const int clients[2] = {udp(0), udp(0)};
  std::vector<uint16_t> ports;
  for (int c : clients) {
    sockaddr_in a{};
    socklen_t n = sizeof a;
    getsockname(c, reinterpret_cast<sockaddr*>(&a), &n);
    ports.push_back(ntohs(a.sin_port));
  }
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(server_port);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  char buf[2048] = {0};
  for (int i = 0; i < per_flow; ++i) {
    for (int c : clients) {
      ASSERT_GT(sendto(c, buf, 100 + 7 * (i % 50), 0, reinterpret_cast<sockaddr*>(&to), sizeof to), 0), ports;
      sockaddr_in from{};
      socklen_t n = sizeof from;
      const ssize_t got = recvfrom(server, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &n);
      EXPECT_GT(got, 0);
      sendto(server, buf, 400 + 11 * (i % 80), 0, reinterpret_cast<sockaddr*>(&from), n);
      recv(c, buf, sizeof buf, 0);
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds / per_flow));
  }
  close(server);
  close(clients[0]);
  close(clients[1]);
  return ports;
}

// The fields of a record that live and offline share (not "flow" and "time", which differ).
std::multiset<std::string> record_keys(const std::string& jsonl) {
  std::multiset<std::string> out;
  std::istringstream in(jsonl);
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    json r = parse_json(line, "record");
    char b[512];
    std::snprintf(b, sizeof b, "%s:%d>%s:%d %s %s w%d start %.6f packets %d %s %.5f",
                  r["src"].get<std::string>().c_str(), r["src_port"].get<int>(), r["dst"].get<std::string>().c_str(),
                  r["dst_port"].get<int>(), r["protocol"].get<std::string>().c_str(),
                  r["direction"].get<std::string>().c_str(), r["window"].get<int>(), r["window_start_s"].get<double>(),
                  r["packets"].get<int>(), r["predicted"].get<std::string>().c_str(), r["confidence"].get<double>());
    out.insert(b);
  }
  return out;
}

TEST(LiveClassify, LoopbackRecordsStatsAndTheSameOffline) {
  if (!can_capture()) GTEST_SKIP() << "capturing needs root or CAP_NET_RAW (run as root, or setcap the test)";
  const std::vector<std::string> ifs = {"lo"};
  ft::TempDir dir;
  const std::string model = make_model(dir);
  const std::string bin = std::string(FLOWPIC_BINARY_DIR) + "/apps/classify";
  const uint16_t port = static_cast<uint16_t>(20000 + getpid() % 20000);
  const std::string filter = "'udp port " + std::to_string(port) + "'";
  const bool tcpdump = have_program("tcpdump");
  pid_t dump = -1;
  if (tcpdump) {
    dump = start("tcpdump -i lo -n -U --time-stamp-precision nano -w " + dir.file("cap.pcap") + " " + filter,
                 dir.file("dump.out"), dir.file("dump.err"));
    ASSERT_TRUE(wait_for_text(dir.file("dump.err"), "listening on", 5)) << read_file(dir.file("dump.err"));
  }
  // Stopped by SIGTERM (exit status 130 after the summary).
  pid_t live = start(
      bin + " " + model + " --interface lo --filter " + filter + " --stats 0.5 --format jsonl --device cpu --batch 4",
      dir.file("live.jsonl"), dir.file("live.err"));
  ASSERT_TRUE(wait_for_text(dir.file("live.err"), "capturing on lo", 10)) << read_file(dir.file("live.err"));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const std::vector<uint16_t> clients = send_traffic(port, 120, 3.0);
  // Block 0 (the first 2 s) of each direction is written once the clock is past it, before the end.
  ASSERT_TRUE(wait_for_text(dir.file("live.jsonl"), "\"window\":0", 3)) << read_file(dir.file("live.err"));
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  kill(live, SIGTERM);
  EXPECT_EQ(wait_for(live), 130) << read_file(dir.file("live.err"));
  if (tcpdump) {
    kill(dump, SIGINT);
    wait_for(dump);
  }
  const std::string records = read_file(dir.file("live.jsonl")), err = read_file(dir.file("live.err"));

  // Records: the real 5-tuples, both directions, blocks 0 and 1 of each.
  std::istringstream in(records);
  size_t n = 0;
  std::set<std::string> tuples;
  for (std::string line; std::getline(in, line); ++n) {
    json r = parse_json(line, "record");
    EXPECT_EQ(r["protocol"], "UDP");
    EXPECT_EQ(r["src"], "127.0.0.1");
    EXPECT_EQ(r["capture"], "lo");
    EXPECT_TRUE(r.contains("time") && r.contains("confidence") && r.contains("predicted"));
    const int sp = r["src_port"], dp = r["dst_port"];
    const int client = r["direction"] == "initiator" ? sp : dp;
    EXPECT_EQ(r["direction"] == "initiator" ? dp : sp, port) << line;
    EXPECT_TRUE(client == clients[0] || client == clients[1]) << line;
    tuples.insert(std::to_string(client) + "/" + r["direction"].get<std::string>() + "/" +
                  std::to_string(r["window"].get<int>()));
  }
  EXPECT_EQ(n, 8u) << records << err;
  EXPECT_EQ(tuples.size(), 8u);

  // Stats lines: the increments add up to the totals, which the summary repeats.
  std::regex stats_re("packets ([0-9]+) \\(\\+([0-9]+),.*windows classified ([0-9]+) \\(\\+([0-9]+),");
  uint64_t sum = 0, total = 0, wsum = 0, wtotal = 0, lines = 0;
  std::istringstream e(err);
  for (std::string line; std::getline(e, line);) {
    std::smatch m;
    if (line.find("classify: stats:") != 0 || !std::regex_search(line, m, stats_re)) continue;
    ++lines;
    total = std::stoull(m[1]);
    sum += std::stoull(m[2]);
    wtotal = std::stoull(m[3]);
    wsum += std::stoull(m[4]);
  }
  EXPECT_GE(lines, 4u) << err;
  EXPECT_EQ(sum, total) << err;
  EXPECT_EQ(wsum, wtotal) << err;
  EXPECT_EQ(wtotal, n) << err;
  EXPECT_EQ(total, 2u * 2u * 120u) << err;  // every packet of both flows, each way
  EXPECT_NE(err.find("classify: live summary:"), std::string::npos) << err;
  EXPECT_NE(err.find(std::to_string(total) + " packets"), std::string::npos) << err;
  EXPECT_NE(err.find("stopped by a signal"), std::string::npos) << err;

  // The same traffic from tcpdump's file, offline: the same records.
  if (!tcpdump) GTEST_SKIP() << "tcpdump is missing: the offline comparison is skipped";
  const std::string off = dir.file("offline.jsonl");
  ASSERT_EQ(std::system((bin + " " + model + " " + dir.file("cap.pcap") + " --format jsonl --device cpu >" + off +
                         " 2>" + dir.file("offline.err"))
                            .c_str()),
            0)
      << read_file(dir.file("offline.err"));
  EXPECT_EQ(record_keys(read_file(off)), record_keys(records)) << read_file(off) << "\n---\n" << records;
}

TEST(LiveClassify, OneLineErrors) {
  ft::TempDir dir;
  const std::string model = make_model(dir);
  const std::string bin = std::string(FLOWPIC_BINARY_DIR) + "/apps/classify";
  const std::string err = dir.file("err");
  auto run = [&](const std::string& args) {
    return WEXITSTATUS(std::system((bin + " " + model + " " + args + " >/dev/null 2>" + err).c_str()));
  };
  // An unknown interface: the available ones (needs the privilege; without it, the advice).
  EXPECT_EQ(run("--interface no-such-if0 --device cpu"), 1);
  std::string e = read_file(err);
  EXPECT_EQ(std::count(e.begin(), e.end(), '\n'), 1) << e;
  if (can_capture()) {
    EXPECT_NE(e.find("no interface 'no-such-if0'"), std::string::npos) << e;
    EXPECT_NE(e.find("available interfaces: "), std::string::npos) << e;
    EXPECT_NE(e.find("lo"), std::string::npos) << e;
    EXPECT_EQ(run("--interface lo --filter 'udp portt 5' --device cpu"), 1);
    e = read_file(err);
    EXPECT_NE(e.find("bad capture filter"), std::string::npos) << e;
  }
  // Usage errors.
  EXPECT_EQ(run("--interface lo --format json"), 2);
  EXPECT_EQ(run("x.pcap --interface lo"), 2);
  EXPECT_EQ(run("x.pcap --duration 3"), 2);
  EXPECT_NE(read_file(err).find("--filter, --duration and --promisc are for --interface"), std::string::npos);
}

// Without the privilege: one line saying so and what to do. Run as a user without CAP_NET_RAW
// (nobody), which only root can switch to.
TEST(LiveClassify, WithoutPrivilegeSaysWhatToDo) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to run the program as an unprivileged user";
  if (!have_program("setpriv")) GTEST_SKIP() << "setpriv (util-linux) is missing";
  ft::TempDir dir;
  const std::string model = make_model(dir);
  chmod(dir.path().c_str(), 0755);
  chmod(model.c_str(), 0644);
  const std::string bin = std::string(FLOWPIC_BINARY_DIR) + "/apps/classify";
  const std::string err = dir.file("err");
  const int status = std::system(("setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all " + bin + " " +
                                  model + " --interface lo --device cpu >/dev/null 2>" + err)
                                     .c_str());
  const std::string e = read_file(err);
  if (e.find("cannot open") != std::string::npos ||
      (e.find("Permission denied") != std::string::npos && e.find("capture") == std::string::npos))
    GTEST_SKIP() << "the unprivileged user cannot read the build: " << e;
  EXPECT_EQ(WEXITSTATUS(status), 1) << e;
  EXPECT_EQ(std::count(e.begin(), e.end(), '\n'), 1) << e;
  EXPECT_NE(e.find("no permission to capture on 'lo'"), std::string::npos) << e;
  EXPECT_NE(e.find("setcap cap_net_raw,cap_net_admin=eip"), std::string::npos) << e;
}

}  // namespace
}  // namespace flowpic
