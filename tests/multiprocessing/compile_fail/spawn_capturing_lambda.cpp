// SPDX-License-Identifier: MIT
// Expect: pass captured values as args
// Must not compile: a spawned process runs its target in a new run of the program, which
// cannot receive what a lambda captured. The error must say what to do instead.
#include <pyconc/multiprocessing.hpp>

int main() {
  int captured = 1;
  pyconc::multiprocessing::SpawnProcess p([captured] { static_cast<void>(captured); });
  p.start();
}
