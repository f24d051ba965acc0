// The layering rule of docs/architecture.md, checked on the source tree itself:
//   common -> dataset -> kernels -> experiments -> apps, and nn beside dataset/kernels (it needs
//   neither); a file includes headers of its own layer and the layers below only; no two files
//   of the tree include each other (directly or through others); each CMake library links only
//   libraries below it.
// The checker reads the files (it does not compile them), so it also covers the CUDA sources and
// the code of the configuration that is not built here.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "support/temp_dir.hpp"

namespace {

namespace fs = std::filesystem;

// What each folder may include (its own layer and those below).
const std::map<std::string, std::set<std::string>>& allowed_layers() {
  static const std::map<std::string, std::set<std::string>> m = {
      {"common", {"common"}},
      {"dataset", {"common", "dataset"}},
      {"kernels", {"common", "dataset", "kernels"}},
      {"nn", {"common", "nn"}},
      {"experiments", {"common", "dataset", "kernels", "nn", "experiments"}},
      {"apps", {"common", "dataset", "kernels", "nn", "experiments", "apps"}},
      // Benchmarks measure the libraries; the fuzz targets feed them.
      {"bench", {"common", "dataset", "kernels", "nn", "experiments"}},
      {"tests/fuzz", {"common", "dataset", "kernels", "nn", "experiments"}},
  };
  return m;
}

// The layer a library belongs to, by its CMake name.
std::string layer_of_library(const std::string& lib) {
  const std::string prefix = "flowpic_";
  if (lib.rfind(prefix, 0) != 0) return "";
  const std::string layer = lib.substr(prefix.size());
  return allowed_layers().count(layer) ? layer : "";
}

bool is_source(const fs::path& p) {
  const std::string e = p.extension().string();
  return e == ".cpp" || e == ".hpp" || e == ".cu" || e == ".cuh" || e == ".h" || e == ".in";
}

std::string module_of(const std::string& rel) {  // "experiments/runner.cpp" -> "experiments/runner"
  const size_t dot = rel.find_last_of('.');
  return dot == std::string::npos ? rel : rel.substr(0, dot);
}

struct Include {
  std::string file;  // relative to the root
  int line = 0;
  std::string target;  // as written between the quotes
};

// Every #include "..." of every source file under the layer folders, bench/ and tests/.
std::vector<Include> read_includes(const fs::path& root) {
  static const std::regex kInclude(R"re(^\s*#\s*include\s*"([^"]+)")re");
  std::vector<Include> out;
  for (const char* top : {"common", "dataset", "kernels", "nn", "experiments", "apps", "bench", "tests"}) {
    if (!fs::is_directory(root / top)) continue;
    for (const auto& entry : fs::recursive_directory_iterator(root / top)) {
      if (!entry.is_regular_file() || !is_source(entry.path())) continue;
      const std::string rel = fs::relative(entry.path(), root).generic_string();
      if (rel.rfind("tests/data/", 0) == 0) continue;
      std::ifstream in(entry.path());
      std::string text;
      int n = 0;
      while (std::getline(in, text)) {
        ++n;
        std::smatch m;
        if (std::regex_search(text, m, kInclude)) out.push_back({rel, n, m[1]});
      }
    }
  }
  std::sort(out.begin(), out.end(),
            [](const Include& a, const Include& b) { return std::tie(a.file, a.line) < std::tie(b.file, b.line); });
  return out;
}

// The folder whose rule applies to a file: "kernels", "tests/fuzz", or the suite a test file
// belongs to ("tests/kernels/x.cpp" follows the kernels rule, plus tests/support).
std::string rule_of(const std::string& rel, bool* is_test) {
  *is_test = false;
  if (rel.rfind("tests/fuzz/", 0) == 0) return "tests/fuzz";
  if (rel.rfind("tests/", 0) == 0) {
    *is_test = true;
    const std::string rest = rel.substr(6);
    return rest.substr(0, rest.find('/'));
  }
  return rel.substr(0, rel.find('/'));
}

// Includes of a header of a layer the file may not use.
std::vector<std::string> layer_violations(const fs::path& root) {
  std::vector<std::string> out;
  for (const Include& inc : read_includes(root)) {
    bool is_test = false;
    const std::string rule = rule_of(inc.file, &is_test);
    const size_t slash = inc.target.find('/');
    if (slash == std::string::npos) continue;  // a neighbour in the same folder ("helpers.hpp")
    const std::string target_layer = inc.target.substr(0, slash);
    if (!allowed_layers().count(target_layer)) continue;  // tests' "support/...", generated headers
    auto it = allowed_layers().find(rule);
    if (it == allowed_layers().end()) continue;  // tests/support: checked through the suites that use it
    if (it->second.count(target_layer)) continue;
    std::string may;
    for (const auto& l : it->second) may += (may.empty() ? "" : ", ") + l;
    out.push_back(inc.file + ":" + std::to_string(inc.line) + " includes " + inc.target + " (" +
                  (is_test ? "tests/" + rule + " follows " + rule + ": " : rule + " ") + "may include " + may + ")");
  }
  return out;
}

// Cycles among the files' modules (a .cpp and its .hpp are one module): each printed once as
// "a -> b -> a".
std::vector<std::string> include_cycles(const fs::path& root) {
  std::map<std::string, std::set<std::string>> edges;
  for (const Include& inc : read_includes(root)) {
    const std::string from = module_of(inc.file);
    const std::string to = module_of(inc.target);
    if (from != to && fs::exists(root / inc.target)) edges[from].insert(to);
  }
  std::vector<std::string> out;
  std::set<std::string> reported;
  std::map<std::string, int> state;  // 0 new, 1 on the stack, 2 done
  std::vector<std::string> stack;
  std::function<void(const std::string&)> visit = [&](const std::string& m) {
    state[m] = 1;
    stack.push_back(m);
    for (const auto& n : edges[m]) {
      if (state[n] == 1) {
        auto start = std::find(stack.begin(), stack.end(), n);
        std::vector<std::string> cycle(start, stack.end());
        std::vector<std::string> key = cycle;
        std::sort(key.begin(), key.end());
        std::string k;
        for (const auto& s : key) k += s + " ";
        if (!reported.insert(k).second) continue;
        std::string text;
        for (const auto& s : cycle) text += s + " -> ";
        out.push_back(text + n);
      } else if (state[n] == 0) {
        visit(n);
      }
    }
    stack.pop_back();
    state[m] = 2;
  };
  for (const auto& e : edges)
    if (state[e.first] == 0) visit(e.first);
  return out;
}

// flowpic_X libraries linking a library of a layer X may not use: in flowpic_add_library(NAME
// DIR DEPS ...) and target_link_libraries(NAME ...) of every CMakeLists.txt.
std::vector<std::string> link_violations(const fs::path& root) {
  static const std::regex kCall(R"((flowpic_add_library|target_link_libraries)\s*\(([^)]*)\))");
  static const std::regex kWord(R"([A-Za-z0-9_:${}.-]+)");
  std::vector<std::string> out;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (!entry.is_regular_file() || entry.path().filename() != "CMakeLists.txt") continue;
    const std::string rel = fs::relative(entry.path(), root).generic_string();
    if (rel.rfind("build", 0) == 0 || rel.rfind(".git", 0) == 0) continue;
    std::ifstream in(entry.path());
    std::stringstream buf;
    buf << in.rdbuf();
    const std::string text = buf.str();
    for (auto it = std::sregex_iterator(text.begin(), text.end(), kCall); it != std::sregex_iterator(); ++it) {
      const std::string args = (*it)[2];
      std::vector<std::string> words;
      for (auto w = std::sregex_iterator(args.begin(), args.end(), kWord); w != std::sregex_iterator(); ++w)
        words.push_back((*w)[0]);
      if (words.empty()) continue;
      const std::string layer = layer_of_library(words[0]);
      if (layer.empty()) continue;
      const auto& may = allowed_layers().at(layer);
      for (size_t i = 1; i < words.size(); ++i) {
        const std::string dep = layer_of_library(words[i]);
        if (dep.empty() || may.count(dep)) continue;
        out.push_back(rel + ": " + words[0] + " links " + words[i] + " (" + layer + " is below " + dep + ")");
      }
    }
  }
  return out;
}

std::string lines(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += "  " + x + "\n";
  return s;
}

// The tree checked: this source tree, or FLOWPIC_ARCHITECTURE_ROOT (e.g. an older checkout).
const fs::path kRoot =
    std::getenv("FLOWPIC_ARCHITECTURE_ROOT") ? std::getenv("FLOWPIC_ARCHITECTURE_ROOT") : FLOWPIC_SOURCE_DIR;

TEST(Architecture, FilesIncludeOnlyTheirLayerAndBelow) {
  const auto v = layer_violations(kRoot);
  EXPECT_TRUE(v.empty()) << v.size() << " includes reach upwards (docs/architecture.md):\n" << lines(v);
  EXPECT_GT(read_includes(kRoot).size(), 300u) << "the checker found too few includes: is the root right?";
}

TEST(Architecture, NoFilesIncludeEachOther) {
  const auto v = include_cycles(kRoot);
  EXPECT_TRUE(v.empty()) << v.size() << " include cycles:\n" << lines(v);
}

TEST(Architecture, LibrariesLinkOnlyDownwards) {
  const auto v = link_violations(kRoot);
  EXPECT_TRUE(v.empty()) << v.size() << " links go upwards:\n" << lines(v);
}

// The checker itself, on a tree made to break each rule (so the tests above can fail).
TEST(Architecture, CheckerFindsEachKindOfViolation) {
  flowpic::testing::TempDir tmp;
  const fs::path r = tmp.path();
  auto write = [&](const std::string& rel, const std::string& text) {
    fs::create_directories((r / rel).parent_path());
    std::ofstream(r / rel) << text;
  };
  write("kernels/export.hpp", "#pragma once\n#include \"experiments/index.hpp\"\n");
  write("experiments/index.hpp", "#pragma once\n#include \"kernels/spec.hpp\"\n");
  write("kernels/spec.hpp", "#pragma once\n");
  write("nn/layer.cpp", "#include \"nn/layer.hpp\"\n#include \"dataset/store.hpp\"\n");
  write("nn/layer.hpp", "#pragma once\n");
  write("dataset/store.hpp", "#pragma once\n");
  write("experiments/runner.cpp", "#include \"experiments/runner.hpp\"\n#include \"experiments/batcher.hpp\"\n");
  write("experiments/runner.hpp", "#pragma once\n");
  write("experiments/batcher.cpp", "#include \"experiments/batcher.hpp\"\n#include \"experiments/runner.hpp\"\n");
  write("experiments/batcher.hpp", "#pragma once\n");
  write("tests/kernels/test_x.cpp",
        "#include \"support/temp_dir.hpp\"\n#include \"apps/cli.hpp\"\n#include \"helpers.hpp\"\n");
  write("apps/cli.hpp", "#pragma once\n#include \"experiments/runner.hpp\"\n");
  write("kernels/CMakeLists.txt",
        "flowpic_add_library(flowpic_kernels ${DIR} DEPS flowpic_common flowpic_dataset)\n"
        "target_link_libraries(flowpic_kernels PUBLIC flowpic_experiments)\n");
  write("nn/CMakeLists.txt", "flowpic_add_library(flowpic_nn ${DIR} DEPS flowpic_common BLAS::BLAS)\n");

  const auto layers = layer_violations(r);
  ASSERT_EQ(layers.size(), 3u) << lines(layers);
  EXPECT_NE(layers[0].find("kernels/export.hpp:2 includes experiments/index.hpp"), std::string::npos) << layers[0];
  EXPECT_NE(layers[1].find("nn/layer.cpp:2 includes dataset/store.hpp"), std::string::npos) << layers[1];
  EXPECT_NE(layers[2].find("tests/kernels/test_x.cpp:2 includes apps/cli.hpp"), std::string::npos) << layers[2];

  const auto cycles = include_cycles(r);
  ASSERT_EQ(cycles.size(), 1u) << lines(cycles);
  EXPECT_EQ(cycles[0], "experiments/runner -> experiments/batcher -> experiments/runner");

  const auto links = link_violations(r);
  ASSERT_EQ(links.size(), 1u) << lines(links);
  EXPECT_NE(links[0].find("flowpic_kernels links flowpic_experiments"), std::string::npos) << links[0];
}

}  // namespace
