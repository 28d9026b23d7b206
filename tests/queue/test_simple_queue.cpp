// SPDX-License-Identifier: MIT
// Tests for queue::SimpleQueue, after CPython's Lib/test/test_queue.py (BaseSimpleQueueTest) and
// the behaviour of the C _queue.SimpleQueue checked on CPython 3.11 and 3.13.
//
// What SimpleQueue shares with Queue (order across interleaved calls, get timeouts, negative
// timeouts, blocked and many getters, move-only items) is tested in test_queue.cpp, by the
// TEMPLATE_TEST_CASEs named "Queue.<what> - queue::SimpleQueue<int>"; stress in
// test_queue_stress.cpp. Here: what only SimpleQueue does (or lacks).
#include <chrono>
#include <type_traits>

#include <catch2/catch.hpp>
#include <pyconc/queue.hpp>

#include "queue/queue_support.hpp"
#include "support.hpp"

using namespace pyconc;
using namespace std::chrono_literals;

namespace {

using SQ = queue::SimpleQueue<int>;

static_assert(!std::is_copy_constructible_v<SQ>);
static_assert(!std::is_copy_assignable_v<SQ>);

// Python's SimpleQueue has none of these (AttributeError); here they do not compile.
template <class Q>
constexpr bool has_task_done = requires(Q& q) {
  q.task_done();
};
template <class Q>
constexpr bool has_join = requires(Q& q) {
  q.join();
};
template <class Q>
constexpr bool has_full = requires(Q& q) {
  q.full();
};
template <class Q>
constexpr bool has_maxsize = requires(Q& q) {
  q.maxsize();
};
template <class Q>
constexpr bool has_shutdown = requires(Q& q) {
  q.shutdown();
};
template <class Q>
constexpr bool has_unfinished_tasks = requires(Q& q) {
  q.unfinished_tasks();
};
static_assert(!has_task_done<SQ> && !has_join<SQ> && !has_full<SQ> && !has_maxsize<SQ>);
static_assert(!has_shutdown<SQ> && !has_unfinished_tasks<SQ>);
// ... which Queue has (the checks above can tell).
static_assert(has_task_done<queue::Queue<int>> && has_join<queue::Queue<int>> && has_full<queue::Queue<int>>);
static_assert(has_maxsize<queue::Queue<int>> && has_shutdown<queue::Queue<int>>);
static_assert(has_unfinished_tasks<queue::Queue<int>>);
// SimpleQueue() takes no maxsize.
static_assert(!std::is_constructible_v<SQ, int>);
static_assert(!pyconc_test::QueueTraits<SQ>::has_tasks);
static_assert(pyconc_test::QueueTraits<SQ>::order == pyconc_test::Order::fifo);

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
  CHECK(q.qsize() == 0);
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
  for (int i = 10; i < 100000; ++i)
    q.put(i, false);  // unbounded
  CHECK(clock.elapsed() < 5.0);
  CHECK(q.qsize() == 99999);
  for (int i = 1; i < 10; ++i)
    CHECK(q.get() == i);
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
