// SPDX-License-Identifier: MIT
// Tests for queue::PriorityQueue, after CPython's Lib/test/test_queue.py (PriorityQueueTest
// runs BaseQueueTestMixin with smallest-first order) and Python's (priority, data) idiom.
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
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

using Entry = std::pair<int, std::string>;  // Python's (priority, data) tuple

// Orders entries by priority only, so entries of equal priority compare equal.
struct ByPriority {
  bool operator()(const Entry& a, const Entry& b) const { return a.first < b.first; }
};

// Orders unique_ptrs by what they point to.
struct ByPointee {
  bool operator()(const std::unique_ptr<int>& a, const std::unique_ptr<int>& b) const { return *a < *b; }
};

static_assert(!std::is_copy_constructible_v<queue::PriorityQueue<int>>);
static_assert(!std::is_copy_assignable_v<queue::PriorityQueue<int>>);

std::vector<Entry> drain(queue::PriorityQueue<Entry, ByPriority>& q) {
  std::vector<Entry> out;
  while (!q.empty()) out.push_back(q.get_nowait());
  return out;
}

}  // namespace

TEST_CASE("PriorityQueue.basic behaviour as in test_queue.py basic_queue_test", "[queue][priority]") {
  queue::PriorityQueue<int> q(kQueueSize);
  for (int round = 0; round < 2; ++round) {
    INFO("round " << round);
    REQUIRE(q.qsize() == 0);
    CHECK(q.empty());
    CHECK_FALSE(q.full());
    q.put(111);
    q.put(333);
    q.put(222);
    CHECK(q.get() == 111);
    CHECK(q.get() == 222);
    CHECK(q.get() == 333);
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
      const int got = q.get();
      const std::string result = put.outcome();
      CHECK_FALSE(early);
      CHECK(got == 0);
      CHECK(result == "returned");
    }
    {
      Call put([&] { q.put(6 * kQueueSize, true, 10); });
      settle();
      const bool early = put.finished();
      const int got = q.get();
      const std::string result = put.outcome();
      CHECK_FALSE(early);
      CHECK(got == 1);
      CHECK(result == "returned");
    }
    std::vector<int> rest;
    for (int i = 0; i < kQueueSize; ++i) rest.push_back(q.get());
    CHECK(rest == std::vector<int>{2, 3, 2 * kQueueSize, 6 * kQueueSize, 6 * kQueueSize});
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

TEST_CASE("PriorityQueue.takes the smallest item first", "[queue][priority]") {
  queue::PriorityQueue<int> q;
  const std::vector<int> in{5, 3, 9, 1, 7, 3, 8, 0, 6, 2, 4, -1, 10};
  for (int x : in) q.put(x);
  std::vector<int> out;
  while (!q.empty()) out.push_back(q.get());
  CHECK(out == std::vector<int>{-1, 0, 1, 2, 3, 3, 4, 5, 6, 7, 8, 9, 10});
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

TEST_CASE("PriorityQueue.uses a custom comparator", "[queue][priority]") {
  SECTION("std::greater: largest first") {
    queue::PriorityQueue<int, std::greater<int>> q;
    for (int x : {3, 1, 4, 1, 5, 9, 2, 6}) q.put(x);
    std::vector<int> out;
    while (!q.empty()) out.push_back(q.get());
    CHECK(out == std::vector<int>{9, 6, 5, 4, 3, 2, 1, 1});
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
    for (const Entry& e : drain(q)) got[static_cast<std::size_t>(e.first)].push_back(e.second);
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

TEST_CASE("PriorityQueue.put_nowait and get_nowait raise Full and Empty", "[queue][priority][errors]") {
  queue::PriorityQueue<int> q(kQueueSize);
  for (int i = kQueueSize; i > 0; --i) q.put_nowait(i);
  REQUIRE_RAISES(q.put_nowait(0), queue::Full, "");  // even an item that would come first
  CHECK(q.qsize() == static_cast<std::size_t>(kQueueSize));
  CHECK(q.unfinished_tasks() == static_cast<std::size_t>(kQueueSize));
  for (int i = 1; i <= kQueueSize; ++i) CHECK(q.get_nowait() == i);
  REQUIRE_RAISES(q.get_nowait(), queue::Empty, "");
}

TEST_CASE("PriorityQueue.full maxsize and timeouts", "[queue][priority][timeout]") {
  queue::PriorityQueue<int> unbounded(-1);
  for (int i = 0; i < 50; ++i) unbounded.put_nowait(i);
  CHECK_FALSE(unbounded.full());
  unbounded.put(100, true, -1);  // ignored on an unbounded queue
  queue::PriorityQueue<int> q(2);
  q.put(2);
  q.put(1);
  CHECK(q.full());
  q.maxsize(1);
  CHECK(q.full());
  REQUIRE_RAISES(q.put_nowait(0), queue::Full, "");
  {
    const pyconc_test::Stopwatch clock;
    REQUIRE_RAISES(q.put(0, true, 0.1), queue::Full, "");
    REQUIRE_TIMING(clock.elapsed(), 0.1);
  }
  REQUIRE_RAISES(q.put(0, true, -1), ValueError, "'timeout' must be a non-negative number");
  REQUIRE_RAISES(q.get(true, -1), ValueError, "'timeout' must be a non-negative number");
  CHECK(q.get(false, -1) == 1);
  CHECK(q.get(true, 0) == 2);
  {
    const pyconc_test::Stopwatch clock;
    REQUIRE_RAISES(q.get(true, 100ms), queue::Empty, "");
    REQUIRE_TIMING(clock.elapsed(), 0.1);
  }
  REQUIRE_RAISES(q.get(false, -1), queue::Empty, "");
}

TEST_CASE("PriorityQueue.blocked get and put really block until woken", "[queue][priority][blocking]") {
  queue::PriorityQueue<Entry> q(2);
  {
    Call get([&] { return q.get(); });
    settle();
    const bool early = get.finished();
    q.put({5, "five"});
    const std::string result = get.outcome();
    CHECK_FALSE(early);
    CHECK(result == "returned (5, five)");
  }
  {
    q.put({2, "two"});
    q.put({1, "one"});
    Call put([&] { q.put({0, "zero"}); });
    settle();
    const bool early = put.finished();
    const Entry first = q.get();
    const std::string result = put.outcome();
    CHECK_FALSE(early);
    CHECK(first == Entry{1, "one"});  // "zero" was still waiting to get in
    CHECK(result == "returned");
    CHECK(q.get() == Entry{0, "zero"});
    CHECK(q.get() == Entry{2, "two"});
  }
}

TEST_CASE("PriorityQueue.many blocked getters each get one item", "[queue][priority][blocking]") {
  const int n = 16;
  queue::PriorityQueue<int> q;
  std::vector<Call> getters;
  for (int i = 0; i < n; ++i) getters.emplace_back([&] { return q.get(); });
  settle();
  int early = 0;
  for (auto& g : getters) early += g.finished() ? 1 : 0;
  for (int i = 0; i < n; ++i) q.put(n - 1 - i);
  int stuck = 0;
  for (auto& g : getters) stuck += g.wait(10.0) ? 0 : 1;
  if (stuck > 0) q.shutdown();
  std::vector<int> seen(n, 0);
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
  CHECK(seen == std::vector<int>(n, 1));
}

TEST_CASE("PriorityQueue.task_done and join", "[queue][priority][join]") {
  queue::PriorityQueue<int> q;
  REQUIRE_RAISES(q.task_done(), ValueError, "task_done() called too many times");
  q.put(3);
  q.put(1);
  CHECK(q.unfinished_tasks() == 2);
  Call join([&] { q.join(); });
  settle();
  const bool early = join.finished();
  CHECK(q.get() == 1);
  q.task_done();
  settle();
  const bool after_one = join.finished();
  CHECK(q.get() == 3);
  q.task_done();
  const std::string result = join.outcome();
  CHECK_FALSE(early);
  CHECK_FALSE(after_one);
  CHECK(result == "returned");
  REQUIRE_RAISES(q.task_done(), ValueError, "task_done() called too many times");
}

TEST_CASE("PriorityQueue.move-only items with a comparator on the pointee", "[queue][priority][move-only]") {
  queue::PriorityQueue<std::unique_ptr<int>, ByPointee> q(8);
  q.put(std::make_unique<int>(4));
  q.put(std::make_unique<int>(2), true);
  q.put(std::make_unique<int>(5), true, 1.0);
  q.put(std::make_unique<int>(1), false);
  q.put_nowait(std::make_unique<int>(3));
  q.put(std::make_unique<int>(3), true, 1s);
  CHECK(*q.get() == 1);
  CHECK(*q.get(true) == 2);
  CHECK(*q.get(true, 1.0) == 3);
  CHECK(*q.get(true, 1s) == 3);
  CHECK(*q.get(false) == 4);
  CHECK(*q.get_nowait() == 5);
  REQUIRE_RAISES(q.get_nowait(), queue::Empty, "");
  Call get([&] { return q.get(); });
  settle();
  const bool early = get.finished();
  q.put(std::make_unique<int>(7));
  const std::string result = get.outcome();
  CHECK_FALSE(early);
  CHECK(result == "returned *7");
}
