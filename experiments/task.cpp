#include "experiments/task.hpp"

#include <algorithm>
#include <map>

#include "common/error.hpp"

namespace flowpic {

namespace {

const std::vector<std::string> kEncapsulations = {"Non-VPN", "VPN", "Tor"};

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

void check_encapsulation(const std::string& e, const JsonWhere& w) {
  if (!contains(kEncapsulations, e)) fail(w.str(), ": '", e, "' is not an encapsulation; allowed: Non-VPN, VPN, Tor");
}

}  // namespace

const char* TaskConfig::type_name(TaskType t) {
  switch (t) {
    case TaskType::kCategory: return "category";
    case TaskType::kClassVsAll: return "class_vs_all";
    case TaskType::kEncapsulation: return "encapsulation";
    case TaskType::kApplication: return "application";
    case TaskType::kUnseenApplication: return "unseen_application";
  }
  return "?";
}

TaskConfig TaskConfig::parse(const json& j, const JsonWhere& w) {
  if (!j.is_object()) fail(w.str(), ": expected an object with a \"type\"");
  TaskConfig t;
  std::string type = json_string(j, "type", w);
  std::vector<std::string> allowed = {"type", "categories", "datasets", "label_column"};
  if (type == "category") {
    t.type = TaskType::kCategory;
    allowed.insert(allowed.end(), {"encapsulation"});
  } else if (type == "class_vs_all") {
    t.type = TaskType::kClassVsAll;
    allowed.insert(allowed.end(), {"encapsulation", "target", "others_ratio", "test_encapsulations"});
  } else if (type == "encapsulation") {
    t.type = TaskType::kEncapsulation;
  } else if (type == "application") {
    t.type = TaskType::kApplication;
    allowed = {"type", "encapsulation", "applications", "datasets"};
  } else if (type == "unseen_application") {
    t.type = TaskType::kUnseenApplication;
    allowed.insert(allowed.end(), {"encapsulation", "target", "others_ratio", "held_out"});
  } else {
    fail(w.at("type").str(), ": unknown task '", type,
         "'; allowed: category, class_vs_all, encapsulation, application, unseen_application");
  }
  check_keys(j, w, allowed);
  if (j.contains("encapsulation")) {
    t.encapsulation = json_string(j, "encapsulation", w);
    // "any": every flow of the categories, and no encapsulation column needed (stores of other
    // datasets, e.g. UC Davis, have none); only for category tasks.
    if (t.encapsulation == kAnyEncapsulation) {
      if (t.type != TaskType::kCategory)
        fail(w.at("encapsulation").str(), ": \"any\" is only for category tasks; allowed here: Non-VPN, VPN, Tor");
    } else {
      check_encapsulation(t.encapsulation, w.at("encapsulation"));
    }
  }
  if (j.contains("label_column")) {
    t.label_column = json_string(j, "label_column", w);
    if (t.label_column.empty()) fail(w.at("label_column").str(), ": must name a label column of the store");
  }
  if (j.contains("categories")) {
    t.categories = json_strings(j, "categories", w);
    if (t.categories.size() < 2 && t.type != TaskType::kEncapsulation)
      fail(w.at("categories").str(), ": at least two categories are needed");
  } else if (t.label_column != "category") {
    fail(w.at("categories").str(), ": list the classes (values of label column '", t.label_column, "')");
  } else if (t.type != TaskType::kEncapsulation && t.encapsulation == "VPN") {
    t.categories.pop_back();  // the VPN captures have no browsing (paper: VPN has four categories)
  }
  if (j.contains("datasets")) t.datasets = json_strings(j, "datasets", w);
  if (t.type == TaskType::kClassVsAll || t.type == TaskType::kUnseenApplication) {
    t.target = json_string(j, "target", w);
    if (!contains(t.categories, t.target))
      fail(w.at("target").str(), ": '", t.target, "' is not one of the task's categories");
    if (j.contains("others_ratio")) {
      t.others_ratio = json_number(j, "others_ratio", w);
      if (!(t.others_ratio > 0 && t.others_ratio <= 100)) fail(w.at("others_ratio").str(), ": must be in (0, 100]");
    }
  }
  if (j.contains("test_encapsulations")) {
    t.test_encapsulations = json_strings(j, "test_encapsulations", w);
    for (size_t i = 0; i < t.test_encapsulations.size(); ++i) {
      check_encapsulation(t.test_encapsulations[i], w.at("test_encapsulations").at(i));
      if (t.test_encapsulations[i] == t.encapsulation)
        fail(w.at("test_encapsulations").at(i).str(),
             ": the training encapsulation is tested on its own test split already");
    }
  }
  if (t.type == TaskType::kApplication) {
    t.applications = json_strings(j, "applications", w);
    if (t.applications.size() < 2) fail(w.at("applications").str(), ": at least two applications are needed");
    for (size_t i = 0; i < t.applications.size(); ++i)
      if (t.applications[i].find(':') == std::string::npos)
        fail(w.at("applications").at(i).str(), ": '", t.applications[i],
             "' should be \"Category:Application\", e.g. \"VoIP:Skype\"");
  }
  if (t.type == TaskType::kUnseenApplication) {
    t.held_out = json_strings(j, "held_out", w);
    if (t.held_out.empty()) fail(w.at("held_out").str(), ": name at least one application to hold out");
  }
  return t;
}

json TaskConfig::to_json() const {
  json j{{"type", type_name(type)}, {"label_column", label_column}, {"categories", categories}};
  if (!datasets.empty()) j["datasets"] = datasets;
  if (type != TaskType::kEncapsulation) j["encapsulation"] = encapsulation;
  if (type == TaskType::kClassVsAll || type == TaskType::kUnseenApplication) {
    j["target"] = target;
    j["others_ratio"] = others_ratio;
  }
  if (type == TaskType::kClassVsAll) j["test_encapsulations"] = test_encapsulations;
  if (type == TaskType::kApplication) {
    j["applications"] = applications;
    j.erase("categories");
    j.erase("label_column");
  }
  if (type == TaskType::kUnseenApplication) j["held_out"] = held_out;
  return j;
}

FlowAssignment assign_flows(const PacketStore& store, const TaskConfig& task, const std::string& origin) {
  auto column = [&](const char* name) {
    int c = store.label_column(name);
    if (c < 0)
      fail(origin, ": the packet store has no '", name, "' label column (ingest it with a label map that gives one)");
    return &store.labels[static_cast<size_t>(c)];
  };
  const LabelColumn* cat = column(task.label_column.c_str());
  const LabelColumn* enc = task.encapsulation == kAnyEncapsulation ? nullptr : column("encapsulation");
  const LabelColumn* app = (task.type == TaskType::kApplication || task.type == TaskType::kUnseenApplication)
                               ? column("application")
                               : nullptr;
  const LabelColumn* ds = task.datasets.empty() ? nullptr : column("dataset");

  const size_t n = store.num_flows();
  FlowAssignment a;
  a.flow_class.assign(n, -1);
  a.flow_group.assign(n, kGroupNone);
  a.flow_subclass.assign(n, -1);
  a.group_names = {"main", "held_out"};
  for (const auto& e : task.test_encapsulations) a.group_names.push_back("cross:" + e);

  auto value = [](const LabelColumn* c, size_t f) -> std::string {
    int32_t id = c->ids[f];
    return id < 0 ? std::string() : c->values[static_cast<size_t>(id)];
  };
  auto index_of = [](const std::vector<std::string>& v, const std::string& s) -> int32_t {
    auto it = std::find(v.begin(), v.end(), s);
    return it == v.end() ? -1 : static_cast<int32_t>(it - v.begin());
  };

  switch (task.type) {
    case TaskType::kCategory: a.class_names = task.categories; break;
    case TaskType::kEncapsulation: a.class_names = kEncapsulations; break;
    case TaskType::kApplication: a.class_names = task.applications; break;
    case TaskType::kClassVsAll:
    case TaskType::kUnseenApplication:
      a.class_names = {task.target, "other"};
      for (const auto& c : task.categories)
        if (c != task.target) a.subclass_names.push_back(c);
      break;
  }

  for (size_t f = 0; f < n; ++f) {
    if (ds && !contains(task.datasets, value(ds, f))) continue;
    const std::string c = value(cat, f), e = enc ? value(enc, f) : task.encapsulation;
    switch (task.type) {
      case TaskType::kCategory:
        if (e == task.encapsulation) a.flow_class[f] = index_of(a.class_names, c);
        break;
      case TaskType::kEncapsulation:
        if (contains(task.categories, c)) a.flow_class[f] = index_of(a.class_names, e);
        break;
      case TaskType::kApplication:
        if (e == task.encapsulation) a.flow_class[f] = index_of(a.class_names, c + ":" + value(app, f));
        break;
      case TaskType::kClassVsAll:
      case TaskType::kUnseenApplication:
        // Training encapsulation, or one the model is also tested on (Table IV's cross cells).
        if (!contains(task.categories, c) || (e != task.encapsulation && !contains(task.test_encapsulations, e))) break;
        a.flow_class[f] = c == task.target ? 0 : 1;
        if (c != task.target) a.flow_subclass[f] = index_of(a.subclass_names, c);
        break;
    }
    if (a.flow_class[f] < 0) continue;
    a.flow_group[f] = kGroupMain;
    if (task.type == TaskType::kClassVsAll || task.type == TaskType::kUnseenApplication) {
      if (e != task.encapsulation)
        a.flow_group[f] = kGroupCrossFirst + index_of(task.test_encapsulations, e);
      else if (task.type == TaskType::kUnseenApplication && a.flow_class[f] == 0 &&
               contains(task.held_out, value(app, f)))
        a.flow_group[f] = kGroupHeldOut;
    }
  }

  // Every class (and held-out application) must have flows: an empty class is a config error.
  std::vector<size_t> per_class(a.class_names.size(), 0);
  for (size_t f = 0; f < n; ++f)
    if (a.flow_class[f] >= 0 && a.flow_group[f] == kGroupMain) ++per_class[static_cast<size_t>(a.flow_class[f])];
  for (size_t c = 0; c < per_class.size(); ++c)
    if (per_class[c] == 0)
      fail(origin, ": task.", task.type == TaskType::kApplication ? "applications" : "categories", ": class '",
           a.class_names[c], "' has no flows in the store for encapsulation '", task.encapsulation,
           "' (check the store's labels with flowpic_data info)");
  for (const auto& h : task.held_out) {
    bool any = false;
    for (size_t f = 0; f < n && !any; ++f) any = a.flow_group[f] == kGroupHeldOut && value(app, f) == h;
    if (!any)
      fail(origin, ": task.held_out: no '", task.target, "' flow of application '", h, "' in encapsulation '",
           task.encapsulation, "'");
  }
  return a;
}

}  // namespace flowpic
