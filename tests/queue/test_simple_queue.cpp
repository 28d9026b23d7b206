// SPDX-License-Identifier: MIT
// Tests for queue::SimpleQueue, after CPython's Lib/test/test_queue.py (BaseSimpleQueueTest) and
// the behaviour of the C _queue.SimpleQueue checked on CPython 3.11 and 3.13.
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

using SQ = queue::SimpleQueue<int>;

static_assert(!std::is_copy_constructible_v<SQ>);
static_assert(!std::is_copy_assignable_v<SQ>);

// Python's SimpleQueue has none of these (AttributeError); here they do not compile.
template <class Q> constexpr bool has_task_done = requires(Q& q) { q.task_done(); };
template <class Q> constexpr bool has_join = requires(Q& q) { q.join(); };
template <class Q> constexpr bool has_full = requires(Q& q) { q.full(); };
template <class Q> constexpr bool has_maxsize = requires(Q& q) { q.maxsize(); };
template <class Q> constexpr bool has_shutdown = requires(Q& q) { q.shutdown(); };
template <class Q> constexpr bool has_unfinished_tasks = requires(Q& q) { q.unfinished_tasks(); };
static_assert(!has_task_done<SQ> && !has_join<SQ> && !has_full<SQ> && !has_maxsize<SQ>);
static_assert(!has_shutdown<SQ> && !has_unfinished_tasks<SQ>);
// ... which Queue has (the checks above can tell).
static_assert(has_task_done<queue::Queue<int>> && has_join<queue::Queue<int>> && has_full<queue::Queue<int>>);
static_assert(has_maxsize<queue::Queue<int>> && has_shutdown<queue::Queue<int>>);
static_assert(has_unfinished_tasks<queue::Queue<int>>);
// SimpleQueue() takes no maxsize.
static_assert(!std::is_constructible_v<SQ, int>);

}  // namespace

TEST_CASE("SimpleQueue.is FIFO and counts its items", "[queue][simple]") {
  SQ q;
  CHECK(q.empty());
  CHECK(q.qsize() == 0);
  q.put(111);
  q.put(333);
  q.put(222);
  CHECK_FALSE(q.empty());
  CHECK(q.qsize() == 3);
  CHECK(q.get() == 111);
  CHECK(q.get() == 333);
  CHECK(q.get() == 222);
  CHECK(q.empty());
  int next_in = 0;
  int next_out = 0;
  int wrong = 0;
  for (int round = 0; round < 50; ++round) {
    for (int i = 0; i < round % 6 + 1; ++i) q.put(next_in++);
    for (int i = 0; i < round % 4 + 1 && !q.empty(); ++i) wrong += q.get() == next_out++ ? 0 : 1;
  }
  while (!q.empty()) wrong += q.get_nowait() == next_out++ ? 0 : 1;
  CHECK(wrong == 0);
  CHECK(next_out == next_in);
}

TEST_CASE("SimpleQueue.put never blocks and ignores block and timeout", "[queue][simple][timeout]") {
  SQ q;
  const pyconc_test::Stopwatch clock;
  q.put(1);
  q.put(2, false);
  q.put(3, true);
  q.put(4, false, -9);  // Python: q.put(x, block=False, timeout=-9) is accepted
  q.put(5, true, -1);
  q.put(6, true, -1s);
  q.put(7, true, 0);
  q.put(8, true, 5.0);
  q.put_nowait(9);
  for (int i = 10; i < 100000; ++i) q.put(i, false);  // unbounded
  CHECK(clock.elapsed() < 5.0);
  CHECK(q.qsize() == 99999);
  for (int i = 1; i < 10; ++i) CHECK(q.get() == i);
}

TEST_CASE("SimpleQueue.get_nowait and get with block false raise Empty", "[queue][simple][errors]") {
  SQ q;
  REQUIRE_RAISES(q.get_nowait(), queue::Empty, "");
  REQUIRE_RAISES(q.get(false), queue::Empty, "");
  REQUIRE_RAISES(q.get(false, 1.0), queue::Empty, "");
  CHECK(pyconc_test::raised([&] { static_cast<void>(q.get_nowait()); }) == "Empty: ");
  q.put(1);
  CHECK(q.get_nowait() == 1);
}

TEST_CASE("SimpleQueue.get with a timeout raises Empty after about that long", "[queue][simple][timeout]") {
  SQ q;
  SECTION("double seconds") {
    const pyconc_test::Stopwatch clock;
    REQUIRE_RAISES(q.get(true, 0.1), queue::Empty, "");
    REQUIRE_TIMING(clock.elapsed(), 0.1);
  }
  SECTION("std::chrono milliseconds") {
    const pyconc_test::Stopwatch clock;
    REQUIRE_RAISES(q.get(true, 100ms), queue::Empty, "");
    REQUIRE_TIMING(clock.elapsed(), 0.1);
  }
  SECTION("zero") {
    REQUIRE_RAISES(q.get(true, 0), queue::Empty, "");
    q.put(3);
    CHECK(q.get(true, 0) == 3);
  }
}

