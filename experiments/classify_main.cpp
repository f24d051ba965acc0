#include "experiments/classify.hpp"

int main(int argc, char** argv) { return flowpic::classify_main(argc, argv); }
