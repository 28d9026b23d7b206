// SPDX-License-Identifier: MIT
//
// 12_queue_producer_consumer: a producer fills a bounded queue.Queue, daemon consumers drain
// it, and task_done()/join() tell the main thread when every item has been processed.
//
// Mirrors the Python:
//     while True:
//         item = q.get()     # consumer: blocks until an item is there
//         ...
//         q.task_done()      # tell the queue this item is processed
//     q.join()               # main: blocks until every item put has been marked done
//
// The consumers are daemon threads that loop forever, as in the classic pattern: when main()
// returns they are still blocked in q.get() and the program exits without them. The queue is
// a global, like Python's module-level `q`, so it outlives main().
#include <pyconc.hpp>  // pyconc: queue::Queue, Empty; threading::Thread, Lock; print; ValueError

#include <algorithm>  // std::ranges::sort
#include <mutex>      // std::lock_guard
#include <numeric>    // std::accumulate
#include <string>     // std::string, std::to_string
#include <tuple>      // std::tuple
#include <vector>     // std::vector

using namespace pyconc;

queue::Queue<int> q(3);  // bounded: put() waits while 3 items are waiting
std::vector<int> results;
threading::Lock results_lock;

void producer(int n) {
  for (int item = 0; item < n; ++item) {
    q.put(item);  // blocks while the queue is full
  }
  print("producer: put", n, "items");
}

void consumer() {
  while (true) {
    int item = q.get();  // blocks until an item is there
    {
      std::lock_guard with(results_lock);
      results.push_back(item * item);
    }
    q.task_done();  // tell the queue this item is processed
  }
}

int main() {
  // The classic pattern: daemon consumers that loop forever on q.get().
  for (int i = 0; i < 3; ++i) {
    threading::Thread(consumer, {.name = "Consumer-" + std::to_string(i), .daemon = true}).start();
  }
  threading::Thread p(producer, std::tuple{10}, {.name = "Producer"});
  p.start();
  p.join();
  q.join();  // blocks until every item put has been marked with task_done()
  print("all tasks done");
  {
    std::lock_guard with(results_lock);
    std::vector<int> sorted_results = results;  // sorted(results)
    std::ranges::sort(sorted_results);
    print("results:", sorted_results);
    print("sum of squares:", std::accumulate(results.begin(), results.end(), 0));
  }
  print("queue empty:", q.empty(), "full:", q.full(), "maxsize:", q.maxsize());
  try {
    q.get_nowait();
  } catch (const queue::Empty&) {
    print("get_nowait() on an empty queue raises queue.Empty");
  }
  try {
    q.task_done();
  } catch (const ValueError& e) {
    print("one task_done() too many raises ValueError:", e.what());
  }
  // The consumers are daemon threads still blocked in q.get():
  // the program exits without waiting for them.
  print("main: done");
}
