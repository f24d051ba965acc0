#pragma once
// The synthetic traffic model: per-category packet processes with per-application parameters,
// and the catalogue of captures (file names as in the ISCX datasets, by category, application
// and encapsulation). docs/synthetic_traffic.md describes the model and its parameters.
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "dataset/synth_trace.hpp"

namespace flowpic::synth {

enum class Category : uint8_t { kVoip, kVideo, kFileTransfer, kChat, kBrowsing, kEmail, kP2p };
enum class Encap : uint8_t { kNonVpn, kVpn, kTor };

const char* category_name(Category c);  // "VoIP", "Video", "File Transfer", "Chat", "Browsing", "Email", "P2P"
const char* encap_name(Encap e);        // "Non-VPN", "VPN", "Tor"

// VoIP call: one UDP (RTP-like) session per call, frames every frame_ms both ways; each side
// alternates talk spurts and pauses, sending smaller (comfort-noise) frames or none in pauses.
struct VoipParams {
  double frame_ms = 20, payload_mean = 120, payload_sd = 20;
  double silence_frame_ms = 0, silence_payload = 40;  // silence_frame_ms 0: nothing sent in pauses
  double talk_s = 2.5, pause_s = 1.5;                 // mean talk spurt and pause lengths
  double call_s = 300;                                // median call length (calls follow each other)
  double signalling_keepalive_s = 30;                 // the app's TLS control connection
};

// Video call: the VoIP audio plus video frames at fps, each split into packets of at most
// max_payload bytes sent back to back; key frames every keyframe_s are several times larger.
struct VideoCallParams {
  VoipParams audio;
  double fps = 25, kbps = 300, max_payload = 1150, keyframe_s = 4;
};

// Video streaming over TLS: a pre-buffering phase at link rate, then one chunk every chunk_s
// (periodic bursts of MSS segments with ACKs back), over `conns` connections used in turn and
// replaced after conn_life_s.
struct StreamParams {
  double kbps = 500, chunk_s = 5, link_mbps = 6, prebuffer_s = 25, conn_life_s = 240;
  int conns = 2;
};

enum class BulkFlavour : uint8_t { kFtps, kFtp, kScp, kSftp, kSkype };
// File transfer: files one after another, each a saturated stream of MSS segments at mbps with ACK
// clocking; SFTP stalls one RTT every stall_kb (request window); FTP(S) opens a data connection
// per file beside its control connection.
struct BulkParams {
  BulkFlavour flavour = BulkFlavour::kScp;
  double mbps = 1.5, file_mb = 12, pause_s = 4, stall_kb = 0;
  uint16_t port = 22;
};

// Chat: human conversation over a TLS connection: active periods with messages every think_s
// (exponential), typing notifications, idle periods with keep-alives every keepalive_s, and
// optionally an HTTP long-poll connection renewed every poll_s. Email uses the same process.
struct ChatParams {
  double think_s = 15, msg_bytes = 200, msg_sigma = 0.5, typing_prob = 0.5;
  double active_s = 180, idle_s = 120;  // median lengths of conversation and idle periods
  double keepalive_s = 45, keepalive_bytes = 40;
  double poll_s = 0, poll_bytes = 600;
  uint16_t port = 443;
};

// Browsing: sites visited for a few pages each; a page load fetches objects from several hosts
// over up to 6 parallel keep-alive TLS connections per host (and QUIC for a share of hosts),
// then the user reads for reading_s (log-normal).
struct BrowsingParams {
  double reading_s = 25, pages_per_site = 3, hosts_per_page = 3, objects_per_page = 25;
  double object_kb = 6, link_mbps = 8, idle_close_s = 60, quic_share = 0;
  int parallel = 6;
};

// Peer-to-peer: peer connections exchanging 16 KiB pieces both ways, plus DHT datagrams.
struct P2pParams {
  int peers = 6;
  double piece_interval_s = 1.5, upload_share = 0.3, peer_life_s = 150, dht_interval_s = 4;
};

using ProcessParams =
    std::variant<VoipParams, VideoCallParams, StreamParams, BulkParams, ChatParams, BrowsingParams, P2pParams>;
const char* process_name(const ProcessParams& p);  // "voip_call", "video_call", ...

struct AppModel {
  Category category;
  std::string application;  // as in Table I ("Skype", "YouTube", "FTPS", ...)
  ProcessParams params;
  uint8_t server_group = 0;  // servers live in 198.18.<group>.0/24 and 2001:db8:<group>::/48
  double ipv6_share = 0;     // share of captures (Non-VPN) reaching the servers over IPv6
  uint16_t server_port = 443;
};

// One capture file to generate.
struct CaptureSpec {
  std::string name;  // "skype_audio1a.pcap"
  Category category;
  std::string application;
  Encap encap;
  std::string dataset;  // the ISCX dataset whose file it mirrors: "iscx-vpn2016" or "iscx-tor2016"
  double duration_s = 0;
  uint64_t seed = 0;        // derived from the run's seed and the name
  bool nanosecond = false;  // pcap timestamp resolution
  bool upload = false;      // file transfers whose name says "up"
  int index = 0;            // position in the catalogue (start times are staggered by it)
};

const std::vector<AppModel>& app_models();
const AppModel& app_model(Category c, const std::string& application);

// The captures of a preset: every (category, application, encapsulation) of reference Table I
// plus a few Email and P2P captures, named like their ISCX counterparts. `scale` multiplies
// durations. Throws naming the preset when unknown.
std::vector<CaptureSpec> plan_captures(const std::string& preset, double scale, uint64_t seed);

// One capture's parameters: the application's nominal ones, varied with draws from `r`.
ProcessParams vary(const ProcessParams& nominal, Rng& r);

// Absolute start of a capture, ns since the Unix epoch (early 2016 like the ISCX captures).
int64_t capture_start_ns(const CaptureSpec& spec);

}  // namespace flowpic::synth
