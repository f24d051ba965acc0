// Damaged files and messages: HDF5 datasets declaring more than they hold, stale temporary files
// of killed runs, and user text quoted in one-line errors.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <functional>

#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "common/h5.hpp"
#include "common/json_util.hpp"
#include "support/temp_dir.hpp"

using namespace flowpic;
using namespace flowpic::testing;

TEST(Printable, ControlCharactersAreEscaped) {
  EXPECT_EQ(printable("a\nb\r\tc\x01"), "a\\nb\\r\\tc\\x01");
  EXPECT_EQ(printable("plain text"), "plain text");
}

TEST(JsonErrors, KeysWithNewlinesStayOnOneLine) {
  json j = parse_json(R"({"bad\nkey": 1})", "x.json");
  try {
    check_keys(j, {"x.json", ""}, {"name"});
    FAIL();
  } catch (const Error& e) {
    std::string w = e.what();
    EXPECT_EQ(w.find('\n'), std::string::npos) << w;
    EXPECT_NE(w.find("bad\\nkey"), std::string::npos) << w;
  }
  json big = parse_json(R"({"n": 18446744073709551615})", "x.json");
  EXPECT_THROW(json_int(big, "n", {"x.json", ""}), Error) << "an unsigned value over INT64_MAX must not wrap to -1";
}

// Fuzz finding (fuzz_label_map): a number too large for a double threw json::out_of_range, which
// escaped parse_json (it caught only parse_error) and ended the program.
TEST(JsonErrors, NumberOutOfRangeIsAOneLineError) {
  try {
    parse_json("{\"name\": 3e33333333}", "m.json");
    FAIL();
  } catch (const Error& e) {
    std::string w = e.what();
    EXPECT_NE(w.find("m.json: JSON error: number overflow"), std::string::npos) << w;
  }
}

TEST(H5Limits, DatasetDeclaringMoreThanItHoldsIsRefusedBeforeAllocating) {
  TempDir dir;
  const std::string path = dir.file("sparse.h5");
  {
    // 2^34 doubles (128 GiB) declared, chunked, nothing written: HDF5 would return fill values.
    h5::Id f = h5::create_file(path);
    hsize_t dims[1] = {hsize_t{1} << 34}, chunk[1] = {4096};
    h5::Id space(H5Screate_simple(1, dims, nullptr));
    h5::Id dcpl(H5Pcreate(H5P_DATASET_CREATE));
    H5Pset_chunk(dcpl, 1, chunk);
    h5::Id ds(H5Dcreate2(f, "huge", H5T_NATIVE_DOUBLE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT));
    ASSERT_TRUE(ds.valid());
  }
  h5::Id f = h5::open_file(path);
  try {
    h5::read<double>(f, "huge");
    FAIL() << "read 128 GiB of fill values";
  } catch (const Error& e) {
    std::string w = e.what();
    EXPECT_NE(w.find("sparse.h5:huge"), std::string::npos) << w;
    EXPECT_NE(w.find("damaged"), std::string::npos) << w;
  }
  EXPECT_THROW(h5::read_rows<double>(f, "huge", 0, hsize_t{1} << 33), Error);
  EXPECT_THROW(h5::read_rows<double>(f, "huge", hsize_t{1} << 34, 1), Error) << "rows past the end";
  EXPECT_EQ(h5::read_rows<double>(f, "huge", 10, 3).size(), 3u) << "a small read of a big dataset is fine";
}

