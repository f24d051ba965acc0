// flowpic_data: everything about data, from captures to images (apps/flowpic_data.cpp).
#include "apps/cli.hpp"

int main(int argc, char** argv) {
  return flowpic::cli::flowpic_data(flowpic::cli::Args(argv + (argc > 0), argv + argc));
}
