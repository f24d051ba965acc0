// Training throughput of the CNN engine: images per second of forward + loss + backward + Adam
// step on random images, for a model JSON at a given input size and batch size.
//   bench_nn_train --model configs/models/flowpic_paper.json --input 1x1500x1500 --batch 32
//     --iters 3 --warmup 1 --device cpu   (one line)
// Prints one human line per timed run and a final JSON line (for scripts/bench_nn.sh).
// CPU threads: OMP_NUM_THREADS. The PyTorch twin is scripts/bench_nn_torch.py.
//
// --sparse-nnz K: each image gets K distinct non-zero cells at random positions holding small
// integer counts (1-4), like a FlowPic; the step is timed on that batch as a SparseBatch (the
// first convolution over the cells only) and then on the same batch densified (the dense path),
// each with its own model of the same seed; the JSON line gives both medians. When the model
// starts conv2d -> relu -> max_pool2d the sparse path runs those three as one fused op
// (Model::sparse_pool_fused); the step is then also timed with them apart (the sparse conv, then
// the dense max pool: "sparse_unfused_median_ms"). When a conv2d follows, the sparse path runs it
// over the fused op's background + sparse delta output (Model::sparse_delta_conv); the step is
// also timed with the dense convolution there ("sparse_nodelta_median_ms"), and inference
// (forward with training off, as Model::predict) both ways ("predict_median_ms",
// "predict_nodelta_median_ms").
// --sparse-rows R: the K cells of an image lie in R consecutive rows (from a random first row), as
// a real window's packets do (a few packet sizes); 0 (the default): anywhere. --predict-only times
// inference alone (the sparse batch with and without the delta conv; the JSON's training fields 0).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/h5.hpp"
#include "nn/cpu_kernels.hpp"
#include "nn/model.hpp"
#include "nn/optimizer.hpp"
#include "nn/random.hpp"
#include "nn/sparse.hpp"
#include "nn/weights.hpp"

using namespace flowpic;
using namespace flowpic::nn;

namespace {

struct Args {
  std::string model = "configs/models/flowpic_paper.json";
  Shape input{1, 1, 1500, 1500};
  int batch = 32, iters = 3, warmup = 1, classes = 5;
  long sparse_nnz = 0;  // > 0: time the sparse path against the dense one (see the top)
  int sparse_rows = 0;  // > 0: the cells of an image in that many consecutive rows
  bool predict_only = false;
  std::string device = "cpu";
  std::string dump;  // PREFIX: write PREFIX.weights.h5 and PREFIX.outputs.h5 (input, probabilities)
};

Shape parse_shape(const std::string& s) {
  int c = 0, h = 0, w = 0;
  if (std::sscanf(s.c_str(), "%dx%dx%d", &c, &h, &w) != 3 || c <= 0 || h <= 0 || w <= 0)
    fail("--input: expected CxHxW such as 1x1500x1500, got '", s, "'");
  return {1, c, h, w};
}

int parse_int(const std::string& flag, const std::string& v) {
  char* end = nullptr;
  long x = std::strtol(v.c_str(), &end, 10);
  if (v.empty() || *end || x <= 0) fail(flag, ": expected a positive integer, got '", v, "'");
  return int(x);
}

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string f = argv[i];
    if (f == "--help" || f == "-h") {
      std::puts(
          "usage: bench_nn_train [--model JSON] [--input CxHxW] [--batch N] [--iters N] [--warmup N] "
          "[--classes N] [--device cpu|cuda|auto] [--dump PREFIX] [--sparse-nnz K [--sparse-rows R] "
          "[--predict-only]]\n"
          "--sparse-nnz K times the step on a sparse batch of K random cells per image (counts 1-4) and on\n"
          "the same batch densified; FLOWPIC_NN_PROFILE=1 prints both per-layer profiles\n"
          "--dump writes PREFIX.weights.h5 (docs/weights.md) and PREFIX.outputs.h5 (/input, /probabilities\n"
          "in inference mode) after the run, for scripts/check_nn_torch.py");
      std::exit(0);
    }
    if (f == "--predict-only") {
      a.predict_only = true;
      continue;
    }
    if (i + 1 >= argc) fail(f, ": missing value (see --help)");
    std::string v = argv[++i];
    if (f == "--model")
      a.model = v;
    else if (f == "--input")
      a.input = parse_shape(v);
    else if (f == "--batch")
      a.batch = parse_int(f, v);
    else if (f == "--iters")
      a.iters = parse_int(f, v);
    else if (f == "--warmup")
      a.warmup = std::stoi(v);
    else if (f == "--classes")
      a.classes = parse_int(f, v);
    else if (f == "--device")
      a.device = v;
    else if (f == "--dump")
      a.dump = v;
    else if (f == "--sparse-nnz")
      a.sparse_nnz = parse_int(f, v);
    else if (f == "--sparse-rows")
      a.sparse_rows = parse_int(f, v);
    else
      fail("unknown option '", f, "' (see --help)");
  }
  return a;
}

