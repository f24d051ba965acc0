#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "common/atomic_file.hpp"
#include "common/h5.hpp"
#include "common/hash_mix.hpp"
#include "common/json_util.hpp"
#include "common/progress.hpp"
#include "common/time_format.hpp"
#include "support/temp_dir.hpp"

using namespace flowpic;
using flowpic::testing::TempDir;

// Published test vectors: splitmix64.c seeded with 0, and FNV-1a 64 of "", "a" and "foobar".
static_assert(splitmix64(0) == 0xE220A8397B1DCDAFull, "splitmix64 is usable in constant expressions");
static_assert(fnv1a_64("foobar") == 0x85944171F73967E8ull, "fnv1a_64 is usable in constant expressions");

TEST(HashMix, SplitMix64MatchesTheReferenceGenerator) {
  uint64_t state = 0;
  EXPECT_EQ(splitmix64_next(state), 0xE220A8397B1DCDAFull);
  EXPECT_EQ(splitmix64_next(state), 0x6E789E6AA1B965F4ull);
  EXPECT_EQ(splitmix64_next(state), 0x06C45D188009454Full);
  EXPECT_EQ(state, 3 * kSplitMix64Gamma);
  EXPECT_EQ(splitmix64(kSplitMix64Gamma), 0x6E789E6AA1B965F4ull);  // the stateless form: output for a state
}

TEST(HashMix, Fnv1a64MatchesTheReferenceAndHashesInPieces) {
  EXPECT_EQ(fnv1a_64(""), 0xCBF29CE484222325ull);
  EXPECT_EQ(fnv1a_64("a"), 0xAF63DC4C8601EC8Cull);
  EXPECT_EQ(fnv1a_64("foobar"), 0x85944171F73967E8ull);
  EXPECT_EQ(fnv1a_64("bar", fnv1a_64("foo")), fnv1a_64("foobar"));
  const unsigned char bytes[] = {'f', 'o', 'o', 'b', 'a', 'r'};
  EXPECT_EQ(fnv1a_64(bytes, sizeof bytes), fnv1a_64("foobar"));
  EXPECT_EQ(fnv1a_64(std::string_view("a\0b", 3)), fnv1a_64(reinterpret_cast<const unsigned char*>("a\0b"), 3));
}

TEST(HashMix, HashCombineKeepsItsValues) {
  // The flow table's key hash; pinned so a change is deliberate.
  EXPECT_EQ(hash_combine(0, 1), 0x95CC5930A2F3EB85ull);
  EXPECT_EQ(hash_combine(hash_combine(0, 1), 2), 0xEB24317EA58E966Bull);
}

