// SPDX-License-Identifier: MIT
// Tests for queue::Queue (FIFO), after CPython's Lib/test/test_queue.py (BaseQueueTestMixin)
// and the behaviour of Lib/queue.py checked on CPython 3.11 and 3.13.
#include <unistd.h>  // write

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
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
using pyconc_test::outcome;
using pyconc_test::settle;

namespace {

constexpr int kQueueSize = 5;  // test_queue.py's QUEUE_SIZE

static_assert(!std::is_copy_constructible_v<queue::Queue<int>>);
static_assert(!std::is_copy_assignable_v<queue::Queue<int>>);

// A queue at namespace scope, built before main as a Python module-level queue is; only the
// children of the exit tests below use it.
queue::Queue<std::string> g_exit_queue;

void say(int fd, const char* text) {
  [[maybe_unused]] const auto n = ::write(fd, text, std::strlen(text));
}

// Starts two daemon workers that keep taking strings out of `q` and putting longer ones
// back, puts two items in, lets them run a moment, reports "exiting" and calls std::exit(0)
// while the workers are busy: Python's daemon-worker idiom at interpreter exit.
void exit_while_daemons_use(queue::Queue<std::string>& q, int fd) {
  for (int i = 0; i < 2; ++i) {
    threading::Thread worker(
        [&q] {
          for (;;) {
            std::string s = q.get();
            if (s.size() > 64) s.resize(1);
            q.put(s + "x");
            q.task_done();
          }
        },
        {.daemon = true});
    worker.start();
  }
  q.put("a");
  q.put("b");
  pyconc::time::sleep(0.05);
  say(fd, "exiting");
  std::exit(0);
}

// The exit tests fork only once the threads of earlier tests in this process have gone: a
// thread caught mid-way by fork() leaves the sanitizers' bookkeeping of it in the child
// (LeakSanitizer then reports what that thread's stack held). ThreadSanitizer cannot start
// threads in a child of a multi-threaded process at all, and its own helper thread stays once
// any thread has been started: under TSan the exit tests run only when nothing started a
// thread before them (as under CTest, one test per process).
bool can_fork_a_threaded_child() {
  const bool alone = pyconc_test::wait_single_threaded(2.0);
  return alone || !PYCONC_TEST_TSAN;
}

void require_clean_exit(const pyconc_test::ChildOutcome& child) {
  INFO("child output: " << child.output);
  CHECK_FALSE(child.timed_out);
  CHECK(child.signal == 0);
  CHECK(child.exited);
  CHECK(child.exit_status == 0);
  CHECK(child.output == "exiting");
}

}  // namespace

TEST_CASE("Queue.exceptions are pyconc errors without a message", "[queue][errors]") {
  static_assert(std::is_base_of_v<pyconc::Error, queue::Empty>);
  static_assert(std::is_base_of_v<pyconc::Error, queue::Full>);
  static_assert(std::is_base_of_v<pyconc::Error, queue::ShutDown>);
  // Python: all three derive from Exception directly, not from one another.
  static_assert(!std::is_base_of_v<queue::Empty, queue::Full>);
  static_assert(!std::is_base_of_v<queue::Full, queue::Empty>);
  static_assert(!std::is_base_of_v<queue::Empty, queue::ShutDown>);
  static_assert(!std::is_base_of_v<queue::ShutDown, queue::Empty>);
  queue::Queue<int> q(1);
  CHECK(pyconc_test::raised([&] { static_cast<void>(q.get_nowait()); }) == "Empty: ");
  q.put(1);
  CHECK(pyconc_test::raised([&] { q.put_nowait(2); }) == "Full: ");
  q.shutdown();
  CHECK(pyconc_test::raised([&] { q.put(2); }) == "ShutDown: ");
  CHECK(std::string(queue::Empty().what()).empty());
  CHECK(std::string(queue::Full().what()).empty());
  CHECK(std::string(queue::ShutDown().what()).empty());
}

