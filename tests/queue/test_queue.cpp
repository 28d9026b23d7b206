// SPDX-License-Identifier: MIT
// Tests for queue::Queue (FIFO), after CPython's Lib/test/test_queue.py (BaseQueueTestMixin)
// and the behaviour of Lib/queue.py checked on CPython 3.11 and 3.13.
//
// The behaviour that Queue shares with LifoQueue and PriorityQueue (and, where it applies, with
// SimpleQueue) is tested here once for every class, as TEMPLATE_TEST_CASEs named
// "Queue.<what> - queue::<Class><int>": the expected order of the items comes from
// pyconc_test::QueueTraits (queue_support.hpp). Shutdown: test_shutdown.cpp; stress:
// test_queue_stress.cpp.
#include <unistd.h>  // write

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
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
using pyconc_test::blocked_call;
using pyconc_test::Call;
using pyconc_test::make_queue;
using pyconc_test::model_of;
using pyconc_test::order_of;
using pyconc_test::outcome;
using pyconc_test::QueueTraits;
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
            if (s.size() > 64)
              s.resize(1);
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

// ---- Behaviour shared by Queue, LifoQueue and PriorityQueue (and SimpleQueue where it applies) ----

TEMPLATE_TEST_CASE("Queue.basic behaviour as in test_queue.py basic_queue_test", "[queue]", PYCONC_TEST_TASK_QUEUES) {
  // Done twice on the same object, as test_basic does; the gets follow the class's order.
  TestType q(kQueueSize);
  auto expected = model_of<TestType>();
  const auto put = [&](int x) {
    q.put(x);
    expected.put(x);
  };
  for (int round = 0; round < 2; ++round) {
    INFO("round " << round);
    REQUIRE(q.qsize() == 0);
    CHECK(q.empty());
    CHECK_FALSE(q.full());
    put(111);
    put(333);
    put(222);
    for (int i = 0; i < 3; ++i)
      CHECK(q.get() == expected.get());
    for (int i = 0; i < kQueueSize - 1; ++i) {
      put(i);
      CHECK(q.qsize() == static_cast<std::size_t>(i + 1));
    }
    CHECK_FALSE(q.full());
    put(2 * kQueueSize);
    CHECK(q.full());
    CHECK_FALSE(q.empty());
    REQUIRE_RAISES(q.put(6 * kQueueSize, false), queue::Full, "");
    REQUIRE_RAISES(q.put(6 * kQueueSize, true, 0.01), queue::Full, "");
    CHECK(q.qsize() == static_cast<std::size_t>(kQueueSize));
    // A blocking put waits for a get (do_blocking_test), with and without a timeout; its item
    // goes in only after that get.
    int got = 0;
    const auto plain = blocked_call([&] { q.put(6 * kQueueSize); }, [&] { got = q.get(); });
    CHECK_FALSE(plain.finished_early);
    CHECK(got == expected.get());
    CHECK(plain.outcome == "returned");
    expected.put(6 * kQueueSize);
    const auto timed = blocked_call([&] { q.put(7 * kQueueSize, true, 10); }, [&] { got = q.get(); });
    CHECK_FALSE(timed.finished_early);
    CHECK(got == expected.get());
    CHECK(timed.outcome == "returned");
    expected.put(7 * kQueueSize);
    std::vector<int> rest;
    for (int i = 0; i < kQueueSize; ++i)
      rest.push_back(q.get());
    CHECK(rest == expected.drain());
    CHECK(q.qsize() == 0);
    REQUIRE_RAISES(q.get(false), queue::Empty, "");
    REQUIRE_RAISES(q.get(true, 0.01), queue::Empty, "");
    // A blocking get waits for a put, with and without a timeout (float seconds, then chrono).
    const auto get = blocked_call([&] { return q.get(); }, [&] { q.put(-7); });
    CHECK_FALSE(get.finished_early);
    CHECK(get.outcome == "returned -7");
    const auto get_timed =
        blocked_call([&] { return round == 0 ? q.get(true, 10) : q.get(true, 10s); }, [&] { q.put(-8); });
    CHECK_FALSE(get_timed.finished_early);
    CHECK(get_timed.outcome == "returned -8");
    // Every put was counted; take them all back.
    for (std::size_t i = q.unfinished_tasks(); i > 0; --i)
      q.task_done();
  }
}

