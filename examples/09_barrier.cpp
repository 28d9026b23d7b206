// SPDX-License-Identifier: MIT
//
// 09_barrier: N threads meet at a Barrier twice; its action runs once per round.
//
// Mirrors the Python:
//     barrier = threading.Barrier(N, action=all_arrived)
//     index = barrier.wait()        # in each worker, once per round
//     lonely.wait(0.05)             # nobody else comes: BrokenBarrierError
//     lonely.reset()
//
// The action runs in the last thread to arrive, before any thread is released, so the count
// it prints is the same on every run.
#include <pyconc.hpp>  // pyconc: threading::Thread, Barrier, BrokenBarrierError, Lock; print

#include <algorithm>  // std::ranges::sort
#include <cstddef>    // std::size_t
#include <mutex>      // std::lock_guard
#include <tuple>      // std::tuple
#include <vector>     // std::vector

using namespace pyconc;

constexpr int N = 3;
threading::Lock lock;
std::vector<int> passed;
std::vector<std::size_t> indices;

void all_arrived() {
  // run once per round by the last thread to arrive, before anyone is released
  print("all", N, "arrived; passed so far:", passed.size());
}

threading::Barrier barrier(N, all_arrived);

void worker(int i) {
  for (int round = 0; round < 2; ++round) {
    std::size_t index = barrier.wait();
    std::lock_guard with(lock);
    passed.push_back(i);
    indices.push_back(index);
  }
}

int main() {
  print("parties:", barrier.parties());
  std::vector<threading::Thread> threads;
  for (int i = 0; i < N; ++i) {
    threads.push_back(threading::Thread(worker, std::tuple{i}));
  }
  for (auto& t : threads) {
    t.start();
  }
  for (auto& t : threads) {
    t.join();
  }
  std::ranges::sort(passed);
  std::ranges::sort(indices);
  print("passed:", passed);
  print("indices:", indices);
  print("n_waiting:", barrier.n_waiting(), "broken:", barrier.broken());

  threading::Barrier lonely(2);
  try {
    lonely.wait(0.05);  // nobody else comes: the wait times out
  } catch (const threading::BrokenBarrierError&) {
    print("timed out alone: BrokenBarrierError, broken:", lonely.broken());
  }
  lonely.reset();
  print("after reset(), broken:", lonely.broken());
}
