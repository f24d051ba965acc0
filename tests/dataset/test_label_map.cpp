// The shipped label maps cover every capture name of ISCX VPN-nonVPN 2016 and Tor-nonTor 2016
// (../shared/reference/iscx_files.md), and the label-map format rejects bad input with clear errors.
#include <gtest/gtest.h>

#include <algorithm>

#include <string>
#include <vector>

#include "common/error.hpp"
#include "dataset/label_map.hpp"

using namespace flowpic;

namespace {

std::string map_path(const std::string& name) { return std::string(FLOWPIC_SOURCE_DIR) + "/configs/labels/" + name; }

struct Expect {
  const char* file;
  const char* category;
  const char* application;
  const char* encapsulation;
};

// Every name of iscx_files.md, as downloaded (original case, .pcap or .pcapng).
const Expect kVpnNonVpn[] = {
    {"facebook_audio1a.pcap", "VoIP", "Facebook", "Non-VPN"},
    {"facebook_audio1b.pcap", "VoIP", "Facebook", "Non-VPN"},
    {"facebook_audio2a.pcap", "VoIP", "Facebook", "Non-VPN"},
    {"facebook_audio2b.pcap", "VoIP", "Facebook", "Non-VPN"},
    {"facebook_audio3.pcap", "VoIP", "Facebook", "Non-VPN"},
    {"facebook_audio4.pcap", "VoIP", "Facebook", "Non-VPN"},
    {"hangouts_audio1a.pcap", "VoIP", "Hangouts", "Non-VPN"},
    {"hangouts_audio1b.pcap", "VoIP", "Hangouts", "Non-VPN"},
    {"hangouts_audio2a.pcap", "VoIP", "Hangouts", "Non-VPN"},
    {"hangouts_audio2b.pcap", "VoIP", "Hangouts", "Non-VPN"},
    {"hangouts_audio3.pcap", "VoIP", "Hangouts", "Non-VPN"},
    {"hangouts_audio4.pcap", "VoIP", "Hangouts", "Non-VPN"},
    {"skype_audio1a.pcap", "VoIP", "Skype", "Non-VPN"},
    {"skype_audio1b.pcap", "VoIP", "Skype", "Non-VPN"},
    {"skype_audio2a.pcap", "VoIP", "Skype", "Non-VPN"},
    {"skype_audio2b.pcap", "VoIP", "Skype", "Non-VPN"},
    {"skype_audio3.pcap", "VoIP", "Skype", "Non-VPN"},
    {"skype_audio4.pcap", "VoIP", "Skype", "Non-VPN"},
    {"voipbuster1b.pcap", "VoIP", "VoipBuster", "Non-VPN"},
    {"voipbuster2b.pcap", "VoIP", "VoipBuster", "Non-VPN"},
    {"voipbuster3b.pcap", "VoIP", "VoipBuster", "Non-VPN"},
    {"voipbuster_4a.pcap", "VoIP", "VoipBuster", "Non-VPN"},
    {"voipbuster_4b.pcap", "VoIP", "VoipBuster", "Non-VPN"},
    {"facebook_video1a.pcap", "Video", "Facebook", "Non-VPN"},
    {"facebook_video1b.pcap", "Video", "Facebook", "Non-VPN"},
    {"facebook_video2a.pcap", "Video", "Facebook", "Non-VPN"},
    {"facebook_video2b.pcap", "Video", "Facebook", "Non-VPN"},
    {"hangouts_video1b.pcap", "Video", "Hangouts", "Non-VPN"},
    {"hangouts_video2a.pcap", "Video", "Hangouts", "Non-VPN"},
    {"hangouts_video2b.pcap", "Video", "Hangouts", "Non-VPN"},
    {"netflix1.pcap", "Video", "Netflix", "Non-VPN"},
    {"netflix2.pcap", "Video", "Netflix", "Non-VPN"},
    {"netflix3.pcap", "Video", "Netflix", "Non-VPN"},
    {"netflix4.pcap", "Video", "Netflix", "Non-VPN"},
    {"vimeo1.pcap", "Video", "Vimeo", "Non-VPN"},
    {"vimeo2.pcap", "Video", "Vimeo", "Non-VPN"},
    {"vimeo3.pcap", "Video", "Vimeo", "Non-VPN"},
    {"vimeo4.pcap", "Video", "Vimeo", "Non-VPN"},
    {"youtube1.pcap", "Video", "YouTube", "Non-VPN"},
    {"youtube2.pcap", "Video", "YouTube", "Non-VPN"},
    {"youtube3.pcap", "Video", "YouTube", "Non-VPN"},
    {"youtube4.pcap", "Video", "YouTube", "Non-VPN"},
    {"youtube5.pcap", "Video", "YouTube", "Non-VPN"},
    {"youtube6.pcap", "Video", "YouTube", "Non-VPN"},
    {"youtubeHTML5_1.pcap", "Video", "YouTube", "Non-VPN"},
    {"skype_video1a.pcap", "Video", "Skype", "Non-VPN"},
    {"skype_video1b.pcap", "Video", "Skype", "Non-VPN"},
    {"skype_video2a.pcap", "Video", "Skype", "Non-VPN"},
    {"skype_video2b.pcap", "Video", "Skype", "Non-VPN"},
    {"ftps_down_1a.pcap", "File Transfer", "FTPS", "Non-VPN"},
    {"ftps_down_1b.pcap", "File Transfer", "FTPS", "Non-VPN"},
    {"ftps_up_2a.pcap", "File Transfer", "FTPS", "Non-VPN"},
    {"ftps_up_2b.pcap", "File Transfer", "FTPS", "Non-VPN"},
    {"scp1.pcap", "File Transfer", "SCP", "Non-VPN"},
    {"scpDown1.pcap", "File Transfer", "SCP", "Non-VPN"},
    {"scpDown2.pcap", "File Transfer", "SCP", "Non-VPN"},
    {"scpDown3.pcap", "File Transfer", "SCP", "Non-VPN"},
    {"scpDown4.pcap", "File Transfer", "SCP", "Non-VPN"},
    {"scpDown5.pcap", "File Transfer", "SCP", "Non-VPN"},
    {"scpDown6.pcap", "File Transfer", "SCP", "Non-VPN"},
    {"scpUp1.pcap", "File Transfer", "SCP", "Non-VPN"},
    {"scpUp2.pcap", "File Transfer", "SCP", "Non-VPN"},
    {"scpUp3.pcap", "File Transfer", "SCP", "Non-VPN"},
    {"scpUp5.pcap", "File Transfer", "SCP", "Non-VPN"},
    {"scpUp6.pcap", "File Transfer", "SCP", "Non-VPN"},
    {"sftp1.pcap", "File Transfer", "SFTP", "Non-VPN"},
    {"sftpDown1.pcap", "File Transfer", "SFTP", "Non-VPN"},
    {"sftpDown2.pcap", "File Transfer", "SFTP", "Non-VPN"},
    {"sftpUp1.pcap", "File Transfer", "SFTP", "Non-VPN"},
    {"sftp_down_3a.pcap", "File Transfer", "SFTP", "Non-VPN"},
    {"sftp_down_3b.pcap", "File Transfer", "SFTP", "Non-VPN"},
    {"sftp_up_2a.pcap", "File Transfer", "SFTP", "Non-VPN"},
    {"sftp_up_2b.pcap", "File Transfer", "SFTP", "Non-VPN"},
    {"skype_file1.pcap", "File Transfer", "Skype", "Non-VPN"},
    {"skype_file2.pcap", "File Transfer", "Skype", "Non-VPN"},
    {"skype_file3.pcap", "File Transfer", "Skype", "Non-VPN"},
    {"skype_file4.pcap", "File Transfer", "Skype", "Non-VPN"},
    {"skype_file5.pcap", "File Transfer", "Skype", "Non-VPN"},
    {"skype_file6.pcap", "File Transfer", "Skype", "Non-VPN"},
    {"skype_file7.pcap", "File Transfer", "Skype", "Non-VPN"},
    {"skype_file8.pcap", "File Transfer", "Skype", "Non-VPN"},
    {"aim_chat_3a.pcap", "Chat", "AIM", "Non-VPN"},
    {"aim_chat_3b.pcap", "Chat", "AIM", "Non-VPN"},
    {"AIMchat1.pcapng", "Chat", "AIM", "Non-VPN"},
    {"AIMchat2.pcapng", "Chat", "AIM", "Non-VPN"},
    {"facebook_chat_4a.pcap", "Chat", "Facebook", "Non-VPN"},
    {"facebook_chat_4b.pcap", "Chat", "Facebook", "Non-VPN"},
    {"facebookchat1.pcapng", "Chat", "Facebook", "Non-VPN"},
    {"facebookchat2.pcapng", "Chat", "Facebook", "Non-VPN"},
    {"facebookchat3.pcapng", "Chat", "Facebook", "Non-VPN"},
    {"hangout_chat_4b.pcap", "Chat", "Hangouts", "Non-VPN"},
    {"hangouts_chat_4a.pcap", "Chat", "Hangouts", "Non-VPN"},
    {"ICQchat1.pcapng", "Chat", "ICQ", "Non-VPN"},
    {"ICQchat2.pcapng", "Chat", "ICQ", "Non-VPN"},
    {"icq_chat_3a.pcap", "Chat", "ICQ", "Non-VPN"},
    {"icq_chat_3b.pcap", "Chat", "ICQ", "Non-VPN"},
    {"skype_chat1a.pcap", "Chat", "Skype", "Non-VPN"},
    {"skype_chat1b.pcap", "Chat", "Skype", "Non-VPN"},
    {"gmailchat1.pcapng", "Chat", "Gmail", "Non-VPN"},
    {"gmailchat2.pcapng", "Chat", "Gmail", "Non-VPN"},
    {"gmailchat3.pcapng", "Chat", "Gmail", "Non-VPN"},
    {"email1a.pcap", "Email", "Email", "Non-VPN"},
    {"email1b.pcap", "Email", "Email", "Non-VPN"},
    {"email2a.pcap", "Email", "Email", "Non-VPN"},
    {"email2b.pcap", "Email", "Email", "Non-VPN"},
    {"spotify1.pcap", "Audio", "Spotify", "Non-VPN"},
    {"spotify2.pcap", "Audio", "Spotify", "Non-VPN"},
    {"spotify3.pcap", "Audio", "Spotify", "Non-VPN"},
    {"spotify4.pcap", "Audio", "Spotify", "Non-VPN"},
    {"Torrent01.pcap", "P2P", "Torrent", "Non-VPN"},
    {"vpn_facebook_audio2.pcap", "VoIP", "Facebook", "VPN"},
    {"vpn_hangouts_audio1.pcap", "VoIP", "Hangouts", "VPN"},
    {"vpn_hangouts_audio2.pcap", "VoIP", "Hangouts", "VPN"},
    {"vpn_skype_audio1.pcap", "VoIP", "Skype", "VPN"},
    {"vpn_skype_audio2.pcap", "VoIP", "Skype", "VPN"},
    {"vpn_voipbuster1a.pcap", "VoIP", "VoipBuster", "VPN"},
    {"vpn_voipbuster1b.pcap", "VoIP", "VoipBuster", "VPN"},
    {"vpn_netflix_A.pcap", "Video", "Netflix", "VPN"},
    {"vpn_vimeo_A.pcap", "Video", "Vimeo", "VPN"},
    {"vpn_vimeo_B.pcap", "Video", "Vimeo", "VPN"},
    {"vpn_youtube_A.pcap", "Video", "YouTube", "VPN"},
    {"vpn_ftps_A.pcap", "File Transfer", "FTPS", "VPN"},
    {"vpn_ftps_B.pcap", "File Transfer", "FTPS", "VPN"},
    {"vpn_sftp_A.pcap", "File Transfer", "SFTP", "VPN"},
    {"vpn_sftp_B.pcap", "File Transfer", "SFTP", "VPN"},
    {"vpn_skype_files1a.pcap", "File Transfer", "Skype", "VPN"},
    {"vpn_skype_files1b.pcap", "File Transfer", "Skype", "VPN"},
    {"vpn_aim_chat1a.pcap", "Chat", "AIM", "VPN"},
    {"vpn_aim_chat1b.pcap", "Chat", "AIM", "VPN"},
    {"vpn_facebook_chat1a.pcap", "Chat", "Facebook", "VPN"},
    {"vpn_facebook_chat1b.pcap", "Chat", "Facebook", "VPN"},
    {"vpn_hangouts_chat1a.pcap", "Chat", "Hangouts", "VPN"},
    {"vpn_hangouts_chat1b.pcap", "Chat", "Hangouts", "VPN"},
    {"vpn_icq_chat1a.pcap", "Chat", "ICQ", "VPN"},
    {"vpn_icq_chat1b.pcap", "Chat", "ICQ", "VPN"},
    {"vpn_skype_chat1a.pcap", "Chat", "Skype", "VPN"},
    {"vpn_skype_chat1b.pcap", "Chat", "Skype", "VPN"},
    {"vpn_email2a.pcap", "Email", "Email", "VPN"},
    {"vpn_email2b.pcap", "Email", "Email", "VPN"},
    {"vpn_spotify_A.pcap", "Audio", "Spotify", "VPN"},
    {"vpn_bittorrent.pcap", "P2P", "BitTorrent", "VPN"},
    // Split files keep their labels.
    {"ftps_down_1a-1.pcap", "File Transfer", "FTPS", "Non-VPN"},
    {"scp1-2.pcap", "File Transfer", "SCP", "Non-VPN"},
};

const Expect kTor[] = {
    {"VOIP_Facebook_Voice_Gateway.pcap", "VoIP", "Facebook", "Tor"},
    {"VOIP_gate_facebook_Audio.pcap", "VoIP", "Facebook", "Tor"},
    {"VOIP_gate_hangout_audio.pcap", "VoIP", "Hangouts", "Tor"},
    {"VOIP_Hangouts_voice_Gateway.pcap", "VoIP", "Hangouts", "Tor"},
    {"VOIP_gate_Skype_Audio.pcap", "VoIP", "Skype", "Tor"},
    {"VOIP_Skype_Voice_Gateway.pcap", "VoIP", "Skype", "Tor"},
    {"VIDEO_Vimeo_Gateway.pcap", "Video", "Vimeo", "Tor"},
    {"VIDEO_Youtube_Flash_Gateway.pcap", "Video", "YouTube", "Tor"},
    {"VIDEO_Youtube_HTML5_Gateway.pcap", "Video", "YouTube", "Tor"},
    {"FILE-TRANSFER_gate_FTP_transfer.pcap", "File Transfer", "FTP", "Tor"},
    {"FILE-TRANSFER_gate_SFTP_filetransfer.pcap", "File Transfer", "SFTP", "Tor"},
    {"FILE-TRANSFER_tor_skype_transfer.pcap", "File Transfer", "Skype", "Tor"},
    {"CHAT_aimchatgateway.pcap", "Chat", "AIM", "Tor"},
    {"CHAT_gate_AIM_chat.pcap", "Chat", "AIM", "Tor"},
    {"CHAT_facebookchatgateway.pcap", "Chat", "Facebook", "Tor"},
    {"CHAT_gate_facebook_chat.pcap", "Chat", "Facebook", "Tor"},
    {"CHAT_gate_hangout_chat.pcap", "Chat", "Hangouts", "Tor"},
    {"CHAT_hangoutschatgateway.pcap", "Chat", "Hangouts", "Tor"},
    {"CHAT_gate_ICQ_chat.pcap", "Chat", "ICQ", "Tor"},
    {"CHAT_icqchatgateway.pcap", "Chat", "ICQ", "Tor"},
    {"CHAT_gate_skype_chat.pcap", "Chat", "Skype", "Tor"},
    {"CHAT_skypechatgateway.pcap", "Chat", "Skype", "Tor"},
    {"BROWSING_gate_SSL_Browsing.pcap", "Browsing", "Browser", "Tor"},
    {"BROWSING_ssl_browsing_gateway.pcap", "Browsing", "Browser", "Tor"},
    {"BROWSING_tor_browsing_ara.pcap", "Browsing", "Browser", "Tor"},
    {"BROWSING_tor_browsing_ger.pcap", "Browsing", "Browser", "Tor"},
    {"BROWSING_tor_browsing_mam.pcap", "Browsing", "Browser", "Tor"},
    {"BROWSING_tor_browsing_mam2.pcap", "Browsing", "Browser", "Tor"},
    {"AUDIO_spotifygateway.pcap", "Audio", "Spotify", "Tor"},
    {"AUDIO_tor_spotify.pcap", "Audio", "Spotify", "Tor"},
    {"AUDIO_tor_spotify2.pcap", "Audio", "Spotify", "Tor"},
    {"tor_spotify2-1.pcap", "Audio", "Spotify", "Tor"},
    {"tor_spotify2-2.pcap", "Audio", "Spotify", "Tor"},
    {"tor_p2p_multipleSpeed2-1.pcap", "P2P", "MultipleSpeed", "Tor"},
    {"tor_p2p_vuze-2-1.pcap", "P2P", "Vuze", "Tor"},
    {"P2P_tor_p2p_multipleSpeed.pcap", "P2P", "MultipleSpeed", "Tor"},
    {"P2P_tor_p2p_vuze.pcap", "P2P", "Vuze", "Tor"},
    {"MAIL_gate_Email_IMAP_filetransfer.pcap", "Email", "Email", "Tor"},
    {"MAIL_gate_POP_filetransfer.pcap", "Email", "Email", "Tor"},
    {"MAIL_Gateway_Thunderbird_Imap.pcap", "Email", "Email", "Tor"},
    {"MAIL_Gateway_Thunderbird_POP.pcap", "Email", "Email", "Tor"},
    // NonTor captures of the same dataset.
    {"browsing.pcap", "Browsing", "Browser", "Non-VPN"},
    {"browsing2.pcap", "Browsing", "Browser", "Non-VPN"},
    {"browsing_ara.pcap", "Browsing", "Browser", "Non-VPN"},
    {"browsing_ara2.pcap", "Browsing", "Browser", "Non-VPN"},
    {"browsing_ger.pcap", "Browsing", "Browser", "Non-VPN"},
    {"SSL_Browsing.pcap", "Browsing", "Browser", "Non-VPN"},
    {"ssl.pcap", "Browsing", "Browser", "Non-VPN"},
    {"AIM_Chat.pcap", "Chat", "AIM", "Non-VPN"},
    {"aimchat.pcap", "Chat", "AIM", "Non-VPN"},
    {"facebook_chat.pcap", "Chat", "Facebook", "Non-VPN"},
    {"facebookchat.pcap", "Chat", "Facebook", "Non-VPN"},
    {"hangout_chat.pcap", "Chat", "Hangouts", "Non-VPN"},
    {"hangoutschat.pcap", "Chat", "Hangouts", "Non-VPN"},
    {"ICQ_Chat.pcap", "Chat", "ICQ", "Non-VPN"},
    {"icqchat.pcap", "Chat", "ICQ", "Non-VPN"},
    {"skype_chat.pcap", "Chat", "Skype", "Non-VPN"},
    {"skypechat.pcap", "Chat", "Skype", "Non-VPN"},
    {"Skype_Audio.pcap", "VoIP", "Skype", "Non-VPN"},
    {"facebook_Audio.pcap", "VoIP", "Facebook", "Non-VPN"},
    {"Hangout_Audio.pcap", "VoIP", "Hangouts", "Non-VPN"},
    {"Skype_Voice_Workstation.pcap", "VoIP", "Skype", "Non-VPN"},
    {"Facebook_Voice_Workstation.pcap", "VoIP", "Facebook", "Non-VPN"},
    {"Hangouts_voice_Workstation.pcap", "VoIP", "Hangouts", "Non-VPN"},
    {"Vimeo_Workstation.pcap", "Video", "Vimeo", "Non-VPN"},
    {"Youtube_Flash_Workstation.pcap", "Video", "YouTube", "Non-VPN"},
    {"Youtube_HTML5_Workstation.pcap", "Video", "YouTube", "Non-VPN"},
    {"FTP_filetransfer.pcap", "File Transfer", "FTP", "Non-VPN"},
    {"SFTP_filetransfer.pcap", "File Transfer", "SFTP", "Non-VPN"},
    {"skype_transfer.pcap", "File Transfer", "Skype", "Non-VPN"},
    {"Email_IMAP_filetransfer.pcap", "Email", "Email", "Non-VPN"},
    {"POP_filetransfer.pcap", "Email", "Email", "Non-VPN"},
    {"Workstation_Thunderbird_Imap.pcap", "Email", "Email", "Non-VPN"},
    {"Workstation_Thunderbird_POP.pcap", "Email", "Email", "Non-VPN"},
    {"p2p_multipleSpeed.pcap", "P2P", "MultipleSpeed", "Non-VPN"},
    {"p2p_vuze.pcap", "P2P", "Vuze", "Non-VPN"},
    {"spotify.pcap", "Audio", "Spotify", "Non-VPN"},
    {"spotify2.pcap", "Audio", "Spotify", "Non-VPN"},
    {"spotifyAndrew.pcap", "Audio", "Spotify", "Non-VPN"},
};

template <size_t N>
void check_all(const LabelMap& m, const Expect (&cases)[N], const char* dataset) {
  ASSERT_EQ(m.columns(),
            (std::vector<std::string>{"category", "traffic_type", "application", "encapsulation", "dataset"}));
  for (const auto& c : cases) {
    LabelMap::Match r = m.match(std::string("/data/iscx/") + c.file);
    ASSERT_TRUE(r.matched()) << c.file << " is not matched by " << m.name();
    EXPECT_TRUE(r.overlapping.empty()) << c.file << " matches " << r.overlapping.size() + 1 << " rules";
    EXPECT_EQ(r.values[0], c.category) << c.file;
    EXPECT_EQ(r.values[2], c.application) << c.file;
    EXPECT_EQ(r.values[3], c.encapsulation) << c.file;
    EXPECT_EQ(r.values[4], dataset) << c.file;
    EXPECT_FALSE(r.values[1].empty()) << c.file << " has no traffic type";
  }
}

}  // namespace

