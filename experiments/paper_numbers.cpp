#include "experiments/paper_numbers.hpp"

namespace flowpic {

// The papers' numbers, in percent. FlowPic: Shapira & Shavitt, INFOCOM workshops 2019 (Tables III
// and IV and the text); payload images: He & Li, DSC 2020 (abstract); tcbench: Finamore et al.,
// IMC 2023 (Table 3). Nowhere else in the code.
const std::vector<PaperNumber>& paper_numbers() {
  static const std::vector<PaperNumber> numbers = {
      // Table III summary.
      {"nonvpn_category", "test", "accuracy", 85.0, "FlowPic Table III"},
      {"vpn_category", "test", "accuracy", 98.4, "FlowPic Table III"},
      {"tor_category", "test", "accuracy", 67.8, "FlowPic Table III"},
      {"encapsulation", "test", "accuracy", 88.4, "FlowPic Table III"},
      {"encapsulation", "test", "recall:Tor", 97.7, "FlowPic text"},
      {"encapsulation", "test", "precision:Tor", 100.0, "FlowPic text"},
      {"application", "test", "accuracy", 99.7, "FlowPic Table III"},
      {"application", "test", "recall:VoIP:Skype", 99.7, "FlowPic text"},
      {"application", "test", "recall:Video:Vimeo", 99.4, "FlowPic text"},
      {"application", "test", "recall:Video:YouTube", 98.9, "FlowPic text"},
      {"class_vs_all_average_nonvpn", "test", "accuracy", 97.0, "FlowPic Table III"},
      {"class_vs_all_average_vpn", "test", "accuracy", 99.7, "FlowPic Table III"},
      {"class_vs_all_average_tor", "test", "accuracy", 85.7, "FlowPic Table III"},
      // Table IV: class vs all, trained on one encapsulation, tested on each.
      {"class_vs_all_voip_nonvpn", "test", "accuracy", 99.6, "FlowPic Table IV"},
      {"class_vs_all_voip_nonvpn", "cross:VPN", "accuracy", 99.4, "FlowPic Table IV"},
      {"class_vs_all_voip_nonvpn", "cross:Tor", "accuracy", 48.2, "FlowPic Table IV"},
      {"class_vs_all_voip_vpn", "cross:Non-VPN", "accuracy", 95.8, "FlowPic Table IV"},
      {"class_vs_all_voip_vpn", "test", "accuracy", 99.9, "FlowPic Table IV"},
      {"class_vs_all_voip_vpn", "cross:Tor", "accuracy", 58.1, "FlowPic Table IV"},
      {"class_vs_all_voip_tor", "cross:Non-VPN", "accuracy", 52.1, "FlowPic Table IV"},
      {"class_vs_all_voip_tor", "cross:VPN", "accuracy", 35.8, "FlowPic Table IV"},
      {"class_vs_all_voip_tor", "test", "accuracy", 93.3, "FlowPic Table IV"},
      {"class_vs_all_video_nonvpn", "test", "accuracy", 99.9, "FlowPic Table IV"},
      {"class_vs_all_video_nonvpn", "cross:VPN", "accuracy", 98.8, "FlowPic Table IV"},
      {"class_vs_all_video_nonvpn", "cross:Tor", "accuracy", 83.8, "FlowPic Table IV"},
      {"class_vs_all_video_vpn", "cross:Non-VPN", "accuracy", 54.0, "FlowPic Table IV"},
      {"class_vs_all_video_vpn", "test", "accuracy", 99.9, "FlowPic Table IV"},
      {"class_vs_all_video_vpn", "cross:Tor", "accuracy", 57.8, "FlowPic Table IV"},
      {"class_vs_all_video_tor", "cross:Non-VPN", "accuracy", 55.3, "FlowPic Table IV"},
      {"class_vs_all_video_tor", "cross:VPN", "accuracy", 86.1, "FlowPic Table IV"},
      {"class_vs_all_video_tor", "test", "accuracy", 99.9, "FlowPic Table IV"},
      {"class_vs_all_file_transfer_nonvpn", "test", "accuracy", 98.8, "FlowPic Table IV"},
      {"class_vs_all_file_transfer_nonvpn", "cross:VPN", "accuracy", 79.9, "FlowPic Table IV"},
      {"class_vs_all_file_transfer_nonvpn", "cross:Tor", "accuracy", 60.6, "FlowPic Table IV"},
      {"class_vs_all_file_transfer_vpn", "cross:Non-VPN", "accuracy", 65.1, "FlowPic Table IV"},
      {"class_vs_all_file_transfer_vpn", "test", "accuracy", 99.9, "FlowPic Table IV"},
      {"class_vs_all_file_transfer_vpn", "cross:Tor", "accuracy", 54.5, "FlowPic Table IV"},
      {"class_vs_all_file_transfer_tor", "cross:Non-VPN", "accuracy", 63.1, "FlowPic Table IV"},
      {"class_vs_all_file_transfer_tor", "cross:VPN", "accuracy", 35.8, "FlowPic Table IV"},
      {"class_vs_all_file_transfer_tor", "test", "accuracy", 55.8, "FlowPic Table IV"},
      {"class_vs_all_chat_nonvpn", "test", "accuracy", 96.2, "FlowPic Table IV"},
      {"class_vs_all_chat_nonvpn", "cross:VPN", "accuracy", 78.9, "FlowPic Table IV"},
      {"class_vs_all_chat_nonvpn", "cross:Tor", "accuracy", 70.3, "FlowPic Table IV"},
      {"class_vs_all_chat_vpn", "cross:Non-VPN", "accuracy", 71.7, "FlowPic Table IV"},
      {"class_vs_all_chat_vpn", "test", "accuracy", 99.2, "FlowPic Table IV"},
      {"class_vs_all_chat_vpn", "cross:Tor", "accuracy", 69.4, "FlowPic Table IV"},
      {"class_vs_all_chat_tor", "cross:Non-VPN", "accuracy", 85.8, "FlowPic Table IV"},
      {"class_vs_all_chat_tor", "cross:VPN", "accuracy", 93.1, "FlowPic Table IV"},
      {"class_vs_all_chat_tor", "test", "accuracy", 89.0, "FlowPic Table IV"},
      {"class_vs_all_browsing_nonvpn", "test", "accuracy", 90.6, "FlowPic Table IV"},
      {"class_vs_all_browsing_nonvpn", "cross:Tor", "accuracy", 57.2, "FlowPic Table IV"},
      {"class_vs_all_browsing_tor", "cross:Non-VPN", "accuracy", 76.1, "FlowPic Table IV"},
      {"class_vs_all_browsing_tor", "test", "accuracy", 90.6, "FlowPic Table IV"},
      // Unseen applications (held out of training; class vs all).
      {"unseen_video_no_vimeo_youtube", "held_out", "accuracy", 83.1, "FlowPic text"},
      {"unseen_video_no_facebook", "held_out", "accuracy", 99.9, "FlowPic text"},
      {"unseen_voip_no_facebook", "held_out", "accuracy", 96.3, "FlowPic text"},
      // Payload-size images (He & Li): F1.
      {"payload_conventional", "test", "macro_f1", 97.73, "He & Li abstract"},
      {"payload_vpn", "test", "macro_f1", 99.55, "He & Li abstract"},
      // tcbench (Finamore et al., IMC'23), Table 3: ucdavis-icdm19, 32x32, accuracy by augmentation
      // on the script and human partitions and the leftover pretraining flows (mean ± std over its
      // runs where the table gives them; tcbench's docs.material/paper_tables_and_figures).
      {"tcbench/ucdavis_32_none", "script", "accuracy", 95.73, "tcbench Table 3", 0.27},
      {"tcbench/ucdavis_32_none", "human", "accuracy", 69.48, "tcbench Table 3", 1.17},
      {"tcbench/ucdavis_32_none", "leftover", "accuracy", 96.05, "tcbench Table 3"},
      {"tcbench/ucdavis_32_change_rtt", "script", "accuracy", 97.33, "tcbench Table 3"},
      {"tcbench/ucdavis_32_change_rtt", "human", "accuracy", 70.04, "tcbench Table 3"},
      {"tcbench/ucdavis_32_colour_jitter", "script", "accuracy", 97.87, "tcbench Table 3"},
      {"tcbench/ucdavis_32_colour_jitter", "human", "accuracy", 68.84, "tcbench Table 3"},
  };
  return numbers;
}

std::optional<double> paper_number(const std::string& config, const std::string& group, const std::string& metric) {
  for (const auto& p : paper_numbers())
    if (config == p.config && group == p.group && metric == p.metric) return p.percent;
  return std::nullopt;
}

std::optional<double> paper_number_std(const std::string& config, const std::string& group, const std::string& metric) {
  for (const auto& p : paper_numbers())
    if (config == p.config && group == p.group && metric == p.metric && p.std_percent >= 0) return p.std_percent;
  return std::nullopt;
}

}  // namespace flowpic
