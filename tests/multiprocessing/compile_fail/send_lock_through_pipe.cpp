// SPDX-License-Identifier: MIT
// Expect: should only be shared between processes through inheritance
// Must not compile: a multiprocessing Lock reaches another process only as a Process argument.
#include <pyconc/multiprocessing.hpp>

int main() {
  auto ends = pyconc::multiprocessing::Pipe();
  ends.first.send(std::vector<pyconc::multiprocessing::Lock>{pyconc::multiprocessing::Lock()});
}
