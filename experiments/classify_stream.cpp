#include "experiments/classify_stream.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

#ifdef _OPENMP
#include <omp.h>
#endif
#ifdef __linux__
#include <pthread.h>
#endif

#include "common/error.hpp"
#include "common/h5.hpp"
#include "experiments/config.hpp"
#include "experiments/image_batcher.hpp"
#include "nn/weights.hpp"

namespace flowpic {

ModelFacts read_model_facts(const std::string& path) {
  h5::quiet_errors();
  ModelFacts m;
  h5::Id f = h5::open_file(path);
  const std::string format = h5::has_attr(f, "format") ? h5::get_attr_string(f, "format") : "";
  if (format == "flowpic-result") {
    json config = parse_json(h5::get_attr_string(f, "config"), path + ": config attribute");
    if (config.contains("representation")) m.representation = config["representation"];
    m.class_names = h5::read_strings(f, "/classes");
  } else if (format.rfind("flowpic-weights", 0) == 0) {
    if (h5::has_attr(f, "representation"))
      m.representation = parse_json(h5::get_attr_string(f, "representation"), path + ": representation attribute");
    if (h5::has_attr(f, "class_names"))
      m.class_names = parse_json(h5::get_attr_string(f, "class_names"), path + ": class_names attribute")
                          .get<std::vector<std::string>>();
  } else {
    fail(path, ": not a flowpic result or weights file (attribute format is '", format, "')");
  }
  return m;
}

ClassifierModel load_classifier(const std::string& model_path, const std::string& config_path,
                                const std::string& device) {
  ModelFacts facts = read_model_facts(model_path);
  ClassifierModel c;
  RepresentationConfig& rep = c.representation;
  if (!config_path.empty()) {
    ExperimentConfig cfg = load_experiment(config_path);
    rep = RepresentationConfig::from_json(cfg.representation, {cfg.file, "representation"});
  } else if (!facts.representation.is_null()) {
    rep = RepresentationConfig::from_json(facts.representation, {model_path, "representation"});
  } else {
    fail(model_path,
         ": the file does not record its representation (a weights file saved without export_weights); "
         "give the experiment config it was trained with: --config configs/X.json");
  }
  c.path = model_path;
  c.representation_json = rep.to_json();
  c.backend = std::shared_ptr<nn::Backend>(nn::make_backend(device));
  c.model = std::make_unique<nn::Model>(nn::load_model(model_path, *c.backend));
  const nn::Shape in = c.model->options().input;
  if (in.c != rep.channels() || in.h != rep.height() || in.w != rep.width())
    fail(model_path, ": the model takes ", in.c, "x", in.h, "x", in.w, " images but the representation makes ",
         rep.channels(), "x", rep.height(), "x", rep.width(),
         config_path.empty() ? "" : " (from --config " + config_path + ")");
  const size_t classes = static_cast<size_t>(c.model->options().classes);
  c.class_names = facts.class_names;
  if (c.class_names.size() != classes) {
    c.class_names.clear();
    for (size_t k = 0; k < classes; ++k) c.class_names.push_back("class" + std::to_string(k));
  }
  c.backend_name = c.backend->description();
  return c;
}

namespace {

double wall_now() { return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count(); }

// The store's start_time of a flow starting at `ns` (as FlowAssembler computes it).
double epoch_seconds(int64_t ns) {
  return static_cast<double>(ns / 1000000000) + static_cast<double>(ns % 1000000000) * 1e-9;
}

}  // namespace

// One runner: a copy of the model (the first runner uses the ClassifierModel's) and its reused
// buffers. Its job is handed over under the classifier's mutex: `busy` set by the collector with
// `items`, `done` set by the runner with `probs` (or `error`).
struct StreamClassifier::Runner {
  std::shared_ptr<nn::Backend> backend;  // a copy's own; null for the first runner
  std::unique_ptr<nn::Model> own;
  nn::Model* model = nullptr;
  int threads = 0;              // OpenMP threads on the runner's thread (0: the process default)
  PacketStore packets;          // the batch's windows' packets, one window after another (columns only)
  std::vector<Sample> samples;  // theirs, windows indexing `packets` (both formed by the collector)
  std::vector<size_t> ids;
  std::unique_ptr<ImageBatcher> batcher;  // over `packets` and `samples`, made at the first batch
  std::vector<Item> items;
  std::vector<float> probs;
  bool busy = false, done = false;
  double ms = 0;
  std::exception_ptr error;
  std::thread thread;
};

StreamClassifier::StreamClassifier(ClassifierModel& model, const StreamOptions& options, const LabelMap* labels,
                                   RecordSink& sink)
    : model_(model),
      options_(options),
      labels_(labels),
      sink_(sink),
      windows_(model.representation, [this](CompletedWindow& w) { on_window(w); }),
      assembler_(options.flow, static_cast<SessionListener*>(this)),
      capacity_(options.queue_capacity ? options.queue_capacity
                                       : std::max<size_t>(64, 4 * static_cast<size_t>(options.batch_size))) {
  if (options_.batch_size < 1) fail("classify: the batch size must be at least 1");
  wake_at_ = std::min(capacity_, static_cast<size_t>(options_.batch_size));
  // The runners: copies of the model on the cpu backend (one model per thread: a model keeps its
  // activations); the cuda backend runs its batches one after another on its one stream anyway.
  const bool cpu = model.backend->device() == nn::DeviceKind::cpu;
  int cores = 1;
#ifdef _OPENMP
  cores = std::max(1, omp_get_max_threads());  // OMP_NUM_THREADS, else the cores
#endif
  int runners = options_.runners > 0 ? options_.runners : std::min(kDefaultCpuRunners, cores);
  if (!cpu || model.path.empty()) runners = 1;
  const int threads = !cpu ? 0 : options_.runner_threads > 0 ? options_.runner_threads : std::max(1, cores / runners);
  for (int k = 0; k < runners; ++k) {
    auto r = std::make_unique<Runner>();
    if (k == 0) {
      r->model = model.model.get();
    } else {
      r->backend = std::shared_ptr<nn::Backend>(nn::make_cpu_backend());
      r->own = std::make_unique<nn::Model>(nn::load_model(model.path, *r->backend));
      r->model = r->own.get();
    }
    r->threads = threads;
    runners_.push_back(std::move(r));
  }
  for (auto& r : runners_) {
    Runner* p = r.get();
    p->thread = std::thread([this, p] { runner_loop(*p); });
  }
  thread_ = std::thread([this] { worker(); });
}

StreamClassifier::~StreamClassifier() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    closing_ = true;
  }
  not_empty_.notify_all();
  not_full_.notify_all();
  if (thread_.joinable()) thread_.join();
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  job_.notify_all();
  for (auto& r : runners_)
    if (r->thread.joinable()) r->thread.join();
}

