// SPDX-License-Identifier: MIT
// Tests for queue::LifoQueue, after CPython's Lib/test/test_queue.py (LifoQueueTest runs the
// same BaseQueueTestMixin as Queue, with last-in first-out order).
#include <chrono>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include <catch2/catch.hpp>
#include <pyconc/queue.hpp>
#include <pyconc/threading.hpp>
#include <pyconc/time.hpp>

#include "queue/queue_support.hpp"
#include "support.hpp"

using namespace pyconc;
using namespace std::chrono_literals;
using pyconc_test::Call;
using pyconc_test::settle;

namespace {

constexpr int kQueueSize = 5;  // test_queue.py's QUEUE_SIZE

static_assert(!std::is_copy_constructible_v<queue::LifoQueue<int>>);
static_assert(!std::is_copy_assignable_v<queue::LifoQueue<int>>);

}  // namespace

TEST_CASE("LifoQueue.basic LIFO behaviour as in test_queue.py basic_queue_test", "[queue][lifo]") {
  queue::LifoQueue<int> q(kQueueSize);
  for (int round = 0; round < 2; ++round) {
    INFO("round " << round);
    REQUIRE(q.qsize() == 0);
    CHECK(q.empty());
    CHECK_FALSE(q.full());
    q.put(111);
    q.put(333);
    q.put(222);
    CHECK(q.get() == 222);
    CHECK(q.get() == 333);
    CHECK(q.get() == 111);
    for (int i = 0; i < kQueueSize - 1; ++i) q.put(i);
    CHECK_FALSE(q.full());
    q.put(2 * kQueueSize);
    CHECK(q.full());
    REQUIRE_RAISES(q.put(6 * kQueueSize, false), queue::Full, "");
    REQUIRE_RAISES(q.put(6 * kQueueSize, true, 0.01), queue::Full, "");
    {
      Call put([&] { q.put(6 * kQueueSize); });
      settle();
      const bool early = put.finished();
      const int got = q.get();  // the newest: 2 * kQueueSize
      const std::string result = put.outcome();
      CHECK_FALSE(early);
      CHECK(got == 2 * kQueueSize);
      CHECK(result == "returned");
    }
    {
      Call put([&] { q.put(7 * kQueueSize, true, 10); });
      settle();
      const bool early = put.finished();
      const int got = q.get();  // the newest: 6 * kQueueSize, put by the thread above
      const std::string result = put.outcome();
      CHECK_FALSE(early);
      CHECK(got == 6 * kQueueSize);
      CHECK(result == "returned");
    }
    std::vector<int> rest;
    for (int i = 0; i < kQueueSize; ++i) rest.push_back(q.get());
    CHECK(rest == std::vector<int>{7 * kQueueSize, 3, 2, 1, 0});
    REQUIRE_RAISES(q.get(false), queue::Empty, "");
    REQUIRE_RAISES(q.get(true, 0.01), queue::Empty, "");
    {
      Call get([&] { return q.get(); });
      settle();
      const bool early = get.finished();
      q.put(-7);
      const std::string result = get.outcome();
      CHECK_FALSE(early);
      CHECK(result == "returned -7");
    }
    {
      Call get([&] { return q.get(true, 10s); });
      settle();
      const bool early = get.finished();
      q.put(-8);
      const std::string result = get.outcome();
      CHECK_FALSE(early);
      CHECK(result == "returned -8");
    }
    for (std::size_t i = q.unfinished_tasks(); i > 0; --i) q.task_done();
  }
}

