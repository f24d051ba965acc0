// CaptureReader's own loop for classic pcap against libpcap's (Mode::kLibpcap): the same records,
// positions, record counts and damage messages for both byte orders, both timestamp magics,
// records cut by the snap length, records cut by the chunk end or longer than the chunk, every
// kind of truncation, absurd lengths, every link type flowpic decodes, and the real captures in
// ../shared/data. Each capture is read from memory (our loop freads the FILE*) and from a file
// (it preads the descriptor), at the default chunk and at chunks that cut records everywhere.
#include <gtest/gtest.h>

#include <filesystem>

#include "dataset/capture_reader.hpp"
#include "dataset/decode.hpp"
#include "support/capture_diff.hpp"
#include "support/pcap_writer.hpp"
#include "support/temp_dir.hpp"

using namespace flowpic;
using namespace flowpic::testing;

namespace {

// One record as it is in the file: the header's four fields, then `data`.
struct RawRecord {
  uint32_t seconds = 1700000000, fraction = 0, caplen = 0, wire_len = 0;
  Bytes data;
};
RawRecord record_of(const Bytes& data, uint32_t seconds = 1700000000, uint32_t fraction = 0) {
  return {seconds, fraction, static_cast<uint32_t>(data.size()), static_cast<uint32_t>(data.size()), data};
}

struct FileHeader {
  bool big_endian = false;
  bool nanoseconds = false;
  uint32_t snaplen = 262144;
  uint32_t link_type = 1;
  uint16_t major = 2, minor = 4;
  uint32_t magic = 0;  // 0: the standard or nanosecond one
};

Bytes classic_pcap(const FileHeader& h, const std::vector<RawRecord>& records) {
  Bytes b;
  auto p32 = [&](uint32_t v) { h.big_endian ? put32(b, v) : put32le(b, v); };
  auto p16 = [&](uint16_t v) { h.big_endian ? put16(b, v) : put16le(b, v); };
  p32(h.magic ? h.magic : h.nanoseconds ? 0xa1b23c4d : 0xa1b2c3d4);
  p16(h.major);
  p16(h.minor);
  p32(0);
  p32(0);
  p32(h.snaplen);
  p32(h.link_type);
  for (const RawRecord& r : records) {
    p32(r.seconds);
    p32(r.fraction);
    p32(r.caplen);
    p32(r.wire_len);
    b.insert(b.end(), r.data.begin(), r.data.end());
  }
  return b;
}

Bytes frame(size_t bytes, uint8_t seed = 0) {
  Bytes b(bytes);
  for (size_t i = 0; i < bytes; ++i) b[i] = static_cast<uint8_t>(seed + i * 7);
  return b;
}

// Reads `bytes` both ways from memory and from a file, at the default chunk and at chunks that
// put record ends everywhere; every reading must agree, and the own loop must (or must not) have
// read the records. Returns the default in-memory reading.
CaptureDiff expect_same(const Bytes& bytes, bool own_loop, const std::string& what) {
  TempDir dir;
  write_bytes(dir.file("c.pcap"), bytes);
  CaptureDiff first;
  bool have_first = false;
  for (size_t chunk : {CaptureReader::kDefaultChunk, size_t{16}, size_t{17}, size_t{61}, size_t{1000}, size_t{4096}}) {
    for (bool in_memory : {true, false}) {
      CaptureDiff d = in_memory ? diff_capture_bytes(bytes.data(), bytes.size(), chunk)
                                : diff_capture_file(dir.file("c.pcap"), chunk);
      const std::string where =
          what + " (" + (in_memory ? "memory" : "file") + ", chunk " + std::to_string(chunk) + ")";
      EXPECT_EQ(d.difference, "") << where;
      EXPECT_TRUE(d.opened) << where;
      EXPECT_EQ(d.own_loop, own_loop) << where;
      if (!have_first) first = d, have_first = true;
    }
  }
  return first;
}

}  // namespace

TEST(CaptureReaderOwnLoop, BothByteOrdersAndBothTimestampMagics) {
  for (bool big : {false, true})
    for (bool nano : {false, true}) {
      FileHeader h;
      h.big_endian = big;
      h.nanoseconds = nano;
      const uint32_t top = nano ? 999999999 : 999999;
      // Fractions out of range and seconds with the sign bit set, as well as ordinary ones.
      std::vector<RawRecord> recs = {record_of(frame(60), 1700000000, 0),
                                     record_of(frame(1514, 1), 1700000000, top),
                                     record_of(frame(0), 0, 1),
                                     record_of(frame(42, 2), 0x7FFFFFFF, top),
                                     record_of(frame(42, 3), 0x80000000u, 5),
                                     record_of(frame(42, 4), 0xFFFFFFFFu, 0xFFFFFFFFu),
                                     record_of(frame(42, 5), 12, 0x80000000u),
                                     record_of(frame(100, 6), 1700000001, top + 1)};
      recs[1].wire_len = 9000;  // wire length over caplen
      recs[3].wire_len = 10;    // and under it
      const std::string what = std::string(big ? "big" : "little") + "-endian, " + (nano ? "ns" : "us");
      CaptureDiff d = expect_same(classic_pcap(h, recs), true, what);
      EXPECT_EQ(d.records, recs.size()) << what;
      EXPECT_EQ(d.damage, "") << what;
    }
}

