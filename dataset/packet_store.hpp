#pragma once
// The packet store: the contract between ingestion and everything downstream.
//
// In memory and on disk (one HDF5 file, layout in docs/packet_store.md), flows are kept in CSR
// form: flow f owns packets [offsets[f], offsets[f+1]) of the per-packet columns. A flow is a
// bidirectional session (view kSession) whose packets carry a direction (0 = from the initiator,
// side "a" of the key), so the paper's unidirectional flows are the two directions of a session;
// flows imported from the authors' CSV are unidirectional already (view kUnidirectional, all
// directions 0, payload lengths unknown).
#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "dataset/flow_record.hpp"

namespace flowpic {

inline constexpr int kPacketStoreFormatVersion = 2;  // 2: fixed-length strings, HDF5 1.10 format
// One label column ("category", "traffic_type", "application", "encapsulation", "dataset"):
// a name table and a per-flow id into it, -1 = no label.
struct LabelColumn {
  std::string name;
  std::vector<std::string> values;
  std::vector<int32_t> ids;                       // one per flow
  int32_t id_of(const std::string& value) const;  // -1 when absent
};

// One input file (capture or CSV) and what became of it.
struct SourceInfo {
  std::string name;  // base name, e.g. "vpn_skype_audio1.pcap"
  std::string path;  // as given on the command line
  uint64_t size_bytes = 0;
  uint64_t packets_read = 0;  // records read from the file
  uint64_t packets_kept = 0;  // packets stored in flows
  uint64_t flows = 0;
  uint64_t packets_reordered = 0;  // packets older than one before them (sorted by time in their flow)
  std::string label_rule;          // the label-map rule that matched, "" when none did
  std::string status = "ok";       // "ok", or one line saying what was damaged ("truncated after 1234 packets: ...")
};

struct PacketStore {
  // Per flow (F entries; offsets has F+1).
  std::vector<uint64_t> offsets{0};
  std::vector<FlowKey> keys;
  std::vector<double> start_time;  // absolute start, seconds since the Unix epoch
  std::vector<uint32_t> source;    // index into sources
  std::vector<FlowView> view;
  std::vector<LabelColumn> labels;

  // Per packet (P entries), in arrival order within each flow.
  std::vector<double> time;              // seconds since the flow's first packet (>= 0)
  std::vector<uint32_t> ip_length;       // IP total length (IPv6: 40 + payload length field)
  std::vector<uint32_t> payload_length;  // transport payload bytes, or kUnknownPayload
  std::vector<uint8_t> direction;        // 0 = from the initiator (side a), 1 = from the responder
  std::vector<uint8_t> tcp_flags;        // TcpFlag bits, 0 for UDP

  // Provenance.
  std::vector<SourceInfo> sources;
  std::map<std::string, uint64_t> skipped;     // packets skipped, by reason ("arp", "icmp", "ipv4_fragment", ...)
  std::string label_map_name;                  // the label map's "name"
  std::string label_map_json;                  // its full text, so the store says exactly how it was labelled
  std::string flow_options;                    // JSON: idle timeout, FIN/RST handling, flow filters applied
  std::string command;                         // the command line that made the store
  std::string created;                         // ISO 8601 UTC
  std::vector<std::string> unmatched_sources;  // source names no label rule matched

  size_t num_flows() const { return keys.size(); }
  size_t num_packets() const { return time.size(); }
  uint64_t flow_begin(size_t f) const { return offsets[f]; }
  uint64_t flow_end(size_t f) const { return offsets[f + 1]; }
  // Index of the label column called `name`, -1 when the store has none.
  int label_column(const std::string& name) const;
  // The label value of flow f in column `name`, "" when unlabelled or the column is absent.
  std::string label_of(size_t flow, const std::string& name) const;
  // Throws flowpic::Error naming the first inconsistency (offsets not monotone, column sizes, ids).
  void validate(const std::string& origin) const;
};

// Reads a whole store. Errors name the path and what is wrong ("not a flowpic packet store",
// "format version 3 is newer than this program's 1", "dataset /packets/time is missing").
PacketStore read_packet_store(const std::string& path);

// Reads a store in parts, for work whose memory must not grow with the packet count (merge, info):
// everything but the packet columns is read on opening, packets of a range of flows on demand.
class PacketStoreReader {
 public:
  explicit PacketStoreReader(const std::string& path);
  ~PacketStoreReader();
  PacketStoreReader(const PacketStoreReader&) = delete;
  PacketStoreReader& operator=(const PacketStoreReader&) = delete;

  // Per-flow columns, labels and provenance; packet columns empty, offsets as in the file.
  const PacketStore& flows() const { return flows_; }
  uint64_t num_packets() const { return num_packets_; }
  const std::string& path() const { return path_; }
  // Packets of flows [first, first + count) into `out`'s packet columns (replaced).
  void read_packets(size_t first, size_t count, PacketStore& out) const;

 private:
  struct File;
  std::string path_;
  File* file_;
  PacketStore flows_;
  uint64_t num_packets_ = 0;
};

// Writes a store as flows arrive: packet columns are appended in chunks (memory bounded by the
// chunk, not the capture), per-flow columns are kept until commit(). The file is written under a
// temporary name and renamed by commit(); a writer destroyed without commit() leaves nothing.
class PacketStoreWriter {
 public:
  PacketStoreWriter(const std::string& path, std::vector<std::string> label_columns);
  ~PacketStoreWriter();
  PacketStoreWriter(const PacketStoreWriter&) = delete;
  PacketStoreWriter& operator=(const PacketStoreWriter&) = delete;

  uint32_t add_source(const SourceInfo& info);
  SourceInfo& source(uint32_t index);
  // Labels of the flows that follow, one value per label column ("" = none).
  void set_current_labels(const std::vector<std::string>& values);
  void add_flow(const FlowRecord& flow);
  void add_skipped(const std::string& reason, uint64_t packets);
  void set_label_map(const std::string& name, const std::string& json_text);
  void set_flow_options(const std::string& json_text);
  void set_command(const std::string& command);
  void add_unmatched_source(const std::string& name);
  size_t flows() const;
  uint64_t packets() const;
  void commit();

 private:
  struct Impl;
  Impl* impl_;
};

}  // namespace flowpic