void StreamClassifier::check_worker() const {
  if (failed_.load()) std::rethrow_exception(error_);
}

void StreamClassifier::add(const DecodedPacket& packet, int64_t time_ns) {
  now_ns_ = time_ns;
  assembler_.add(packet, time_ns);
  if ((++packets_added_ & (kPublishEvery - 1)) == 0) publish();
}

void StreamClassifier::publish() {
  packets_.store(packets_added_, std::memory_order_relaxed);
  open_.store(assembler_.open_sessions(), std::memory_order_relaxed);
  evicted_.store(assembler_.sessions_ended_early(), std::memory_order_relaxed);
  const WindowStreamCounters& c = windows_.counters();
  buffered_.store(c.buffered_packets, std::memory_order_relaxed);
  peak_buffered_.store(c.peak_buffered_packets, std::memory_order_relaxed);
  late_.store(c.late_packets, std::memory_order_relaxed);
}

void StreamClassifier::advance(int64_t now_ns) {
  check_worker();
  assembler_.advance(now_ns);
  if (options_.finalize_on_clock) windows_.advance(now_ns);
  publish();
}

void StreamClassifier::end_source() {
  assembler_.finish();
  publish();
}

void StreamClassifier::opened(uint32_t slot, uint64_t id, const FlowKey& key) {
  if (slot >= slots_.size()) slots_.resize(static_cast<size_t>(slot) + 1);
  Slot& s = slots_[slot];
  s.flow = StreamFlow{};
  s.flow.session = id;
  s.flow.key = key;
  s.flow.source = source_;
  s.filter = labels_ ? labels_->filter_for(key) : nullptr;
  s.started = false;
  s.packets = 0;
  s.newest_ns = INT64_MIN;
}

void StreamClassifier::packet(uint32_t slot, const SessionPacket& p) {
  Slot& s = slots_[slot];
  ++s.packets;
  if (s.filter) return;
  if (!s.started) {
    s.started = true;
    windows_.open(slot, p.time_ns);
    s.flow.start_time = epoch_seconds(p.time_ns);
  }
  if (p.time_ns < s.newest_ns) ++reordered_;  // as the store counts packets_reordered
  s.newest_ns = std::max(s.newest_ns, p.time_ns);
  windows_.packet(slot, p.time_ns, p.ip_length, p.payload_length, p.direction, p.tcp_flags);
}

