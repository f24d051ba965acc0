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

// {"column": ["value", ...], ...}: at least one column, each with at least one value.
LabelFilter parse_filter(const json& j, const JsonWhere& w) {
  if (!j.is_object() || j.empty())
    fail(w.str(), ": expected an object of \"label column\": [values], e.g. {\"partition\": [\"pretraining\"]}");
  LabelFilter f;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.key().empty()) fail(w.str(), ": a label column name is empty");
    std::vector<std::string> values = json_strings(j, it.key(), w);
    if (values.empty()) fail(w.at(it.key()).str(), ": list at least one value");
    f.emplace_back(it.key(), std::move(values));
  }
  return f;
}

json filter_json(const LabelFilter& f) {
  json j = json::object();
  for (const auto& [column, values] : f) j[column] = values;
  return j;
}

// Set names the evaluation groups already use, or that name the other sets of a run.
bool reserved_group_name(const std::string& n) {
  return n == "main" || n == "train" || n == "validation" || n == "test" || n == "leftover" || n == "held_out" ||
         n.rfind("cross:", 0) == 0;
}

// A filter resolved against a store: per entry the column and the ids of its values.
struct ResolvedFilter {
  std::vector<std::pair<const LabelColumn*, std::vector<int32_t>>> entries;
  bool matches(size_t f) const {
    for (const auto& [col, ids] : entries)
      if (std::find(ids.begin(), ids.end(), col->ids[f]) == ids.end()) return false;
    return true;
  }
};

ResolvedFilter resolve_filter(const PacketStore& store, const LabelFilter& filter, const std::string& where) {
  ResolvedFilter r;
  for (const auto& [column, values] : filter) {
    const int c = store.label_column(column);
    if (c < 0) {
      std::string have;
      for (const auto& l : store.labels) have += (have.empty() ? "" : ", ") + l.name;
      fail(where, ".", column, ": the packet store has no label column '", column,
           "'; its columns: ", have.empty() ? "none" : have);
    }
    const LabelColumn& col = store.labels[static_cast<size_t>(c)];
    std::vector<int32_t> ids;
    for (const auto& v : values) {
      const int32_t id = col.id_of(v);
      if (id < 0 || std::find(col.ids.begin(), col.ids.end(), id) == col.ids.end())
        fail(where, ".", column, ": no flow of the store has ", column, " '", v, "'");
      ids.push_back(id);
    }
    r.entries.emplace_back(&col, std::move(ids));
  }
  return r;
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
  std::vector<std::string> allowed = {"type", "categories", "datasets", "label_column", "where", "test_groups"};
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
    allowed = {"type", "encapsulation", "applications", "datasets", "where", "test_groups"};
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
  if (j.contains("where")) t.where = parse_filter(j["where"], w.at("where"));
  if (j.contains("test_groups")) {
    const json& groups = j["test_groups"];
    const JsonWhere gw = w.at("test_groups");
    if (!groups.is_array()) fail(gw.str(), ": expected a list of {\"name\": ..., \"where\": {\"column\": [values]}}");
    for (size_t i = 0; i < groups.size(); ++i) {
      const JsonWhere iw = gw.at(std::to_string(i));
      if (!groups[i].is_object()) fail(iw.str(), ": expected an object with \"name\" and \"where\"");
      check_keys(groups[i], iw, {"name", "where"}, {"name", "where"});
      TestGroup g;
      g.name = json_string(groups[i], "name", iw);
      if (g.name.empty() ||
          g.name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") !=
              std::string::npos)
        fail(iw.at("name").str(), ": '", g.name, "' must be a non-empty name of letters, digits, '_' and '-'");
      if (reserved_group_name(g.name))
        fail(iw.at("name").str(), ": '", g.name, "' names another set of the run; choose another name");
      for (const auto& other : t.test_groups)
        if (other.name == g.name) fail(iw.at("name").str(), ": '", g.name, "' names two test groups");
      g.where = parse_filter(groups[i]["where"], iw.at("where"));
      t.test_groups.push_back(std::move(g));
    }
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
  // Written only when set, so the resolved configs of older results still match (--resume).
  if (!where.empty()) j["where"] = filter_json(where);
  if (!test_groups.empty()) {
    j["test_groups"] = json::array();
    for (const auto& g : test_groups) j["test_groups"].push_back({{"name", g.name}, {"where", filter_json(g.where)}});
  }
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
  for (const auto& g : task.test_groups) a.group_names.push_back(g.name);

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

  // task.where and task.test_groups: flows outside `where` leave the task, or go to the one test
  // group they match.
  if (!task.where.empty() || !task.test_groups.empty()) {
    const ResolvedFilter main_filter = resolve_filter(store, task.where, origin + ": task.where");
    std::vector<ResolvedFilter> test_filters;
    for (size_t g = 0; g < task.test_groups.size(); ++g)
      test_filters.push_back(resolve_filter(store, task.test_groups[g].where,
                                            origin + ": task.test_groups." + std::to_string(g) + ".where"));
    const int flow_id = store.label_column("flow_id");
    auto flow_text = [&](size_t f) {
      std::string s = "flow " + std::to_string(f);
      if (flow_id >= 0) s += " (flow_id '" + store.label_of(f, "flow_id") + "')";
      return s;
    };
    const int32_t first_test = kGroupCrossFirst + static_cast<int32_t>(task.test_encapsulations.size());
    for (size_t f = 0; f < n; ++f) {
      if (a.flow_class[f] < 0) continue;
      int32_t group = -1;
      for (size_t g = 0; g < test_filters.size(); ++g) {
        if (!test_filters[g].matches(f)) continue;
        if (group >= 0)
          fail(origin, ": task.test_groups.", g, " ('", task.test_groups[g].name, "'): ", flow_text(f),
               " is also in test group '", task.test_groups[static_cast<size_t>(group)].name,
               "'; a flow may be in one group only");
        group = static_cast<int32_t>(g);
      }
      // Without task.where, the main group is every flow no test group takes.
      const bool main = task.where.empty() ? group < 0 : main_filter.matches(f);
      if (main && group >= 0)
        fail(origin, ": task.test_groups.", group, " ('", task.test_groups[static_cast<size_t>(group)].name,
             "'): ", flow_text(f), " is also in the main group (task.where); a flow may be in one group only");
      if (main) continue;
      if (group >= 0) {
        a.flow_group[f] = first_test + group;
      } else {
        a.flow_class[f] = a.flow_subclass[f] = -1;
        a.flow_group[f] = kGroupNone;
      }
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
