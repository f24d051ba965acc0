// The per-category packet processes of the synthetic generator (docs/synthetic_traffic.md).
// Every long-lived connection sends something at least every 60 s (keep-alives, polls), and idle
// keep-alive connections are closed at most 100 s after their last packet, so that no session has
// a gap near ingestion's 120 s idle timeout and the manifest's sessions are exactly the ones
// ingestion finds.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <deque>
#include <memory>

#include "common/error.hpp"
#include "dataset/synth_process.hpp"

namespace flowpic::synth {

namespace {

constexpr double kMaxIdle = 60.0;  // no connection of a process stays silent longer than this

uint16_t u16(double v, double lo, double hi) { return static_cast<uint16_t>(std::lround(clamp(v, lo, hi))); }

// TLS 1.2 handshake: ClientHello, the server's hello + certificates, key exchange, finished.
double tls_handshake(TcpConnection& c, Rng& rng, double t) {
  double rtt = c.path().rtt;
  t = c.message(0, t, static_cast<uint32_t>(rng.integer(200, 560)));
  t = c.send(1, t + rtt, static_cast<uint32_t>(rng.integer(2600, 4800)), 20e6);
  t = c.message(0, t + rng.uniform(0.001, 0.004), static_cast<uint32_t>(rng.integer(120, 200)));
  t = c.message(1, t + rtt, static_cast<uint32_t>(rng.integer(51, 280)));
  return t;
}

// SSH-2: version strings, KEXINIT both ways, DH exchange, NEWKEYS, user authentication.
double ssh_handshake(TcpConnection& c, Rng& rng, double t) {
  double rtt = c.path().rtt;
  t = c.message(1, t + rtt * 0.5, static_cast<uint32_t>(rng.integer(21, 40)));
  t = c.message(0, t + 0.001, static_cast<uint32_t>(rng.integer(21, 40)));
  t = c.message(0, t + 0.001, static_cast<uint32_t>(rng.integer(1100, 1500)));
  t = c.message(1, t + rtt, static_cast<uint32_t>(rng.integer(900, 1100)));
  t = c.message(0, t + 0.002, static_cast<uint32_t>(rng.integer(48, 80)));
  t = c.message(1, t + rtt, static_cast<uint32_t>(rng.integer(500, 1100)));
  t = c.message(0, t + 0.002, 16);
  for (int i = 0; i < 3; ++i) {
    t = c.message(0, t + rng.uniform(0.001, 0.05), static_cast<uint32_t>(rng.integer(52, 120)));
    t = c.message(1, t + rtt, static_cast<uint32_t>(rng.integer(36, 100)));
  }
  return t;
}

// A message event of a real-time stream: sent by `dir` at t, `bytes` of payload.
struct Frame {
  double t;
  uint8_t dir;
  uint16_t bytes;
};

// Talk spurts and pauses of one side of a call.
void voice_frames(Rng& rng, const VoipParams& v, uint8_t dir, double t0, double t1, std::vector<Frame>& out) {
  bool talking = dir == 0 || rng.chance(0.5);  // the caller speaks first, so it sends the first packet
  double t = t0, state_end = t0 + rng.exponential(talking ? v.talk_s : v.pause_s);
  bool first = true;
  while (t < t1) {
    if (t >= state_end) {
      talking = !talking;
      state_end = t + std::min(20.0, rng.exponential(talking ? v.talk_s : v.pause_s));
    }
    if (!talking && v.silence_frame_ms <= 0) {
      t = state_end;
      continue;
    }
    double frame = (talking ? v.frame_ms : v.silence_frame_ms) / 1000.0;
    uint16_t size = talking ? u16(rng.normal(v.payload_mean, v.payload_sd), 20, 1200)
                            : u16(rng.normal(v.silence_payload, 3), 10, 400);
    double at = first ? t : std::max(t0, t + rng.normal(0, 0.0004));
    out.push_back({at, dir, size});
    first = false;
    t += frame;
  }
}

// Video frames of one side of a call, each split into equal packets of at most max_payload.
void video_frames(Rng& rng, const VideoCallParams& v, uint8_t dir, double t0, double t1, std::vector<Frame>& out) {
  double mean = v.kbps * 1000 / 8 / v.fps;
  double next_key = t0;
  for (double t = t0 + 1.0 / v.fps; t < t1; t += 1.0 / v.fps) {
    double bytes = mean * rng.lognormal(1.0, 0.35);
    if (t >= next_key) {
      bytes *= 4;
      next_key = t + v.keyframe_s * rng.uniform(0.8, 1.2);
    }
    int n = std::max(1, static_cast<int>(std::ceil(bytes / v.max_payload)));
    uint16_t each = u16(bytes / n + 12, 60, v.max_payload + 12);
    for (int i = 0; i < n; ++i) out.push_back({t + i * rng.uniform(0.0002, 0.0008), dir, each});
  }
}

// Delivers the frames of a call over UDP (or, inside Tor, over the call's TCP relay connection).
void deliver(Context& ctx, uint32_t session, TcpConnection* tcp, const Path& path, std::vector<Frame>& frames) {
  std::stable_sort(frames.begin(), frames.end(), [](const Frame& a, const Frame& b) { return a.t < b.t; });
  for (const Frame& f : frames) {
    if (tcp)
      tcp->message(f.dir, f.t, f.bytes + 2u);
    else
      udp_datagram(ctx.trace, session, ctx.rng, path, f.dir, f.t, f.bytes, f.dir == 1);
  }
}

void calls(Context& ctx, const VoipParams& v, const VideoCallParams* video, double t0, double t1) {
  double t = t0;
  while (t1 - t > 3) {
    double len = std::min(t1 - t, ctx.rng.lognormal(v.call_s, 0.4));
    if (t1 - (t + len) < 30) len = t1 - t;
    Path path = ctx.server_path();
    Address peer = ctx.server(static_cast<int>(ctx.rng.integer(1, 250)), ctx.pick_v6());
    uint16_t port = ctx.server_port ? ctx.server_port : static_cast<uint16_t>(ctx.rng.integer(10000, 60000));
    std::string note = ctx.app + (video ? " video call" : " voice call");
    uint32_t s = ctx.open_session(ctx.tcp_only ? 6 : 17, peer, ctx.tcp_only ? 443 : port, kRoleApplication, note);
    std::unique_ptr<TcpConnection> tcp;
    double start = t;
    if (ctx.tcp_only) {
      tcp = std::make_unique<TcpConnection>(ctx.trace, s, ctx.rng, path);
      start = tls_handshake(*tcp, ctx.rng, tcp->open(t)) + 0.01;
    }
    std::vector<Frame> frames;
    voice_frames(ctx.rng, v, 0, start, t + len, frames);
    voice_frames(ctx.rng, v, 1, start + path.rtt / 2, t + len, frames);
    if (video) {
      video_frames(ctx.rng, *video, 0, start, t + len, frames);
      video_frames(ctx.rng, *video, 1, start + path.rtt / 2, t + len, frames);
    }
    deliver(ctx, s, tcp.get(), path, frames);
    if (tcp) tcp->close(t + len);
    t += len + ctx.rng.uniform(3, 12);
  }
}

void streaming(Context& ctx, const StreamParams& p, double t0, double t1) {
  struct Conn {
    std::unique_ptr<TcpConnection> tcp;
    double born = 0;
  };
  std::vector<Conn> conns(static_cast<size_t>(std::max(1, p.conns)));
  auto open = [&](Conn& c, double t) {
    Path path = ctx.server_path();
    Address srv = ctx.server(static_cast<int>(ctx.rng.integer(1, 250)), ctx.pick_v6());
    uint32_t s = ctx.open_session(6, srv, 443, kRoleApplication, ctx.app + " video connection");
    c.tcp = std::make_unique<TcpConnection>(ctx.trace, s, ctx.rng, path);
    c.born = t;
    return tls_handshake(*c.tcp, ctx.rng, c.tcp->open(t));
  };
  double t = t0;
  for (size_t i = 0; i < conns.size(); ++i) t = std::max(t, open(conns[i], t0 + 0.05 * i));
  int prebuffer_chunks = static_cast<int>(std::ceil(p.prebuffer_s / p.chunk_s));
  double kbps = p.kbps, next_request = t;
  for (int k = 0; next_request < t1; ++k) {
    Conn& c = conns[static_cast<size_t>(k) % conns.size()];
    double at = next_request;
    if (at - c.born > p.conn_life_s * ctx.rng.uniform(0.7, 1.3)) {
      c.tcp->close(at, 0);
      at = open(c, at);
    }
    if (ctx.rng.chance(0.03)) kbps = p.kbps * ctx.rng.uniform(0.6, 1.4);  // an adaptive-bitrate switch
    double req = c.tcp->message(0, at, static_cast<uint32_t>(ctx.rng.integer(350, 900)));
    double link = ctx.cap(p.link_mbps * 1e6 * ctx.rng.uniform(0.7, 1.2));
    double arrive = req + c.tcp->path().rtt + ctx.rng.uniform(0.005, 0.05);
    if (arrive >= t1) break;
    double bytes = kbps * 1000 / 8 * p.chunk_s * ctx.rng.lognormal(1.0, 0.2);
    bytes = std::min(bytes, (t1 - arrive) * link / 8);
    double done = c.tcp->send(1, arrive, static_cast<uint64_t>(std::max(1.0, bytes)), link);
    if (k < prebuffer_chunks)
      next_request = done + ctx.rng.uniform(0.005, 0.03);
    else
      next_request = std::max(done + 0.005, at + p.chunk_s * ctx.rng.uniform(0.85, 1.15));
  }
}

void bulk(Context& ctx, const BulkParams& b, double t0, double t1, bool upload) {
  Rng& rng = ctx.rng;
  Path path = ctx.server_path();
  Address srv = ctx.server(static_cast<int>(rng.integer(1, 250)), ctx.pick_v6());
  const uint8_t data_dir = upload ? 0 : 1;
  const bool tls = b.flavour == BulkFlavour::kFtps;
  // Streams `bytes` in pieces with a rate drawn per piece; SFTP-like flavours wait one round trip
  // between request windows, Skype's receiver acknowledges each piece.
  auto transfer = [&](TcpConnection& c, double t, double bytes, double tend) {
    double piece = b.stall_kb > 0 ? b.stall_kb * 1024 : 256 * 1024;
    while (bytes > 1 && t < tend - 0.05) {
      double rate = ctx.cap(b.mbps * 1e6 * rng.lognormal(1.0, 0.15));
      double n = std::min({bytes, piece, (tend - t) * rate / 8});
      double done = c.send(data_dir, t, static_cast<uint64_t>(std::max(1.0, n)), rate);
      bytes -= n;
      if (n < piece && bytes > 1) break;  // out of time
      t = done;
      if (b.flavour == BulkFlavour::kSkype)
        t = c.message(1 - data_dir, done + path.rtt / 2, static_cast<uint32_t>(rng.integer(40, 70)));
      else if (b.stall_kb > 0)
        t = done + path.rtt * rng.uniform(0.8, 1.2);
    }
    return std::max(t, c.last_time());
  };
  auto file_bytes = [&] { return rng.lognormal(b.file_mb, 0.8) * 1e6; };
  auto new_conn = [&](uint16_t port, const std::string& note) {
    uint32_t s = ctx.open_session(6, srv, port, kRoleApplication, ctx.app + " " + note);
    return std::make_unique<TcpConnection>(ctx.trace, s, rng, path);
  };
  double t = t0;
  switch (b.flavour) {
    case BulkFlavour::kFtp:
    case BulkFlavour::kFtps: {
      auto control = new_conn(21, "control connection");
      t = control->open(t);
      t = control->message(1, t + 0.01, static_cast<uint32_t>(rng.integer(40, 90)));  // 220 banner
      if (tls) t = tls_handshake(*control, rng, control->message(0, t + 0.01, 10));   // AUTH TLS
      for (int i = 0; i < 4; ++i) {                                                   // USER, PASS, PBSZ/PROT, TYPE
        t = control->message(0, t + rng.uniform(0.005, 0.05),
                             static_cast<uint32_t>(rng.integer(14, 40) + (tls ? 29 : 0)));
        t = control->message(1, t + path.rtt, static_cast<uint32_t>(rng.integer(20, 60) + (tls ? 29 : 0)));
      }
      while (t < t1 - 5) {
        t = control->message(0, t + 0.01, tls ? 35u : 6u);  // PASV
        t = control->message(1, t + path.rtt, tls ? 80u : 50u);
        t = control->message(0, t + 0.005, tls ? 50u : 20u);  // RETR / STOR
        auto data = new_conn(static_cast<uint16_t>(rng.integer(50000, 50999)), "data connection");
        double ds = data->open(t + 0.002);
        if (tls) ds = tls_handshake(*data, rng, ds);
        double de = transfer(*data, ds, file_bytes(), t1);
        data->close(de + 0.001, data_dir);
        // NOOP keep-alives on the control connection while the data flows.
        for (double k = t + 45; k < de; k += 45 * rng.uniform(0.9, 1.0)) {
          double q = control->message(0, k, tls ? 35u : 6u);
          control->message(1, q + path.rtt, tls ? 45u : 16u);
        }
        t = control->message(1, std::max(de, control->last_time()) + 0.01, tls ? 60u : 24u);  // 226 complete
        t += b.pause_s * rng.uniform(0.5, 1.5);
      }
      control->close(std::max(t, control->last_time()) + 0.01);
      break;
    }
    case BulkFlavour::kScp: {
      while (t < t1 - 5) {
        auto c = new_conn(22, "scp connection");
        double s = ssh_handshake(*c, rng, c->open(t));
        s = c->message(0, s + 0.01, 96);  // exec "scp -t/-f"
        s = c->message(1, s + path.rtt, 48);
        double e = transfer(*c, s + 0.005, file_bytes(), t1);
        c->message(1 - data_dir, e + path.rtt / 2, 36);
        t = c->close(e + path.rtt, 0) + b.pause_s * rng.uniform(0.5, 1.5);
      }
      break;
    }
    case BulkFlavour::kSftp: {
      auto c = new_conn(22, "sftp connection");
      t = ssh_handshake(*c, rng, c->open(t));
      t = c->message(0, t + 0.01, 64);  // subsystem sftp
      t = c->message(1, t + path.rtt, 64);
      while (t < t1 - 5) {
        t = c->message(0, t + 0.01, static_cast<uint32_t>(rng.integer(80, 160)));  // open, stat
        t = c->message(1, t + path.rtt, static_cast<uint32_t>(rng.integer(60, 140)));
        t = transfer(*c, t + 0.005, file_bytes(), t1);
        t = c->message(0, t + 0.01, 52);  // close handle
        t = c->message(1, t + path.rtt, 44);
        // Between files the SSH connection sends a keep-alive when the pause is long.
        double pause = b.pause_s * rng.uniform(0.5, 1.5);
        t += pause;
      }
      c->close(std::max(t, c->last_time()) + 0.01);
      break;
    }
    case BulkFlavour::kSkype: {
      uint16_t port = static_cast<uint16_t>(rng.integer(20000, 60000));
      while (t < t1 - 5) {
        auto c = new_conn(port++, "file transfer connection");
        double s = tls_handshake(*c, rng, c->open(t));
        double e = transfer(*c, s + 0.01, file_bytes(), t1);
        t = c->close(e + 0.01, 0) + b.pause_s * rng.uniform(0.5, 1.5);
      }
      break;
    }
  }
}

void chat(Context& ctx, const ChatParams& c, double t0, double t1, const std::string& role) {
  Rng& rng = ctx.rng;
  Path path = ctx.server_path();
  Address srv = ctx.server(static_cast<int>(rng.integer(1, 250)), ctx.pick_v6());
  uint32_t s =
      ctx.open_session(6, srv, c.port, role, ctx.app + (role == kRoleSignalling ? " signalling" : " chat connection"));
  TcpConnection conn(ctx.trace, s, rng, path);
  double t = tls_handshake(conn, rng, conn.open(t0));
  t = conn.message(0, t + 0.01, static_cast<uint32_t>(rng.integer(300, 700)));       // login
  t = conn.message(1, t + path.rtt, static_cast<uint32_t>(rng.integer(500, 2500)));  // roster, history
  // The long-poll connection (Facebook, Hangouts): a request held by the server until an event
  // or the poll period, then renewed.
  if (c.poll_s > 0) {
    Path pp = ctx.server_path();
    uint32_t ps = ctx.open_session(6, srv, 443, role, ctx.app + " long-poll connection");
    TcpConnection poll(ctx.trace, ps, rng, pp);
    double q = tls_handshake(poll, rng, poll.open(t0 + rng.uniform(0.2, 1.0)));
    while (q < t1 - 1) {
      double r = poll.message(0, q + 0.005, u16(rng.normal(c.poll_bytes, 40), 200, 1400));
      double hold = std::min(c.poll_s * rng.uniform(0.95, 1.0), rng.exponential(c.poll_s * 1.5));
      q = poll.message(1, std::min(r + hold, t1 - 0.5), static_cast<uint32_t>(rng.integer(60, 420)));
    }
  }
  double last = conn.last_time();
  bool active = true;
  double period_end = t + rng.lognormal(c.active_s, 0.6);
  double next_msg = t + rng.exponential(c.think_s);
  const double keepalive = std::min(c.keepalive_s, kMaxIdle);
  while (true) {
    double next_keep = last + keepalive * rng.uniform(0.9, 1.0);
    double next_ev = active ? std::min(next_msg, next_keep) : next_keep;
    if (period_end < next_ev) {
      active = !active;
      double from = period_end;
      period_end = from + rng.lognormal(active ? c.active_s : c.idle_s, 0.6);
      if (active) next_msg = from + rng.exponential(c.think_s);
      continue;
    }
    if (next_ev >= t1) break;
    if (next_ev == next_keep) {
      double q = conn.message(0, next_keep, u16(rng.normal(c.keepalive_bytes, 4), 1, 200));
      conn.message(1, q + path.rtt, u16(rng.normal(c.keepalive_bytes, 4), 1, 200));
    } else {
      uint32_t size =
          static_cast<uint32_t>(clamp(rng.lognormal(c.msg_bytes, c.msg_sigma), 20, 60000)) + kTlsRecordOverhead;
      if (rng.chance(0.5)) {  // we write
        if (rng.chance(c.typing_prob))
          conn.message(0, std::max(last + 0.01, next_msg - rng.uniform(1, 4)),
                       static_cast<uint32_t>(rng.integer(60, 130)));
        double q = conn.message(0, next_msg, size);
        conn.message(1, q + path.rtt, static_cast<uint32_t>(rng.integer(40, 90)));  // server receipt
      } else {  // the peer writes (typing notification first, sometimes)
        if (rng.chance(c.typing_prob))
          conn.message(1, std::max(last + 0.01, next_msg - rng.uniform(1, 4)),
                       static_cast<uint32_t>(rng.integer(60, 130)));
        double q = conn.message(1, next_msg, size + 40);
        conn.message(0, q + rng.uniform(0.05, 0.4), static_cast<uint32_t>(rng.integer(50, 90)));  // read receipt
      }
      next_msg += rng.exponential(c.think_s);
    }
    last = conn.last_time();
  }
}

void browsing(Context& ctx, const BrowsingParams& b, double t0, double t1) {
  Rng& rng = ctx.rng;
  struct WebConn {
    std::unique_ptr<TcpConnection> tcp;  // or QUIC over UDP when null
    uint32_t quic = 0;
    Path path;
    int host = 0;
    double last = 0;
    bool closed = false;
  };
  struct Host {
    int id;
    Address addr;
    bool quic;
  };
  std::deque<WebConn> conns;  // a deque: references to its elements stay valid as it grows
  const double idle_close = std::min(b.idle_close_s, 100.0);
  auto close_idle = [&](double now) {
    for (auto& c : conns) {
      if (c.closed || now - c.last <= idle_close) continue;
      if (c.tcp) c.tcp->close(c.last + idle_close, rng.chance(0.5) ? 0 : 1);
      c.closed = true;
    }
  };
  // One object on a connection: request, then the response at link rate after the server's think time.
  auto fetch = [&](WebConn& c, double t, double bytes) {
    double rate = ctx.cap(b.link_mbps * 1e6 * rng.uniform(0.5, 1.2));
    if (c.tcp) {
      double q = c.tcp->message(0, std::max(t, c.last + 0.0005), static_cast<uint32_t>(rng.integer(300, 900)));
      c.last = c.tcp->send(1, q + c.path.rtt + rng.uniform(0.005, 0.08), static_cast<uint64_t>(bytes), rate);
      return c.last;
    }
    // QUIC: datagrams of at most 1350 bytes; the client acknowledges every second one.
    double q = std::max(t, c.last + 0.0005);
    udp_datagram(ctx.trace, c.quic, rng, c.path, 0, q, static_cast<uint16_t>(rng.integer(60, 400)), false);
    double at = q + c.path.rtt + rng.uniform(0.005, 0.08), seen = at;
    int k = 0;
    for (double left = bytes; left > 0; left -= 1350, ++k) {
      uint16_t n = static_cast<uint16_t>(std::min(left, 1350.0));
      double s = udp_datagram(ctx.trace, c.quic, rng, c.path, 1, at, n, false);
      seen = std::max(seen, s);
      if (k % 2 == 1)
        udp_datagram(ctx.trace, c.quic, rng, c.path, 0, seen + 0.0002, static_cast<uint16_t>(rng.integer(30, 50)),
                     false);
      at += (n + 28) * 8.0 / rate;
    }
    c.last = seen + 0.0003;
    return c.last;
  };
  auto open_conn = [&](const Host& h, double t) -> WebConn& {
    WebConn c;
    c.path = ctx.server_path();
    c.host = h.id;
    if (h.quic && !ctx.tcp_only) {
      c.quic = ctx.open_session(17, h.addr, 443, kRoleApplication, ctx.app + " QUIC connection");
      // Client Initial (padded to 1350), server handshake, client finished.
      udp_datagram(ctx.trace, c.quic, rng, c.path, 0, t, 1350, false);
      double s = udp_datagram(ctx.trace, c.quic, rng, c.path, 1, t + c.path.rtt, 1350, false);
      udp_datagram(ctx.trace, c.quic, rng, c.path, 1, s + 0.0003, static_cast<uint16_t>(rng.integer(400, 1350)), false);
      c.last = s + 0.001;
      udp_datagram(ctx.trace, c.quic, rng, c.path, 0, c.last, static_cast<uint16_t>(rng.integer(60, 120)), false);
    } else {
      uint32_t s = ctx.open_session(6, h.addr, 443, kRoleApplication, ctx.app + " web connection");
      c.tcp = std::make_unique<TcpConnection>(ctx.trace, s, rng, c.path);
      c.last = tls_handshake(*c.tcp, rng, c.tcp->open(t));
    }
    conns.push_back(std::move(c));
    return conns.back();
  };
  double t = t0;
  while (t < t1 - 2) {
    // A new site: its hosts (the first serves the page itself).
    std::vector<Host> hosts;
    int nhosts = std::max(1, static_cast<int>(std::lround(rng.lognormal(b.hosts_per_page, 0.5))));
    for (int h = 0; h < nhosts; ++h) {
      Host host;
      host.id = static_cast<int>(rng.integer(1, 250));
      host.addr = ctx.server(host.id, ctx.pick_v6());
      host.quic = rng.chance(b.quic_share);
      hosts.push_back(host);
    }
    int pages = 1 + static_cast<int>(rng.exponential(b.pages_per_site));
    for (int p = 0; p < pages && t < t1 - 2; ++p) {
      close_idle(t);
      int objects = std::max(2, static_cast<int>(rng.lognormal(b.objects_per_page, 0.6)));
      double page_end = t, doc_done = t;
      for (size_t h = 0; h < hosts.size(); ++h) {
        int k = h == 0 ? std::max(1, objects * 2 / 5) : std::max(1, objects * 3 / 5 / std::max<int>(1, nhosts - 1));
        int want = std::min(b.parallel, std::max(1, (k + 2) / 3));
        std::vector<WebConn*> use;
        for (auto& c : conns)
          if (!c.closed && c.host == hosts[h].id && static_cast<int>(use.size()) < want) use.push_back(&c);
        double start = h == 0 ? t : doc_done;
        while (static_cast<int>(use.size()) < want) use.push_back(&open_conn(hosts[h], start + rng.uniform(0, 0.02)));
        for (int o = 0; o < k; ++o) {
          WebConn& c = *use[static_cast<size_t>(o) % use.size()];
          double size = clamp(rng.lognormal(b.object_kb * 1024, 1.3), 200, 3e6);
          if (h == 0 && o == 0) size = clamp(rng.lognormal(40e3, 0.6), 5e3, 400e3);  // the HTML
          double done = fetch(c, start, size);
          if (h == 0 && o == 0) doc_done = done;
          page_end = std::max(page_end, done);
        }
      }
      t = page_end + std::min(95.0, rng.lognormal(b.reading_s, 0.8));
    }
  }
  close_idle(t1);  // what is still open at the capture's end stays open
}

void p2p(Context& ctx, const P2pParams& p, double t0, double t1) {
  Rng& rng = ctx.rng;
  for (int slot = 0; slot < p.peers; ++slot) {
    double t = t0 + rng.uniform(0, 10);
    while (t < t1 - 5) {
      Path path = ctx.server_path();
      Address peer =
          Address::v4(198, 18, static_cast<uint8_t>(rng.integer(100, 250)), static_cast<uint8_t>(rng.integer(1, 254)));
      uint32_t s = ctx.open_session(6, peer, static_cast<uint16_t>(rng.integer(6881, 65000)), kRoleApplication,
                                    ctx.app + " peer connection");
      TcpConnection c(ctx.trace, s, rng, path);
      double q = c.open(t);
      q = c.message(0, q + 0.001, 68);  // handshake
      q = c.message(1, q + path.rtt, 68);
      q = c.message(0, q + 0.001, static_cast<uint32_t>(rng.integer(40, 300)));  // bitfield, interested
      q = c.message(1, q + path.rtt, static_cast<uint32_t>(rng.integer(40, 300)));
      double end = std::min(t1 - 1, q + rng.lognormal(p.peer_life_s, 0.7));
      while (q < end) {
        double gap = std::min(rng.exponential(p.piece_interval_s), 50.0);
        q += gap;
        if (q >= end) break;
        uint8_t dir = rng.chance(p.upload_share) ? 0 : 1;
        double r = c.message(1 - dir, q, 17);  // request
        q = c.send(dir, r + path.rtt / 2, 16384 + 13, ctx.cap(rng.uniform(0.3e6, 2e6)));
      }
      t = c.close(q + 0.01, rng.chance(0.5) ? 0 : 1) + rng.uniform(1, 20);
    }
  }
  // DHT: short UDP exchanges with random nodes.
  if (!ctx.tcp_only) {
    for (double t = t0 + rng.exponential(p.dht_interval_s); t < t1 - 1; t += rng.exponential(p.dht_interval_s)) {
      Path path = ctx.server_path();
      Address node =
          Address::v4(198, 18, static_cast<uint8_t>(rng.integer(100, 250)), static_cast<uint8_t>(rng.integer(1, 254)));
      // Ports above 6881 stay clear of the well-known side-traffic ports the label maps filter.
      uint32_t s = ctx.open_session(17, node, static_cast<uint16_t>(rng.integer(6881, 65000)), kRoleApplication,
                                    ctx.app + " DHT");
      udp_datagram(ctx.trace, s, rng, path, 0, t, static_cast<uint16_t>(rng.integer(60, 120)), false);
      udp_datagram(ctx.trace, s, rng, path, 1, t + path.rtt, static_cast<uint16_t>(rng.integer(100, 350)));
    }
  }
}

}  // namespace

Address Context::server(int host, bool v6) const {
  int h = 1 + ((host - 1) % 250 + 250) % 250;
  return v6 ? Address::v6(0x2001, 0x0db8, group, static_cast<uint16_t>(h))
            : Address::v4(198, 18, group, static_cast<uint8_t>(h));
}

uint32_t Context::open_session(uint8_t protocol, const Address& server, uint16_t port, const std::string& role,
                               const std::string& note) {
  Session s;
  s.protocol = protocol;
  s.addr_a = server.version == 6 ? client_v6 : client_v4;
  s.addr_b = server;
  s.port_a = ports.next();
  s.port_b = port;
  s.role = role;
  s.note = note;
  return trace.add_session(std::move(s));
}

Path Context::server_path() {
  Path p = path;
  p.rtt = path.rtt * rng.uniform(0.7, 1.4);
  return p;
}

void run_process(Context& ctx, const ProcessParams& params, double t0, double t1, bool upload) {
  if (t1 <= t0) return;
  if (auto* v = std::get_if<VoipParams>(&params)) {
    calls(ctx, *v, nullptr, t0, t1);
  } else if (auto* vc = std::get_if<VideoCallParams>(&params)) {
    calls(ctx, vc->audio, vc, t0, t1);
  } else if (auto* s = std::get_if<StreamParams>(&params)) {
    streaming(ctx, *s, t0, t1);
  } else if (auto* b = std::get_if<BulkParams>(&params)) {
    bulk(ctx, *b, t0, t1, upload);
  } else if (auto* c = std::get_if<ChatParams>(&params)) {
    chat(ctx, *c, t0, t1, kRoleApplication);
  } else if (auto* w = std::get_if<BrowsingParams>(&params)) {
    browsing(ctx, *w, t0, t1);
  } else if (auto* p = std::get_if<P2pParams>(&params)) {
    p2p(ctx, *p, t0, t1);
  }
}

void run_signalling(Context& ctx, double keepalive_s, double t0, double t1) {
  ChatParams c;
  c.think_s = 60;
  c.msg_bytes = 180;
  c.msg_sigma = 0.4;
  c.typing_prob = 0;
  c.active_s = 30;
  c.idle_s = 300;
  c.keepalive_s = keepalive_s;
  c.keepalive_bytes = 60;
  chat(ctx, c, t0, t1, kRoleSignalling);
}

void add_background(Trace& trace, Rng& rng, PortAllocator& ports, const Address& client, double t0, double t1,
                    double dns_interval_s, const std::string& app) {
  Path path;
  path.rtt = 0.01;
  path.jitter = 0.002;
  std::string domain;
  for (char ch : app)
    if (std::isalnum(static_cast<unsigned char>(ch)))
      domain += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  int n = 0;
  for (double t = t0 + rng.uniform(0, 0.05); t < t1; t += rng.exponential(dns_interval_s), ++n) {
    Session s;
    s.protocol = 17;
    s.addr_a = client;
    s.addr_b = Address::v4(10, 0, 2, 3);
    s.port_a = ports.next();
    s.port_b = 53;
    s.role = kRoleBackground;
    s.note = "s" + std::to_string(n) + "." + domain + ".example.com";
    uint32_t id = trace.add_session(s);
    uint16_t query = static_cast<uint16_t>(12 + s.note.size() + 2 + 4);
    udp_datagram(trace, id, rng, path, 0, t, query, false, PayloadKind::kDnsQuery);
    uint16_t answers = static_cast<uint16_t>(rng.integer(1, 3));
    udp_datagram(trace, id, rng, path, 1, t + rng.uniform(0.005, 0.04), static_cast<uint16_t>(query + 16 * answers),
                 false, PayloadKind::kDnsResponse);
  }
  Session ntp;
  ntp.protocol = 17;
  ntp.addr_a = client;
  ntp.addr_b = Address::v4(198, 19, 123, 1);
  ntp.port_a = 123;
  ntp.port_b = 123;
  ntp.role = kRoleBackground;
  ntp.note = "ntp";
  uint32_t id = trace.add_session(ntp);
  double t = rng.uniform(t0, std::max(t0, t1 - 1));
  udp_datagram(trace, id, rng, path, 0, t, 48, false, PayloadKind::kNtpClient);
  udp_datagram(trace, id, rng, path, 1, t + rng.uniform(0.01, 0.06), 48, false, PayloadKind::kNtpServer);
}

}  // namespace flowpic::synth
