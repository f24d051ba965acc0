#pragma once
// The streaming classification pipeline that classify uses for captures and live interfaces:
//   packets -> FlowAssembler (sessions, listener mode: no packets kept) -> WindowStream (windows
//   as they complete, their packets read in place) -> a bounded queue -> batched inference
//   (batches of up to batch_size windows, or fewer after batch_deadline_s; the model's backend,
//   GPU when it is one) -> a RecordSink.
// Memory is bounded by the open sessions (at most FlowOptions::max_open_sessions, the oldest-idle
// evicted), the packets their pending windows still need, the queue and the batches in flight;
// never by the input size.
// Threads: the caller's (packets to windows), a collector (forms the batches, delivers the records
// in order) and `runners` inference threads, each with its own copy of the model and reused
// buffers (the batch's packets, its images or cells), so that batches run side by side and the
// next batch's images are built while the previous one is in the network.
// Ordered mode (captures): each flow's window records are held until the flow ends, then delivered
// in the order classify always wrote them: by flow (the store's order: the order flows end), then
// direction, then window; flow numbers are the store's. Immediate mode (live): each record as
// soon as its batch ran, in completion order; `flow` is then the session number (opening order).
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "dataset/flow_assembler.hpp"
#include "dataset/label_map.hpp"
#include "dataset/packet_store.hpp"
#include "kernels/sample_index.hpp"
#include "kernels/window_stream.hpp"
#include "nn/backend.hpp"
#include "nn/model.hpp"

namespace flowpic {

// What a model file says about how it was trained: class names and representation (null when the
// file does not say).
struct ModelFacts {
  std::vector<std::string> class_names;
  json representation;
};
ModelFacts read_model_facts(const std::string& path);

// A trained model and what it was trained on.
struct ClassifierModel {
  std::string path;  // the model file (StreamClassifier's runners load copies from it)
  std::vector<std::string> class_names;
  RepresentationConfig representation;
  json representation_json;
  std::shared_ptr<nn::Backend> backend;
  std::unique_ptr<nn::Model> model;
  std::string backend_name;
};
// Loads a result file of run_experiment or a weights file of export_weights; the representation
// from `config_path` when given, else the one the file records.
ClassifierModel load_classifier(const std::string& model_path, const std::string& config_path,
                                const std::string& device);

inline constexpr uint32_t kNoFlowNumber = 0xFFFFFFFFu;

struct StreamFlow {
  uint64_t session = 0;           // opening order, from 0
  uint32_t flow = kNoFlowNumber;  // store order (ordered mode, known when the flow ends)
  FlowKey key;
  double start_time = 0;  // the flow's first packet, seconds since the Unix epoch
  uint32_t source = 0;
};

struct WindowResult {
  StreamFlow flow;
  Sample sample;  // sample.flow = flow.flow (ordered mode) or the session number
  int32_t predicted = 0;
  std::vector<float> probabilities;  // one per class
  double classified_at = 0;          // wall clock when its batch ran, seconds since the Unix epoch
};

struct FlowEnd {
  StreamFlow flow;
  uint32_t windows = 0;
  uint64_t packets = 0;
  SessionEnd why = SessionEnd::kFinish;
};

// Called on the collector thread, in the order described above.
class RecordSink {
 public:
  virtual ~RecordSink() = default;
  virtual void window(const WindowResult& result) = 0;
  // After the flow's windows; for every flow kept (not dropped by a label-map filter).
  virtual void flow_end(const FlowEnd& end) = 0;
};

struct StreamOptions {
  FlowOptions flow;
  int batch_size = 128;
  double batch_deadline_s = 0;     // > 0: a partial batch runs this long after its first window
  bool ordered = true;             // see above
  bool finalize_on_clock = false;  // advance() hands out windows whose time has passed (live)
  size_t queue_capacity = 0;       // windows and flow ends waiting for the collector (0: 4 batches)
  // Inference threads running batches at once, each with its own copy of the model and
  // `runner_threads` OpenMP threads (0: the OpenMP threads shared among them). 0: auto (the cuda
  // backend one; the cpu backend kDefaultCpuRunners, fewer on fewer cores). The records are the
  // same for any count (up to float rounding where the threads per runner differ).
  int runners = 0;
  int runner_threads = 0;
};
// Two runners of one thread each beat one runner of two threads on 2 cores shared with the capture
// thread (the 1 GB capture: 3.6 s against 4.3 s wall, results/bench/classify.md): no OpenMP team
// to wake per layer, and one batch's image building and hand-over overlap the other's network.
inline constexpr int kDefaultCpuRunners = 2;

// Counters, readable from any thread. Those of the capture thread (packets, sessions, buffered
// and late packets) are published every 4096 packets, at every advance() and at
// end_source(): a locked add and four atomic stores per packet were 5% of that thread's time.
struct StreamCounters {
  uint64_t packets = 0;         // packets given to add()
  uint64_t packets_kept = 0;    // in flows kept
  uint64_t flows = 0;           // flows ended and kept
  uint64_t open_sessions = 0;   // now
  uint64_t evicted = 0;         // sessions ended early by max_open_sessions
  uint64_t windows_queued = 0;  // handed to the collector
  uint64_t windows_classified = 0;
  uint64_t batches = 0;
  double batch_seconds = 0;  // total time running batches (image building + the model)
  double last_batch_ms = 0, max_batch_ms = 0;
  uint64_t late_packets = 0;
  uint64_t buffered_packets = 0, peak_buffered_packets = 0;
};

class StreamClassifier final : private SessionListener {
 public:
  // `labels` (may be null) drops the flows its filters name, counting their packets in skipped().
  StreamClassifier(ClassifierModel& model, const StreamOptions& options, const LabelMap* labels, RecordSink& sink);
  ~StreamClassifier() override;
  StreamClassifier(const StreamClassifier&) = delete;
  StreamClassifier& operator=(const StreamClassifier&) = delete;