TEST(LabelMap, IscxVpnNonVpnCoversEveryCapture) {
  check_all(LabelMap::load(map_path("iscx_vpn_nonvpn.json")), kVpnNonVpn, "iscx-vpn2016");
}

TEST(LabelMap, IscxTorCoversEveryCapture) {
  check_all(LabelMap::load(map_path("iscx_tor.json")), kTor, "iscx-tor2016");
}

TEST(LabelMap, TrafficTypesFollowTheIscxClasses) {
  LabelMap m = LabelMap::load(map_path("iscx_vpn_nonvpn.json"));
  EXPECT_EQ(m.match("vimeo1.pcap").values[1], "Streaming");
  EXPECT_EQ(m.match("spotify3.pcap").values[1], "Streaming");
  EXPECT_EQ(m.match("skype_video1a.pcap").values[1], "VoIP");
  EXPECT_EQ(m.match("vpn_bittorrent.pcap").values[1], "P2P");
  EXPECT_EQ(m.match("email2b.pcap").values[1], "Email");
  EXPECT_EQ(m.match("sftpUp1.pcap").values[1], "File Transfer");
}

TEST(LabelMap, UnmatchedNamesHaveNoLabels) {
  LabelMap m = LabelMap::load(map_path("iscx_vpn_nonvpn.json"));
  LabelMap::Match r = m.match("holiday_photos.pcap");
  EXPECT_FALSE(r.matched());
  EXPECT_EQ(r.values, std::vector<std::string>(5, ""));
  EXPECT_FALSE(m.match("vpn_youtube_AB.pcap").matched()) << "rules match whole names only";
}