TEMPLATE_TEST_CASE("Queue.keeps its order across interleaved puts and gets", "[queue]", PYCONC_TEST_ALL_QUEUES) {
  TestType q;
  auto expected = model_of<TestType>();
  int put = 0;
  int taken = 0;
  std::vector<int> wrong;  // items that came out where the model has another one
  const auto take = [&](int item) {
    if (item != expected.get())
      wrong.push_back(item);
    ++taken;
  };
  for (int round = 0; round < 60; ++round) {
    for (int i = 0; i < round % 7 + 1; ++i, ++put) {
      const int item = put * 37 % 101;  // not sorted, with repeats
      q.put(item);
      expected.put(item);
    }
    for (int i = 0; i < round % 5 + 1 && !q.empty(); ++i)
      take(q.get());
  }
  CHECK(q.qsize() == expected.size());
  while (!q.empty())
    take(q.get_nowait());
  CHECK(wrong.empty());
  CHECK(taken == put);
}

TEMPLATE_TEST_CASE("Queue.put_nowait and get_nowait raise Full and Empty (test_nowait)", "[queue][errors]",
                   PYCONC_TEST_TASK_QUEUES) {
  TestType q(kQueueSize);
  auto expected = model_of<TestType>();
  for (int i = kQueueSize; i > 0; --i) {
    q.put_nowait(i);
    expected.put(i);
  }
  REQUIRE_RAISES(q.put_nowait(0), queue::Full, "");  // even an item that would come first
  REQUIRE_RAISES(q.put(0, false), queue::Full, "");
  // A failed put changes nothing.
  CHECK(q.qsize() == static_cast<std::size_t>(kQueueSize));
  CHECK(q.unfinished_tasks() == static_cast<std::size_t>(kQueueSize));
  for (int i = 0; i < kQueueSize; ++i)
    CHECK(q.get_nowait() == expected.get());
  REQUIRE_RAISES(q.get_nowait(), queue::Empty, "");
  REQUIRE_RAISES(q.get(false), queue::Empty, "");
  CHECK(q.unfinished_tasks() == static_cast<std::size_t>(kQueueSize));
}