TEST_CASE("LifoQueue.is LIFO across interleaved puts and gets", "[queue][lifo]") {
  queue::LifoQueue<std::string> q;
  q.put("a");
  q.put("b");
  CHECK(q.get() == "b");
  q.put("c");
  q.put("d");
  CHECK(q.get() == "d");
  CHECK(q.get() == "c");
  q.put("e");
  CHECK(q.get_nowait() == "e");
  CHECK(q.get(false) == "a");
  CHECK(q.empty());
  // A long run checked against a model stack.
  std::vector<int> model;
  std::vector<int> wrong;
  int next = 0;
  queue::LifoQueue<int> big;
  for (int round = 0; round < 60; ++round) {
    for (int i = 0; i < round % 4 + 1; ++i) {
      big.put(next);
      model.push_back(next++);
    }
    for (int i = 0; i < round % 3 + 1 && !model.empty(); ++i) {
      const int got = big.get();
      if (got != model.back()) wrong.push_back(got);
      model.pop_back();
    }
  }
  CHECK(wrong.empty());
  CHECK(big.qsize() == model.size());
}

TEST_CASE("LifoQueue.put_nowait and get_nowait raise Full and Empty", "[queue][lifo][errors]") {
  queue::LifoQueue<int> q(kQueueSize);
  for (int i = 0; i < kQueueSize; ++i) q.put_nowait(i);
  REQUIRE_RAISES(q.put_nowait(99), queue::Full, "");
  CHECK(q.qsize() == static_cast<std::size_t>(kQueueSize));
  CHECK(q.unfinished_tasks() == static_cast<std::size_t>(kQueueSize));
  for (int i = kQueueSize - 1; i >= 0; --i) CHECK(q.get_nowait() == i);
  REQUIRE_RAISES(q.get_nowait(), queue::Empty, "");
}

TEST_CASE("LifoQueue.full is 0 < maxsize <= qsize and maxsize can change", "[queue][lifo]") {
  queue::LifoQueue<int> unbounded;
  CHECK(unbounded.maxsize() == 0);
  for (int i = 0; i < 100; ++i) unbounded.put_nowait(i);
  CHECK_FALSE(unbounded.full());
  queue::LifoQueue<int> negative(-2);
  negative.put_nowait(1);
  negative.put_nowait(2);
  negative.put_nowait(3);
  CHECK_FALSE(negative.full());
  queue::LifoQueue<int> q(3);
  q.put(1);
  q.put(2);
  q.put(3);
  CHECK(q.full());
  q.maxsize(2);  // test_shrinking_queue
  CHECK(q.maxsize() == 2);
  CHECK(q.full());
  REQUIRE_RAISES(q.put_nowait(4), queue::Full, "");
  q.maxsize(0);
  CHECK_FALSE(q.full());
  q.put_nowait(4);
  CHECK(q.get() == 4);
}

TEST_CASE("LifoQueue.timeouts raise Empty and Full after about that long", "[queue][lifo][timeout]") {
  queue::LifoQueue<int> q(1);
  {
    const pyconc_test::Stopwatch clock;
    REQUIRE_RAISES(q.get(true, 0.1), queue::Empty, "");
    REQUIRE_TIMING(clock.elapsed(), 0.1);
  }
  q.put(1);
  {
    const pyconc_test::Stopwatch clock;
    REQUIRE_RAISES(q.put(2, true, 100ms), queue::Full, "");
    REQUIRE_TIMING(clock.elapsed(), 0.1);
  }
  REQUIRE_RAISES(q.put(2, true, 0), queue::Full, "");
  CHECK(q.get(true, 0) == 1);
  REQUIRE_RAISES(q.get(true, 0ms), queue::Empty, "");
}

TEST_CASE("LifoQueue.negative timeouts behave as CPython's", "[queue][lifo][timeout][errors]") {
  queue::LifoQueue<int> q(kQueueSize);
  REQUIRE_RAISES(q.put(1, true, -1), ValueError, "'timeout' must be a non-negative number");
  CHECK(q.qsize() == 0);
  q.put(1);
  REQUIRE_RAISES(q.get(true, -1), ValueError, "'timeout' must be a non-negative number");
  REQUIRE_RAISES(q.get(true, -1s), ValueError, "'timeout' must be a non-negative number");
  CHECK(q.get(false, -1) == 1);
  REQUIRE_RAISES(q.get(false, -1), queue::Empty, "");
  q.put(2, false, -1);  // block=false ignores the timeout
  queue::LifoQueue<int> unbounded;
  unbounded.put(5, true, -1);  // ignored on an unbounded queue
  CHECK(unbounded.get() == 5);
}

