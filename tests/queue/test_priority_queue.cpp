// SPDX-License-Identifier: MIT
// Tests for queue::PriorityQueue, after CPython's Lib/test/test_queue.py (PriorityQueueTest
// runs BaseQueueTestMixin with smallest-first order) and Python's (priority, data) idiom.
//
// That shared behaviour (basic_queue_test, nowait, maxsize, timeouts, blocking, task_done and
// join, move-only items with a comparator on the pointee) is tested in test_queue.cpp, by the
// TEMPLATE_TEST_CASEs named "Queue.<what> - queue::PriorityQueue<int>"; shutdown in
// test_shutdown.cpp, stress in test_queue_stress.cpp. Here: ordering, comparators, ties.
#include <functional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>
#include <pyconc/queue.hpp>

#include "queue/queue_support.hpp"
#include "support.hpp"

using namespace pyconc;

namespace {

using Entry = std::pair<int, std::string>;  // Python's (priority, data) tuple

// Orders entries by priority only, so entries of equal priority compare equal.
struct ByPriority {
  bool operator()(const Entry& a, const Entry& b) const { return a.first < b.first; }
};

static_assert(!std::is_copy_constructible_v<queue::PriorityQueue<int>>);
static_assert(!std::is_copy_assignable_v<queue::PriorityQueue<int>>);

template <class Q>
auto drain(Q& q) {
  std::vector<decltype(q.get())> out;
  while (!q.empty())
    out.push_back(q.get_nowait());
  return out;
}

}  // namespace

TEST_CASE("PriorityQueue.takes the smallest item first", "[queue][priority]") {
  queue::PriorityQueue<int> q;
  for (int x : {5, 3, 9, 1, 7, 3, 8, 0, 6, 2, 4, -1, 10})
    q.put(x);
  CHECK(drain(q) == std::vector<int>{-1, 0, 1, 2, 3, 3, 4, 5, 6, 7, 8, 9, 10});
  // Interleaved: each get takes the smallest item present at that moment.
  q.put(5);
  q.put(2);
  CHECK(q.get() == 2);
  q.put(1);
  q.put(9);
  CHECK(q.get() == 1);
  CHECK(q.get() == 5);
  q.put(0);
  CHECK(q.get() == 0);
  CHECK(q.get() == 9);
}

TEST_CASE("PriorityQueue.orders (priority and data) pairs as Python orders tuples", "[queue][priority]") {
  // Python: for x in [(2,'b'), (1,'z'), (2,'a'), (1,'y')]: q.put(x)
  //         [q.get() for _ in range(4)] == [(1,'y'), (1,'z'), (2,'a'), (2,'b')]
  queue::PriorityQueue<Entry> q;
  q.put({2, "b"});
  q.put({1, "z"});
  q.put(Entry{2, "a"});
  q.put(std::make_pair(1, std::string("y")));
  CHECK(q.get() == Entry{1, "y"});
  CHECK(q.get() == Entry{1, "z"});
  CHECK(q.get() == Entry{2, "a"});
  CHECK(q.get() == Entry{2, "b"});
}

TEST_CASE("PriorityQueue.a blocked put gets in only after the get that makes room", "[queue][priority][blocking]") {
  queue::PriorityQueue<Entry> q(2);
  const auto get = pyconc_test::blocked_call([&] { return q.get(); }, [&] { q.put({5, "five"}); });
  CHECK_FALSE(get.finished_early);
  CHECK(get.outcome == "returned (5, five)");
  q.put({2, "two"});
  q.put({1, "one"});
  Entry first;
  const auto put = pyconc_test::blocked_call([&] { q.put({0, "zero"}); }, [&] { first = q.get(); });
  CHECK_FALSE(put.finished_early);
  CHECK(first == Entry{1, "one"});  // "zero" was still waiting to get in
  CHECK(put.outcome == "returned");
  CHECK(q.get() == Entry{0, "zero"});
  CHECK(q.get() == Entry{2, "two"});
}

TEST_CASE("PriorityQueue.uses a custom comparator", "[queue][priority]") {
  SECTION("std::greater: largest first") {
    queue::PriorityQueue<int, std::greater<int>> q;
    for (int x : {3, 1, 4, 1, 5, 9, 2, 6})
      q.put(x);
    CHECK(drain(q) == std::vector<int>{9, 6, 5, 4, 3, 2, 1, 1});
  }
  SECTION("a comparator on a field") {
    queue::PriorityQueue<Entry, ByPriority> q;
    q.put({3, "low"});
    q.put({1, "high"});
    q.put({2, "mid"});
    CHECK(q.get().second == "high");
    CHECK(q.get().second == "mid");
    CHECK(q.get().second == "low");
  }
  SECTION("a captureless lambda's type") {
    auto by_length = [](const std::string& a, const std::string& b) { return a.size() < b.size(); };
    queue::PriorityQueue<std::string, decltype(by_length)> q;
    q.put("three");
    q.put("a");
    q.put("to");
    CHECK(q.get() == "a");
    CHECK(q.get() == "to");
    CHECK(q.get() == "three");
  }
}

TEST_CASE("PriorityQueue.equal items leave in insertion order", "[queue][priority]") {
  SECTION("a few") {
    queue::PriorityQueue<Entry, ByPriority> q;
    q.put({1, "first"});
    q.put({0, "urgent"});
    q.put({1, "second"});
    q.put({1, "third"});
    q.put({0, "urgent too"});
    CHECK(drain(q) == std::vector<Entry>{{0, "urgent"}, {0, "urgent too"}, {1, "first"}, {1, "second"}, {1, "third"}});
  }
  SECTION("many, with gets in between") {
    // A plain binary heap scrambles equal entries; the queue must not.
    queue::PriorityQueue<Entry, ByPriority> q;
    std::vector<std::vector<std::string>> expected(3);
    std::vector<std::vector<std::string>> got(3);
    int serial = 0;
    for (int round = 0; round < 40; ++round) {
      for (int i = 0; i < 7; ++i) {
        const int priority = (round * 7 + i * 5) % 3;
        const std::string data = std::to_string(serial++);
        expected[static_cast<std::size_t>(priority)].push_back(data);
        q.put({priority, data});
      }
      for (int i = 0; i < 4; ++i) {
        const Entry e = q.get();
        got[static_cast<std::size_t>(e.first)].push_back(e.second);
      }
    }
    for (const Entry& e : drain(q))
      got[static_cast<std::size_t>(e.first)].push_back(e.second);
    // Within each priority, the order out is the order in.
    CHECK(got == expected);
  }
  SECTION("after a wrap of gets and puts") {
    queue::PriorityQueue<Entry, ByPriority> q;
    q.put({1, "A"});
    q.put({1, "B"});
    CHECK(q.get().second == "A");
    q.put({1, "C"});
    CHECK(q.get().second == "B");
    q.put({0, "X"});
    CHECK(q.get().second == "X");
    CHECK(q.get().second == "C");
  }
}
