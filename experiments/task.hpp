#pragma once
// Tasks (reference flowpic.md): which flows of a packet store take part in an experiment, with
// which class, and in which evaluation group. Works on flows; windows come later (sample index).
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/json_util.hpp"
#include "dataset/packet_store.hpp"

namespace flowpic {

inline constexpr const char* kAnyEncapsulation = "any";

// Flows whose label columns take one of the listed values, every listed column at once:
// {"partition": ["pretraining"]}. Empty = every flow.
using LabelFilter = std::vector<std::pair<std::string, std::vector<std::string>>>;

// A test-only evaluation set of the flows a filter selects (task.test_groups).
struct TestGroup {
  std::string name;  // the evaluation group's name ("script", "human")
  LabelFilter where;
};

enum class TaskType { kCategory, kClassVsAll, kEncapsulation, kApplication, kUnseenApplication };

struct TaskConfig {
  TaskType type = TaskType::kCategory;
  // Training encapsulation (all but `encapsulation` tasks): "Non-VPN", "VPN" or "Tor"; category
  // tasks also "any" (every flow; the store needs no encapsulation column).
  std::string encapsulation = "Non-VPN";
  // The label column whose values are the classes of category, class_vs_all and
  // unseen_application tasks ("traffic_type" for the payload-image paper's classes).
  std::string label_column = "category";
  // Categories (values of label_column) taking part; default FlowPic's five.
  std::vector<std::string> categories = {"VoIP", "Video", "File Transfer", "Chat", "Browsing"};
  // class_vs_all and unseen_application: the target category.
  std::string target;
  // class_vs_all and unseen_application: the "all" side, as a multiple of the target's samples,
  // sampled keeping the other categories' proportions (1.0 paper text, 1.2 authors' code).
  double others_ratio = 1.0;
  // class_vs_all: also evaluate the trained model on these encapsulations (Table IV's cross cells).
  std::vector<std::string> test_encapsulations;
  // application: "Category:Application" entries, each a class (paper: 10 VoIP and Video apps).
  std::vector<std::string> applications;
  // unseen_application: applications of the target category kept out of training; they appear
  // only in a separate test group.
  std::vector<std::string> held_out;
  // Optional restriction on the store's "dataset" column (e.g. ["iscx-vpn2016"]); empty = all.
  std::vector<std::string> datasets;
  // task.where: only flows matching it take part in the main group (and held-out / cross groups);
  // other flows are not part of the task unless a test group takes them.
  LabelFilter where;
  // task.test_groups: test-only evaluation sets, after the held-out and cross groups; their flows
  // must not match `where` nor another test group. Without `where`, the main group is the flows
  // no test group takes.
  std::vector<TestGroup> test_groups;

  static TaskConfig parse(const json& j, const JsonWhere& where);
  json to_json() const;
  static const char* type_name(TaskType t);
};

// Evaluation groups of flows.
enum FlowGroup : int32_t {
  kGroupNone = -1,      // not part of the task
  kGroupMain = 0,       // split into train / validation / test
  kGroupHeldOut = 1,    // unseen applications: test only
  kGroupCrossFirst = 2  // class_vs_all: 2 + i for test_encapsulations[i], test only; then
                        // 2 + test_encapsulations.size() + j for test_groups[j], test only
};

struct FlowAssignment {
  std::vector<std::string> class_names;
  std::vector<int32_t> flow_class;       // per store flow: class id or -1
  std::vector<int32_t> flow_group;       // per store flow: FlowGroup
  std::vector<std::string> group_names;  // "main", "held_out", "cross:Tor", ..., then the test groups' names
  // For class_vs_all / unseen_application: the category of each "all"-side flow, for proportional sampling.
  std::vector<int32_t> flow_subclass;
  std::vector<std::string> subclass_names;
};

// Throws naming the task key when the store lacks a needed label column or a named class has no
// flows; for task.where and task.test_groups, when a column is not in the store (naming the
// store's columns), a value no flow has, or a flow falls in two groups.
FlowAssignment assign_flows(const PacketStore& store, const TaskConfig& task, const std::string& origin);

}  // namespace flowpic
