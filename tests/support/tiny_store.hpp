#pragma once
// A tiny synthetic packet store (the built-in generator at a quarter of the small preset, ingested
// with the shipped label maps) in a fresh folder, for the experiments tests. Made once per test
// suite: derive a fixture from TinyStoreTest and use dir() and store().
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "common/atomic_file.hpp"
#include "dataset/ingest.hpp"
#include "dataset/synth.hpp"
#include "experiments/synthetic_store.hpp"

namespace flowpic::testing {

class TinyStoreTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(
        (std::filesystem::temp_directory_path() / ("flowpic-tiny-" + std::to_string(getpid()))).string());
    make_dirs(*dir_);
    synth::SynthOptions so;
    so.out_dir = *dir_ + "/synth";
    so.seed = 3;
    so.scale = 0.25;
    so.progress = false;
    synth::generate_synthetic(so);
    IngestOptions io;
    io.progress = false;
    io.label_map_paths = {find_config_file("labels/iscx_vpn_nonvpn.json"), find_config_file("labels/iscx_tor.json")};
    ingest_captures(list_captures({*dir_ + "/synth/captures"}), store(), io);
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    std::filesystem::remove_all(*dir_, ec);
    delete dir_;
    dir_ = nullptr;
  }
  static const std::string& dir() { return *dir_; }
  static std::string store() { return *dir_ + "/store.h5"; }

 private:
  static inline std::string* dir_ = nullptr;
};

}  // namespace flowpic::testing