TEMPLATE_TEST_CASE("Queue.qsize empty and full follow the contents", "[queue]", PYCONC_TEST_TASK_QUEUES) {
  TestType q(2);
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

TEMPLATE_TEST_CASE("Queue.maxsize of zero or less is unbounded and never full", "[queue]", PYCONC_TEST_TASK_QUEUES) {
  auto maxsize = GENERATE(0LL, -1LL, -2LL, -100LL);
  TestType q(maxsize);
  CHECK(q.maxsize() == maxsize);
  for (int i = 0; i < 1000; ++i)
    q.put_nowait(i);
  q.put(1000, false);
  q.put(1001, true, 0.0);
  CHECK(q.qsize() == 1002);
  CHECK_FALSE(q.full());
  TestType by_default;
  CHECK(by_default.maxsize() == 0);
  CHECK_FALSE(by_default.full());
}

TEMPLATE_TEST_CASE("Queue.maxsize can be changed at run time (test_shrinking_queue)", "[queue]",
                   PYCONC_TEST_TASK_QUEUES) {
  TestType q(3);
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
  while (!q.empty())
    out.push_back(q.get());
  CHECK(out == order_of<TestType>({1, 2, 3, 4, 5, 6, 7}));
}

TEMPLATE_TEST_CASE("Queue.get with a timeout raises Empty after about that long", "[queue][timeout]",
                   PYCONC_TEST_ALL_QUEUES) {
  TestType q;
  SECTION("double seconds") {
    REQUIRE_RAISES_AFTER(q.get(true, 0.1), queue::Empty, "", 0.1);
  }
  SECTION("std::chrono milliseconds") {
    REQUIRE_RAISES_AFTER(q.get(true, 100ms), queue::Empty, "", 0.1);
  }
  SECTION("std::chrono duration<double>") {
    REQUIRE_RAISES_AFTER(q.get(true, std::chrono::duration<double>(0.1)), queue::Empty, "", 0.1);
  }
}

TEMPLATE_TEST_CASE("Queue.put with a timeout raises Full after about that long", "[queue][timeout]",
                   PYCONC_TEST_TASK_QUEUES) {
  TestType q(1);
  q.put(1);
  SECTION("double seconds") {
    REQUIRE_RAISES_AFTER(q.put(2, true, 0.1), queue::Full, "", 0.1);
  }
  SECTION("std::chrono milliseconds") {
    REQUIRE_RAISES_AFTER(q.put(2, true, 100ms), queue::Full, "", 0.1);
  }
  CHECK(q.qsize() == 1);
  CHECK(q.unfinished_tasks() == 1);
  CHECK(q.get() == 1);
}

TEMPLATE_TEST_CASE("Queue.a zero timeout only tries once", "[queue][timeout]", PYCONC_TEST_ALL_QUEUES) {
  auto q = make_queue<TestType>(1);
  REQUIRE_RAISES(q.get(true, 0), queue::Empty, "");
  REQUIRE_RAISES(q.get(true, 0s), queue::Empty, "");
  REQUIRE_RAISES(q.get(true, 0ms), queue::Empty, "");
  q.put(5, true, 0);
  if constexpr (QueueTraits<TestType>::has_tasks) {
    REQUIRE_RAISES(q.put(6, true, 0), queue::Full, "");
    REQUIRE_RAISES(q.put(6, true, 0ms), queue::Full, "");
  }
  CHECK(q.get(true, 0) == 5);
}

TEMPLATE_TEST_CASE("Queue.get with a timeout returns an item put meanwhile", "[queue][timeout][blocking]",
                   PYCONC_TEST_ALL_QUEUES) {
  TestType q;
  const auto get = blocked_call([&] { return q.get(true, 10.0); }, [&] { q.put(42); });
  CHECK_FALSE(get.finished_early);
  CHECK(get.outcome == "returned 42");
  CHECK(get.seconds < 5.0);
}

TEMPLATE_TEST_CASE("Queue.put with a timeout gets through once space frees", "[queue][timeout][blocking]",
                   PYCONC_TEST_TASK_QUEUES) {
  TestType q(1);
  q.put(1);
  int first = 0;
  const auto put = blocked_call([&] { q.put(2, true, 10s); }, [&] { first = q.get(); });
  CHECK_FALSE(put.finished_early);
  CHECK(first == 1);
  CHECK(put.outcome == "returned");
  CHECK(put.seconds < 5.0);
  CHECK(q.get_nowait() == 2);
}

TEMPLATE_TEST_CASE("Queue.get with a negative timeout raises ValueError even when an item is available",
                   "[queue][timeout][errors]", PYCONC_TEST_ALL_QUEUES) {
  auto q = make_queue<TestType>(kQueueSize);
  REQUIRE_RAISES(q.get(true, -1), ValueError, "'timeout' must be a non-negative number");
  REQUIRE_RAISES(q.get(true, -0.001), ValueError, "'timeout' must be a non-negative number");
  q.put(7);
  REQUIRE_RAISES(q.get(true, -1), ValueError, "'timeout' must be a non-negative number");
  REQUIRE_RAISES(q.get(true, -1s), ValueError, "'timeout' must be a non-negative number");
  REQUIRE_RAISES(q.get(true, -5ms), ValueError, "'timeout' must be a non-negative number");
  CHECK(q.qsize() == 1);  // the item is still there
  if constexpr (QueueTraits<TestType>::has_tasks) {
    TestType unbounded;
    unbounded.put(1);
    REQUIRE_RAISES(unbounded.get(true, -1), ValueError, "'timeout' must be a non-negative number");
    CHECK(unbounded.get() == 1);
  }
  CHECK(q.get() == 7);
}

TEMPLATE_TEST_CASE("Queue.get with block false ignores a negative timeout", "[queue][timeout]",
                   PYCONC_TEST_ALL_QUEUES) {
  TestType q;
  q.put(3);
  CHECK(q.get(false, -1) == 3);
  REQUIRE_RAISES(q.get(false, -1), queue::Empty, "");
  REQUIRE_RAISES(q.get(false, -1s), queue::Empty, "");
}

TEMPLATE_TEST_CASE("Queue.put with a negative timeout raises ValueError only on a bounded queue",
                   "[queue][timeout][errors]", PYCONC_TEST_TASK_QUEUES) {
  SECTION("bounded and not full") {
    TestType q(kQueueSize);
    REQUIRE_RAISES(q.put(1, true, -1), ValueError, "'timeout' must be a non-negative number");
    REQUIRE_RAISES(q.put(1, true, -1ms), ValueError, "'timeout' must be a non-negative number");
    CHECK(q.qsize() == 0);  // nothing was put, nothing counted
    CHECK(q.unfinished_tasks() == 0);
  }
  SECTION("bounded and full") {
    TestType q(1);
    q.put(0);
    REQUIRE_RAISES(q.put(1, true, -1), ValueError, "'timeout' must be a non-negative number");
    CHECK(q.qsize() == 1);
  }
  SECTION("unbounded: the timeout is ignored") {
    TestType q;
    q.put(1, true, -1);
    q.put(2, true, -3s);
    CHECK(q.qsize() == 2);
    CHECK(q.unfinished_tasks() == 2);
    const std::vector<int> got{q.get(), q.get()};
    CHECK(got == order_of<TestType>({1, 2}));
  }
  SECTION("block false: the timeout is ignored") {
    TestType q(1);
    q.put(1, false, -1);
    REQUIRE_RAISES(q.put(2, false, -1), queue::Full, "");
    CHECK(q.get() == 1);
  }
}

TEMPLATE_TEST_CASE("Queue.a blocked get really blocks until a put", "[queue][blocking]", PYCONC_TEST_ALL_QUEUES) {
  pyconc_test::QueueOf<TestType, std::string> q;
  const auto get = blocked_call([&] { return q.get(); }, [&] { q.put("spam"); });
  CHECK_FALSE(get.finished_early);
  CHECK(get.outcome == "returned spam");
  CHECK(q.empty());
  if constexpr (QueueTraits<TestType>::has_tasks)
    CHECK(q.unfinished_tasks() == 1);
}

TEMPLATE_TEST_CASE("Queue.a blocked put really blocks until a get", "[queue][blocking]", PYCONC_TEST_TASK_QUEUES) {
  // The blocked item would come first in a PriorityQueue, yet the get cannot take it: it is not
  // in the queue until that get makes room.
  pyconc_test::QueueOf<TestType, std::string> q(2);
  auto expected = model_of<TestType, std::string>();
  for (const char* item : {"b", "c"}) {
    q.put(item);
    expected.put(item);
  }
  std::size_t size_while_blocked = 0;
  std::string first;
  const auto put = blocked_call([&] { q.put("a"); },
                                [&] {
                                  size_while_blocked = q.qsize();
                                  first = q.get();
                                });
  CHECK_FALSE(put.finished_early);
  CHECK(size_while_blocked == 2);
  CHECK(first == expected.get());
  CHECK(put.outcome == "returned");
  expected.put("a");
  CHECK(q.get() == expected.get());
  CHECK(q.get() == expected.get());
}

TEMPLATE_TEST_CASE("Queue.put copies an lvalue and moves an rvalue", "[queue]", PYCONC_TEST_ALL_QUEUES) {
  pyconc_test::QueueOf<TestType, std::string> q;
  const std::string kept = "kept";
  q.put(kept);
  q.put_nowait(kept);
  q.put(kept, true, 1.0);
  std::string moved(100, 'x');  // long enough not to live in the small-string buffer
  q.put(std::move(moved));
  CHECK(kept == "kept");
  const std::vector<std::string> got{q.get(), q.get(), q.get(), q.get()};
  CHECK(got == order_of<TestType, std::string>({"kept", "kept", "kept", std::string(100, 'x')}));
}

TEMPLATE_TEST_CASE("Queue.many blocked getters each get one item with no lost wake-up", "[queue][blocking]",
                   PYCONC_TEST_ALL_QUEUES) {
  const int n = GENERATE(1, 2, 4, 16);
  const bool timed = GENERATE(false, true);  // every other getter with a timeout
  INFO(n << " getters, timed " << timed);
  TestType q;
  std::vector<Call> getters;
  for (int i = 0; i < n; ++i) {
    if (timed && i % 2 == 1) {
      getters.emplace_back([&] { return q.get(true, 30.0); });
    } else {
      getters.emplace_back([&] { return q.get(); });
    }
  }
  settle();
  const int early = pyconc_test::count_finished(getters);
  for (int i = n - 1; i >= 0; --i)
    q.put(i);  // back to back: each put must wake one getter
  const int stuck = pyconc_test::count_stuck(getters);
  pyconc_test::release_getters(q, stuck);  // rescue the stuck ones before asserting
  const auto returned = pyconc_test::tally_returned(pyconc_test::outcomes(getters, 40.0), n);
  CHECK(early == 0);
  CHECK(stuck == 0);
  CHECK(returned.odd.empty());
  CHECK(returned.seen == std::vector<int>(static_cast<std::size_t>(n), 1));
  CHECK(q.empty());
}

TEMPLATE_TEST_CASE("Queue.many blocked putters all get through as items are taken", "[queue][blocking]",
                   PYCONC_TEST_TASK_QUEUES) {
  const int n = GENERATE(1, 4, 16);
  TestType q(1);
  q.put(-1);
  std::vector<Call> putters;
  for (int i = 0; i < n; ++i)
    putters.emplace_back([&q, i] { q.put(i); });
  settle();
  const int early = pyconc_test::count_finished(putters);
  std::vector<int> got;
  std::string error;
  for (int i = 0; i <= n && error.empty(); ++i) {
    // A putter left asleep would leave the queue empty: get() would then time out.
    const std::string r = outcome([&] { got.push_back(q.get(true, 10.0)); });
    if (r != "returned")
      error = r;
  }
  if (!error.empty())
    q.shutdown();
  const std::vector<std::string> results = pyconc_test::outcomes(putters);
  CHECK(early == 0);
  CHECK(error.empty());
  CHECK(results == std::vector<std::string>(static_cast<std::size_t>(n), "returned"));
  REQUIRE(got.size() == static_cast<std::size_t>(n + 1));
  CHECK(got[0] == -1);
  std::vector<int> seen(static_cast<std::size_t>(n), 0);
  for (std::size_t i = 1; i < got.size(); ++i)
    ++seen[static_cast<std::size_t>(got[i])];
  CHECK(seen == std::vector<int>(static_cast<std::size_t>(n), 1));
}

TEMPLATE_TEST_CASE("Queue.task_done called too many times raises ValueError", "[queue][errors]",
                   PYCONC_TEST_TASK_QUEUES) {
  TestType q;
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

TEMPLATE_TEST_CASE("Queue.join returns at once when no task is unfinished", "[queue][join]", PYCONC_TEST_TASK_QUEUES) {
  TestType q;
  q.join();
  q.put(1);
  static_cast<void>(q.get());
  q.task_done();
  q.join();
  q.join();  // join() can be called repeatedly
  CHECK(q.unfinished_tasks() == 0);
}

TEMPLATE_TEST_CASE("Queue.join blocks until every task is done", "[queue][join][blocking]", PYCONC_TEST_TASK_QUEUES) {
  TestType q;
  q.put(1);
  q.put(3);
  q.put(2);
  std::vector<Call> joiners = pyconc_test::start_calls(3, [&] { q.join(); });
  settle();
  const int early = pyconc_test::count_finished(joiners);
  // Getting every item is not enough: join waits for task_done.
  const std::vector<int> got{q.get(), q.get(), q.get()};
  q.task_done();
  q.task_done();
  settle();
  const int after_two = pyconc_test::count_finished(joiners);
  q.task_done();
  const std::vector<std::string> results = pyconc_test::outcomes(joiners);
  CHECK(early == 0);
  CHECK(got == order_of<TestType>({1, 3, 2}));
  CHECK(after_two == 0);
  CHECK(results == std::vector<std::string>(3, "returned"));
  REQUIRE_RAISES(q.task_done(), ValueError, "task_done() called too many times");
  q.join();
}

TEMPLATE_TEST_CASE("Queue.join with worker threads can be repeated (queue_join_test)", "[queue][join]",
                   PYCONC_TEST_TASK_QUEUES) {
  TestType q;
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
    for (auto& t : workers)
      t.start();
    for (int i = 0; i < 100; ++i)
      q.put(i);
    q.join();
    const long after_join = cum.load();
    q.put(-1);
    q.put(-1);
    q.join();  // join twice
    for (auto& t : workers)
      t.join();
    CHECK(after_join == 4950);
  }
  REQUIRE_RAISES(q.task_done(), ValueError, "task_done() called too many times");
}

TEMPLATE_TEST_CASE("Queue.move-only items pass through every put and get", "[queue][move-only]",
                   PYCONC_TEST_ALL_QUEUES) {
  // PriorityQueue orders the pointers by what they point to (pyconc_test::Smaller). Unbounded,
  // so the put with a negative timeout is accepted by every class.
  pyconc_test::QueueOf<TestType, std::unique_ptr<int>> q;
  auto expected = model_of<TestType>();
  const auto item = [&](int x) {
    expected.put(x);
    return std::make_unique<int>(x);
  };
  q.put(item(4));
  q.put(item(2), true);
  q.put(item(5), true, 1.0);
  q.put(item(1), true, 1s);
  q.put(item(3), false);
  q.put_nowait(item(3));
  q.put(item(6), true, -1);
  auto local = item(7);
  q.put(std::move(local));
  CHECK(q.qsize() == 8);
  CHECK(*q.get() == expected.get());
  CHECK(*q.get() == expected.get());
  CHECK(*q.get(true) == expected.get());
  CHECK(*q.get(true, 1.0) == expected.get());
  CHECK(*q.get(true, 1s) == expected.get());
  CHECK(*q.get(false) == expected.get());
  CHECK(*q.get_nowait() == expected.get());
  CHECK(*q.get(false, -1) == expected.get());
  REQUIRE_RAISES(q.get_nowait(), queue::Empty, "");
  q.put(nullptr);  // an empty pointer is an item too
  CHECK(q.qsize() == 1);
  CHECK(q.get() == nullptr);
}

TEMPLATE_TEST_CASE("Queue.a move-only item reaches a blocked getter or putter in another thread",
                   "[queue][move-only][blocking]", PYCONC_TEST_ALL_QUEUES) {
  auto q = make_queue<pyconc_test::QueueOf<TestType, std::unique_ptr<int>>>(1);
  const auto get = blocked_call([&] { return q.get(); }, [&] { q.put(std::make_unique<int>(99)); });
  CHECK_FALSE(get.finished_early);
  CHECK(get.outcome == "returned *99");
  if constexpr (QueueTraits<TestType>::has_tasks) {  // only these can be full
    q.put(std::make_unique<int>(1));
    std::unique_ptr<int> first;
    const auto put = blocked_call([&] { q.put(std::make_unique<int>(2)); }, [&] { first = q.get(); });
    CHECK_FALSE(put.finished_early);
    CHECK(pyconc_test::show(first) == "*1");
    CHECK(put.outcome == "returned");
    CHECK(pyconc_test::show(q.get()) == "*2");
  }
}

TEMPLATE_TEST_CASE("Queue.unfinished_tasks and is_shutdown start clear", "[queue]", PYCONC_TEST_TASK_QUEUES) {
  TestType q;
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

// ---- Queue only ---------------------------------------------------------------------------

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

TEST_CASE("Queue.a function-local static queue outlives daemon workers busy in it at exit", "[queue][exit]") {
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
  // though only the first get finds the queue full (the two-lock FIFO passes the wake-up on).
  const int size = GENERATE(2, 4, 16);
  queue::Queue<int> q(size);
  for (int i = 0; i < size; ++i)
    q.put(-1);
  std::vector<Call> putters;
  for (int i = 0; i < size; ++i)
    putters.emplace_back([&q, i] { q.put(i); });
  settle();
  const int early = pyconc_test::count_finished(putters);
  for (int i = 0; i < size; ++i)
    CHECK(q.get() == -1);  // back to back
  const int stuck = pyconc_test::count_stuck(putters);
  if (stuck > 0)
    q.shutdown();  // rescue the stuck ones before asserting
  const std::vector<std::string> results = pyconc_test::outcomes(putters);
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
    for (int i = 0; i < put; ++i)
      q.put(Counted(std::to_string(i)));
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

TEMPLATE_TEST_CASE("Queue.the observers work through a const reference", "[queue]", PYCONC_TEST_ALL_QUEUES) {
  TestType q;
  q.put(3);
  const TestType& view = q;
  CHECK(view.qsize() == 1);
  CHECK_FALSE(view.empty());
  if constexpr (pyconc_test::QueueTraits<TestType>::has_tasks) {
    CHECK_FALSE(view.full());
    CHECK(view.maxsize() == 0);
    CHECK(view.unfinished_tasks() == 1);
    CHECK_FALSE(view.is_shutdown());
  }
}
