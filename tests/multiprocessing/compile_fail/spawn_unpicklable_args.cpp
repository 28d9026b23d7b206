// SPDX-License-Identifier: MIT
// Expect: every argument of a process started by spawn or forkserver must be picklable
// Must not compile: the arguments of a spawned process must be picklable.
#include <pyconc/multiprocessing.hpp>

struct Widget {
  int* raw;
};

void use(Widget) {}

int main() {
  pyconc::multiprocessing::ForkServerProcess p(use, std::tuple{Widget{nullptr}});
  p.start();
}