TEST_CASE("Queue.basic FIFO behaviour as in test_queue.py basic_queue_test", "[queue]") {
  // Done twice on the same object, as test_basic does.
  queue::Queue<int> q(kQueueSize);
  for (int round = 0; round < 2; ++round) {
    INFO("round " << round);
    REQUIRE(q.qsize() == 0);
    CHECK(q.empty());
    CHECK_FALSE(q.full());
    q.put(111);
    q.put(333);
    q.put(222);
    CHECK(q.get() == 111);
    CHECK(q.get() == 333);
    CHECK(q.get() == 222);
    for (int i = 0; i < kQueueSize - 1; ++i) {
      q.put(i);
      CHECK(q.qsize() == static_cast<std::size_t>(i + 1));
    }
    CHECK_FALSE(q.full());
    q.put(2 * kQueueSize);
    CHECK(q.full());
    CHECK_FALSE(q.empty());
    REQUIRE_RAISES(q.put(6 * kQueueSize, false), queue::Full, "");
    REQUIRE_RAISES(q.put(6 * kQueueSize, true, 0.01), queue::Full, "");
    CHECK(q.qsize() == static_cast<std::size_t>(kQueueSize));
    // A blocking put waits for a get (do_blocking_test), with and without a timeout.
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
    CHECK(q.qsize() == 0);
    REQUIRE_RAISES(q.get(false), queue::Empty, "");
    REQUIRE_RAISES(q.get(true, 0.01), queue::Empty, "");
    // A blocking get waits for a put, with and without a timeout.
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
      Call get([&] { return q.get(true, 10); });
      settle();
      const bool early = get.finished();
      q.put(-8);
      const std::string result = get.outcome();
      CHECK_FALSE(early);
      CHECK(result == "returned -8");
    }
    // Every put was counted; take them all back.
    for (std::size_t i = q.unfinished_tasks(); i > 0; --i) q.task_done();
  }
}

TEST_CASE("Queue.is FIFO across interleaved puts and gets", "[queue]") {
  queue::Queue<int> q;
  int next_in = 0;
  int next_out = 0;
  std::vector<int> wrong;
  for (int round = 0; round < 50; ++round) {
    for (int i = 0; i < round % 7 + 1; ++i) q.put(next_in++);
    for (int i = 0; i < round % 5 + 1 && !q.empty(); ++i) {
      const int got = q.get();
      if (got != next_out) wrong.push_back(got);
      ++next_out;
    }
  }
  while (!q.empty()) {
    const int got = q.get_nowait();
    if (got != next_out) wrong.push_back(got);
    ++next_out;
  }
  CHECK(wrong.empty());
  CHECK(next_out == next_in);
}

TEST_CASE("Queue.put_nowait and get_nowait raise Full and Empty (test_nowait)", "[queue][errors]") {
  queue::Queue<int> q(kQueueSize);
  for (int i = 0; i < kQueueSize; ++i) q.put_nowait(i);
  REQUIRE_RAISES(q.put_nowait(99), queue::Full, "");
  REQUIRE_RAISES(q.put(99, false), queue::Full, "");
  // A failed put changes nothing.
  CHECK(q.qsize() == static_cast<std::size_t>(kQueueSize));
  CHECK(q.unfinished_tasks() == static_cast<std::size_t>(kQueueSize));
  for (int i = 0; i < kQueueSize; ++i) CHECK(q.get_nowait() == i);
  REQUIRE_RAISES(q.get_nowait(), queue::Empty, "");
  REQUIRE_RAISES(q.get(false), queue::Empty, "");
  CHECK(q.unfinished_tasks() == static_cast<std::size_t>(kQueueSize));
}

TEST_CASE("Queue.qsize empty and full follow the contents", "[queue]") {
  queue::Queue<int> q(2);
  CHECK(q.maxsize() == 2);
  CHECK(q.qsize() == 0);
  CHECK(q.empty());
  CHECK_FALSE(q.full());
  q.put(1);
  CHECK(q.qsize() == 1);
  CHECK_FALSE(q.empty());
  CHECK_FALSE(q.full());
  q.put(2);
  CHECK(q.qsize() == 2);
  CHECK(q.full());
  static_cast<void>(q.get());
  CHECK(q.qsize() == 1);
  CHECK_FALSE(q.full());
}

