// SPDX-License-Identifier: MIT
//
// 05_event_gate: an Event as a start gate that holds every runner until the main thread opens it.
//
// Mirrors the Python:
//     gate = threading.Event()
//     gate.wait()        # in each runner
//     gate.set()         # main opens the gate: all runners go
//     gate.clear()
#include <pyconc.hpp>  // pyconc: threading::Thread, Event, Lock; print

#include <algorithm>  // std::ranges::sort
#include <mutex>      // std::lock_guard
#include <tuple>      // std::tuple
#include <vector>     // std::vector

using namespace pyconc;

threading::Event gate;
threading::Lock lock;
std::vector<int> passed;

void runner(int i) {
  gate.wait();  // every runner blocks here until the gate opens
  std::lock_guard with(lock);
  passed.push_back(i);
}

int main() {
  std::vector<threading::Thread> threads;
  for (int i = 0; i < 3; ++i) {
    threads.push_back(threading::Thread(runner, std::tuple{i}));
  }
  for (auto& t : threads) {
    t.start();
  }
  print("gate is set:", gate.is_set());
  print("wait(0.05) returns", gate.wait(0.05));
  {
    std::lock_guard with(lock);
    print("runners past the gate:", passed.size());
  }
  gate.set();  // open the gate: all runners go
  for (auto& t : threads) {
    t.join();
  }
  print("gate is set:", gate.is_set());
  std::ranges::sort(passed);
  print("runners past the gate:", passed);
  print("wait() returns", gate.wait());
  gate.clear();
  print("after clear(), gate is set:", gate.is_set());
}
