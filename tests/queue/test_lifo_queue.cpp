// SPDX-License-Identifier: MIT
// Tests for queue::LifoQueue, after CPython's Lib/test/test_queue.py (LifoQueueTest runs the
// same BaseQueueTestMixin as Queue, with last-in first-out order).
//
// That shared behaviour (basic_queue_test, nowait, maxsize, timeouts, blocking, task_done and
// join, move-only items) is tested in test_queue.cpp, by the TEMPLATE_TEST_CASEs named
// "Queue.<what> - queue::LifoQueue<int>"; shutdown in test_shutdown.cpp, stress in
// test_queue_stress.cpp. Here: what only LifoQueue does.
#include <string>
#include <type_traits>
#include <vector>

#include <catch2/catch.hpp>
#include <pyconc/queue.hpp>

#include "queue/queue_support.hpp"
#include "support.hpp"

using namespace pyconc;

namespace {

static_assert(!std::is_copy_constructible_v<queue::LifoQueue<int>>);
static_assert(!std::is_copy_assignable_v<queue::LifoQueue<int>>);
static_assert(pyconc_test::QueueTraits<queue::LifoQueue<int>>::order == pyconc_test::Order::lifo);

}  // namespace

TEST_CASE("LifoQueue.is LIFO across interleaved puts and gets", "[queue][lifo]") {
  // The longer run against a model stack is "Queue.keeps its order across interleaved puts and
  // gets - queue::LifoQueue<int>" in test_queue.cpp.
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
}

TEST_CASE("LifoQueue.the item of a blocked put goes on top once it gets in", "[queue][lifo][blocking]") {
  queue::LifoQueue<int> q(2);
  q.put(1);
  q.put(2);
  int first = 0;
  const auto put = pyconc_test::blocked_call([&] { q.put(3); }, [&] { first = q.get(); });
  CHECK_FALSE(put.finished_early);
  CHECK(first == 2);  // the newest item in the queue while 3 waited outside
  CHECK(put.outcome == "returned");
  const std::vector<int> rest{q.get(), q.get()};
  CHECK(rest == std::vector<int>{3, 1});
}