TEST(LabelMap, BothMapsTogether) {
  LabelMap m = LabelMap::load_all({map_path("iscx_vpn_nonvpn.json"), map_path("iscx_tor.json")});
  EXPECT_EQ(m.name(), "iscx_vpn_nonvpn+iscx_tor");
  EXPECT_EQ(m.match("CHAT_gate_ICQ_chat.pcap").values[3], "Tor");
  EXPECT_EQ(m.match("vpn_sftp_B.pcap").values[3], "VPN");
  // spotify2 is a capture name in both datasets: the first map wins and the overlap is reported.
  LabelMap::Match r = m.match("spotify2.pcap");
  EXPECT_EQ(r.values[4], "iscx-vpn2016");
  EXPECT_EQ(r.overlapping.size(), 1u);
  // Both maps drop DNS, NTP...: each filter is kept once.
  const auto& filters = m.flow_filters();
  EXPECT_EQ(filters.size(), LabelMap::load(map_path("iscx_vpn_nonvpn.json")).flow_filters().size());
  EXPECT_EQ(std::count_if(filters.begin(), filters.end(), [](const FlowFilter& f) { return f.name == "dns"; }), 1);
}

TEST(LabelMap, OverlappingRulesFirstWins) {
  LabelMap m = LabelMap::parse(R"({"name": "t", "columns": ["category", "app"],
      "rules": [{"match": "skype_.*", "labels": {"category": "VoIP", "app": "Skype"}},
                {"match": "skype_chat\\d+", "labels": {"category": "Chat"}}]})",
                               "t.json");
  LabelMap::Match r = m.match("skype_chat1.pcap");
  EXPECT_EQ(r.rule, 0);
  EXPECT_EQ(r.overlapping, std::vector<int>{1});
  EXPECT_EQ(r.values, (std::vector<std::string>{"VoIP", "Skype"}));
  LabelMap::Match partial = m.match("x.pcap");
  EXPECT_FALSE(partial.matched());
}