TEST(TimeFormat, Iso8601InUtc) {
  EXPECT_EQ(iso8601_utc(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(iso8601_utc(1454320185), "2016-02-01T09:49:45Z");
  EXPECT_EQ(iso8601_utc_ns(1454320185767301388LL), "2016-02-01T09:49:45.767301388Z");
  EXPECT_EQ(iso8601_utc_ns(5), "1970-01-01T00:00:00.000000005Z");
  EXPECT_EQ(iso8601_utc_ns(-1), "1969-12-31T23:59:59.999999999Z");
  const std::string now = utc_now_iso8601();
  ASSERT_EQ(now.size(), 20u);
  EXPECT_EQ(now[10], 'T');
  EXPECT_EQ(now.back(), 'Z');
}

TEST(H5, WholeDatasetsAttributesAndStringsRoundTrip) {
  TempDir dir;
  std::string path = dir.file("a.h5");
  std::vector<double> d(100000);
  for (size_t i = 0; i < d.size(); ++i) d[i] = i * 0.5;
  {
    h5::Id f = h5::create_file(path);
    h5::write(f, "/g/sub/values", d);
    h5::write<int32_t>(f, "/m", {1, 2, 3, 4, 5, 6}, {2, 3});
    h5::write_strings(f, "/names", {"VoIP", "", "File Transfer"});
    h5::set_attr(f, "text", std::string("hello"));
    h5::set_attr(f, "count", int64_t{42});
    h5::set_attr(f, "ratio", 1.25);
  }
  h5::Id f = h5::open_file(path);
  EXPECT_EQ(h5::read<double>(f, "/g/sub/values"), d);
  std::vector<hsize_t> shape;
  EXPECT_EQ(h5::read<int32_t>(f, "/m", &shape), (std::vector<int32_t>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(shape, (std::vector<hsize_t>{2, 3}));
  EXPECT_EQ(h5::read_strings(f, "/names"), (std::vector<std::string>{"VoIP", "", "File Transfer"}));
  EXPECT_EQ(h5::get_attr_string(f, "text"), "hello");
  EXPECT_EQ(h5::get_attr_int(f, "count"), 42);
  EXPECT_DOUBLE_EQ(h5::get_attr_double(f, "ratio"), 1.25);
  EXPECT_EQ(h5::read_rows<double>(f, "/g/sub/values", 10, 3), (std::vector<double>{5.0, 5.5, 6.0}));
  EXPECT_TRUE(h5::exists(f, "/g/sub/values"));
  EXPECT_FALSE(h5::exists(f, "/g/missing/values"));
}

TEST(H5, AppenderWritesRowsAcrossChunks) {
  TempDir dir;
  std::string path = dir.file("b.h5");
  {
    h5::Id f = h5::create_file(path);
    auto a = h5::Appender::of<uint32_t>(f, "/p/x", {}, 7);
    auto b = h5::Appender::of<uint8_t>(f, "/p/addr", {4}, 3);
    for (uint32_t i = 0; i < 50; ++i) a.push(i);
    uint8_t row[4] = {1, 2, 3, 4};
    for (int i = 0; i < 5; ++i) b.append(row, 1);
    EXPECT_EQ(a.rows(), 50u);
    a.finish();
    b.finish();
  }
  h5::Id f = h5::open_file(path);
  auto x = h5::read<uint32_t>(f, "/p/x");
  ASSERT_EQ(x.size(), 50u);
  for (uint32_t i = 0; i < 50; ++i) EXPECT_EQ(x[i], i);
  EXPECT_EQ(h5::dataset_shape(f, "/p/addr"), (std::vector<hsize_t>{5, 4}));
}

TEST(H5, ErrorsNameThePath) {
  TempDir dir;
  std::string bogus = dir.file("not.h5");
  std::ofstream(bogus) << "this is not HDF5";
  try {
    h5::open_file(bogus);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(bogus), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("not an HDF5 file"), std::string::npos) << e.what();
  }
  EXPECT_THROW(h5::open_file(dir.file("missing.h5")), Error);
  h5::Id f = h5::create_file(dir.file("c.h5"));
  try {
    h5::read<double>(f, "/nope");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nope"), std::string::npos) << e.what();
  }
}

TEST(AtomicFile, NothingAppearsUntilCommit) {
  TempDir dir;
  std::string final_path = dir.file("out.bin");
  {
    AtomicFile af(final_path);
    std::ofstream(af.temp_path()) << "partial";
    EXPECT_FALSE(file_exists(final_path));
  }  // destroyed without commit: the temporary is removed too
  EXPECT_FALSE(file_exists(final_path));
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
  {
    AtomicFile af(final_path);
    std::ofstream(af.temp_path()) << "whole";
    af.commit();
  }
  std::ifstream in(final_path);
  std::string s;
  in >> s;
  EXPECT_EQ(s, "whole");
  EXPECT_THROW(AtomicFile(dir.file("no/such/dir/x")), Error);
}

TEST(AtomicFile, WriteTextCreatesTheFolderAndReplacesWhole) {
  TempDir dir;
  const std::string path = dir.file("a/b/t.md");
  const std::string text("| x |\n\0 and on\n", 16);
  write_text_atomically(path, text);
  auto read = [](const std::string& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  };
  EXPECT_EQ(read(path), text);
  write_text_atomically(path, "shorter");
  EXPECT_EQ(read(path), "shorter");
  write_text_atomically(dir.file("empty.txt"), "");
  EXPECT_EQ(file_size(dir.file("empty.txt")), 0u);
  size_t entries = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.file("a/b"))) ++entries, (void)e;
  EXPECT_EQ(entries, 1u);  // no temporary left beside it
}

TEST(AtomicFile, WriteTextErrorsNameThePath) {
  TempDir dir;
  std::ofstream(dir.file("plain")) << "x";
  std::filesystem::create_directory(dir.file("folder"));
  for (const std::string& path : {dir.file("plain/t.md"), dir.file("folder")}) {
    try {
      write_text_atomically(path, "text");
      ADD_FAILURE() << "no error writing " << path;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    }
  }
  EXPECT_TRUE(std::filesystem::is_directory(dir.file("folder")));
  size_t entries = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) ++entries, (void)e;
  EXPECT_EQ(entries, 2u);  // "plain" and "folder": the failed writes left no temporary
}

TEST(Paths, StemBaseParent) {
  EXPECT_EQ(stem("/a/b/vpn_skype_audio1.pcapng"), "vpn_skype_audio1");
  EXPECT_EQ(base_name("/a/b/c.pcap"), "c.pcap");
  EXPECT_EQ(parent_dir("c.pcap"), ".");
  EXPECT_EQ(parent_dir("/a/b/c.pcap"), "/a/b");
}

TEST(Json, SyntaxErrorsNameFileLineAndColumn) {
  try {
    parse_json("{\n  \"a\": 1,\n  \"b\": ]\n}", "cfg.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cfg.json:3:"), std::string::npos) << e.what();
  }
  EXPECT_THROW(load_json_file("/nonexistent/x.json"), Error);
}

TEST(Json, UnknownKeysAndWrongTypesAreNamed) {
  json j = parse_json(R"({"model": {"lr": "fast", "epochs": 3, "extra": true}})", "c.json");
  JsonWhere w{"c.json", ""};
  try {
    check_keys(j["model"], w.at("model"), {"lr", "epochs"});
    FAIL();
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("c.json: model.extra: unknown key; allowed here: lr, epochs"), std::string::npos) << m;
  }
  try {
    json_number(j["model"], "lr", w.at("model"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("model.lr: expected a number"), std::string::npos) << e.what();
  }
  EXPECT_EQ(json_int(j["model"], "epochs", w.at("model")), 3);
  EXPECT_THROW(check_keys(j["model"], w.at("model"), {"lr", "epochs", "extra", "seed"}, {"seed"}), Error);
}

TEST(Progress, HumanUnits) {
  EXPECT_EQ(Progress::human(999, "B"), "999 B");
  EXPECT_EQ(Progress::human(1234567, "B"), "1.23 MB");
}