TEST_CASE("LifoQueue.blocked get and put really block until woken", "[queue][lifo][blocking]") {
  queue::LifoQueue<int> q(1);
  {
    Call get([&] { return q.get(); });
    settle();
    const bool early = get.finished();
    q.put(10);
    const std::string result = get.outcome();
    CHECK_FALSE(early);
    CHECK(result == "returned 10");
  }
  {
    q.put(20);
    Call put([&] { q.put(30); });
    settle();
    const bool early = put.finished();
    const int first = q.get();
    const std::string result = put.outcome();
    CHECK_FALSE(early);
    CHECK(first == 20);
    CHECK(result == "returned");
    CHECK(q.get() == 30);
  }
}

TEST_CASE("LifoQueue.many blocked getters each get one item", "[queue][lifo][blocking]") {
  const int n = GENERATE(2, 16);
  queue::LifoQueue<int> q;
  std::vector<Call> getters;
  for (int i = 0; i < n; ++i) getters.emplace_back([&] { return q.get(); });
  settle();
  int early = 0;
  for (auto& g : getters) early += g.finished() ? 1 : 0;
  for (int i = 0; i < n; ++i) q.put(i);
  int stuck = 0;
  for (auto& g : getters) stuck += g.wait(10.0) ? 0 : 1;
  if (stuck > 0) q.shutdown();
  std::vector<int> seen(static_cast<std::size_t>(n), 0);
  std::vector<std::string> odd;
  for (auto& g : getters) {
    const std::string r = g.outcome();
    if (r.rfind("returned ", 0) != 0) {
      odd.push_back(r);
      continue;
    }
    const int v = std::stoi(r.substr(9));
    if (v < 0 || v >= n) odd.push_back(r);
    else ++seen[static_cast<std::size_t>(v)];
  }
  CHECK(early == 0);
  CHECK(stuck == 0);
  CHECK(odd.empty());
  CHECK(seen == std::vector<int>(static_cast<std::size_t>(n), 1));
}

TEST_CASE("LifoQueue.task_done and join", "[queue][lifo][join]") {
  queue::LifoQueue<int> q;
  REQUIRE_RAISES(q.task_done(), ValueError, "task_done() called too many times");
  q.put(1);
  q.put(2);
  Call join([&] { q.join(); });
  settle();
  const bool early = join.finished();
  static_cast<void>(q.get());
  static_cast<void>(q.get());
  q.task_done();
  settle();
  const bool after_one = join.finished();
  q.task_done();
  const std::string result = join.outcome();
  CHECK_FALSE(early);
  CHECK_FALSE(after_one);
  CHECK(result == "returned");
  REQUIRE_RAISES(q.task_done(), ValueError, "task_done() called too many times");
  q.join();
  q.join();
}

TEST_CASE("LifoQueue.move-only items pass through every put and get", "[queue][lifo][move-only]") {
  queue::LifoQueue<std::unique_ptr<int>> q(8);
  q.put(std::make_unique<int>(1));
  q.put(std::make_unique<int>(2), true);
  q.put(std::make_unique<int>(3), true, 1.0);
  q.put(std::make_unique<int>(4), false);
  q.put_nowait(std::make_unique<int>(5));
  CHECK(*q.get() == 5);
  CHECK(*q.get(true) == 4);
  CHECK(*q.get(true, 1s) == 3);
  CHECK(*q.get(false) == 2);
  CHECK(*q.get_nowait() == 1);
  Call get([&] { return q.get(); });
  settle();
  const bool early = get.finished();
  q.put(std::make_unique<int>(6));
  const std::string result = get.outcome();
  CHECK_FALSE(early);
  CHECK(result == "returned *6");
}