TEST(LabelMap, FlowFilters) {
  LabelMap m = LabelMap::load(map_path("iscx_vpn_nonvpn.json"));
  FlowKey dns;
  dns.protocol = 17;
  dns.port_a = 51000;
  dns.port_b = 53;
  ASSERT_NE(m.filter_for(dns), nullptr);
  EXPECT_EQ(m.filter_for(dns)->name, "dns");
  FlowKey https = dns;
  https.protocol = 6;
  https.port_b = 443;
  EXPECT_EQ(m.filter_for(https), nullptr);

  LabelMap a = LabelMap::parse(R"({"name": "t", "columns": ["c"], "rules": [],
      "flow_filters": [{"name": "host", "address": "2001:db8::1"}]})",
                               "t.json");
  FlowKey v6;
  v6.ip_version = 6;
  v6.addr_b = parse_ip_address("2001:db8::1")->second;
  EXPECT_NE(a.filter_for(v6), nullptr);
  v6.ip_version = 4;
  EXPECT_EQ(a.filter_for(v6), nullptr) << "an IPv6 filter never matches an IPv4 flow";
}

TEST(LabelMap, BadMapsGiveOneClearLine) {
  auto error_of = [](const std::string& text) -> std::string {
    try {
      LabelMap::parse(text, "bad.json");
    } catch (const Error& e) {
      return e.what();
    }
    return "no error";
  };
  EXPECT_NE(error_of(R"({"name": "t", "columns": ["c"], "rules": [{"match": "(", "labels": {"c": "x"}}]})")
                .find("bad.json: rules[0].match: '(' is not a valid regular expression"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"name": "t", "columns": ["c"], "rules": [{"match": "a", "labels": {"d": "x"}}]})")
                .find("bad.json: rules[0].labels.d: not a label column; the map's columns are: c"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"name": "t", "columns": ["c"], "rulez": []})").find("bad.json: rulez: unknown key"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"name": "t", "columns": ["c"], "rules": [], "flow_filters": [{"name": "x", "port": 70000}]})")
                .find("flow_filters[0].port: 70000 is not a port number"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"name": "t", "columns": ["c"], "rules": [], "flow_filters": [{"name": "all"}]})")
                .find("would drop every flow"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"name": "t", "columns": ["c"], "rules": [}")").find("bad.json:1:"), std::string::npos);
  EXPECT_THROW(LabelMap::load("/no/such/map.json"), Error);
}
