// The synthetic traffic's applications (nominal parameters) and its capture catalogue (ISCX file
// names); dataset/synth_capture.cpp generates a capture from them.
#include "dataset/synth_model.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "common/error.hpp"

namespace flowpic::synth {

const char* category_name(Category c) {
  switch (c) {
    case Category::kVoip: return "VoIP";
    case Category::kVideo: return "Video";
    case Category::kFileTransfer: return "File Transfer";
    case Category::kChat: return "Chat";
    case Category::kBrowsing: return "Browsing";
    case Category::kEmail: return "Email";
    case Category::kP2p: return "P2P";
  }
  return "?";
}

const char* encap_name(Encap e) {
  switch (e) {
    case Encap::kNonVpn: return "Non-VPN";
    case Encap::kVpn: return "VPN";
    case Encap::kTor: return "Tor";
  }
  return "?";
}

const char* process_name(const ProcessParams& p) {
  static const char* names[] = {"voip_call", "video_call", "video_stream", "bulk_transfer", "chat", "browsing", "p2p"};
  return names[p.index()];
}

namespace {

VoipParams voip(double frame_ms, double mean, double sd, double silence_frame_ms, double silence_payload, double talk_s,
                double pause_s, double call_s, double keepalive_s) {
  VoipParams v;
  v.frame_ms = frame_ms;
  v.payload_mean = mean;
  v.payload_sd = sd;
  v.silence_frame_ms = silence_frame_ms;
  v.silence_payload = silence_payload;
  v.talk_s = talk_s;
  v.pause_s = pause_s;
  v.call_s = call_s;
  v.signalling_keepalive_s = keepalive_s;
  return v;
}

VideoCallParams video_call(VoipParams audio, double fps, double kbps, double max_payload, double keyframe_s) {
  VideoCallParams v;
  v.audio = audio;
  v.fps = fps;
  v.kbps = kbps;
  v.max_payload = max_payload;
  v.keyframe_s = keyframe_s;
  return v;
}

StreamParams stream(double kbps, double chunk_s, double link_mbps, double prebuffer_s, double life_s, int conns) {
  StreamParams s;
  s.kbps = kbps;
  s.chunk_s = chunk_s;
  s.link_mbps = link_mbps;
  s.prebuffer_s = prebuffer_s;
  s.conn_life_s = life_s;
  s.conns = conns;
  return s;
}

BulkParams bulk(BulkFlavour f, double mbps, double file_mb, double pause_s, double stall_kb, uint16_t port) {
  BulkParams b;
  b.flavour = f;
  b.mbps = mbps;
  b.file_mb = file_mb;
  b.pause_s = pause_s;
  b.stall_kb = stall_kb;
  b.port = port;
  return b;
}

ChatParams chat(double think_s, double msg, double sigma, double typing, double active_s, double idle_s,
                double keepalive_s, double keepalive_bytes, double poll_s, double poll_bytes, uint16_t port) {
  ChatParams c;
  c.think_s = think_s;
  c.msg_bytes = msg;
  c.msg_sigma = sigma;
  c.typing_prob = typing;
  c.active_s = active_s;
  c.idle_s = idle_s;
  c.keepalive_s = keepalive_s;
  c.keepalive_bytes = keepalive_bytes;
  c.poll_s = poll_s;
  c.poll_bytes = poll_bytes;
  c.port = port;
  return c;
}

BrowsingParams browse(double reading_s, double pages, double hosts, double objects, double object_kb, double link_mbps,
                      double idle_close_s, double quic_share) {
  BrowsingParams b;
  b.reading_s = reading_s;
  b.pages_per_site = pages;
  b.hosts_per_page = hosts;
  b.objects_per_page = objects;
  b.object_kb = object_kb;
  b.link_mbps = link_mbps;
  b.idle_close_s = idle_close_s;
  b.quic_share = quic_share;
  return b;
}

AppModel model(Category c, const char* app, ProcessParams p, uint8_t group, double v6, uint16_t port) {
  AppModel m{c, app, std::move(p), group, v6, port};
  return m;
}

// The capture's own draw of its application's parameters: each scattered around the nominal
// value, so captures of one application differ and neighbouring applications overlap.

struct CatalogEntry {
  Encap encap;
  Category category;
  const char* application;
  const char* dataset;
  std::vector<std::string> names;  // ISCX base names; the first ones are used first
};

const char* kVpnSet = "iscx-vpn2016";
const char* kTorSet = "iscx-tor2016";

const std::vector<CatalogEntry>& catalogue() {
  using C = Category;
  using E = Encap;
  static const std::vector<CatalogEntry> entries = {
      // Non-VPN (ISCX VPN-nonVPN; browsing from the Tor-nonTor dataset's NonTor captures)
      {E::kNonVpn,
       C::kVoip,
       "Skype",
       kVpnSet,
       {"skype_audio1a", "skype_audio1b", "skype_audio2a", "skype_audio2b", "skype_audio3", "skype_audio4"}},
      {E::kNonVpn,
       C::kVoip,
       "Hangouts",
       kVpnSet,
       {"hangouts_audio1a", "hangouts_audio1b", "hangouts_audio2a", "hangouts_audio2b", "hangouts_audio3",
        "hangouts_audio4"}},
      {E::kNonVpn,
       C::kVoip,
       "Facebook",
       kVpnSet,
       {"facebook_audio1a", "facebook_audio1b", "facebook_audio2a", "facebook_audio2b", "facebook_audio3",
        "facebook_audio4"}},
      {E::kNonVpn,
       C::kVoip,
       "VoipBuster",
       kVpnSet,
       {"voipbuster1b", "voipbuster2b", "voipbuster3b", "voipbuster_4a", "voipbuster_4b"}},
      {E::kNonVpn,
       C::kVideo,
       "YouTube",
       kVpnSet,
       {"youtube1", "youtube2", "youtube3", "youtube4", "youtube5", "youtube6", "youtubeHTML5_1"}},
      {E::kNonVpn, C::kVideo, "Netflix", kVpnSet, {"netflix1", "netflix2", "netflix3", "netflix4"}},
      {E::kNonVpn, C::kVideo, "Vimeo", kVpnSet, {"vimeo1", "vimeo2", "vimeo3", "vimeo4"}},
      {E::kNonVpn, C::kVideo, "Hangouts", kVpnSet, {"hangouts_video1b", "hangouts_video2a", "hangouts_video2b"}},
      {E::kNonVpn,
       C::kVideo,
       "Facebook",
       kVpnSet,
       {"facebook_video1a", "facebook_video1b", "facebook_video2a", "facebook_video2b"}},
      {E::kNonVpn, C::kVideo, "Skype", kVpnSet, {"skype_video1a", "skype_video1b", "skype_video2a", "skype_video2b"}},
      {E::kNonVpn,
       C::kFileTransfer,
       "SCP",
       kVpnSet,
       {"scpDown1", "scpUp1", "scpDown2", "scpUp2", "scpDown3", "scpUp3", "scpDown4", "scpDown5", "scpUp5", "scpDown6",
        "scpUp6", "scp1"}},
      {E::kNonVpn, C::kFileTransfer, "FTPS", kVpnSet, {"ftps_down_1a", "ftps_up_2a", "ftps_down_1b", "ftps_up_2b"}},
      {E::kNonVpn,
       C::kFileTransfer,
       "SFTP",
       kVpnSet,
       {"sftpDown1", "sftpUp1", "sftpDown2", "sftp_down_3a", "sftp_up_2a", "sftp_down_3b", "sftp_up_2b", "sftp1"}},
      {E::kNonVpn,
       C::kFileTransfer,
       "Skype",
       kVpnSet,
       {"skype_file1", "skype_file2", "skype_file3", "skype_file4", "skype_file5", "skype_file6", "skype_file7",
        "skype_file8"}},
      {E::kNonVpn, C::kChat, "AIM", kVpnSet, {"aim_chat_3a", "aim_chat_3b", "AIMchat1", "AIMchat2"}},
      {E::kNonVpn, C::kChat, "ICQ", kVpnSet, {"icq_chat_3a", "icq_chat_3b", "ICQchat1", "ICQchat2"}},
      {E::kNonVpn,
       C::kChat,
       "Facebook",
       kVpnSet,
       {"facebook_chat_4a", "facebook_chat_4b", "facebookchat1", "facebookchat2", "facebookchat3"}},
      {E::kNonVpn, C::kChat, "Hangouts", kVpnSet, {"hangouts_chat_4a", "hangout_chat_4b"}},
      {E::kNonVpn, C::kChat, "Skype", kVpnSet, {"skype_chat1a", "skype_chat1b"}},
      {E::kNonVpn, C::kBrowsing, "Firefox", kTorSet, {"browsing", "browsing2", "browsing_ara", "browsing_ara2"}},
      {E::kNonVpn, C::kBrowsing, "Chrome", kTorSet, {"SSL_Browsing", "ssl", "browsing_ger"}},
      {E::kNonVpn, C::kEmail, "Email", kVpnSet, {"email1a", "email1b", "email2a", "email2b"}},
      // VPN (ISCX VPN-nonVPN, "vpn_" captures)
      {E::kVpn, C::kVoip, "Skype", kVpnSet, {"vpn_skype_audio1", "vpn_skype_audio2"}},
      {E::kVpn, C::kVoip, "Hangouts", kVpnSet, {"vpn_hangouts_audio1", "vpn_hangouts_audio2"}},
      {E::kVpn, C::kVoip, "VoipBuster", kVpnSet, {"vpn_voipbuster1a", "vpn_voipbuster1b"}},
      {E::kVpn, C::kVideo, "Netflix", kVpnSet, {"vpn_netflix_A"}},
      {E::kVpn, C::kVideo, "Vimeo", kVpnSet, {"vpn_vimeo_A", "vpn_vimeo_B"}},
      {E::kVpn, C::kVideo, "YouTube", kVpnSet, {"vpn_youtube_A"}},
      {E::kVpn, C::kFileTransfer, "FTPS", kVpnSet, {"vpn_ftps_A", "vpn_ftps_B"}},
      {E::kVpn, C::kFileTransfer, "SFTP", kVpnSet, {"vpn_sftp_A", "vpn_sftp_B"}},
      {E::kVpn, C::kFileTransfer, "Skype", kVpnSet, {"vpn_skype_files1a", "vpn_skype_files1b"}},
      {E::kVpn, C::kChat, "AIM", kVpnSet, {"vpn_aim_chat1a", "vpn_aim_chat1b"}},
      {E::kVpn, C::kChat, "ICQ", kVpnSet, {"vpn_icq_chat1a", "vpn_icq_chat1b"}},
      {E::kVpn, C::kChat, "Facebook", kVpnSet, {"vpn_facebook_chat1a", "vpn_facebook_chat1b"}},
      {E::kVpn, C::kChat, "Hangouts", kVpnSet, {"vpn_hangouts_chat1a", "vpn_hangouts_chat1b"}},
      {E::kVpn, C::kChat, "Skype", kVpnSet, {"vpn_skype_chat1a", "vpn_skype_chat1b"}},
      {E::kVpn, C::kEmail, "Email", kVpnSet, {"vpn_email2a", "vpn_email2b"}},
      {E::kVpn, C::kP2p, "BitTorrent", kVpnSet, {"vpn_bittorrent"}},
      // Tor (ISCX Tor-nonTor, Tor captures)
      {E::kTor, C::kVoip, "Skype", kTorSet, {"VOIP_gate_Skype_Audio", "VOIP_Skype_Voice_Gateway"}},
      {E::kTor, C::kVoip, "Hangouts", kTorSet, {"VOIP_gate_hangout_audio", "VOIP_Hangouts_voice_Gateway"}},
      {E::kTor, C::kVoip, "Facebook", kTorSet, {"VOIP_gate_facebook_Audio", "VOIP_Facebook_Voice_Gateway"}},
      {E::kTor, C::kVideo, "YouTube", kTorSet, {"VIDEO_Youtube_HTML5_Gateway", "VIDEO_Youtube_Flash_Gateway"}},
      {E::kTor, C::kVideo, "Vimeo", kTorSet, {"VIDEO_Vimeo_Gateway"}},
      {E::kTor, C::kFileTransfer, "FTP", kTorSet, {"FILE-TRANSFER_gate_FTP_transfer"}},
      {E::kTor, C::kFileTransfer, "SFTP", kTorSet, {"FILE-TRANSFER_gate_SFTP_filetransfer"}},
      {E::kTor, C::kFileTransfer, "Skype", kTorSet, {"FILE-TRANSFER_tor_skype_transfer"}},
      {E::kTor, C::kChat, "AIM", kTorSet, {"CHAT_gate_AIM_chat", "CHAT_aimchatgateway"}},
      {E::kTor, C::kChat, "ICQ", kTorSet, {"CHAT_gate_ICQ_chat", "CHAT_icqchatgateway"}},
      {E::kTor, C::kChat, "Facebook", kTorSet, {"CHAT_gate_facebook_chat", "CHAT_facebookchatgateway"}},
      {E::kTor, C::kChat, "Hangouts", kTorSet, {"CHAT_gate_hangout_chat", "CHAT_hangoutschatgateway"}},
      {E::kTor, C::kChat, "Skype", kTorSet, {"CHAT_gate_skype_chat", "CHAT_skypechatgateway"}},
      {E::kTor,
       C::kBrowsing,
       "Firefox",
       kTorSet,
       {"BROWSING_tor_browsing_ara", "BROWSING_tor_browsing_ger", "BROWSING_tor_browsing_mam"}},
      {E::kTor,
       C::kBrowsing,
       "Chrome",
       kTorSet,
       {"BROWSING_gate_SSL_Browsing", "BROWSING_ssl_browsing_gateway", "BROWSING_tor_browsing_mam2"}},
      {E::kTor, C::kP2p, "Vuze", kTorSet, {"P2P_tor_p2p_vuze"}},
  };
  return entries;
}

// Reference Table II: 60 s blocks per category, Non-VPN / VPN / Tor.
double paper_blocks(Category c, Encap e) {
  static const double blocks[5][3] = {
      {3304, 2872, 2978}, {1553, 302, 754}, {1174, 242, 1126}, {635, 1061, 422}, {3191, 0, 2026}};
  int ci = static_cast<int>(c), ei = static_cast<int>(e);
  if (ci > 4) return 30;  // Email, P2P: half an hour each
  return blocks[ci][ei];
}

// The small preset: minutes of capture per category and encapsulation (spread over the
// applications, at least kSmallMinFileMinutes per capture). Chosen so that the whole set is
// about 150 MB and each category yields windows in every encapsulation.
double small_minutes(Category c) {
  switch (c) {
    case Category::kVoip: return 16;
    case Category::kVideo: return 12;
    case Category::kFileTransfer: return 12;
    case Category::kChat: return 40;
    case Category::kBrowsing: return 30;
    case Category::kEmail: return 3;
    case Category::kP2p: return 3;
  }
  return 0;
}
constexpr double kSmallMinFileMinutes = 1.5;
constexpr double kPaperFileMinutes = 30;  // the paper preset splits an application's time into captures of about this

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

ProcessParams vary(const ProcessParams& nominal, Rng& r) {
  ProcessParams p = nominal;
  auto vary_voip = [&](VoipParams& v) {
    v.payload_mean = r.around(v.payload_mean, 0.12);
    v.payload_sd = r.around(v.payload_sd, 0.2);
    v.talk_s = r.around(v.talk_s, 0.3);
    v.pause_s = r.around(v.pause_s, 0.3);
    v.call_s = r.around(v.call_s, 0.3);
  };
  if (auto* v = std::get_if<VoipParams>(&p)) vary_voip(*v);
  if (auto* v = std::get_if<VideoCallParams>(&p)) {
    vary_voip(v->audio);
    v->fps = r.around(v->fps, 0.15);
    v->kbps = r.around(v->kbps, 0.25);
  }
  if (auto* s = std::get_if<StreamParams>(&p)) {
    s->kbps = r.around(s->kbps, 0.25);
    s->chunk_s = r.around(s->chunk_s, 0.15);
    s->link_mbps = r.around(s->link_mbps, 0.3);
  }
  if (auto* b = std::get_if<BulkParams>(&p)) {
    b->mbps = r.around(b->mbps, 0.25);
    b->file_mb = r.around(b->file_mb, 0.3);
  }
  if (auto* c = std::get_if<ChatParams>(&p)) {
    c->think_s = r.around(c->think_s, 0.25);
    c->msg_bytes = r.around(c->msg_bytes, 0.2);
    c->active_s = r.around(c->active_s, 0.3);
    c->idle_s = r.around(c->idle_s, 0.3);
  }
  if (auto* w = std::get_if<BrowsingParams>(&p)) {
    w->reading_s = r.around(w->reading_s, 0.3);
    w->objects_per_page = r.around(w->objects_per_page, 0.3);
    w->object_kb = r.around(w->object_kb, 0.3);
  }
  if (auto* q = std::get_if<P2pParams>(&p)) q->piece_interval_s = r.around(q->piece_interval_s, 0.3);
  return p;
}

const std::vector<AppModel>& app_models() {
  using C = Category;
  using F = BulkFlavour;
  static const std::vector<AppModel> models = [] {
    std::vector<AppModel> m;
    // VoIP: frame interval, payload mean/sd, silence frames, talk/pause, call length, signalling keep-alive.
    VoipParams skype = voip(20, 110, 28, 20, 45, 2.5, 1.5, 300, 30);
    VoipParams hangouts = voip(20, 135, 18, 100, 42, 2.2, 1.8, 280, 20);
    VoipParams facebook = voip(40, 150, 25, 40, 60, 2.8, 1.6, 240, 45);
    VoipParams voipbuster = voip(30, 62, 3, 0, 0, 3.0, 1.2, 360, 55);
    m.push_back(model(C::kVoip, "Skype", skype, 10, 0, 0));
    m.push_back(model(C::kVoip, "Hangouts", hangouts, 11, 0.4, 19305));
    m.push_back(model(C::kVoip, "Facebook", facebook, 12, 0.4, 3478));
    m.push_back(model(C::kVoip, "VoipBuster", voipbuster, 13, 0, 0));
    // Video: calls (fps, kbps, max packet payload, key-frame period) and streaming
    // (kbps, chunk period, link Mbps, pre-buffer s, connection life s, parallel connections).
    m.push_back(model(C::kVideo, "Skype", video_call(skype, 15, 220, 1200, 6), 10, 0, 0));
    m.push_back(model(C::kVideo, "Hangouts", video_call(hangouts, 24, 200, 1150, 5), 11, 0.4, 19305));
    m.push_back(model(C::kVideo, "Facebook", video_call(facebook, 20, 160, 1100, 4), 12, 0.4, 3478));
    m.push_back(model(C::kVideo, "YouTube", stream(350, 5, 6, 30, 200, 2), 21, 0.5, 443));
    m.push_back(model(C::kVideo, "Netflix", stream(500, 4, 8, 40, 300, 3), 20, 0.3, 443));
    m.push_back(model(C::kVideo, "Vimeo", stream(400, 6, 5, 20, 240, 1), 22, 0, 443));
    // File transfer: rate Mbps, median file MB, pause between files s, request window KB, port.
    m.push_back(model(C::kFileTransfer, "FTPS", bulk(F::kFtps, 1.0, 12, 5, 0, 21), 30, 0, 21));
    m.push_back(model(C::kFileTransfer, "FTP", bulk(F::kFtp, 0.8, 10, 5, 0, 21), 30, 0, 21));
    m.push_back(model(C::kFileTransfer, "SCP", bulk(F::kScp, 1.2, 12, 3, 0, 22), 31, 0, 22));
    m.push_back(model(C::kFileTransfer, "SFTP", bulk(F::kSftp, 0.9, 10, 4, 64, 22), 32, 0, 22));
    m.push_back(model(C::kFileTransfer, "Skype", bulk(F::kSkype, 0.6, 6, 8, 64, 0), 10, 0, 0));
    // Chat: think s, message bytes (median, sigma), typing notifications, active/idle periods,
    // keep-alive s and bytes, long-poll s and bytes, port.
    m.push_back(model(C::kChat, "AIM", chat(9, 150, 0.5, 0.3, 150, 60, 60, 46, 0, 0, 5190), 40, 0, 5190));
    m.push_back(model(C::kChat, "ICQ", chat(10, 170, 0.5, 0.3, 150, 60, 45, 52, 0, 0, 5190), 41, 0, 5190));
    m.push_back(model(C::kChat, "Facebook", chat(7, 260, 0.6, 0.6, 180, 70, 55, 70, 50, 720, 443), 12, 0.4, 443));
    m.push_back(model(C::kChat, "Hangouts", chat(8, 320, 0.5, 0.5, 160, 60, 30, 60, 30, 560, 443), 11, 0.4, 443));
    m.push_back(model(C::kChat, "Skype", chat(9, 400, 0.6, 0.4, 170, 60, 40, 90, 0, 0, 443), 10, 0, 443));
    // Browsing: reading s, pages per site, hosts per page, objects per page, object KB, link Mbps,
    // idle close s, QUIC share.
    m.push_back(model(C::kBrowsing, "Firefox", browse(28, 3, 3, 22, 7, 8, 90, 0), 50, 0.3, 443));
    m.push_back(model(C::kBrowsing, "Chrome", browse(22, 3, 4, 26, 6, 10, 60, 0.35), 51, 0.3, 443));
    // Email (IMAP/SMTP over TLS as a chat-like process with large messages) and P2P.
    m.push_back(model(C::kEmail, "Email", chat(45, 6000, 1.2, 0, 300, 120, 55, 60, 0, 0, 993), 60, 0, 993));
    m.push_back(model(C::kP2p, "BitTorrent", P2pParams{}, 70, 0, 0));
    m.push_back(model(C::kP2p, "Vuze", P2pParams{}, 71, 0, 0));
    return m;
  }();
  return models;
}

const AppModel& app_model(Category c, const std::string& application) {
  for (const auto& m : app_models())
    if (m.category == c && m.application == application) return m;
  fail("synthetic traffic: no model for ", category_name(c), " application '", application, "'");
}

std::vector<CaptureSpec> plan_captures(const std::string& preset, double scale, uint64_t seed) {
  if (preset != "small" && preset != "paper") fail("unknown preset '", preset, "': use small or paper");
  if (!(scale > 0) || !std::isfinite(scale)) fail("--scale must be a positive number (got ", scale, ")");
  const bool paper = preset == "paper";
  const auto& cat = catalogue();
  std::vector<CaptureSpec> specs;
  for (const auto& entry : cat) {
    int apps = 0;
    for (const auto& other : cat)
      if (other.encap == entry.encap && other.category == entry.category) ++apps;
    double total_min = paper ? paper_blocks(entry.category, entry.encap) : small_minutes(entry.category);
    double share_min = total_min / apps;
    size_t files = 1;
    if (paper)
      files =
          std::min(entry.names.size(), static_cast<size_t>(std::max(1.0, std::ceil(share_min / kPaperFileMinutes))));
    else
      share_min = std::max(share_min, kSmallMinFileMinutes);
    for (size_t f = 0; f < files; ++f) {
      CaptureSpec s;
      s.name = entry.names[f] + ".pcap";
      s.category = entry.category;
      s.application = entry.application;
      s.encap = entry.encap;
      s.dataset = entry.dataset;
      s.duration_s = std::max(10.0, share_min * 60 / static_cast<double>(files) * scale);
      s.seed = derive_seed(seed, "capture " + s.name);
      s.nanosecond = derive_seed(0, s.name) % 4 == 0;
      std::string l = lower(entry.names[f]);
      s.upload = entry.category == Category::kFileTransfer && l.find("up") != std::string::npos;
      s.index = static_cast<int>(specs.size());
      specs.push_back(std::move(s));
    }
  }
  return specs;
}

int64_t capture_start_ns(const CaptureSpec& spec) {
  // 2016-02-01 09:00 UTC, one capture a day, at a seed-dependent time within the hour.
  const int64_t base_s = 1454317200;
  return (base_s + static_cast<int64_t>(spec.index) * 86400 + static_cast<int64_t>(spec.seed % 3600)) * 1000000000LL +
         static_cast<int64_t>((spec.seed >> 20) % 1000000000ULL);
}

}  // namespace flowpic::synth