TEST(CaptureReaderOwnLoop, TimestampsAreLibpcapsNanoseconds) {
  // Not only equal to libpcap's: what they are. Microseconds scaled by 1000, seconds signed.
  FileHeader h;
  Bytes b = classic_pcap(h, {record_of(frame(60), 1700000000, 123456), record_of(frame(60), 0xFFFFFFFFu, 999999)});
  FILE* f = fmemopen(b.data(), b.size(), "rb");
  CaptureReader r(f, "mem.pcap");
  ASSERT_TRUE(r.reads_records_itself());
  CaptureRecord rec;
  ASSERT_TRUE(r.next(rec));
  EXPECT_EQ(rec.time_ns, 1700000000LL * 1000000000LL + 123456000LL);
  ASSERT_TRUE(r.next(rec));
  EXPECT_EQ(rec.time_ns, -1000000000LL + 999999000LL);
  EXPECT_FALSE(r.next(rec));
  EXPECT_EQ(r.position(), b.size());
}

TEST(CaptureReaderOwnLoop, WhatLibpcapsDumpApiWrites) {
  std::vector<TestPacket> pk;
  for (int i = 0; i < 50; ++i) pk.push_back({1700000000LL * 1000000000LL + i * 1234567LL, frame(40 + 31 * i, i)});
  TempDir dir;
  for (bool nano : {false, true}) {
    write_pcap(dir.file("w.pcap"), DLT_EN10MB, pk, nano);
    EXPECT_EQ(expect_same(read_bytes(dir.file("w.pcap")), true, nano ? "ns" : "us").records, pk.size());
  }
}

TEST(CaptureReaderOwnLoop, RecordsLongerThanTheSnapLengthAreCut) {
  FileHeader h;
  h.snaplen = 100;
  std::vector<RawRecord> recs = {record_of(frame(200)), record_of(frame(100, 1)), record_of(frame(101, 2)),
                                 record_of(frame(30, 3))};
  Bytes b = classic_pcap(h, recs);
  EXPECT_EQ(expect_same(b, true, "snaplen 100").records, 4u);
  FILE* f = fmemopen(b.data(), b.size(), "rb");
  CaptureReader r(f, "mem.pcap");
  CaptureRecord rec;
  ASSERT_TRUE(r.next(rec));
  EXPECT_EQ(rec.caplen, 100u);
  EXPECT_EQ(rec.wire_len, 200u);
  EXPECT_EQ(r.position(), 24u + 16u + 200u) << "the cut bytes are consumed";

  // The largest record libpcap accepts, in a file with a smaller snap length; and a snap length of
  // 0, which libpcap takes as its maximum.
  h.snaplen = 65535;
  expect_same(classic_pcap(h, {record_of(frame(262144)), record_of(frame(70000, 1))}), true, "snaplen 65535");
  h.snaplen = 0;
  expect_same(classic_pcap(h, {record_of(frame(262144)), record_of(frame(70000, 1))}), true, "snaplen 0");
}

TEST(CaptureReaderOwnLoop, RecordsAcrossChunkEndsAndLongerThanTheChunk) {
  // Over 2 MiB of records of many sizes: records straddle the default chunk's end, and at the
  // small chunks (expect_same) every record is longer than the chunk or cut by its end.
  std::vector<RawRecord> recs;
  for (int i = 0; i < 2500; ++i) recs.push_back(record_of(frame(60 + (i * 397) % 1455, static_cast<uint8_t>(i)), i, i));
  recs.push_back(record_of(frame(262144, 9)));
  recs.push_back(record_of(frame(3)));
  CaptureDiff d = expect_same(classic_pcap(FileHeader{}, recs), true, "2.2 MiB");
  EXPECT_EQ(d.records, recs.size());
  EXPECT_EQ(d.damage, "");
}