// Strings are written fixed-length: variable-length strings live in HDF5's global heap, which has
// no checksum, and libhdf5 1.10.8 hangs or reads out of bounds on a damaged one (fuzz_store and
// fuzz_result findings, tests/data/fuzz/).
TEST(H5Strings, AreWrittenFixedLengthAndRoundTrip) {
  TempDir dir;
  const std::string path = dir.file("s.h5");
  const std::string big(200000, 'x');  // over the 64 KiB an attribute can hold in an object header
  const std::string utf8 = "Caf\xc3\xa9 \xe2\x86\x92 Tor";
  {
    h5::Id f = h5::create_file(path);
    h5::set_attr(f, "empty", std::string());
    h5::set_attr(f, "utf8", utf8);
    h5::set_attr(f, "big", big);
    h5::write_strings(f, "/names", {"VoIP", "", utf8, "File Transfer"});
    h5::write_strings(f, "/none", {});
  }
  h5::Id f = h5::open_file(path);
  EXPECT_EQ(h5::get_attr_string(f, "empty"), "");
  EXPECT_EQ(h5::get_attr_string(f, "utf8"), utf8);
  EXPECT_EQ(h5::get_attr_string(f, "big"), big);
  EXPECT_EQ(h5::read_strings(f, "/names"), (std::vector<std::string>{"VoIP", "", utf8, "File Transfer"}));
  EXPECT_TRUE(h5::read_strings(f, "/none").empty());
  for (const char* name : {"empty", "utf8", "big"}) {
    h5::Id a(H5Aopen(f, name, H5P_DEFAULT));
    h5::Id t(H5Aget_type(a));
    EXPECT_EQ(H5Tis_variable_str(t), 0) << name;
  }
  h5::Id ds(H5Dopen2(f, "/names", H5P_DEFAULT));
  h5::Id t(H5Dget_type(ds));
  EXPECT_EQ(H5Tis_variable_str(t), 0);
  EXPECT_EQ(H5Tget_cset(t), H5T_CSET_UTF8);
  unsigned super = 0;
  H5F_info2_t info{};
  ASSERT_GE(H5Fget_info2(f, &info), 0);
  super = info.super.version;
  EXPECT_GE(super, 3u) << "the 1.10 format, with checksummed chunk indexes";
}

TEST(H5Strings, VariableLengthStringsAreRefusedBeforeTheHeapIsRead) {
  TempDir dir;
  const std::string path = dir.file("vlen.h5");
  {
    h5::Id f = h5::create_file(path);
    h5::Id t(H5Tcopy(H5T_C_S1));
    H5Tset_size(t, H5T_VARIABLE);
    h5::Id scalar(H5Screate(H5S_SCALAR));
    h5::Id a(H5Acreate2(f, "format", t, scalar, H5P_DEFAULT, H5P_DEFAULT));
    const char* v = "flowpic packet store";
    ASSERT_GE(H5Awrite(a, t, &v), 0);
    hsize_t n = 2;
    h5::Id space(H5Screate_simple(1, &n, nullptr));
    h5::Id ds(H5Dcreate2(f, "names", t, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    const char* vs[2] = {"a", "b"};
    ASSERT_GE(H5Dwrite(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, vs), 0);
  }
  h5::Id f = h5::open_file(path);
  for (auto read : std::vector<std::function<void()>>{[&] { h5::get_attr_string(f, "format"); },
                                                      [&] { h5::read_strings(f, "names"); }}) {
    try {
      read();
      FAIL() << "a variable-length string was read";
    } catch (const Error& e) {
      std::string w = e.what();
      EXPECT_NE(w.find("vlen.h5"), std::string::npos) << w;
      EXPECT_NE(w.find("variable-length string"), std::string::npos) << w;
      EXPECT_NE(w.find("re-create it"), std::string::npos) << w;
    }
  }
  EXPECT_THROW(h5::read<double>(f, "names"), Error) << "numbers are read only from numeric datasets";
  EXPECT_THROW(h5::get_attr_int(f, "format"), Error);
}

TEST(H5Files, OldSuperblocksAndUserBlocksAreRefused) {
  TempDir dir;
  const std::string old = dir.file("old.h5");
  {
    // libhdf5's default: superblock version 0, unchecksummed symbol tables and B-trees.
    h5::Id f(H5Fcreate(old.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
    ASSERT_TRUE(f.valid());
  }
  try {
    h5::open_file(old);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("superblock version 0"), std::string::npos) << e.what();
  }
  const std::string short_file = dir.file("short.h5");
  std::ofstream(short_file) << "\x89HDF";
  EXPECT_THROW(h5::open_file(short_file), Error);
}

TEST(AtomicFile, StalePartialsOfDeadProcessesAreRemoved) {
  TempDir dir;
  pid_t child = fork();
  if (child == 0) _exit(0);
  int st = 0;
  waitpid(child, &st, 0);  // `child` is now a pid that no process has
  const std::string final_path = dir.file("store.h5");
  const std::string dead = dir.file(".store.h5.partial-" + std::to_string(child) + "-0");
  const std::string alive = dir.file(".store.h5.partial-" + std::to_string(getppid()) + "-0");
  const std::string other = dir.file(".other.h5.partial-" + std::to_string(child) + "-0");
  for (const auto& p : {dead, alive, other}) std::ofstream(p) << "partial";
  EXPECT_EQ(remove_stale_partials(final_path), 1);
  EXPECT_FALSE(file_exists(dead));
  EXPECT_TRUE(file_exists(alive)) << "a running writer's file is left alone";
  EXPECT_TRUE(file_exists(other)) << "only the partials of this file name";
}
