// SPDX-License-Identifier: MIT
//
// 07_condition_producer_consumer: a producer and a consumer hand items over through a
// one-slot box guarded by a Condition.
//
// Mirrors the Python:
//     with cond:
//         cond.wait_for(lambda: len(box) == 0)   # producer: wait until the box is empty
//         box.append(i)
//         cond.notify()
//
// The box holds at most one item and both threads print while holding the condition's lock,
// so "produced" and "consumed" lines strictly alternate.
#include <pyconc.hpp>  // pyconc: threading::Thread, Condition; print

#include <cstddef>  // std::size_t
#include <mutex>    // std::lock_guard
#include <vector>   // std::vector

using namespace pyconc;

threading::Condition cond;
std::vector<int> box;  // holds at most one item
std::vector<int> consumed;

void producer() {
  for (int i = 0; i < 5; ++i) {
    std::lock_guard with(cond);
    cond.wait_for([] { return box.size() == 0; });  // wait until the box is empty
    box.push_back(i);
    print("produced", i);
    cond.notify();
  }
}

void consumer() {
  for (int _ = 0; _ < 5; ++_) {
    std::lock_guard with(cond);
    while (box.size() == 0) {  // wait until there is something in the box
      cond.wait();
    }
    int item = box.back();  // item = box.pop()
    box.pop_back();
    consumed.push_back(item);
    print("consumed", item);
    cond.notify();
  }
}

int main() {
  threading::Thread c(consumer, {.name = "Consumer"});
  threading::Thread p(producer, {.name = "Producer"});
  c.start();
  p.start();
  p.join();
  c.join();
  print("consumer got", consumed);
  {
    std::lock_guard with(cond);
    print("wait(0.05) with nobody to notify returns", cond.wait(0.05));
  }
}