TEST_CASE("Queue.maxsize of zero or less is unbounded and never full", "[queue]") {
  auto maxsize = GENERATE(0LL, -1LL, -100LL);
  queue::Queue<int> q(maxsize);
  CHECK(q.maxsize() == maxsize);
  for (int i = 0; i < 1000; ++i) q.put_nowait(i);
  q.put(1000, false);
  q.put(1001, true, 0.0);
  CHECK(q.qsize() == 1002);
  CHECK_FALSE(q.full());
  queue::Queue<int> by_default;
  CHECK(by_default.maxsize() == 0);
  CHECK_FALSE(by_default.full());
}

TEST_CASE("Queue.maxsize can be changed at run time (test_shrinking_queue)", "[queue]") {
  queue::Queue<int> q(3);
  q.put(1);
  q.put(2);
  q.put(3);
  REQUIRE_RAISES(q.put_nowait(4), queue::Full, "");
  CHECK(q.qsize() == 3);
  q.maxsize(2);  // shrink below the current size
  CHECK(q.maxsize() == 2);
  REQUIRE_RAISES(q.put_nowait(4), queue::Full, "");
  CHECK(q.full());  // full() is 0 < maxsize <= qsize(): true when over the limit too
  q.maxsize(5);     // grow
  CHECK_FALSE(q.full());
  q.put_nowait(4);
  q.put_nowait(5);
  CHECK(q.full());
  REQUIRE_RAISES(q.put_nowait(6), queue::Full, "");
  q.maxsize(0);  // unbounded now
  CHECK_FALSE(q.full());
  q.put_nowait(6);
  q.put(7, true, -1);  // an unbounded queue accepts a negative timeout
  CHECK(q.qsize() == 7);
  q.maxsize(-1);
  CHECK_FALSE(q.full());
  std::vector<int> out;
  while (!q.empty()) out.push_back(q.get());
  CHECK(out == std::vector<int>{1, 2, 3, 4, 5, 6, 7});
}

TEST_CASE("Queue.get with a timeout raises Empty after about that long", "[queue][timeout]") {
  queue::Queue<int> q;
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
  SECTION("std::chrono duration<double>") {
    const pyconc_test::Stopwatch clock;
    REQUIRE_RAISES(q.get(true, std::chrono::duration<double>(0.1)), queue::Empty, "");
    REQUIRE_TIMING(clock.elapsed(), 0.1);
  }
}

TEST_CASE("Queue.put with a timeout raises Full after about that long", "[queue][timeout]") {
  queue::Queue<int> q(1);
  q.put(1);
  SECTION("double seconds") {
    const pyconc_test::Stopwatch clock;
    REQUIRE_RAISES(q.put(2, true, 0.1), queue::Full, "");
    REQUIRE_TIMING(clock.elapsed(), 0.1);
  }
  SECTION("std::chrono milliseconds") {
    const pyconc_test::Stopwatch clock;
    REQUIRE_RAISES(q.put(2, true, 100ms), queue::Full, "");
    REQUIRE_TIMING(clock.elapsed(), 0.1);
  }
  CHECK(q.qsize() == 1);
  CHECK(q.unfinished_tasks() == 1);
  CHECK(q.get() == 1);
}

TEST_CASE("Queue.a zero timeout only tries once", "[queue][timeout]") {
  queue::Queue<int> q(1);
  REQUIRE_RAISES(q.get(true, 0), queue::Empty, "");
  REQUIRE_RAISES(q.get(true, 0s), queue::Empty, "");
  q.put(5, true, 0);
  REQUIRE_RAISES(q.put(6, true, 0), queue::Full, "");
  REQUIRE_RAISES(q.put(6, true, 0ms), queue::Full, "");
  CHECK(q.get(true, 0) == 5);
}

TEST_CASE("Queue.get with a timeout returns an item put meanwhile", "[queue][timeout][blocking]") {
  queue::Queue<int> q;
  Call get([&] { return q.get(true, 10.0); });
  settle();
  const bool early = get.finished();
  q.put(42);
  const std::string result = get.outcome();
  CHECK_FALSE(early);
  CHECK(result == "returned 42");
  CHECK(get.seconds() < 5.0);
}

TEST_CASE("Queue.put with a timeout gets through once space frees", "[queue][timeout][blocking]") {
  queue::Queue<int> q(1);
  q.put(1);
  Call put([&] { q.put(2, true, 10s); });
  settle();
  const bool early = put.finished();
  const int first = q.get();
  const std::string result = put.outcome();
  CHECK_FALSE(early);
  CHECK(first == 1);
  CHECK(result == "returned");
  CHECK(put.seconds() < 5.0);
  CHECK(q.get_nowait() == 2);
}

