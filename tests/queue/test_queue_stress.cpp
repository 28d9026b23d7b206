// SPDX-License-Identifier: MIT
// Stress tests for the queues: many producers and consumers moving many items through one
// queue, checking that no item is lost or duplicated (and, for FIFO queues, that each
// producer's items keep their order), through blocking calls and through timeouts.
#include <atomic>
#include <cstddef>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <pyconc/queue.hpp>
#include <pyconc/threading.hpp>
#include <pyconc/time.hpp>

#include "queue/queue_support.hpp"
#include "support.hpp"

using namespace pyconc;

namespace {

// No count is scaled down for sanitizers: measured on 2 cores, the 1,000,000-item test takes
// about 0.1 s optimised, 0.7 s in a Debug build, 1 s under ASan+UBSan and 5 s under TSan
// (Debug), far inside the 180 s CTest timeout of the sanitizer presets.
constexpr long long kSentinel = -1;

/** What the consumers received, checked in the test thread after every thread has ended. */
struct Tally {
  long long expected = 0;           // items put
  long long received = 0;           // items got (sentinels excluded)
  long long duplicates = 0;         // items got more than once
  long long missing = 0;            // items put and never got
  long long out_of_range = 0;       // values never put
  long long order_violations = 0;   // a consumer got a producer's items out of order (FIFO only)
  std::vector<std::string> errors;  // exceptions that escaped a producer or a consumer
};

/**
Runs `producers` threads that each `put(q, value)` `per_producer` distinct values
(producer p puts p * per_producer + i, i ascending) and `consumers` threads that `get(q)`
until they get the sentinel -1, calling `task_done()` for every item when the queue has it.
Once the producers are done, `join()`s the queue (when it has one) so that every item has been
taken, then puts one sentinel per consumer.
*/
template <class Q, class Put, class Get>
Tally move_items(Q& q, int producers, int consumers, long long per_producer, bool fifo, Put put, Get get) {
  constexpr bool has_tasks = requires(Q & x) {
    x.task_done();
  };
  std::vector<std::vector<long long>> got(static_cast<std::size_t>(consumers));
  std::vector<std::string> producer_errors(static_cast<std::size_t>(producers));
  std::vector<std::string> consumer_errors(static_cast<std::size_t>(consumers));
  threading::Barrier start(producers + consumers);
  std::vector<threading::Thread> producer_threads;
  std::vector<threading::Thread> consumer_threads;
  for (int p = 0; p < producers; ++p) {
    producer_threads.emplace_back([&, p] {
      start.wait();
      producer_errors[static_cast<std::size_t>(p)] = pyconc_test::raised([&] {
        const long long base = p * per_producer;
        for (long long i = 0; i < per_producer; ++i)
          put(q, base + i);
      });
    });
  }
  for (int c = 0; c < consumers; ++c) {
    consumer_threads.emplace_back([&, c] {
      auto& mine = got[static_cast<std::size_t>(c)];
      mine.reserve(static_cast<std::size_t>(per_producer * producers / consumers * 2));
      start.wait();
      consumer_errors[static_cast<std::size_t>(c)] = pyconc_test::raised([&] {
        for (;;) {
          const long long value = get(q);
          if constexpr (has_tasks)
            q.task_done();
          if (value == kSentinel)
            return;
          mine.push_back(value);
        }
      });
    });
  }
  for (auto& t : producer_threads)
    t.start();
  for (auto& t : consumer_threads)
    t.start();
  for (auto& t : producer_threads)
    t.join();
  if constexpr (has_tasks)
    q.join();  // every item taken (and done) before the sentinels go in
  for (int c = 0; c < consumers; ++c)
    q.put(kSentinel);
  for (auto& t : consumer_threads)
    t.join();

  Tally tally;
  tally.expected = producers * per_producer;
  std::vector<unsigned char> seen(static_cast<std::size_t>(tally.expected), 0);
  for (const auto& mine : got) {
    std::vector<long long> last(static_cast<std::size_t>(producers), -1);
    for (long long value : mine) {
      ++tally.received;
      if (value < 0 || value >= tally.expected) {
        ++tally.out_of_range;
        continue;
      }
      auto& mark = seen[static_cast<std::size_t>(value)];
      if (mark != 0)
        ++tally.duplicates;
      mark = 1;
      auto& previous = last[static_cast<std::size_t>(value / per_producer)];
      if (fifo && value <= previous)
        ++tally.order_violations;
      previous = value;
    }
  }
  for (unsigned char mark : seen)
    tally.missing += mark == 0 ? 1 : 0;
  for (const auto& e : producer_errors)
    if (e != "no exception")
      tally.errors.push_back("producer: " + e);
  for (const auto& e : consumer_errors)
    if (e != "no exception")
      tally.errors.push_back("consumer: " + e);
  return tally;
}

void check(const Tally& t) {
  CHECK(t.errors.empty());
  CHECK(t.received == t.expected);
  CHECK(t.missing == 0);
  CHECK(t.duplicates == 0);
  CHECK(t.out_of_range == 0);
  CHECK(t.order_violations == 0);
}

/**
`move_items` through `q` (each producer's order checked where `q` is FIFO), then `check` the
tally and that `q` is left empty with every task done; returns the tally.
*/
template <class Q, class Put, class Get>
Tally stress(Q& q, int producers, int consumers, long long per_producer, Put put, Get get) {
  constexpr bool fifo = pyconc_test::QueueTraits<Q>::order == pyconc_test::Order::fifo;
  const Tally t = move_items(q, producers, consumers, per_producer, fifo, put, get);
  check(t);
  CHECK(q.empty());
  if constexpr (pyconc_test::QueueTraits<Q>::has_tasks)
    CHECK(q.unfinished_tasks() == 0);
  return t;
}

// The blocking calls.
constexpr auto blocking_put = [](auto& q, long long v) { q.put(v); };
constexpr auto blocking_get = [](auto& q) { return q.get(); };

// Short timeouts, retried: exercises the timed-out paths under contention. A put that raised
// Full must not have put anything (it is retried: a duplicate would show), and a get that
// raised Empty must not have taken anything (a loss would show).
constexpr auto timed_put = [](auto& q, long long v) {
  for (;;) {
    try {
      q.put(v, true, 0.0005);
      return;
    } catch (const queue::Full&) {
    }
  }
};
constexpr auto timed_get = [](auto& q) {
  for (;;) {
    try {
      return q.get(true, 0.0005);
    } catch (const queue::Empty&) {
    }
  }
};

// Non-blocking calls, retried after yielding the processor.
constexpr auto nowait_put = [](auto& q, long long v) {
  for (;;) {
    try {
      q.put_nowait(v);
      return;
    } catch (const queue::Full&) {
      time::sleep(0);
    }
  }
};
constexpr auto nowait_get = [](auto& q) {
  for (;;) {
    try {
      return q.get_nowait();
    } catch (const queue::Empty&) {
      time::sleep(0);
    }
  }
};

}  // namespace