// Median wall seconds of `iters` calls of step() after `warmup`, with a human line per call;
// then, with FLOWPIC_NN_PROFILE set, one more profiled call and the model's per-layer report.
template <typename Step>
double time_steps(const char* label, const Args& a, Model& model, Step&& step, double* cpu_median) {
  for (int i = 0; i < a.warmup; ++i) step();
  std::vector<double> secs, cpu_secs;  // wall time, and process CPU time (all threads)
  for (int i = 0; i < a.iters; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    std::clock_t c0 = std::clock();
    double loss = step();
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    secs.push_back(s);
    cpu_secs.push_back(double(std::clock() - c0) / CLOCKS_PER_SEC);
    std::fprintf(stderr, "  %siter %d: %.1f ms, %.1f images/s, loss %.4f\n", label, i, s * 1e3, a.batch / s, loss);
  }
  if (std::getenv("FLOWPIC_NN_PROFILE")) {  // per-layer totals over one more timed pass
    model.set_profiling(true);
    step();
    model.set_profiling(false);
    std::fprintf(stderr, "%s%s", label, model.profile_report().c_str());
  }
  std::sort(secs.begin(), secs.end());
  std::sort(cpu_secs.begin(), cpu_secs.end());
  *cpu_median = cpu_secs[cpu_secs.size() / 2];
  return secs[secs.size() / 2];
}

// K distinct random cells per image with counts 1-4 (fixed seed), as a dense host batch; with
// rows > 0 in that many consecutive rows of the first channel.
std::vector<float> sparse_images(Shape bs, long k, int rows, Rng& rng) {
  const size_t per = bs.sample_count();
  const size_t span = rows > 0 ? size_t(std::min(rows, bs.h)) * bs.w : per;
  if (size_t(k) > span) fail("--sparse-nnz: ", k, " cells do not fit ", span, " pixels");
  std::vector<float> host(bs.count(), 0.0f);
  for (int n = 0; n < bs.n; ++n) {
    const size_t first = rows > 0 ? size_t(rng.next_u64() % uint64_t(bs.h - std::min(rows, bs.h) + 1)) * bs.w : 0;
    for (long placed = 0; placed < k;) {
      float& cell = host[size_t(n) * per + first + rng.next_u64() % span];
      if (cell != 0.0f) continue;
      cell = float(1 + rng.next_u64() % 4);
      ++placed;
    }
  }
  return host;
}