void StreamClassifier::closed(uint32_t slot, uint64_t, SessionEnd why) {
  Slot& s = slots_[slot];
  if (s.filter) {
    skipped_["filter:" + s.filter->name] += s.packets;
    return;
  }
  windows_.close(slot);
  Item item;
  item.is_window = false;
  item.end.flow = s.flow;
  item.end.flow.flow = next_flow_++;
  item.end.windows = windows_.windows_of(slot);
  item.end.packets = s.packets;
  item.end.why = why;
  packets_kept_.fetch_add(s.packets, std::memory_order_relaxed);
  flows_.fetch_add(1, std::memory_order_relaxed);
  push(std::move(item));
}

void StreamClassifier::on_window(CompletedWindow& w) {
  Item item;
  item.is_window = true;
  item.flow = slots_[w.slot].flow;
  item.sample = w.sample;
  item.count = w.size;
  queued_.fetch_add(1, std::memory_order_relaxed);
  push(std::move(item), w.packets);
}

void StreamClassifier::push(Item&& item, const WindowPacket* packets) {
  std::unique_lock<std::mutex> lock(mu_);
  not_full_.wait(lock, [&] { return queue_.size() < capacity_ || failed_.load() || closing_; });
  if (failed_.load()) std::rethrow_exception(error_);
  item.first = queue_packets_.size();
  queue_packets_.insert(queue_packets_.end(), packets, packets + item.count);
  queue_.push_back(std::move(item));
  // The collector sleeps only on an empty queue and takes all of it when it wakes: waking it for
  // every item (a futex wake and two context switches per window on 2 cores) cost more than its
  // work; offline it is woken when a batch's worth is queued (or at finish()), live at once.
  const bool wake = options_.batch_deadline_s > 0 || queue_.size() == wake_at_;
  lock.unlock();
  if (wake) not_empty_.notify_one();
}

void StreamClassifier::finish() {
  if (finished_) return;
  finished_ = true;
  {
    std::lock_guard<std::mutex> lock(mu_);
    closing_ = true;
  }
  not_empty_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (error_) std::rethrow_exception(error_);
}

StreamCounters StreamClassifier::counters() const {
  StreamCounters c;
  c.packets = packets_.load();
  c.packets_kept = packets_kept_.load();
  c.flows = flows_.load();
  c.open_sessions = open_.load();
  c.evicted = evicted_.load();
  c.windows_queued = queued_.load();
  c.windows_classified = classified_.load();
  c.batches = batches_.load();
  c.batch_seconds = batch_seconds_.load();
  c.last_batch_ms = last_batch_ms_.load();
  c.max_batch_ms = max_batch_ms_.load();
  c.late_packets = late_.load();
  c.buffered_packets = buffered_.load();
  c.peak_buffered_packets = peak_buffered_.load();
  return c;
}

// ---------------------------------------------------------------------------------------------
// The collector and the runners

void StreamClassifier::deliver_end(const FlowEnd& end) {
  auto it = held_.find(end.flow.session);
  if (it != held_.end()) {
    Held& h = it->second;
    FLOWPIC_ASSERT(h.outstanding == 0);
    // Ordered mode: the flow's records by direction, then window (the chain is in completion
    // order; the sort is stable), each with the flow as it ended (the windows' copies of it differ
    // only in its number, known now).
    std::vector<uint32_t>& order = delivery_order_;
    order.clear();
    for (uint32_t e = h.head; e != kNoEntry; e = held_windows_[e].next) order.push_back(e);
    std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
      const Sample& x = held_windows_[a].sample;
      const Sample& y = held_windows_[b].sample;
      return x.direction != y.direction ? x.direction < y.direction : x.index < y.index;
    });
    const size_t k = model_.class_names.size();
    WindowResult& r = result_;
    r.flow = end.flow;
    for (uint32_t e : order) {
      const HeldWindow& w = held_windows_[e];
      r.sample = w.sample;
      r.sample.flow = end.flow.flow;
      r.predicted = w.predicted;
      r.probabilities.assign(held_probs_.data() + e * k, held_probs_.data() + (e + 1) * k);
      r.classified_at = w.classified_at;
      sink_.window(r);
    }
    for (uint32_t e : order) {
      held_windows_[e].next = free_held_;
      free_held_ = e;
    }
    held_.erase(it);
  }
  sink_.flow_end(end);
}

