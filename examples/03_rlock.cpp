// SPDX-License-Identifier: MIT
//
// 03_rlock: an RLock can be acquired again by the thread that holds it; a Lock cannot.
//
// Mirrors the Python:
//     def increment_twice(self):
//         with self.lock:          # an RLock
//             self.increment()     # takes self.lock again: fine for an RLock
//             self.increment()
//
// `with lock:` becomes `std::lock_guard with(lock);` (every pyconc lock is Lockable).
#include <pyconc.hpp>  // pyconc: threading::Thread, Lock, RLock; RuntimeError; print

#include <functional>  // std::ref
#include <mutex>       // std::lock_guard
#include <tuple>       // std::tuple
#include <vector>      // std::vector

using namespace pyconc;

struct Counter {
  threading::RLock lock;
  int value = 0;

  void increment() {
    std::lock_guard with(lock);
    value += 1;
  }

  void increment_twice() {
    std::lock_guard with(lock);
    // increment() takes lock again: fine for an RLock,
    // a plain Lock would deadlock here
    increment();
    increment();
  }
};

void worker(Counter& counter) {
  for (int i = 0; i < 1000; ++i) {
    counter.increment_twice();
  }
}

int main() {
  threading::RLock rlock;
  print("first acquire:", rlock.acquire());
  print("second acquire by the same thread:", rlock.acquire());

  auto try_from_other_thread = [&] { print("another thread, acquire(blocking=False):", rlock.acquire(false)); };

  threading::Thread t(try_from_other_thread);
  t.start();
  t.join();

  rlock.release();
  rlock.release();
  try {
    rlock.release();
  } catch (const RuntimeError& e) {
    print("third release: RuntimeError:", e.what());
  }

  threading::Lock lock;
  lock.acquire();
  print("plain Lock, second acquire(blocking=False):", lock.acquire(false));
  lock.release();

  Counter counter;
  std::vector<threading::Thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.push_back(threading::Thread(worker, std::tuple{std::ref(counter)}));
  }
  for (auto& t : threads) {
    t.start();
  }
  for (auto& t : threads) {
    t.join();
  }
  print("counter.value =", counter.value);
}
