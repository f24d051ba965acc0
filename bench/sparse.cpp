// The paper network's full training step (images built + forward + backward + Adam) on real
// windows of a packet store, dense (the R x R images built, then the dense first convolution)
// against sparse (the images' non-zero cells straight into the sparse-input first convolution),
// same windows, same weights, same labels, in the same run. Also the benchmark's random images
// (1 pixel in 16 non-zero) on both paths, as a second row.
//   bench_sparse [--store S.h5] [--representation configs/representations/flowpic_paper.json]
//     [--model configs/models/flowpic_paper.json] [--batch 32] [--iters 5] [--warmup 1]
//     [--device cpu|cuda] [--dump-images FILE]
// Without --store: the built-in synthetic store (the small preset, seed 1, in data/synthetic, as
// `run_experiment configs/vpn_category.json --set dataset.source=synthetic` uses it). The batch is
// `batch` windows spread evenly over the store's samples. --dump-images writes the dense batch
// (float32, N x C x H x W, then N int32 labels) for scripts/bench_nn_torch.py --images.
// Prints a human table on stderr and one JSON line per (case, path) on stdout (scripts/bench_sparse.sh).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "dataset/packet_store.hpp"
#include "experiments/synthetic_store.hpp"
#include "kernels/image_builder.hpp"
#include "kernels/sample_index.hpp"
#include "nn/model.hpp"
#include "nn/optimizer.hpp"
#include "nn/random.hpp"
#include "nn/sparse.hpp"

using namespace flowpic;

namespace {

struct Args {
  std::string store, representation = "configs/representations/flowpic_paper.json";
  std::string model = "configs/models/flowpic_paper.json";
  int batch = 32, iters = 5, warmup = 1, classes = 5;
  std::string device = "cpu";
  std::string dump;
};

int positive(const std::string& flag, const std::string& v, int min = 1) {
  char* end = nullptr;
  const long x = std::strtol(v.c_str(), &end, 10);
  if (v.empty() || *end || x < min) fail(flag, ": expected an integer >= ", min, ", got '", v, "'");
  return static_cast<int>(x);
}

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string f = argv[i];
    if (f == "--help" || f == "-h") {
      std::puts(
          "usage: bench_sparse [--store S.h5] [--representation JSON] [--model JSON] [--batch N] [--iters N] "
          "[--warmup N] [--device cpu|cuda] [--dump-images FILE]");
      std::exit(0);
    }
    if (i + 1 >= argc) fail(f, ": missing value (see --help)");
    const std::string v = argv[++i];
    if (f == "--store")
      a.store = v;
    else if (f == "--representation")
      a.representation = v;
    else if (f == "--model")
      a.model = v;
    else if (f == "--batch")
      a.batch = positive(f, v);
    else if (f == "--iters")
      a.iters = positive(f, v);
    else if (f == "--warmup")
      a.warmup = positive(f, v, 0);
    else if (f == "--device")
      a.device = v;
    else if (f == "--dump-images")
      a.dump = v;
    else
      fail("unknown option '", f, "' (see --help)");
  }
  return a;
}

std::string config_path(const std::string& p) {
  if (p.rfind("configs/", 0) == 0) {
    std::ifstream in(p);
    if (!in) return find_config_file(p.substr(8));
  }
  return p;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

struct Timing {
  double build_ms = 0, step_ms = 0;  // medians: the images (or cells) alone, the whole step
};

}  // namespace

