// Tasks pick the right flows and classes; splits keep flows whole and are deterministic;
// balancing and class-vs-all sampling keep the documented proportions; metrics are exact.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "common/error.hpp"
#include "experiments/metrics.hpp"
#include "experiments/split.hpp"
#include "experiments/task.hpp"

using namespace flowpic;

namespace {

// A store with label columns only (tasks never look at packets).
PacketStore labelled_store(const std::vector<std::array<const char*, 3>>& flows) {
  PacketStore s;
  const char* names[] = {"category", "application", "encapsulation"};
  for (int c = 0; c < 3; ++c) {
    LabelColumn col;
    col.name = names[c];
    for (const auto& f : flows) {
      std::string v = f[static_cast<size_t>(c)];
      auto it = std::find(col.values.begin(), col.values.end(), v);
      if (it == col.values.end()) {
        col.values.push_back(v);
        it = col.values.end() - 1;
      }
      col.ids.push_back(static_cast<int32_t>(it - col.values.begin()));
    }
    s.labels.push_back(col);
  }
  s.keys.resize(flows.size());
  return s;
}

TaskConfig task(const std::string& text) { return TaskConfig::parse(parse_json(text, "t.json"), {"t.json", "task"}); }

const std::vector<std::array<const char*, 3>> kFlows = {
    {"VoIP", "Skype", "Non-VPN"},     {"VoIP", "Facebook", "Non-VPN"},
    {"Video", "YouTube", "Non-VPN"},  {"Video", "Vimeo", "Non-VPN"},
    {"Video", "Facebook", "Non-VPN"}, {"File Transfer", "SCP", "Non-VPN"},
    {"Chat", "ICQ", "Non-VPN"},       {"Browsing", "Browser", "Non-VPN"},
    {"Email", "Email", "Non-VPN"},    {"VoIP", "Skype", "VPN"},
    {"Video", "Netflix", "VPN"},      {"File Transfer", "SFTP", "VPN"},
    {"Chat", "AIM", "VPN"},           {"VoIP", "Skype", "Tor"},
    {"Video", "YouTube", "Tor"},      {"File Transfer", "FTP", "Tor"},
    {"Chat", "ICQ", "Tor"},           {"Browsing", "Browser", "Tor"},
};

}  // namespace

TEST(Task, CategoryWithinOneEncapsulation) {
  PacketStore s = labelled_store(kFlows);
  FlowAssignment a = assign_flows(s, task(R"({"type": "category", "encapsulation": "Non-VPN"})"), "t.json");
  EXPECT_EQ(a.class_names, (std::vector<std::string>{"VoIP", "Video", "File Transfer", "Chat", "Browsing"}));
  EXPECT_EQ(a.flow_class, (std::vector<int32_t>{0, 0, 1, 1, 1, 2, 3, 4, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1}));
  // VPN has no browsing: four classes by default.
  FlowAssignment v = assign_flows(s, task(R"({"type": "category", "encapsulation": "VPN"})"), "t.json");
  EXPECT_EQ(v.class_names.size(), 4u);
  EXPECT_EQ(v.flow_class[9], 0);
  EXPECT_EQ(v.flow_class[0], -1);
}

TEST(Task, EncapsulationOverTheFiveCategories) {
  PacketStore s = labelled_store(kFlows);
  FlowAssignment a = assign_flows(s, task(R"({"type": "encapsulation"})"), "t.json");
  EXPECT_EQ(a.class_names, (std::vector<std::string>{"Non-VPN", "VPN", "Tor"}));
  EXPECT_EQ(a.flow_class[8], -1) << "email is outside the five categories";
  EXPECT_EQ(a.flow_class[0], 0);
  EXPECT_EQ(a.flow_class[10], 1);
  EXPECT_EQ(a.flow_class[17], 2);
}

TEST(Task, ClassVsAllWithCrossEncapsulationTests) {
  PacketStore s = labelled_store(kFlows);
  FlowAssignment a = assign_flows(
      s, task(R"({"type": "class_vs_all", "encapsulation": "VPN", "target": "VoIP", "test_encapsulations": ["Tor"]})"),
      "t.json");
  EXPECT_EQ(a.class_names, (std::vector<std::string>{"VoIP", "other"}));
  EXPECT_EQ(a.flow_class[9], 0);
  EXPECT_EQ(a.flow_group[9], kGroupMain);
  EXPECT_EQ(a.flow_class[10], 1);
  EXPECT_EQ(a.subclass_names[static_cast<size_t>(a.flow_subclass[10])], "Video");
  EXPECT_EQ(a.flow_class[13], 0);
  EXPECT_EQ(a.group_names[static_cast<size_t>(a.flow_group[13])], "cross:Tor");
  EXPECT_EQ(a.flow_class[17], -1) << "Browsing is not among the VPN task's categories";
  EXPECT_EQ(a.flow_class[0], -1) << "Non-VPN is neither trained nor tested here";
}

