// SPDX-License-Identifier: MIT
// Catch2's main for every test program. It calls multiprocessing::freeze_support() first, as
// a program using the spawn or forkserver start method must: in a spawned child it runs the
// child's target and never returns.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <pyconc/multiprocessing/process.hpp>

int main(int argc, char* argv[]) {
  pyconc::multiprocessing::freeze_support();
  return Catch::Session().run(argc, argv);
}
