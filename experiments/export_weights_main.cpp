#include "experiments/classify.hpp"

int main(int argc, char** argv) { return flowpic::export_weights_main(argc, argv); }
