// Optional cross-check on real traffic: TCP connections over the loopback interface, captured by
// tcpdump, ingested here and counted by `tshark -q -z conv,tcp`; packets per connection must agree.
// Skipped cleanly when tshark or tcpdump is missing or this process may not capture on "lo".
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "dataset/ingest.hpp"
#include "dataset/packet_store.hpp"
#include "support/temp_dir.hpp"

using namespace flowpic;
using flowpic::testing::TempDir;

namespace {

std::string run_output(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  pclose(p);
  return out;
}

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// A TCP server on 127.0.0.1 answering each message with `reply` bytes, for `connections` clients.
class EchoServer {
 public:
  EchoServer(int connections, size_t reply) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    listen(fd_, 16);
    socklen_t len = sizeof a;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this, connections, reply] {
      std::vector<char> buf(65536), out(reply, 'r');
      for (int i = 0; i < connections; ++i) {
        int c = accept(fd_, nullptr, nullptr);
        if (c < 0) return;
        while (read(c, buf.data(), buf.size()) > 0)
          if (write(c, out.data(), out.size()) < 0) break;
        close(c);
      }
    });
  }
  ~EchoServer() {
    if (thread_.joinable()) thread_.join();
    close(fd_);
  }
  uint16_t port() const { return port_; }

 private:
  int fd_;
  uint16_t port_ = 0;
  std::thread thread_;
};

void client(uint16_t port, int messages, size_t size) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  if (connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(s);
    return;
  }
  std::vector<char> msg(size, 'q'), buf(65536);
  for (int i = 0; i < messages; ++i) {
    if (write(s, msg.data(), msg.size()) < 0) break;
    if (read(s, buf.data(), buf.size()) <= 0) break;
  }
  shutdown(s, SHUT_WR);
  while (read(s, buf.data(), buf.size()) > 0) {}
  close(s);
}

}  // namespace

TEST(CrossCheck, PacketsPerConnectionMatchTsharkOnLoopbackTraffic) {
  if (std::system("command -v tshark >/dev/null 2>&1 && command -v tcpdump >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "tshark or tcpdump is not installed (apt-get install tshark tcpdump)";
  TempDir dir;
  const int kConnections = 5;
  EchoServer server(kConnections, 3000);
  const std::string cap = dir.file("lo.pcap"), err = dir.file("tcpdump.err");
  pid_t pid = fork();
  if (pid == 0) {
    freopen(err.c_str(), "w", stderr);
    freopen("/dev/null", "w", stdout);
    std::string filter = "tcp port " + std::to_string(server.port());
    execlp("tcpdump", "tcpdump", "-i", "lo", "-U", "-n", "-w", cap.c_str(), filter.c_str(),
           static_cast<char*>(nullptr));
    _exit(127);
  }
  ASSERT_GT(pid, 0);
  bool listening = false;
  for (int i = 0; i < 100 && !listening; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    listening = slurp(err).find("listening on") != std::string::npos;
    int st;
    if (waitpid(pid, &st, WNOHANG) == pid) break;  // tcpdump exited: no permission
  }
  if (!listening) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    for (int i = 0; i < kConnections; ++i) client(server.port(), 0, 1);  // let the server thread end
    GTEST_SKIP() << "cannot capture on lo: " << slurp(err);
  }
  for (int i = 0; i < kConnections; ++i) client(server.port(), 2 + 3 * i, 200 + 500 * i);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  kill(pid, SIGINT);
  waitpid(pid, nullptr, 0);

  IngestOptions o;
  o.progress = false;
  ingest_captures({cap}, dir.file("s.h5"), o);
  PacketStore s = read_packet_store(dir.file("s.h5"));
  std::map<std::pair<int, int>, uint64_t> ours;  // (client port, server port) -> packets
  for (size_t f = 0; f < s.num_flows(); ++f)
    ours[{s.keys[f].port_a, s.keys[f].port_b}] += s.flow_end(f) - s.flow_begin(f);

  // "127.0.0.1:41234  <-> 127.0.0.1:5555  6 450 bytes  7 534 bytes  13 984 bytes ..."
  std::string conv = run_output("tshark -r " + cap + " -q -z conv,tcp 2>/dev/null");
  std::map<std::pair<int, int>, uint64_t> theirs;
  std::istringstream lines(conv);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream t(line);
    std::vector<std::string> tok;
    for (std::string w; t >> w;) tok.push_back(w);
    if (tok.size() < 9 || tok[1] != "<->") continue;
    auto port = [](const std::string& ep) { return std::stoi(ep.substr(ep.rfind(':') + 1)); };
    int a = port(tok[0]), b = port(tok[2]);
    uint64_t frames = std::stoull(tok[3]) + std::stoull(tok[6]);
    if (b == server.port())
      theirs[{a, b}] += frames;
    else
      theirs[{b, a}] += frames;
  }
  ASSERT_EQ(theirs.size(), static_cast<size_t>(kConnections)) << conv;
  EXPECT_EQ(ours, theirs) << conv;
}