TEST(Task, UnseenApplicationsOnlyInTheirTestGroup) {
  PacketStore s = labelled_store(kFlows);
  FlowAssignment a = assign_flows(
      s, task(R"({"type": "unseen_application", "target": "Video", "held_out": ["Vimeo", "YouTube"]})"), "t.json");
  EXPECT_EQ(a.flow_group[2], kGroupHeldOut);
  EXPECT_EQ(a.flow_group[3], kGroupHeldOut);
  EXPECT_EQ(a.flow_group[4], kGroupMain) << "Facebook video is trained on";
  EXPECT_EQ(a.flow_class[4], 0);
  EXPECT_EQ(a.flow_class[0], 1);
}

TEST(Task, ApplicationsAsCategoryPairs) {
  PacketStore s = labelled_store(kFlows);
  FlowAssignment a = assign_flows(
      s, task(R"({"type": "application", "applications": ["VoIP:Skype", "Video:Facebook", "VoIP:Facebook"]})"),
      "t.json");
  EXPECT_EQ(a.flow_class[0], 0);
  EXPECT_EQ(a.flow_class[4], 1);
  EXPECT_EQ(a.flow_class[1], 2);
  EXPECT_EQ(a.flow_class[9], -1) << "VPN Skype is another encapsulation";
}

TEST(Task, BadConfigsAndEmptyClassesAreNamed) {
  auto error_of = [](const std::string& text) -> std::string {
    try {
      PacketStore s = labelled_store(kFlows);
      assign_flows(s, task(text), "t.json");
    } catch (const Error& e) {
      return e.what();
    }
    return "no error";
  };
  EXPECT_NE(error_of(R"({"type": "categry"})").find("t.json: task.type: unknown task 'categry'"), std::string::npos);
  EXPECT_NE(error_of(R"({"type": "category", "encapsulation": "IPsec"})")
                .find("task.encapsulation: 'IPsec' is not an encapsulation"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"type": "category", "target": "VoIP"})").find("task.target: unknown key"), std::string::npos);
  EXPECT_NE(
      error_of(R"({"type": "class_vs_all", "target": "Gaming"})").find("'Gaming' is not one of the task's categories"),
      std::string::npos);
  EXPECT_NE(
      error_of(R"({"type": "application", "applications": ["Skype", "VoIP:Skype"]})").find("\"Category:Application\""),
      std::string::npos);
  EXPECT_NE(error_of(R"({"type": "application", "applications": ["VoIP:Skype", "VoIP:Zoom"]})")
                .find("class 'VoIP:Zoom' has no flows"),
            std::string::npos);
  EXPECT_NE(
      error_of(R"({"type": "unseen_application", "target": "Video", "held_out": ["Netflix"]})").find("task.held_out"),
      std::string::npos);
}

TEST(Split, FlowsStayWholeAndFractionsHold) {
  // 40 flows of 2 classes with 1..10 windows each.
  std::vector<int64_t> unit;
  std::vector<int32_t> cls;
  for (int f = 0; f < 40; ++f)
    for (int w = 0; w < 1 + f % 10; ++w) unit.push_back(f), cls.push_back(f % 2);
  std::vector<Split> s = split_samples(unit, cls, {0.1, 0.2}, true, 7);
  std::map<int64_t, std::set<int>> splits_of_flow;
  std::map<int, size_t> count;
  for (size_t i = 0; i < s.size(); ++i) splits_of_flow[unit[i]].insert(s[i]), ++count[s[i]];
  for (auto& [f, sp] : splits_of_flow) EXPECT_EQ(sp.size(), 1u) << "flow " << f << " is on both sides";
  double n = double(s.size());
  EXPECT_NEAR(count[kTest] / n, 0.2, 0.06);
  EXPECT_NEAR(count[kValidation] / n, 0.1, 0.06);
  EXPECT_EQ(split_samples(unit, cls, {0.1, 0.2}, true, 7), s) << "same seed, same split";
  EXPECT_NE(split_samples(unit, cls, {0.1, 0.2}, true, 8), s);
  // Window-level (paper) protocol: flows may straddle splits, fractions are per class.
  std::vector<Split> w = split_samples(unit, cls, {0.0, 0.1}, false, 7);
  size_t test = std::count(w.begin(), w.end(), kTest);
  EXPECT_NEAR(double(test) / n, 0.1, 0.02);
  EXPECT_THROW(split_samples(unit, cls, {0.5, 0.5}, true, 1), Error);
}