TEST(CaptureReaderOwnLoop, DamageIsLibpcapsMessage) {
  FileHeader h;
  const std::vector<RawRecord> recs = {record_of(frame(60)), record_of(frame(70, 1))};
  const Bytes good = classic_pcap(h, recs);
  struct Case {
    std::string what;
    Bytes bytes;
    uint64_t records;
    std::string damage;
  };
  Bytes cut_header = good, cut_data = good;
  cut_header.resize(good.size() - 70 - 9);  // 7 bytes of the second record's header
  cut_data.resize(good.size() - 20);
  RawRecord absurd = record_of(frame(60, 2));
  absurd.caplen = 0xFFFFFFF0u;
  RawRecord over = record_of(frame(60, 2));
  over.caplen = 262145;
  FileHeader snap = h;
  snap.snaplen = 100;
  Bytes cut_in_snapshot = classic_pcap(snap, {record_of(frame(60)), record_of(frame(200, 1))});
  Bytes cut_after_snapshot = cut_in_snapshot;
  cut_in_snapshot.resize(cut_in_snapshot.size() - 150);  // 50 of 200 bytes: inside the first 100
  cut_after_snapshot.resize(cut_after_snapshot.size() - 50);
  for (const Case& c : std::vector<Case>{
           {"empty after the header", classic_pcap(h, {}), 0, ""},
           {"cut record header", cut_header, 1, "truncated dump file; tried to read 16 header bytes, only got 7"},
           {"cut record data", cut_data, 1, "truncated dump file; tried to read 70 captured bytes, only got 50"},
           {"absurd caplen", classic_pcap(h, {recs[0], recs[1], absurd}), 2,
            "invalid packet capture length 4294967280, bigger than snaplen of 262144"},
           {"caplen over the maximum", classic_pcap(h, {recs[0], recs[1], over}), 2,
            "invalid packet capture length 262145, bigger than snaplen of 262144"},
           {"cut inside the snap length", cut_in_snapshot, 1,
            "truncated dump file; tried to read 100 captured bytes, only got 50"},
           {"cut after the snap length", cut_after_snapshot, 1,
            "truncated dump file; tried to read 200 captured bytes, only got 150"},
       }) {
    CaptureDiff d = expect_same(c.bytes, true, c.what);
    EXPECT_EQ(d.records, c.records) << c.what;
    EXPECT_EQ(d.damage, c.damage) << c.what;
  }
}

TEST(CaptureReaderOwnLoop, OtherFilesStayWithLibpcap) {
  FileHeader h;
  const std::vector<RawRecord> recs = {record_of(frame(60)), record_of(frame(70, 1))};
  FileHeader kuznetzov = h, v23 = h, v22 = h, user0 = h, sll_swapped = h, sll_native = h, sll2_swapped = h;
  kuznetzov.magic = 0xa1b2cd34;
  v23.minor = 3;
  v22.minor = 2;
  user0.link_type = 147;
  sll_native.link_type = sll_swapped.link_type = DLT_LINUX_SLL;
  sll_swapped.big_endian = true;  // libpcap swaps the CAN ID inside these records (SLL2 too)
  sll2_swapped.link_type = 276;
  sll2_swapped.big_endian = true;
  expect_same(classic_pcap(kuznetzov, {}), false, "Kuznetzov magic");
  expect_same(classic_pcap(v23, recs), false, "version 2.3");
  expect_same(classic_pcap(v22, recs), false, "version 2.2");
  expect_same(classic_pcap(user0, recs), false, "DLT_USER0");
  Bytes can = sll(0x000C, Bytes{1, 2, 3, 4, 5, 6, 7, 8});
  expect_same(classic_pcap(sll_swapped, {record_of(can)}), false, "swapped SLL");
  expect_same(classic_pcap(sll_native, {record_of(can)}), true, "SLL");
  expect_same(classic_pcap(sll2_swapped, {record_of(sll2(0x000C, Bytes{1, 2, 3, 4, 5, 6, 7, 8}))}), false,
              "swapped SLL2");
  expect_same(pcapng_bytes(DLT_EN10MB, {{1700000000LL * 1000000000LL, frame(60)}}), false, "pcapng");
}

TEST(CaptureReaderOwnLoop, EveryLinkTypeFlowpicDecodes) {
  // A caplen of 262145 is refused only where libpcap's maximum for the link type is 262144
  // (kMaxCaplen in capture_reader.cpp): the comparison fails for a type with a larger one.
  int decoded = 0;
  for (uint32_t lt = 0; lt < 300; ++lt) {
    FileHeader h;
    h.link_type = lt;
    h.snaplen = 0;
    RawRecord over = record_of(frame(262145));
    const Bytes b = classic_pcap(h, {record_of(frame(262144)), over});
    FILE* f = fmemopen(const_cast<uint8_t*>(b.data()), b.size(), "rb");
    CaptureReader r(f, "mem.pcap", CaptureReader::Mode::kLibpcap);
    if (!link_type_supported(r.link_type())) continue;
    ++decoded;
    CaptureDiff d = diff_capture_bytes(b.data(), b.size());
    EXPECT_EQ(d.difference, "") << "link type " << lt;
    EXPECT_TRUE(d.own_loop) << "link type " << lt;
    EXPECT_EQ(d.records, 1u) << "link type " << lt;
  }
  EXPECT_GE(decoded, 17);
}

TEST(CaptureReaderOwnLoop, TheCapturesInSharedData) {
  // Every file there: captures must read the same both ways, other files be refused the same way.
  const std::filesystem::path dir = std::filesystem::path(FLOWPIC_SOURCE_DIR) / ".." / "shared" / "data";
  if (!std::filesystem::is_directory(dir)) GTEST_SKIP() << dir << " is not there";
  int files = 0, captures = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    ++files;
    CaptureDiff d = diff_capture_file(e.path().string());
    EXPECT_EQ(d.difference, "") << e.path();
    if (!d.opened) continue;
    ++captures;
    EXPECT_EQ(diff_capture_file(e.path().string(), 61).difference, "") << e.path() << " at a 61-byte chunk";
  }
  std::printf("%d files under %s, %d of them captures\n", files, dir.string().c_str(), captures);
}
