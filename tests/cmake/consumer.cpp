// SPDX-License-Identifier: MIT
// A consumer of pyconc: four named threads count to 4000 under a Lock.
// Built by the packaging tests through find_package, a build tree, add_subdirectory,
// FetchContent and pkg-config; PYCONC_CONSUMER_KIND says which.
#include <pyconc.hpp>

#include <iostream>
#include <mutex>
#include <string>
#include <vector>

#ifndef PYCONC_CONSUMER_KIND
#define PYCONC_CONSUMER_KIND find_package
#endif
#define CONSUMER_STRINGIFY_(x) #x
#define CONSUMER_STRINGIFY(x) CONSUMER_STRINGIFY_(x)

namespace {

pyconc::threading::Lock lock;
int counter = 0;

void count() {
  for (int i = 0; i < 1000; ++i) {
    std::lock_guard guard(lock);
    ++counter;
  }
}

}  // namespace

int main() {
  std::vector<pyconc::threading::Thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.push_back(pyconc::threading::Thread(count, {.name = "Counter-" + std::to_string(i)}));
  }
  for (auto& thread : threads) {
    thread.start();
  }
  for (auto& thread : threads) {
    thread.join();
  }
  std::cout << "pyconc " << PYCONC_VERSION_MAJOR << '.' << PYCONC_VERSION_MINOR << '.' << PYCONC_VERSION_PATCH
            << " via " << CONSUMER_STRINGIFY(PYCONC_CONSUMER_KIND) << ": " << threads.size() << " threads counted "
            << counter << '\n';
  return counter == 4000 ? 0 : 1;
}