TEST_CASE("Queue.get with a negative timeout raises ValueError even when an item is available",
          "[queue][timeout][errors]") {
  queue::Queue<int> q(kQueueSize);
  REQUIRE_RAISES(q.get(true, -1), ValueError, "'timeout' must be a non-negative number");
  REQUIRE_RAISES(q.get(true, -0.001), ValueError, "'timeout' must be a non-negative number");
  q.put(7);
  REQUIRE_RAISES(q.get(true, -1), ValueError, "'timeout' must be a non-negative number");
  REQUIRE_RAISES(q.get(true, -1s), ValueError, "'timeout' must be a non-negative number");
  REQUIRE_RAISES(q.get(true, -5ms), ValueError, "'timeout' must be a non-negative number");
  CHECK(q.qsize() == 1);  // the item is still there
  queue::Queue<int> unbounded;
  unbounded.put(1);
  REQUIRE_RAISES(unbounded.get(true, -1), ValueError, "'timeout' must be a non-negative number");
  CHECK(unbounded.get() == 1);
  CHECK(q.get() == 7);
}

TEST_CASE("Queue.get with block false ignores a negative timeout", "[queue][timeout]") {
  queue::Queue<int> q;
  q.put(3);
  CHECK(q.get(false, -1) == 3);
  REQUIRE_RAISES(q.get(false, -1), queue::Empty, "");
  REQUIRE_RAISES(q.get(false, -1s), queue::Empty, "");
}

TEST_CASE("Queue.put with a negative timeout raises ValueError only on a bounded queue",
          "[queue][timeout][errors]") {
  SECTION("bounded and not full") {
    queue::Queue<int> q(kQueueSize);
    REQUIRE_RAISES(q.put(1, true, -1), ValueError, "'timeout' must be a non-negative number");
    REQUIRE_RAISES(q.put(1, true, -1ms), ValueError, "'timeout' must be a non-negative number");
    CHECK(q.qsize() == 0);  // nothing was put, nothing counted
    CHECK(q.unfinished_tasks() == 0);
  }
  SECTION("bounded and full") {
    queue::Queue<int> q(1);
    q.put(0);
    REQUIRE_RAISES(q.put(1, true, -1), ValueError, "'timeout' must be a non-negative number");
    CHECK(q.qsize() == 1);
  }
  SECTION("unbounded: the timeout is ignored") {
    queue::Queue<int> q;
    q.put(1, true, -1);
    q.put(2, true, -3s);
    CHECK(q.qsize() == 2);
    CHECK(q.unfinished_tasks() == 2);
    CHECK(q.get() == 1);
    CHECK(q.get() == 2);
  }
  SECTION("block false: the timeout is ignored") {
    queue::Queue<int> q(1);
    q.put(1, false, -1);
    REQUIRE_RAISES(q.put(2, false, -1), queue::Full, "");
    CHECK(q.get() == 1);
  }
}

TEST_CASE("Queue.a blocked get really blocks until a put", "[queue][blocking]") {
  queue::Queue<std::string> q;
  Call get([&] { return q.get(); });
  settle();
  const bool early = get.finished();
  q.put("spam");
  const std::string result = get.outcome();
  CHECK_FALSE(early);
  CHECK(result == "returned spam");
  CHECK(q.empty());
  CHECK(q.unfinished_tasks() == 1);
}

TEST_CASE("Queue.a blocked put really blocks until a get", "[queue][blocking]") {
  queue::Queue<std::string> q(2);
  q.put("a");
  q.put("b");
  Call put([&] { q.put("c"); });
  settle();
  const bool early = put.finished();
  const std::size_t size_while_blocked = q.qsize();
  const std::string first = q.get();
  const std::string result = put.outcome();
  CHECK_FALSE(early);
  CHECK(size_while_blocked == 2);
  CHECK(first == "a");
  CHECK(result == "returned");
  CHECK(q.get() == "b");
  CHECK(q.get() == "c");
}

