// SPDX-License-Identifier: MIT
// Expect: pass captured values as args
// Must not compile: a context whose type names spawn checks its targets at compile time.
#include <pyconc/multiprocessing.hpp>

int main() {
  int captured = 1;
  pyconc::multiprocessing::SpawnContext ctx;
  auto p = ctx.Process([captured] { static_cast<void>(captured); });
  p.start();
}
