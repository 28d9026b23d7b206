// SPDX-License-Identifier: MIT
//
// 06_candy_machine: a BoundedSemaphore counts the candy bars in a vending machine's tray.
//
// Mirrors the Python:
//     candytray = threading.BoundedSemaphore(MAX)
//     candytray.release()            # refill: ValueError when the tray is already full
//     candytray.acquire(False)       # buy: False when the tray is empty
//     print('Refilling candy...', end=' ')
//
// Every purchase and refill happens while holding `lock`, so the lines come out in the order
// the tray changed: the first 5 purchases succeed, later ones find the tray empty; of 7
// refills only 5 fit.
#include <pyconc.hpp>  // pyconc: threading::Thread, Lock, BoundedSemaphore; ValueError; print

#include <tuple>   // std::tuple
#include <vector>  // std::vector

using namespace pyconc;

threading::Lock lock;
constexpr int MAX = 5;
threading::BoundedSemaphore candytray(MAX);

void refill() {
  lock.acquire();
  print("Refilling candy...", kw::end = " ");
  try {
    candytray.release();
    print("OK");  // Python's `else:` branch: release() did not raise
  } catch (const ValueError&) {
    print("full, skipping");
  }
  lock.release();
}

void buy() {
  lock.acquire();
  print("Buying candy...", kw::end = " ");
  if (candytray.acquire(false)) {
    print("OK");
  } else {
    print("empty, skipping");
  }
  lock.release();
}

void producer(int loops) {
  for (int i = 0; i < loops; ++i) {
    refill();
  }
}

void consumer(int loops) {
  for (int i = 0; i < loops; ++i) {
    buy();
  }
}

int main() {
  print("THE CANDY MACHINE (full with", MAX, "bars)!");
  refill();  // the tray is already full

  // Two buyers want 7 bars between them: the first 5 purchases succeed,
  // whoever comes next finds the tray empty.
  std::vector<threading::Thread> buyers;
  for (int n : {4, 3}) {
    buyers.push_back(threading::Thread(consumer, std::tuple{n}));
  }
  for (auto& t : buyers) {
    t.start();
  }
  for (auto& t : buyers) {
    t.join();
  }

  // Two vendors bring 7 bars: only 5 fit back into the tray.
  std::vector<threading::Thread> vendors;
  for (int n : {4, 3}) {
    vendors.push_back(threading::Thread(producer, std::tuple{n}));
  }
  for (auto& t : vendors) {
    t.start();
  }
  for (auto& t : vendors) {
    t.join();
  }
  print("all done");
}