int run_sparse(const Args& a, Backend& backend) {
  if (!a.dump.empty()) fail("--dump is for the dense benchmark only; drop --sparse-nnz or --dump");
  ModelOptions unfused{a.input, a.classes, 1}, no_delta{a.input, a.classes, 1};
  unfused.fuse_sparse_pool = false;
  no_delta.sparse_delta_conv = false;
  Model sparse_model = Model::from_file(a.model, {a.input, a.classes, 1}, backend);
  Model unfused_model = Model::from_file(a.model, unfused, backend);
  Model nodelta_model = Model::from_file(a.model, no_delta, backend);
  Model dense_model = Model::from_file(a.model, {a.input, a.classes, 1}, backend);
  if (!sparse_model.accepts_sparse_input())
    fail("--sparse-nnz: the model's first layer is ", sparse_model.layer(0).type(), ", not conv2d");
  const bool fused = sparse_model.sparse_pool_fused(), delta = sparse_model.sparse_delta_conv();
  Adam sparse_opt(sparse_model, AdamConfig{}), unfused_opt(unfused_model, AdamConfig{}),
      nodelta_opt(nodelta_model, AdamConfig{}), dense_opt(dense_model, AdamConfig{});
  Shape bs = a.input.with_n(a.batch);
  Rng rng(42, 0);
  OwnedSparseBatch xs = sparse_from_dense(sparse_images(bs, a.sparse_nnz, a.sparse_rows, rng), bs, backend.device());
  Tensor xd = densify(xs.view(), backend.device());
  std::vector<int32_t> labels(a.batch);
  for (auto& l : labels) l = int32_t(rng.next_u64() % a.classes);
  std::fprintf(stderr,
               "bench_nn_train: %s, %s, input %dx%dx%d, batch %d, %ld cells per image (density %.5f), threads %d, "
               "sparse conv + pool %s%s\n",
               a.model.c_str(), backend.description().c_str(), a.input.c, a.input.h, a.input.w, a.batch, a.sparse_nnz,
               double(a.sparse_nnz) / double(bs.sample_count()), cpu::max_threads(), fused ? "fused" : "not fused",
               delta ? ", delta conv after it" : "");
  auto sparse_train_step = [&](Model& m, Adam& opt) {
    m.forward(xs.view(), true);
    double loss = m.loss_and_grad(labels);
    m.backward();
    opt.step();
    backend.synchronize();
    return loss;
  };
  auto sparse_step = [&] { return sparse_train_step(sparse_model, sparse_opt); };
  auto unfused_step = [&] { return sparse_train_step(unfused_model, unfused_opt); };
  auto nodelta_step = [&] { return sparse_train_step(nodelta_model, nodelta_opt); };
  auto predict = [&](Model& m) {
    m.forward(xs.view(), false);
    backend.synchronize();
    return 0.0;
  };
  auto dense_step = [&] {
    dense_model.forward(xd, true);
    double loss = dense_model.loss_and_grad(labels);
    dense_model.backward();
    dense_opt.step();
    backend.synchronize();
    return loss;
  };
  const bool train = !a.predict_only;
  double sparse_cpu = 0, unfused_cpu = 0, dense_cpu = 0;
  double sparse_med = train ? time_steps("sparse ", a, sparse_model, sparse_step, &sparse_cpu) : 0;
  double unfused_med =
      fused && train ? time_steps("sparse-unfused ", a, unfused_model, unfused_step, &unfused_cpu) : sparse_med;
  if (!fused) unfused_cpu = sparse_cpu;
  double nodelta_cpu = sparse_cpu, predict_cpu = 0, predict_nodelta_cpu = 0;
  double nodelta_med =
      delta && train ? time_steps("sparse-nodelta ", a, nodelta_model, nodelta_step, &nodelta_cpu) : sparse_med;
  double predict_med = time_steps(
      "predict ", a, sparse_model, [&] { return predict(sparse_model); }, &predict_cpu);
  double predict_nodelta_med =
      delta ? time_steps(
                  "predict-nodelta ", a, nodelta_model, [&] { return predict(nodelta_model); }, &predict_nodelta_cpu)
            : predict_med;
  double dense_med = train ? time_steps("dense ", a, dense_model, dense_step, &dense_cpu) : 0;
  std::printf(
      "{\"engine\": \"flowpic\", \"device\": \"%s\", \"model\": \"%s\", \"input\": \"%dx%dx%d\", \"batch\": %d, "
      "\"iters\": %d, \"sparse_nnz\": %ld, \"sparse_pool_fused\": %s, \"sparse_delta_conv\": %s, "
      "\"sparse_median_ms\": %.3f, \"sparse_median_cpu_ms\": %.3f, \"sparse_unfused_median_ms\": %.3f, "
      "\"sparse_unfused_median_cpu_ms\": %.3f, \"sparse_nodelta_median_ms\": %.3f, \"predict_median_ms\": %.3f, "
      "\"predict_nodelta_median_ms\": %.3f, \"dense_median_ms\": %.3f, \"dense_median_cpu_ms\": %.3f, "
      "\"speedup\": %.2f}\n",
      a.device.c_str(), a.model.c_str(), a.input.c, a.input.h, a.input.w, a.batch, a.iters, a.sparse_nnz,
      fused ? "true" : "false", delta ? "true" : "false", sparse_med * 1e3, sparse_cpu * 1e3, unfused_med * 1e3,
      unfused_cpu * 1e3, nodelta_med * 1e3, predict_med * 1e3, predict_nodelta_med * 1e3, dense_med * 1e3,
      dense_cpu * 1e3, train ? dense_med / sparse_med : 0.0);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    Args a = parse(argc, argv);
    auto backend = make_backend(a.device);
    if (a.sparse_nnz > 0) return run_sparse(a, *backend);
    Model model = Model::from_file(a.model, {a.input, a.classes, 1}, *backend);
    Adam opt(model, AdamConfig{});
    // Sparse non-negative images like FlowPics (most pixels zero), fixed seed.
    Shape bs = a.input.with_n(a.batch);
    std::vector<float> host(bs.count(), 0.0f);
    Rng rng(42, 0);
    for (auto& x : host)
      if ((rng.next_u64() & 15) == 0) x = float(rng.uniform(0, 1));
    std::vector<int32_t> labels(a.batch);
    for (auto& l : labels) l = int32_t(rng.next_u64() % a.classes);
    Tensor x = Tensor::from_host(host, bs, backend->device());
    std::fprintf(stderr, "bench_nn_train: %s, %s, input %dx%dx%d, batch %d, %zu parameters, threads %d\n",
                 a.model.c_str(), backend->description().c_str(), a.input.c, a.input.h, a.input.w, a.batch,
                 model.parameter_count(), cpu::max_threads());
    auto step = [&] {
      model.forward(x, true);
      double loss = model.loss_and_grad(labels);
      model.backward();
      opt.step();
      backend->synchronize();
      return loss;
    };
    for (int i = 0; i < a.warmup; ++i) step();
    std::vector<double> secs, cpu_secs;  // wall time, and process CPU time (all threads)
    for (int i = 0; i < a.iters; ++i) {
      auto t0 = std::chrono::steady_clock::now();
      std::clock_t c0 = std::clock();
      double loss = step();
      double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      secs.push_back(s);
      cpu_secs.push_back(double(std::clock() - c0) / CLOCKS_PER_SEC);
      std::fprintf(stderr, "  iter %d: %.1f ms, %.1f images/s, loss %.4f\n", i, s * 1e3, a.batch / s, loss);
    }
    if (std::getenv("FLOWPIC_NN_PROFILE")) {  // per-layer totals over one more timed pass
      model.set_profiling(true);
      step();
      std::fprintf(stderr, "%s", model.profile_report().c_str());
    }
    if (!a.dump.empty()) {
      save_weights(model, a.dump + ".weights.h5");
      std::vector<float> probs = model.predict(x);
      h5::Id f = h5::create_file(a.dump + ".outputs.h5");
      h5::write(f, "/input", host, {hsize_t(bs.n), hsize_t(bs.c), hsize_t(bs.h), hsize_t(bs.w)});
      h5::write(f, "/probabilities", probs, {hsize_t(a.batch), hsize_t(a.classes)});
    }
    std::sort(secs.begin(), secs.end());
    std::sort(cpu_secs.begin(), cpu_secs.end());
    double med = secs[secs.size() / 2], cpu_med = cpu_secs[cpu_secs.size() / 2];
    std::printf(
        "{\"engine\": \"flowpic\", \"device\": \"%s\", \"model\": \"%s\", \"input\": \"%dx%dx%d\", \"batch\": %d, "
        "\"iters\": %d, \"median_ms\": %.3f, \"median_cpu_ms\": %.3f, \"images_per_s\": %.2f}\n",
        a.device.c_str(), a.model.c_str(), a.input.c, a.input.h, a.input.w, a.batch, a.iters, med * 1e3, cpu_med * 1e3,
        a.batch / med);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_nn_train: %s\n", e.what());
    return 1;
  }
}
