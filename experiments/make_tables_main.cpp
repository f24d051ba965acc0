#include "experiments/tables.hpp"

int main(int argc, char** argv) { return flowpic::make_tables_main(argc, argv); }