TEST_CASE("Queue.put copies an lvalue and moves an rvalue", "[queue]") {
  queue::Queue<std::string> q;
  const std::string kept = "kept";
  q.put(kept);
  q.put_nowait(kept);
  q.put(kept, true, 1.0);
  std::string moved(100, 'x');  // long enough not to live in the small-string buffer
  q.put(std::move(moved));
  CHECK(kept == "kept");
  CHECK(q.get() == "kept");
  CHECK(q.get() == "kept");
  CHECK(q.get() == "kept");
  CHECK(q.get() == std::string(100, 'x'));
}

TEST_CASE("Queue.many blocked getters each get one item with no lost wake-up", "[queue][blocking]") {
  const int n = GENERATE(1, 4, 16);
  queue::Queue<int> q;
  std::vector<Call> getters;
  for (int i = 0; i < n; ++i) getters.emplace_back([&] { return q.get(); });
  settle();
  int early = 0;
  for (auto& g : getters) early += g.finished() ? 1 : 0;
  for (int i = 0; i < n; ++i) q.put(i);  // back to back: each put must wake one getter
  int stuck = 0;
  for (auto& g : getters) stuck += g.wait(10.0) ? 0 : 1;
  if (stuck > 0) q.shutdown();  // rescue the stuck ones before asserting
  std::vector<std::string> results;
  for (auto& g : getters) results.push_back(g.outcome());
  CHECK(early == 0);
  CHECK(stuck == 0);
  std::vector<int> seen(static_cast<std::size_t>(n), 0);
  for (const auto& r : results) {
    INFO(r);
    REQUIRE(r.rfind("returned ", 0) == 0);
    const int value = std::stoi(r.substr(9));
    REQUIRE(value >= 0);
    REQUIRE(value < n);
    ++seen[static_cast<std::size_t>(value)];
  }
  CHECK(seen == std::vector<int>(static_cast<std::size_t>(n), 1));
  CHECK(q.empty());
}

TEST_CASE("Queue.many blocked putters all get through as items are taken", "[queue][blocking]") {
  const int n = GENERATE(1, 4, 16);
  queue::Queue<int> q(1);
  q.put(-1);
  std::vector<Call> putters;
  for (int i = 0; i < n; ++i) putters.emplace_back([&q, i] { q.put(i); });
  settle();
  int early = 0;
  for (auto& p : putters) early += p.finished() ? 1 : 0;
  std::vector<int> got;
  std::string error;
  for (int i = 0; i <= n; ++i) {
    // A putter left asleep would leave the queue empty: get() would then time out.
    const std::string r = outcome([&] { got.push_back(q.get(true, 10.0)); });
    if (r != "returned") {
      error = r;
      break;
    }
  }
  if (!error.empty()) q.shutdown();
  std::vector<std::string> results;
  for (auto& p : putters) results.push_back(p.outcome());
  CHECK(early == 0);
  CHECK(error.empty());
  CHECK(results == std::vector<std::string>(static_cast<std::size_t>(n), "returned"));
  REQUIRE(got.size() == static_cast<std::size_t>(n + 1));
  CHECK(got[0] == -1);
  std::vector<int> seen(static_cast<std::size_t>(n), 0);
  for (std::size_t i = 1; i < got.size(); ++i) ++seen[static_cast<std::size_t>(got[i])];
  CHECK(seen == std::vector<int>(static_cast<std::size_t>(n), 1));
}

TEST_CASE("Queue.task_done called too many times raises ValueError", "[queue][errors]") {
  queue::Queue<int> q;
  REQUIRE_RAISES(q.task_done(), ValueError, "task_done() called too many times");
  q.put(1);
  q.put(2);
  CHECK(q.unfinished_tasks() == 2);
  static_cast<void>(q.get());
  q.task_done();
  CHECK(q.unfinished_tasks() == 1);
  q.task_done();  // allowed: counts puts, not gets
  CHECK(q.unfinished_tasks() == 0);
  REQUIRE_RAISES(q.task_done(), ValueError, "task_done() called too many times");
  CHECK(q.unfinished_tasks() == 0);
  CHECK(q.qsize() == 1);
}

TEST_CASE("Queue.join returns at once when no task is unfinished", "[queue][join]") {
  queue::Queue<int> q;
  q.join();
  q.put(1);
  static_cast<void>(q.get());
  q.task_done();
  q.join();
  q.join();  // join() can be called repeatedly
  CHECK(q.unfinished_tasks() == 0);
}