TEST_CASE("SimpleQueue.get with a negative timeout raises ValueError even when an item is available",
          "[queue][simple][timeout][errors]") {
  SQ q;
  REQUIRE_RAISES(q.get(true, -1), ValueError, "'timeout' must be a non-negative number");
  q.put(1);
  REQUIRE_RAISES(q.get(true, -1), ValueError, "'timeout' must be a non-negative number");
  REQUIRE_RAISES(q.get(true, -1ms), ValueError, "'timeout' must be a non-negative number");
  CHECK(q.qsize() == 1);
  CHECK(q.get(false, -1) == 1);  // block=false ignores the timeout
  REQUIRE_RAISES(q.get(false, -1), queue::Empty, "");
}

TEST_CASE("SimpleQueue.a blocked get really blocks until a put", "[queue][simple][blocking]") {
  queue::SimpleQueue<std::string> q;
  SECTION("without a timeout") {
    Call get([&] { return q.get(); });
    settle();
    const bool early = get.finished();
    q.put("eggs");
    const std::string result = get.outcome();
    CHECK_FALSE(early);
    CHECK(result == "returned eggs");
  }
  SECTION("with a timeout") {
    Call get([&] { return q.get(true, 10.0); });
    settle();
    const bool early = get.finished();
    q.put("ham");
    const std::string result = get.outcome();
    CHECK_FALSE(early);
    CHECK(result == "returned ham");
    CHECK(get.seconds() < 5.0);
  }
  CHECK(q.empty());
}

TEST_CASE("SimpleQueue.many blocked getters each get one item with no lost wake-up", "[queue][simple][blocking]") {
  const int n = GENERATE(1, 4, 16);
  SQ q;
  std::vector<Call> getters;
  for (int i = 0; i < n; ++i) getters.emplace_back([&] { return q.get(); });
  settle();
  int early = 0;
  for (auto& g : getters) early += g.finished() ? 1 : 0;
  for (int i = 0; i < n; ++i) q.put(i);
  int stuck = 0;
  for (auto& g : getters) stuck += g.wait(10.0) ? 0 : 1;
  for (int i = 0; i < stuck; ++i) q.put(-1);  // rescue the stuck ones before asserting
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

TEST_CASE("SimpleQueue.getters with timeouts and getters without share the items", "[queue][simple][blocking]") {
  SQ q;
  std::vector<Call> getters;
  for (int i = 0; i < 4; ++i) getters.emplace_back([&] { return q.get(); });
  for (int i = 0; i < 4; ++i) getters.emplace_back([&] { return q.get(true, 30.0); });
  settle();
  int early = 0;
  for (auto& g : getters) early += g.finished() ? 1 : 0;
  for (int i = 0; i < 8; ++i) q.put(i);
  int stuck = 0;
  for (auto& g : getters) stuck += g.wait(10.0) ? 0 : 1;
  for (int i = 0; i < stuck; ++i) q.put(-1);
  std::vector<int> seen(8, 0);
  int odd = 0;
  for (auto& g : getters) {
    const std::string r = g.outcome(40.0);
    if (r.rfind("returned ", 0) != 0) {
      ++odd;
      continue;
    }
    const int v = std::stoi(r.substr(9));
    if (v < 0 || v >= 8) ++odd;
    else ++seen[static_cast<std::size_t>(v)];
  }
  CHECK(early == 0);
  CHECK(stuck == 0);
  CHECK(odd == 0);
  CHECK(seen == std::vector<int>(8, 1));
}

TEST_CASE("SimpleQueue.move-only items pass through every put and get", "[queue][simple][move-only]") {
  queue::SimpleQueue<std::unique_ptr<int>> q;
  q.put(std::make_unique<int>(1));
  q.put(std::make_unique<int>(2), false);
  q.put(std::make_unique<int>(3), true, -1);
  q.put(std::make_unique<int>(4), true, 1s);
  q.put_nowait(std::make_unique<int>(5));
  q.put(nullptr);
  CHECK(q.qsize() == 6);
  CHECK(*q.get() == 1);
  CHECK(*q.get(true) == 2);
  CHECK(*q.get(true, 1.0) == 3);
  CHECK(*q.get(false) == 4);
  CHECK(*q.get_nowait() == 5);
  CHECK(q.get(false, -1) == nullptr);
  Call get([&] { return q.get(); });
  settle();
  const bool early = get.finished();
  q.put(std::make_unique<int>(6));
  const std::string result = get.outcome();
  CHECK_FALSE(early);
  CHECK(result == "returned *6");
}
