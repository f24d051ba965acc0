// The packet store on disk; the layout is documented in docs/packet_store.md (keep them in step).
#include "dataset/packet_store.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <unordered_map>

#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "common/h5.hpp"
#include "common/time_format.hpp"
#include "dataset/packet_column_writer.hpp"

namespace flowpic {

namespace {

constexpr const char* kFormatName = "flowpic packet store";

std::string label_group(const std::string& column) { return "/labels/" + column; }

}  // namespace

// ---------------------------------------------------------------------------------------------
// Small accessors.

int32_t LabelColumn::id_of(const std::string& value) const {
  auto it = std::find(values.begin(), values.end(), value);
  return it == values.end() ? -1 : static_cast<int32_t>(it - values.begin());
}

int PacketStore::label_column(const std::string& name) const {
  for (size_t i = 0; i < labels.size(); ++i)
    if (labels[i].name == name) return static_cast<int>(i);
  return -1;
}

std::string PacketStore::label_of(size_t flow, const std::string& name) const {
  int c = label_column(name);
  if (c < 0 || flow >= labels[c].ids.size()) return "";
  int32_t id = labels[c].ids[flow];
  return id < 0 ? "" : labels[c].values[static_cast<size_t>(id)];
}

namespace {

// Checks of everything but the packet columns' contents; `packets` is the packet count.
void validate_flow_columns(const PacketStore& s, uint64_t packets, const std::string& origin) {
  const size_t F = s.keys.size();
  auto bad = [&](auto&&... what) { fail(origin, ": inconsistent packet store: ", what...); };
  if (s.offsets.size() != F + 1)
    bad("flows/offsets has ", s.offsets.size(), " entries for ", F, " flows (want flows + 1)");
  if (s.offsets[0] != 0) bad("flows/offsets starts at ", s.offsets[0], ", not 0");
  for (size_t f = 0; f < F; ++f)
    if (s.offsets[f + 1] < s.offsets[f]) bad("flows/offsets decreases at flow ", f);
  if (s.offsets[F] != packets) bad("flows/offsets ends at ", s.offsets[F], " but there are ", packets, " packets");
  if (s.start_time.size() != F) bad("flows/start_time has ", s.start_time.size(), " entries for ", F, " flows");
  if (s.source.size() != F) bad("flows/source has ", s.source.size(), " entries for ", F, " flows");
  if (s.view.size() != F) bad("flows/view has ", s.view.size(), " entries for ", F, " flows");
  for (size_t f = 0; f < F; ++f) {
    if (s.source[f] >= s.sources.size()) bad("flow ", f, " names source ", s.source[f], " of ", s.sources.size());
    if (s.view[f] != FlowView::kSession && s.view[f] != FlowView::kUnidirectional)
      bad("flow ", f, " has unknown view ", static_cast<int>(s.view[f]));
    if (s.keys[f].ip_version != 4 && s.keys[f].ip_version != 6)
      bad("flow ", f, " has IP version ", static_cast<int>(s.keys[f].ip_version));
  }
  for (const LabelColumn& c : s.labels) {
    if (c.ids.size() != F) bad("label column '", c.name, "' has ", c.ids.size(), " ids for ", F, " flows");
    for (size_t f = 0; f < F; ++f)
      if (c.ids[f] < -1 || c.ids[f] >= static_cast<int32_t>(c.values.size()))
        bad("label column '", c.name, "': flow ", f, " has id ", c.ids[f], " of ", c.values.size(), " values");
  }
}

}  // namespace

void PacketStore::validate(const std::string& origin) const {
  const size_t P = time.size();
  validate_flow_columns(*this, P, origin);
  auto bad = [&](auto&&... what) { fail(origin, ": inconsistent packet store: ", what...); };
  if (ip_length.size() != P) bad("packets/ip_length has ", ip_length.size(), " entries, packets/time ", P);
  if (payload_length.size() != P)
    bad("packets/payload_length has ", payload_length.size(), " entries, packets/time ", P);
  if (direction.size() != P) bad("packets/direction has ", direction.size(), " entries, packets/time ", P);
  if (tcp_flags.size() != P) bad("packets/tcp_flags has ", tcp_flags.size(), " entries, packets/time ", P);
  for (size_t i = 0; i < P; ++i) {
    if (!(time[i] >= 0) || !std::isfinite(time[i]))
      bad("packet ", i, " has time ", time[i], " (must be finite and >= 0)");
    if (direction[i] > 1) bad("packet ", i, " has direction ", static_cast<int>(direction[i]));
  }
}

// ---------------------------------------------------------------------------------------------
// Writer.

struct PacketStoreWriter::Impl {
  // One label column being built: values interned as they come.
  struct Column {
    std::string name;
    std::vector<std::string> values;
    std::unordered_map<std::string, int32_t> index;
    std::vector<int32_t> ids;
    int32_t current = -1;
  };