TEST(Split, BalancedUndersampling) {
  std::vector<int32_t> cls = {0, 0, 0, 0, 1, 1, 2, 2, 2, -1};
  std::vector<size_t> all(cls.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = i;
  std::vector<size_t> keep = undersample_balanced(all, cls, 3);
  std::map<int32_t, int> per;
  for (size_t i : keep) ++per[cls[i]];
  EXPECT_EQ(per, (std::map<int32_t, int>{{0, 2}, {1, 2}, {2, 2}}));
  EXPECT_TRUE(std::is_sorted(keep.begin(), keep.end()));
  EXPECT_EQ(undersample_balanced(all, cls, 3), keep);
}

TEST(Split, TargetVsOthersKeepsProportions) {
  // 100 targets; others: 300 of subclass 0, 100 of subclass 1.
  std::vector<int32_t> cls, sub;
  for (int i = 0; i < 100; ++i) cls.push_back(0), sub.push_back(-1);
  for (int i = 0; i < 300; ++i) cls.push_back(1), sub.push_back(0);
  for (int i = 0; i < 100; ++i) cls.push_back(1), sub.push_back(1);
  std::vector<size_t> all(cls.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = i;
  std::vector<size_t> keep = sample_target_vs_others(all, cls, sub, 1.2, 5);
  std::map<int32_t, int> per_sub;
  int targets = 0;
  for (size_t i : keep) cls[i] == 0 ? ++targets : ++per_sub[sub[i]];
  EXPECT_EQ(targets, 100);
  EXPECT_EQ(per_sub[0], 90);
  EXPECT_EQ(per_sub[1], 30);
}

TEST(Metrics, CountsAndScores) {
  // truth:     0 0 0 1 1 2
  // predicted: 0 0 1 1 2 2
  Metrics m = compute_metrics({0, 0, 0, 1, 1, 2}, {0, 0, 1, 1, 2, 2}, {"a", "b", "c"});
  EXPECT_DOUBLE_EQ(m.accuracy, 4.0 / 6.0);
  EXPECT_EQ(m.confusion, (std::vector<std::vector<int64_t>>{{2, 1, 0}, {0, 1, 1}, {0, 0, 1}}));
  EXPECT_DOUBLE_EQ(m.classes[0].precision, 1.0);
  EXPECT_DOUBLE_EQ(m.classes[0].recall, 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(m.classes[1].precision, 0.5);
  EXPECT_DOUBLE_EQ(m.classes[1].recall, 0.5);
  EXPECT_DOUBLE_EQ(m.classes[2].f1, 2 * 0.5 * 1.0 / 1.5);
  EXPECT_DOUBLE_EQ(m.macro_f1, (0.8 + 0.5 + 2.0 / 3.0) / 3.0);
  EXPECT_NE(m.table().find("confusion"), std::string::npos);
  EXPECT_EQ(m.to_json()["classes"][1]["name"], "b");
  EXPECT_THROW(compute_metrics({0, 3}, {0, 0}, {"a", "b"}), Error);
}

TEST(Task, ClassesFromAnotherLabelColumn) {
  PacketStore s = labelled_store(kFlows);
  FlowAssignment a = assign_flows(
      s, task(R"({"type": "category", "label_column": "application", "categories": ["Skype", "Facebook"]})"), "t.json");
  EXPECT_EQ(a.flow_class[0], 0);
  EXPECT_EQ(a.flow_class[1], 1);
  EXPECT_EQ(a.flow_class[4], 1) << "Facebook video is a Facebook flow";
  EXPECT_EQ(a.flow_class[9], -1) << "VPN";
  try {
    assign_flows(s, task(R"({"type": "category", "label_column": "traffic_type", "categories": ["VoIP", "Chat"]})"),
                 "t.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no 'traffic_type' label column"), std::string::npos) << e.what();
  }
  EXPECT_THROW(task(R"({"type": "category", "label_column": "traffic_type"})"), Error) << "classes must be listed";
}