int main(int argc, char** argv) {
  try {
    const Args a = parse(argc, argv);
    const std::string store_path =
        a.store.empty() ? ensure_synthetic_store("data/synthetic", 1, "small", 1.0) : a.store;
    const PacketStore store = read_packet_store(store_path);
    const RepresentationConfig rep = RepresentationConfig::load(config_path(a.representation));
    if (rep.type != RepresentationConfig::Type::kFlowPic) fail(a.representation, ": not a flowpic representation");
    const SampleIndex index = build_sample_index(store, rep);
    if (index.samples.size() < static_cast<size_t>(a.batch))
      fail(store_path, ": ", index.samples.size(), " windows, fewer than the batch of ", a.batch);
    std::vector<ImageWindow> windows;
    double packets = 0;
    for (int i = 0; i < a.batch; ++i) {
      const Sample& s = index.samples[static_cast<size_t>(i) * index.samples.size() / a.batch];
      windows.push_back(s.window);
      packets += s.packets;
    }
    auto backend = nn::make_backend(a.device);
    const nn::DeviceKind dev = backend->device();
    const BuilderDevice bdev = dev == nn::DeviceKind::cpu ? BuilderDevice::kCpu : BuilderDevice::kGpu;
    ImageBuilderOptions bo;
    bo.use_caller_stream = true;  // the legacy default stream, the engine's
    auto builder = make_image_builder(rep.image_spec(), bdev, host_columns(store), bo);
    const nn::Shape shape{a.batch, rep.channels(), rep.height(), rep.width()};
    nn::Rng rng(42, 0);
    std::vector<int32_t> labels(a.batch);
    for (auto& l : labels) l = static_cast<int32_t>(rng.next_u64() % a.classes);

    // The two models start from the same weights (same seed) and train on the same batch.
    const nn::ModelOptions mo{{1, rep.channels(), rep.height(), rep.width()}, a.classes, 1};
    nn::Model dense = nn::Model::from_file(config_path(a.model), mo, *backend);
    nn::Model sparse = nn::Model::from_file(config_path(a.model), mo, *backend);
    if (!sparse.accepts_sparse_input()) fail(a.model, ": the first layer is not a conv2d");
    auto dense_opt = nn::make_optimizer(json{{"type", "adam"}}, {"bench", "optimizer"}, dense);
    auto sparse_opt = nn::make_optimizer(json{{"type", "adam"}}, {"bench", "optimizer"}, sparse);

    nn::Tensor images(shape, dev);
    // One timed step of each path: builds, then trains; returns {build seconds, step seconds}.
    auto dense_step = [&](bool build) {
      const auto t0 = Clock::now();
      if (build) builder->build(windows.data(), windows.size(), images.data());
      backend->synchronize();
      const double b = since(t0);
      dense.forward(images, true);
      dense.loss_and_grad(labels);
      dense.backward();
      dense_opt->step();
      backend->synchronize();
      return std::pair<double, double>{b, since(t0)};
    };
    nn::SparseBatch cells;
    double nnz = 0;
    auto sparse_step = [&](const nn::SparseBatch* fixed) {
      const auto t0 = Clock::now();
      if (!fixed) {
        const SparseImages s = builder->build_sparse(windows.data(), windows.size());
        cells = nn::SparseBatch{shape, dev, s.nnz, s.offsets, s.index, s.value};
        nnz = static_cast<double>(s.nnz);
      }
      backend->synchronize();
      const double b = since(t0);
      sparse.forward(fixed ? *fixed : cells, true);
      sparse.loss_and_grad(labels);
      sparse.backward();
      sparse_opt->step();
      backend->synchronize();
      return std::pair<double, double>{b, since(t0)};
    };
    auto time = [&](auto&& step) {
      for (int i = 0; i < a.warmup; ++i) step();
      std::vector<double> b, s;
      for (int i = 0; i < a.iters; ++i) {
        const auto [bt, st] = step();
        b.push_back(bt);
        s.push_back(st);
      }
      return Timing{median(b) * 1e3, median(s) * 1e3};
    };

    std::fprintf(stderr,
                 "bench_sparse: %s, %s, %d windows of %s (%zu in the store), %s, threads from OMP_NUM_THREADS\n",
                 store_path.c_str(), backend->description().c_str(), a.batch, a.representation.c_str(),
                 index.samples.size(), a.model.c_str());
    const Timing td = time([&] { return dense_step(true); });
    const Timing ts = time([&] { return sparse_step(nullptr); });
    if (!a.dump.empty()) {
      builder->build(windows.data(), windows.size(), images.data());
      const std::vector<float> host = images.to_host();
      std::ofstream out(a.dump, std::ios::binary);
      out.write(reinterpret_cast<const char*>(host.data()), static_cast<std::streamsize>(host.size() * sizeof(float)));
      out.write(reinterpret_cast<const char*>(labels.data()), static_cast<std::streamsize>(labels.size() * 4));
      if (!out) fail("cannot write ", a.dump);
    }

    // The benchmark's random images: 1 pixel in 16 non-zero, both paths on the same batch.
    std::vector<float> host(shape.count(), 0.0f);
    for (auto& x : host)
      if ((rng.next_u64() & 15) == 0) x = static_cast<float>(rng.uniform(0, 1));
    images.copy_from_host(host);
    const nn::OwnedSparseBatch random_cells = nn::sparse_from_dense(host, shape, dev);
    const Timing rd = time([&] { return dense_step(false); });
    const Timing rs = time([&] { return sparse_step(&random_cells.view()); });

    const double per_image = static_cast<double>(shape.sample_count());
    std::fprintf(stderr, "| batch | packets/image | cells/image | density | dense ms | sparse ms | sparse/dense |\n");
    std::fprintf(stderr, "|---|---:|---:|---:|---:|---:|---:|\n");
    std::fprintf(stderr, "| store windows | %.0f | %.0f | %.2g | %.1f (images %.1f) | %.1f (cells %.1f) | %.2f |\n",
                 packets / a.batch, nnz / a.batch, nnz / a.batch / per_image, td.step_ms, td.build_ms, ts.step_ms,
                 ts.build_ms, td.step_ms / ts.step_ms);
    const double rnnz = static_cast<double>(random_cells.view().nnz) / a.batch;
    std::fprintf(stderr, "| random 1/16 | - | %.0f | %.2g | %.1f | %.1f | %.2f |\n", rnnz, rnnz / per_image, rd.step_ms,
                 rs.step_ms, rd.step_ms / rs.step_ms);
    auto line = [&](const char* c, const char* path, const Timing& t, double cells_per_image) {
      std::printf(
          "{\"case\": \"%s\", \"path\": \"%s\", \"device\": \"%s\", \"batch\": %d, \"iters\": %d, "
          "\"packets_per_image\": %.1f, \"cells_per_image\": %.1f, \"build_ms\": %.3f, \"step_ms\": %.3f}\n",
          c, path, a.device.c_str(), a.batch, a.iters, packets / a.batch, cells_per_image, t.build_ms, t.step_ms);
    };
    line("store", "dense", td, nnz / a.batch);
    line("store", "sparse", ts, nnz / a.batch);
    line("random", "dense", rd, rnnz);
    line("random", "sparse", rs, rnnz);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_sparse: %s\n", e.what());
    return 1;
  }
}
