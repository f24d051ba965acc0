// run_experiment CONFIG.json [--set key=value]... [--dry-run]
#include "experiments/runner.hpp"

int main(int argc, char** argv) { return flowpic::run_experiment_main(argc, argv); }