TEST_CASE("Queue.join blocks until every task is done", "[queue][join][blocking]") {
  queue::Queue<int> q;
  q.put(1);
  q.put(2);
  q.put(3);
  std::vector<Call> joiners;
  for (int i = 0; i < 3; ++i) joiners.emplace_back([&] { q.join(); });
  settle();
  int early = 0;
  for (auto& j : joiners) early += j.finished() ? 1 : 0;
  // Getting every item is not enough: join waits for task_done.
  for (int i = 0; i < 3; ++i) static_cast<void>(q.get());
  q.task_done();
  q.task_done();
  settle();
  int after_two = 0;
  for (auto& j : joiners) after_two += j.finished() ? 1 : 0;
  q.task_done();
  std::vector<std::string> results;
  for (auto& j : joiners) results.push_back(j.outcome());
  CHECK(early == 0);
  CHECK(after_two == 0);
  CHECK(results == std::vector<std::string>(3, "returned"));
}

TEST_CASE("Queue.join with worker threads can be repeated (queue_join_test)", "[queue][join]") {
  queue::Queue<int> q;
  std::atomic<long> cum{0};
  for (int round = 0; round < 2; ++round) {  // test_queue_join does it twice
    cum = 0;
    std::vector<threading::Thread> workers;
    for (int w = 0; w < 2; ++w) {
      workers.emplace_back([&] {
        for (;;) {
          const int x = q.get();
          if (x < 0) {
            q.task_done();
            return;
          }
          cum += x;
          q.task_done();
        }
      });
    }
    for (auto& t : workers) t.start();
    for (int i = 0; i < 100; ++i) q.put(i);
    q.join();
    const long after_join = cum.load();
    q.put(-1);
    q.put(-1);
    q.join();  // join twice
    for (auto& t : workers) t.join();
    CHECK(after_join == 4950);
  }
  REQUIRE_RAISES(q.task_done(), ValueError, "task_done() called too many times");
}

TEST_CASE("Queue.move-only items pass through every put and get", "[queue][move-only]") {
  queue::Queue<std::unique_ptr<int>> q(10);
  q.put(std::make_unique<int>(1));
  q.put(std::make_unique<int>(2), true);
  q.put(std::make_unique<int>(3), true, 1.0);
  q.put(std::make_unique<int>(4), true, 1s);
  q.put(std::make_unique<int>(5), false);
  q.put_nowait(std::make_unique<int>(6));
  auto local = std::make_unique<int>(7);
  q.put(std::move(local));
  q.put(nullptr);
  CHECK(q.qsize() == 8);
  CHECK(*q.get() == 1);
  CHECK(*q.get(true) == 2);
  CHECK(*q.get(true, 1.0) == 3);
  CHECK(*q.get(true, 1s) == 4);
  CHECK(*q.get(false) == 5);
  CHECK(*q.get_nowait() == 6);
  CHECK(*q.get(false, -1) == 7);
  CHECK(q.get() == nullptr);
  REQUIRE_RAISES(q.get_nowait(), queue::Empty, "");
}

TEST_CASE("Queue.a move-only item reaches a blocked getter in another thread", "[queue][move-only][blocking]") {
  queue::Queue<std::unique_ptr<int>> q(1);
  Call get([&] { return q.get(); });
  settle();
  const bool early = get.finished();
  q.put(std::make_unique<int>(99));
  const std::string result = get.outcome();
  CHECK_FALSE(early);
  CHECK(result == "returned *99");
  // and a blocked putter of a move-only item
  q.put(std::make_unique<int>(1));
  Call put([&] { q.put(std::make_unique<int>(2)); });
  settle();
  const bool put_early = put.finished();
  auto first = q.get();
  const std::string put_result = put.outcome();
  CHECK_FALSE(put_early);
  CHECK(*first == 1);
  CHECK(put_result == "returned");
  CHECK(*q.get() == 2);
}

TEST_CASE("Queue.unfinished_tasks and is_shutdown start clear", "[queue]") {
  queue::Queue<int> q;
  CHECK(q.unfinished_tasks() == 0);
  CHECK_FALSE(q.is_shutdown());
  q.put(1);
  q.put_nowait(2);
  q.put(3, false);
  q.put(4, true, 1.0);
  CHECK(q.unfinished_tasks() == 4);
  static_cast<void>(q.get());
  CHECK(q.unfinished_tasks() == 4);  // get does not count, task_done does
}