  explicit Impl(const std::string& path)
      : atomic(path), file((remove_stale_partials(path), h5::create_file(atomic.temp_path()))) {}

  // Declared in this order so destruction stops the packet writer and closes its datasets, then
  // the file, then removes the temporary file.
  AtomicFile atomic;
  h5::Id file;
  std::unique_ptr<BackgroundPacketWriter> packets;
  PacketBlock filling;  // packets not yet handed to the background writer

  std::vector<uint64_t> offsets{0};
  std::vector<uint8_t> ip_version, protocol, view, addr_a, addr_b;
  std::vector<uint16_t> port_a, port_b;
  std::vector<double> start_time;
  std::vector<uint32_t> source;
  std::vector<Column> columns;

  std::vector<SourceInfo> sources;
  std::map<std::string, uint64_t> skipped;
  std::vector<std::string> unmatched;
  std::string label_map_name, label_map_json, flow_options = "{}", command;
  bool committed = false;

  void write_tables();
};

PacketStoreWriter::PacketStoreWriter(const std::string& path, std::vector<std::string> label_columns)
    : impl_(new Impl(path)) {
  try {
    Impl& m = *impl_;
    for (auto& name : label_columns) {
      if (name.empty() || name.find('/') != std::string::npos || name == "columns")
        fail("cannot write ", path, ": label column name '", name,
             "' must be non-empty, without '/', and not 'columns'");
      for (const auto& c : m.columns)
        if (c.name == name) fail("cannot write ", path, ": label column '", name, "' is given twice");
      m.columns.push_back({name, {}, {}, {}, -1});
    }
    m.packets = std::make_unique<BackgroundPacketWriter>(m.file);
  } catch (...) {
    delete impl_;
    throw;
  }
}

PacketStoreWriter::~PacketStoreWriter() { delete impl_; }

uint32_t PacketStoreWriter::add_source(const SourceInfo& info) {
  impl_->sources.push_back(info);
  return static_cast<uint32_t>(impl_->sources.size() - 1);
}

SourceInfo& PacketStoreWriter::source(uint32_t index) {
  FLOWPIC_ASSERT(index < impl_->sources.size());
  return impl_->sources[index];
}

void PacketStoreWriter::set_current_labels(const std::vector<std::string>& values) {
  auto& cols = impl_->columns;
  if (values.size() != cols.size())
    fail("internal error: ", values.size(), " label values for ", cols.size(), " label columns");
  for (size_t i = 0; i < cols.size(); ++i) {
    Impl::Column& c = cols[i];
    if (values[i].empty()) {
      c.current = -1;
      continue;
    }
    auto it = c.index.find(values[i]);
    if (it == c.index.end()) {
      it = c.index.emplace(values[i], static_cast<int32_t>(c.values.size())).first;
      c.values.push_back(values[i]);
    }
    c.current = it->second;
  }
}

void PacketStoreWriter::add_flow(const FlowRecord& flow) {
  Impl& m = *impl_;
  const size_t n = flow.size();
  if (flow.ip_length.size() != n || flow.payload_length.size() != n || flow.direction.size() != n ||
      flow.tcp_flags.size() != n)
    fail("internal error: flow ", flow.key.to_string(), " has packet columns of different lengths");
  FLOWPIC_ASSERT(flow.source < m.sources.size());
  m.filling.append(flow);
  if (m.filling.size() >= BackgroundPacketWriter::kBlockRows) m.filling = m.packets->submit(std::move(m.filling));
  m.offsets.push_back(m.offsets.back() + n);
  m.ip_version.push_back(flow.key.ip_version);
  m.protocol.push_back(flow.key.protocol);
  m.port_a.push_back(flow.key.port_a);
  m.port_b.push_back(flow.key.port_b);
  m.addr_a.insert(m.addr_a.end(), flow.key.addr_a.begin(), flow.key.addr_a.end());
  m.addr_b.insert(m.addr_b.end(), flow.key.addr_b.begin(), flow.key.addr_b.end());
  m.start_time.push_back(flow.start_time);
  m.source.push_back(flow.source);
  m.view.push_back(static_cast<uint8_t>(flow.view));
  for (auto& c : m.columns) c.ids.push_back(c.current);
}

void PacketStoreWriter::add_skipped(const std::string& reason, uint64_t packets) {
  if (packets) impl_->skipped[reason] += packets;
}
void PacketStoreWriter::set_label_map(const std::string& name, const std::string& json_text) {
  impl_->label_map_name = name;
  impl_->label_map_json = json_text;
}
void PacketStoreWriter::set_flow_options(const std::string& json_text) { impl_->flow_options = json_text; }
void PacketStoreWriter::set_command(const std::string& command) { impl_->command = command; }
void PacketStoreWriter::add_unmatched_source(const std::string& name) { impl_->unmatched.push_back(name); }
size_t PacketStoreWriter::flows() const { return impl_->start_time.size(); }
uint64_t PacketStoreWriter::packets() const { return impl_->offsets.back(); }

void PacketStoreWriter::Impl::write_tables() {
  const hsize_t F = start_time.size();
  h5::write(file, "/flows/offsets", offsets);
  h5::write(file, "/flows/start_time", start_time);
  h5::write(file, "/flows/source", source);
  h5::write(file, "/flows/view", view);
  h5::write(file, "/flows/ip_version", ip_version);
  h5::write(file, "/flows/protocol", protocol);
  h5::write(file, "/flows/port_a", port_a);
  h5::write(file, "/flows/port_b", port_b);
  h5::write(file, "/flows/addr_a", addr_a, {F, 16});
  h5::write(file, "/flows/addr_b", addr_b, {F, 16});

  std::vector<std::string> names;
  for (const auto& c : columns) {
    names.push_back(c.name);
    h5::write_strings(file, label_group(c.name) + "/values", c.values);
    h5::write(file, label_group(c.name) + "/ids", c.ids);
  }
  h5::write_strings(file, "/labels/columns", names);

  std::vector<std::string> name, path, rule, status;
  std::vector<uint64_t> size, read, kept, flows, reordered;
  for (const auto& s : sources) {
    name.push_back(s.name);
    path.push_back(s.path);
    rule.push_back(s.label_rule);
    status.push_back(s.status);
    size.push_back(s.size_bytes);
    read.push_back(s.packets_read);
    kept.push_back(s.packets_kept);
    flows.push_back(s.flows);
    reordered.push_back(s.packets_reordered);
  }
  h5::write_strings(file, "/sources/name", name);
  h5::write_strings(file, "/sources/path", path);
  h5::write_strings(file, "/sources/label_rule", rule);
  h5::write_strings(file, "/sources/status", status);
  h5::write(file, "/sources/size_bytes", size);
  h5::write(file, "/sources/packets_read", read);
  h5::write(file, "/sources/packets_kept", kept);
  h5::write(file, "/sources/flows", flows);
  h5::write(file, "/sources/packets_reordered", reordered);

  std::vector<std::string> reasons;
  std::vector<uint64_t> counts;
  for (const auto& [r, n] : skipped) {
    reasons.push_back(r);
    counts.push_back(n);
  }
  h5::write_strings(file, "/skipped/reason", reasons);
  h5::write(file, "/skipped/packets", counts);
  h5::write_strings(file, "/unmatched_sources", unmatched);

  h5::set_attr(file, "format", kFormatName);
  h5::set_attr(file, "format_version", int64_t{kPacketStoreFormatVersion});
  h5::set_attr(file, "command", command);
  h5::set_attr(file, "created", utc_now_iso8601());
  h5::set_attr(file, "label_map_name", label_map_name);
  h5::set_attr(file, "label_map_json", label_map_json);
  h5::set_attr(file, "flow_options", flow_options);
  h5::set_attr(file, "num_flows", static_cast<int64_t>(F));
  h5::set_attr(file, "num_packets", static_cast<int64_t>(offsets.back()));
}

void PacketStoreWriter::commit() {
  Impl& m = *impl_;
  if (m.committed) fail("internal error: packet store ", m.atomic.final_path(), " committed twice");
  if (m.filling.size()) m.filling = m.packets->submit(std::move(m.filling));
  m.packets->finish();  // every dataset closed before the rename, so the renamed file is complete
  m.write_tables();
  H5_CHECK(H5Fflush(m.file, H5F_SCOPE_GLOBAL), "flushing " + m.atomic.temp_path());
  m.file.reset();
  m.atomic.commit();
  m.committed = true;
}

// ---------------------------------------------------------------------------------------------
// Reader.

struct PacketStoreReader::File {
  h5::Id id;
};

PacketStoreReader::PacketStoreReader(const std::string& path) : path_(path), file_(new File) {
  try {
    file_->id = h5::open_file(path);
    hid_t f = file_->id;
    if (!h5::has_attr(f, "format") || h5::get_attr_string(f, "format") != kFormatName)
      fail(path, ": not a flowpic packet store (no 'format' attribute saying \"", kFormatName, "\")");
    int64_t version = h5::get_attr_int(f, "format_version");
    if (version > kPacketStoreFormatVersion)
      fail(path, ": packet store format version ", version, " is newer than this program's ", kPacketStoreFormatVersion,
           "; update flowpic");
    if (version < kPacketStoreFormatVersion)
      fail(path, ": packet store format version ", version,
           " was written by an older flowpic; re-create it with flowpic_data ingest");

    PacketStore& s = flows_;
    s.offsets = h5::read<uint64_t>(f, "/flows/offsets");
    s.start_time = h5::read<double>(f, "/flows/start_time");
    s.source = h5::read<uint32_t>(f, "/flows/source");
    auto view = h5::read<uint8_t>(f, "/flows/view");
    auto ipv = h5::read<uint8_t>(f, "/flows/ip_version");
    auto proto = h5::read<uint8_t>(f, "/flows/protocol");
    auto pa = h5::read<uint16_t>(f, "/flows/port_a");
    auto pb = h5::read<uint16_t>(f, "/flows/port_b");
    auto aa = h5::read<uint8_t>(f, "/flows/addr_a");
    auto ab = h5::read<uint8_t>(f, "/flows/addr_b");
    const size_t F = ipv.size();
    if (proto.size() != F || pa.size() != F || pb.size() != F || aa.size() != 16 * F || ab.size() != 16 * F)
      fail(path, ": inconsistent packet store: the /flows key columns differ in length");
    s.keys.resize(F);
    s.view.resize(view.size());
    for (size_t i = 0; i < view.size(); ++i) s.view[i] = static_cast<FlowView>(view[i]);
    for (size_t i = 0; i < F; ++i) {
      FlowKey& k = s.keys[i];
      k.ip_version = ipv[i];
      k.protocol = proto[i];
      k.port_a = pa[i];
      k.port_b = pb[i];
      std::copy_n(aa.begin() + 16 * i, 16, k.addr_a.begin());
      std::copy_n(ab.begin() + 16 * i, 16, k.addr_b.begin());
    }
    for (const std::string& name : h5::read_strings(f, "/labels/columns")) {
      LabelColumn c;
      c.name = name;
      c.values = h5::read_strings(f, label_group(name) + "/values");
      c.ids = h5::read<int32_t>(f, label_group(name) + "/ids");
      s.labels.push_back(std::move(c));
    }
    auto name = h5::read_strings(f, "/sources/name");
    auto spath = h5::read_strings(f, "/sources/path");
    auto rule = h5::read_strings(f, "/sources/label_rule");
    auto status = h5::read_strings(f, "/sources/status");
    auto size = h5::read<uint64_t>(f, "/sources/size_bytes");
    auto read = h5::read<uint64_t>(f, "/sources/packets_read");
    auto kept = h5::read<uint64_t>(f, "/sources/packets_kept");
    auto flows = h5::read<uint64_t>(f, "/sources/flows");
    auto reordered = h5::read<uint64_t>(f, "/sources/packets_reordered");
    const size_t S = name.size();
    if (spath.size() != S || rule.size() != S || status.size() != S || size.size() != S || read.size() != S ||
        kept.size() != S || flows.size() != S || reordered.size() != S)
      fail(path, ": inconsistent packet store: the /sources columns differ in length");
    for (size_t i = 0; i < S; ++i)
      s.sources.push_back({name[i], spath[i], size[i], read[i], kept[i], flows[i], reordered[i], rule[i], status[i]});
    auto reasons = h5::read_strings(f, "/skipped/reason");
    auto counts = h5::read<uint64_t>(f, "/skipped/packets");
    if (reasons.size() != counts.size())
      fail(path, ": inconsistent packet store: /skipped/reason and /skipped/packets differ in length");
    for (size_t i = 0; i < reasons.size(); ++i) s.skipped[reasons[i]] += counts[i];
    s.unmatched_sources = h5::read_strings(f, "/unmatched_sources");
    s.label_map_name = h5::get_attr_string(f, "label_map_name");
    s.label_map_json = h5::get_attr_string(f, "label_map_json");
    s.flow_options = h5::get_attr_string(f, "flow_options");
    s.command = h5::get_attr_string(f, "command");
    s.created = h5::get_attr_string(f, "created");

    auto shape = h5::dataset_shape(f, "/packets/time");
    num_packets_ = shape.empty() ? 0 : shape[0];
    for (const char* col :
         {"/packets/ip_length", "/packets/payload_length", "/packets/direction", "/packets/tcp_flags"}) {
      auto sh = h5::dataset_shape(f, col);
      if (sh.size() != 1 || sh[0] != num_packets_)
        fail(path, ": inconsistent packet store: ", col, " has ", sh.empty() ? 0 : sh[0], " entries, /packets/time ",
             num_packets_);
    }
    validate_flow_columns(s, num_packets_, path);
  } catch (...) {
    delete file_;
    throw;
  }
}

PacketStoreReader::~PacketStoreReader() { delete file_; }

void PacketStoreReader::read_packets(size_t first, size_t count, PacketStore& out) const {
  const PacketStore& s = flows_;
  if (first + count > s.num_flows())
    fail(path_, ": flows ", first, "..", first + count, " requested, the store has ", s.num_flows());
  const uint64_t begin = s.offsets[first], end = s.offsets[first + count], n = end - begin;
  hid_t f = file_->id;
  out.offsets.resize(count + 1);
  for (size_t i = 0; i <= count; ++i) out.offsets[i] = s.offsets[first + i] - begin;
  out.time = h5::read_rows<double>(f, "/packets/time", begin, n);
  out.ip_length = h5::read_rows<uint32_t>(f, "/packets/ip_length", begin, n);
  out.payload_length = h5::read_rows<uint32_t>(f, "/packets/payload_length", begin, n);
  out.direction = h5::read_rows<uint8_t>(f, "/packets/direction", begin, n);
  out.tcp_flags = h5::read_rows<uint8_t>(f, "/packets/tcp_flags", begin, n);
}

PacketStore read_packet_store(const std::string& path) {
  PacketStoreReader reader(path);
  PacketStore s = reader.flows();
  PacketStore packets;
  reader.read_packets(0, s.num_flows(), packets);
  s.time = std::move(packets.time);
  s.ip_length = std::move(packets.ip_length);
  s.payload_length = std::move(packets.payload_length);
  s.direction = std::move(packets.direction);
  s.tcp_flags = std::move(packets.tcp_flags);
  s.validate(path);
  return s;
}

}  // namespace flowpic