  // The flows of the packets that follow belong to `source`.
  void begin_source(uint32_t source) { source_ = source; }
  void add(const DecodedPacket& packet, int64_t time_ns);
  // The clock moved on without packets (live): idle sessions end; with finalize_on_clock, windows
  // whose end has passed are handed out.
  void advance(int64_t now_ns);
  // Ends every open session (the end of a file: sessions never span files).
  void end_source();
  // Waits until every window is classified and every record delivered; rethrows an error of the
  // collector or a runner. Call once, after the last end_source().
  void finish();

  StreamCounters counters() const;
  const SampleIndexStats& index_stats() const { return windows_.stats(); }
  uint64_t reordered_packets() const { return reordered_; }
  const std::map<std::string, uint64_t>& skipped() const { return skipped_; }
  // The CNN's input path and why, e.g. "sparse (auto: sparse, 3 packets per image of 1024 pixels
  // (density 0.0029), estimated on the first batch)"; empty until a batch has run.
  const std::string& input_reason() const { return input_reason_; }

 private:
  struct Held;
  // A window or a flow end on its way to the collector. A window's packets are not in the item
  // (no allocation per window): they are packets [first, first + count) of the arena that travels
  // with the queue (queue_packets_); the collector copies them into the columns of the batch being
  // formed (batch_packets_), which go to the runner as they are.
  struct Item {
    bool is_window = true;
    StreamFlow flow;
    Sample sample;
    size_t first = 0, count = 0;  // its packets in the queue's arena
    Held* held = nullptr;         // its flow's collector state (set by the collector)
    FlowEnd end;
  };
  struct Runner;
  // A batch handed to a runner, and the flow ends that wait for it.
  struct InFlight {
    Runner* runner = nullptr;
    std::vector<FlowEnd> ends;
  };
  struct Slot {
    StreamFlow flow;
    const FlowFilter* filter = nullptr;
    bool started = false;
    uint64_t packets = 0;
    int64_t newest_ns = INT64_MIN;
  };
  void opened(uint32_t slot, uint64_t id, const FlowKey& key) override;
  void packet(uint32_t slot, const SessionPacket& packet) override;
  void closed(uint32_t slot, uint64_t id, SessionEnd why) override;
  void on_window(CompletedWindow& w);
  void push(Item&& item, const WindowPacket* packets = nullptr);
  void add_to_batch(std::vector<Item>& batch, Item&& item, const WindowPacket* packets);
  void worker();
  void runner_loop(Runner& r);
  void run_batch(Runner& r);
  void submit(std::vector<Item>& batch);
  Runner& free_runner();
  void finish_front();
  bool front_done() const;  // under mu_
  void deliver_end(const FlowEnd& end);
  void check_worker() const;
  void publish();  // the capture thread's counters, to counters()
  static constexpr uint64_t kPublishEvery = 4096;

