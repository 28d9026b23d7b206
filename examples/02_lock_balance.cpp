// SPDX-License-Identifier: MIT
//
// 02_lock_balance: two threads change a shared balance, first without and then with a Lock.
//
// Mirrors the Python:
//     lock.acquire()
//     try:
//         change_it(n)
//     finally:
//         lock.release()
//
// Python's `balance = balance + n` is a read followed by a separate write, so two threads can
// lose each other's updates. A std::atomic<int> keeps exactly that (a load, then a store:
// updates can still be lost in between) without the undefined behaviour of a plain int data
// race in C++. Without the lock the final balance is therefore not guaranteed; with it, it is 0.
#include <pyconc.hpp>  // pyconc: threading::Thread, Lock; print

#include <atomic>  // std::atomic
#include <mutex>   // std::lock_guard, std::adopt_lock
#include <tuple>   // std::tuple

using namespace pyconc;

std::atomic<int> balance = 0;
threading::Lock lock;

void change_it(int n) {
  // deposit first, then withdraw: the balance should always come back to 0
  balance = balance + n;
  balance = balance - n;
}

void run_thread(int n) {
  for (int i = 0; i < 100000; ++i) {
    change_it(n);
  }
}

void run_thread_with_lock(int n) {
  for (int i = 0; i < 100000; ++i) {
    // only one thread at a time may be inside change_it()
    lock.acquire();
    {
      std::lock_guard finally(lock, std::adopt_lock);  // try: ... finally: lock.release()
      change_it(n);
    }
  }
}

int main() {
  // Without a lock the two threads can interleave inside change_it() and lose
  // updates, so the final balance is not guaranteed: we do not print it.
  threading::Thread t1(run_thread, std::tuple{5});
  threading::Thread t2(run_thread, std::tuple{8});
  t1.start();
  t2.start();
  t1.join();
  t2.join();
  print("without lock: 2 threads x 100000 changes done, balance is not guaranteed");

  balance = 0;
  t1 = threading::Thread(run_thread_with_lock, std::tuple{5});
  t2 = threading::Thread(run_thread_with_lock, std::tuple{8});
  t1.start();
  t2.start();
  t1.join();
  t2.join();
  print("with lock: balance == 0 is", balance == 0);
}