void StreamClassifier::run_batch(Runner& r) {
  const auto t0 = std::chrono::steady_clock::now();
  const size_t m = r.items.size();
  PacketStore& store = r.packets;
  FLOWPIC_ASSERT(r.samples.size() == m);
  if (!r.batcher)
    r.batcher = std::make_unique<ImageBatcher>(store, model_.representation, r.samples, r.model->device(),
                                               std::max(options_.batch_size, static_cast<int>(m)), nullptr,
                                               static_cast<BatchInput>(input_));
  else
    r.batcher->set_packets(store);
  if (r.ids.size() < m) {
    r.ids.resize(m);
    for (size_t i = 0; i < m; ++i) r.ids[i] = i;
  }
  r.probs = r.batcher->predict(*r.model, r.ids.data(), m);
  r.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

void StreamClassifier::runner_loop(Runner& r) {
#ifdef __linux__
  pthread_setname_np(pthread_self(), "flowpic-infer");
#endif
#ifdef _OPENMP
  if (r.threads > 0) omp_set_num_threads(r.threads);  // this thread's parallel regions
#endif
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      job_.wait(lock, [&] { return (r.busy && !r.done) || stopping_; });
      if (stopping_) return;
    }
    try {
      run_batch(r);
    } catch (...) {
      r.error = std::current_exception();
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      r.done = true;
    }
    not_empty_.notify_all();  // the collector
  }
}

bool StreamClassifier::front_done() const { return !in_flight_.empty() && in_flight_.front().runner->done; }

StreamClassifier::Runner& StreamClassifier::free_runner() {
  for (;;) {
    for (auto& r : runners_)
      if (!r->busy) return *r;
    finish_front();  // every runner busy: the oldest batch is the first to wait for
  }
}

void StreamClassifier::submit(std::vector<Item>& batch) {
  if (!input_chosen_) {
    // The input path from the first batch's windows (the whole run's are not known in advance).
    std::vector<Sample> samples;
    samples.reserve(batch.size());
    for (const Item& it : batch) samples.push_back(it.sample);
    const InputChoice c = choose_batch_input("auto", *model_.model, model_.representation, false, samples, "classify");
    input_ = static_cast<int>(c.input);
    input_reason_ = std::string(batch_input_name(c.input)) + " (" + c.reason + ", estimated on the first batch)";
    input_chosen_ = true;
  }
  Runner& r = free_runner();
  {
    std::lock_guard<std::mutex> lock(mu_);
    r.items.swap(batch);  // the runner's emptied vectors come back, their capacity kept
    std::swap(r.packets.time, batch_packets_.time);
    std::swap(r.packets.ip_length, batch_packets_.ip_length);
    std::swap(r.packets.payload_length, batch_packets_.payload_length);
    std::swap(r.packets.direction, batch_packets_.direction);
    r.samples.swap(batch_samples_);
    r.busy = true;
    r.done = false;
  }
  job_.notify_all();
  batch.clear();
  batch_packets_.time.clear();
  batch_packets_.ip_length.clear();
  batch_packets_.payload_length.clear();
  batch_packets_.direction.clear();
  batch_samples_.clear();
  in_flight_.push_back(InFlight{&r, std::move(pending_ends_)});
  pending_ends_.clear();
}

void StreamClassifier::finish_front() {
  InFlight f = std::move(in_flight_.front());
  in_flight_.pop_front();
  Runner& r = *f.runner;
  {
    std::unique_lock<std::mutex> lock(mu_);
    not_empty_.wait(lock, [&] { return r.done; });
  }
  if (r.error) std::rethrow_exception(r.error);
  const size_t m = r.items.size();
  const size_t k = model_.class_names.size();
  const double at = wall_now();
  for (size_t i = 0; i < m; ++i) {
    const Item& item = r.items[i];
    const float* row = r.probs.data() + i * k;
    const int32_t predicted = static_cast<int32_t>(std::max_element(row, row + k) - row);
    Held& h = *item.held;
    --h.outstanding;
    if (!options_.ordered) {
      WindowResult& w = result_;
      w.flow = item.flow;
      w.sample = item.sample;
      w.sample.flow = static_cast<uint32_t>(w.flow.session);
      w.predicted = predicted;
      w.probabilities.assign(row, row + k);
      w.classified_at = at;
      sink_.window(w);
      continue;
    }
    uint32_t e = free_held_;
    if (e != kNoEntry) {
      free_held_ = held_windows_[e].next;
    } else {
      e = static_cast<uint32_t>(held_windows_.size());
      held_windows_.emplace_back();
      held_probs_.resize(held_probs_.size() + k);
    }
    HeldWindow& w = held_windows_[e];
    w.sample = item.sample;
    w.predicted = predicted;
    w.classified_at = at;
    w.next = kNoEntry;
    std::copy(row, row + k, held_probs_.begin() + static_cast<std::ptrdiff_t>(e * k));
    if (h.tail == kNoEntry)
      h.head = e;
    else
      held_windows_[h.tail].next = e;
    h.tail = e;
  }
  classified_.fetch_add(m);
  batches_.fetch_add(1);
  batch_seconds_.store(batch_seconds_.load() + r.ms / 1000.0);
  last_batch_ms_.store(r.ms);
  max_batch_ms_.store(std::max(max_batch_ms_.load(), r.ms));
  r.items.clear();
  {
    std::lock_guard<std::mutex> lock(mu_);
    r.busy = false;
    r.done = false;
  }
  for (const FlowEnd& e : f.ends) deliver_end(e);
}