  ClassifierModel& model_;
  StreamOptions options_;
  const LabelMap* labels_;
  RecordSink& sink_;
  WindowStream windows_;
  FlowAssembler assembler_;
  std::vector<Slot> slots_;
  uint32_t source_ = 0;
  int64_t now_ns_ = 0;
  uint32_t next_flow_ = 0;
  uint64_t reordered_ = 0;
  uint64_t packets_added_ = 0;  // published as packets_
  std::map<std::string, uint64_t> skipped_;

  // The queue.
  std::mutex mu_;
  std::condition_variable not_empty_, not_full_;
  std::vector<Item> queue_;  // a vector, not a deque: a deque of items this size allocates a node per item
  std::vector<WindowPacket> queue_packets_;  // the queued windows' packets (Item::first)
  size_t capacity_;
  size_t wake_at_ = 1;  // offline: the queue length at which push() wakes the collector
  bool closing_ = false;
  std::exception_ptr error_;
  std::atomic<bool> failed_{false};
  std::thread thread_;
  bool finished_ = false;
  // The runners (under mu_: their jobs' hand-over).
  std::vector<std::unique_ptr<Runner>> runners_;
  std::condition_variable job_;
  bool stopping_ = false;

  // Collector state. A flow's records waiting for its end (ordered mode) are a chain through a
  // pool of entries reused from a free list, their probabilities at k * entry in held_probs_: no
  // allocation per record once the pool has grown to the records held at once.
  static constexpr uint32_t kNoEntry = 0xFFFFFFFFu;
  struct HeldWindow {
    Sample sample;
    int32_t predicted = 0;
    double classified_at = 0;
    uint32_t next = kNoEntry;
  };
  struct Held {
    uint32_t outstanding = 0;
    uint32_t head = kNoEntry, tail = kNoEntry;  // the chain, oldest first
  };
  std::unordered_map<uint64_t, Held> held_;  // by session; a value's address is stable until erased
  std::vector<HeldWindow> held_windows_;
  std::vector<float> held_probs_;
  uint32_t free_held_ = kNoEntry;
  std::vector<uint32_t> delivery_order_;  // deliver_end's, reused
  WindowResult result_;                   // reused for every record delivered
  PacketStore batch_packets_;             // the batch being formed: its windows' packets (columns)...
  std::vector<Sample> batch_samples_;     // ...and its samples, windows indexing them
  std::deque<InFlight> in_flight_;        // oldest first; records are delivered in this order
  std::vector<FlowEnd> pending_ends_;     // waiting for the batch being formed
  bool input_chosen_ = false;
  int input_ = 0;  // BatchInput
  std::string input_reason_;

  // Counters.
  std::atomic<uint64_t> packets_{0}, packets_kept_{0}, flows_{0}, open_{0}, evicted_{0}, queued_{0}, classified_{0},
      batches_{0}, late_{0}, buffered_{0}, peak_buffered_{0};
  std::atomic<double> batch_seconds_{0}, last_batch_ms_{0}, max_batch_ms_{0};
};

}  // namespace flowpic
