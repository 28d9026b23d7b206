// SPDX-License-Identifier: MIT
// Expect: should only be shared between processes through inheritance
// Must not compile: a multiprocessing Lock is not put into a queue, as in CPython.
#include <pyconc/multiprocessing.hpp>

int main() {
  pyconc::multiprocessing::Queue<pyconc::multiprocessing::Lock> q;
  q.put(pyconc::multiprocessing::Lock());
}
