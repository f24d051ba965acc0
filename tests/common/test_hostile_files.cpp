// Damaged files and messages: HDF5 datasets declaring more than they hold, stale temporary files
// of killed runs, and user text quoted in one-line errors.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

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