TEST_CASE("Queue.stress 8 producers and 8 consumers move 1000000 items with no loss and no duplicate",
          "[queue][stress]") {
  queue::Queue<long long> q(256);
  CHECK(stress(q, 8, 8, 1'000'000 / 8, blocking_put, blocking_get).expected == 1'000'000);
}

TEST_CASE("Queue.stress through a queue of one item", "[queue][stress]") {
  // maxsize 1: every put waits for a get and the other way round.
  queue::Queue<long long> q(1);
  stress(q, 4, 4, 20'000, blocking_put, blocking_get);
}

TEST_CASE("Queue.stress with timeouts that keep expiring", "[queue][stress][timeout]") {
  queue::Queue<long long> q(4);
  stress(q, 8, 8, 10'000, timed_put, timed_get);
}

TEST_CASE("Queue.stress with put_nowait and get_nowait", "[queue][stress]") {
  queue::Queue<long long> q(8);
  stress(q, 4, 4, 10'000, nowait_put, nowait_get);
}

TEST_CASE("Queue.stress with blocking and timed calls mixed", "[queue][stress][timeout]") {
  queue::Queue<long long> q(16);
  auto mixed_put = [](auto& qq, long long v) {
    if (v % 2 == 0)
      qq.put(v);
    else
      timed_put(qq, v);
  };
  auto mixed_get = [](auto& qq) {
    thread_local long long n = 0;  // each consumer alternates on its own
    return ++n % 2 == 0 ? qq.get() : timed_get(qq);
  };
  stress(q, 8, 8, 20'000, mixed_put, mixed_get);
}

TEST_CASE("SimpleQueue.stress 8 producers and 8 consumers with no loss and no duplicate", "[queue][simple][stress]") {
  queue::SimpleQueue<long long> q;
  stress(q, 8, 8, 400'000 / 8, blocking_put, blocking_get);
}

TEST_CASE("SimpleQueue.stress with timed and non-blocking gets", "[queue][simple][stress][timeout]") {
  queue::SimpleQueue<long long> q;
  SECTION("timed") {
    stress(q, 4, 8, 20'000, blocking_put, timed_get);
  }
  SECTION("non-blocking") {
    stress(q, 4, 4, 20'000, blocking_put, nowait_get);
  }
}

TEST_CASE("LifoQueue.stress 8 producers and 8 consumers with no loss and no duplicate", "[queue][lifo][stress]") {
  queue::LifoQueue<long long> q(64);
  stress(q, 8, 8, 200'000 / 8, blocking_put, blocking_get);
}

TEST_CASE("LifoQueue.stress with timeouts that keep expiring", "[queue][lifo][stress][timeout]") {
  queue::LifoQueue<long long> q(4);
  stress(q, 4, 4, 10'000, timed_put, timed_get);
}

TEST_CASE("PriorityQueue.stress 8 producers and 8 consumers with no loss and no duplicate",
          "[queue][priority][stress]") {
  queue::PriorityQueue<long long> q(64);
  stress(q, 8, 8, 200'000 / 8, blocking_put, blocking_get);
}

TEST_CASE("PriorityQueue.stress with timeouts that keep expiring", "[queue][priority][stress][timeout]") {
  queue::PriorityQueue<long long> q(4);
  stress(q, 4, 4, 10'000, timed_put, timed_get);
}

TEST_CASE("PriorityQueue.stress a lone consumer sees each snapshot in order", "[queue][priority][stress]") {
  // Producers race to fill the queue; once they are done, a lone consumer must get everything
  // in ascending order, whatever interleaving built the heap.
  queue::PriorityQueue<long long> q;
  constexpr int kProducers = 8;
  constexpr long long kPer = 20'000;
  std::vector<threading::Thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&q, p] {
      for (long long i = 0; i < kPer; ++i)
        q.put((i * 7919 + p) % (kPer * kProducers));
    });
  }
  for (auto& t : producers)
    t.start();
  for (auto& t : producers)
    t.join();
  REQUIRE(q.qsize() == static_cast<std::size_t>(kPer * kProducers));
  long long previous = -1;
  long long violations = 0;
  while (!q.empty()) {
    const long long v = q.get_nowait();
    if (v < previous)
      ++violations;
    previous = v;
  }
  CHECK(violations == 0);
}