TEST_CASE("Queue.a namespace-scope queue outlives daemon workers busy in it at exit", "[queue][exit]") {
  // Python's daemon workers may still be inside q.get()/q.put() when the program exits; that
  // must not end in a use-after-free (DESIGN: no Python-like use ends in a crash or a hang).
  if (!can_fork_a_threaded_child()) {
    WARN("skipped: ThreadSanitizer cannot start threads in a child of a multi-threaded process");
    return;
  }
  const auto child = pyconc_test::run_in_child([](int fd) {
    exit_while_daemons_use(g_exit_queue, fd);
    return 1;  // not reached
  });
  require_clean_exit(child);
}

TEST_CASE("Queue.a function-local static queue outlives daemon workers busy in it at exit",
          "[queue][exit]") {
  // The same with the queue a function-local static (a "Meyers singleton") first used after a
  // thread has been started: its destructor runs before the exit handler that the first
  // Thread::start installed, so the queue must notice the exit by itself.
  if (!can_fork_a_threaded_child()) {
    WARN("skipped: ThreadSanitizer cannot start threads in a child of a multi-threaded process");
    return;
  }
  const auto child = pyconc_test::run_in_child([](int fd) {
    threading::Thread first([] {});
    first.start();
    first.join();
    static queue::Queue<std::string> q;  // built (and its destructor registered) only now
    exit_while_daemons_use(q, fd);
    return 1;  // not reached
  });
  require_clean_exit(child);
}

TEST_CASE("Queue.a burst of gets lets every blocked putter of a full queue through", "[queue][blocking]") {
  // Putters sleep while the queue is full; gets taken back to back must wake them all, even
  // though only the first get finds the queue full.
  const int size = GENERATE(2, 4, 16);
  queue::Queue<int> q(size);
  for (int i = 0; i < size; ++i) q.put(-1);
  std::vector<Call> putters;
  for (int i = 0; i < size; ++i) putters.emplace_back([&q, i] { q.put(i); });
  settle();
  int early = 0;
  for (auto& p : putters) early += p.finished() ? 1 : 0;
  for (int i = 0; i < size; ++i) CHECK(q.get() == -1);  // back to back
  int stuck = 0;
  for (auto& p : putters) stuck += p.wait(10.0) ? 0 : 1;
  if (stuck > 0) q.shutdown();  // rescue the stuck ones before asserting
  std::vector<std::string> results;
  for (auto& p : putters) results.push_back(p.outcome());
  CHECK(early == 0);
  CHECK(stuck == 0);
  CHECK(results == std::vector<std::string>(static_cast<std::size_t>(size), "returned"));
  CHECK(q.qsize() == static_cast<std::size_t>(size));
  CHECK(q.full());
}

namespace {
// Counts the live instances of itself, to see that a queue destroys what it holds.
struct Counted {
  static inline std::atomic<int> alive{0};
  std::string text;
  explicit Counted(std::string t) : text(std::move(t)) { ++alive; }
  Counted(Counted&& other) noexcept : text(std::move(other.text)) { ++alive; }
  Counted& operator=(Counted&&) = default;
  Counted(const Counted&) = delete;
  Counted& operator=(const Counted&) = delete;
  ~Counted() { --alive; }
};
}  // namespace

TEST_CASE("Queue.destroys the items it still holds and keeps order across many items", "[queue]") {
  // Enough items to fill many of the queue's internal blocks, taken partly, then dropped.
  const int put = GENERATE(0, 1, 1000, 5000);
  const int taken = put / 3;
  {
    queue::Queue<Counted> q;
    for (int i = 0; i < put; ++i) q.put(Counted(std::to_string(i)));
    CHECK(Counted::alive == put);
    for (int i = 0; i < taken; ++i) {
      const Counted item = q.get();
      REQUIRE(item.text == std::to_string(i));
    }
    CHECK(Counted::alive == put - taken);
    CHECK(q.qsize() == static_cast<std::size_t>(put - taken));
  }
  CHECK(Counted::alive == 0);
}