void StreamClassifier::add_to_batch(std::vector<Item>& batch, Item&& item, const WindowPacket* packets) {
  Held& h = held_[item.flow.session];
  ++h.outstanding;
  item.held = &h;
  PacketStore& store = batch_packets_;
  const size_t at = store.time.size(), n = item.count;
  store.time.resize(at + n);
  store.ip_length.resize(at + n);
  store.payload_length.resize(at + n);
  store.direction.resize(at + n);
  double* time = store.time.data() + at;
  uint32_t *ip = store.ip_length.data() + at, *payload = store.payload_length.data() + at;
  uint8_t* direction = store.direction.data() + at;
  for (size_t i = 0; i < n; ++i) {
    const WindowPacket& p = packets[i];
    time[i] = p.time;
    ip[i] = p.ip_length;
    payload[i] = p.payload_length;
    direction[i] = p.direction;
  }
  Sample s = item.sample;
  s.window.begin += at;
  s.window.end += at;
  batch_samples_.push_back(s);
  batch.push_back(std::move(item));
}

void StreamClassifier::worker() {
#ifdef __linux__
  pthread_setname_np(pthread_self(), "flowpic-collect");
#endif
  try {
    std::vector<Item> batch;
    const size_t n = static_cast<size_t>(options_.batch_size);
    std::chrono::steady_clock::time_point first;
    const auto deadline = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(options_.batch_deadline_s));
    std::vector<Item> incoming;  // what the queue held when the collector woke (capacity kept)
    std::vector<WindowPacket> incoming_packets;
    for (;;) {
      bool done = false, finished = false;
      {
        std::unique_lock<std::mutex> lock(mu_);
        auto ready = [&] { return !queue_.empty() || closing_ || front_done(); };
        if (!batch.empty() && options_.batch_deadline_s > 0)
          not_empty_.wait_until(lock, first + deadline, ready);
        else
          not_empty_.wait(lock, ready);
        finished = front_done();  // a batch's records first: they free a runner and go out at once
        if (!queue_.empty()) {
          incoming.swap(queue_);
          incoming_packets.swap(queue_packets_);
        } else if (closing_ && !finished)
          done = true;
      }
      if (finished) finish_front();
      if (!incoming.empty()) not_full_.notify_one();
      for (Item& item : incoming) {
        if (item.is_window) {
          if (batch.empty()) first = std::chrono::steady_clock::now();
          const WindowPacket* packets = incoming_packets.data() + item.first;
          add_to_batch(batch, std::move(item), packets);
          if (batch.size() >= n) submit(batch);
          continue;
        }
        // A flow without windows can end at once; one with windows waits behind the flows with
        // windows before it, so that records stay in flow order: after the batch being formed, or
        // when that is empty, after the newest batch in flight.
        auto it = held_.find(item.end.flow.session);
        const bool waiting = !pending_ends_.empty() || std::any_of(in_flight_.begin(), in_flight_.end(),
                                                                   [](const InFlight& f) { return !f.ends.empty(); });
        if (it == held_.end() || (it->second.outstanding == 0 && !waiting))
          deliver_end(item.end);
        else if (!batch.empty() || in_flight_.empty())
          pending_ends_.push_back(std::move(item.end));
        else
          in_flight_.back().ends.push_back(std::move(item.end));
      }
      incoming.clear();
      incoming_packets.clear();
      if (!batch.empty() && options_.batch_deadline_s > 0 && std::chrono::steady_clock::now() - first >= deadline)
        submit(batch);
      if (done) {
        if (!batch.empty()) submit(batch);
        while (!in_flight_.empty()) finish_front();
        for (const FlowEnd& e : pending_ends_) deliver_end(e);
        pending_ends_.clear();
        return;
      }
    }
  } catch (...) {
    std::lock_guard<std::mutex> lock(mu_);
    error_ = std::current_exception();
    failed_.store(true);
    not_full_.notify_all();
  }
}

}  // namespace flowpic
