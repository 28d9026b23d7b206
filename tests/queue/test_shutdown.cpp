// SPDX-License-Identifier: MIT
// Tests for Python 3.13's Queue.shutdown(immediate=False) on queue::Queue, LifoQueue and
// PriorityQueue, after CPython 3.13's Lib/test/test_queue.py (test_shutdown_*), with the
// behaviour checked on CPython 3.13.0. Each test runs once per queue type.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <string>
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
using pyconc_test::count_finished;
using pyconc_test::outcome;
using pyconc_test::outcomes;
using pyconc_test::settle;

namespace {

constexpr const char* kShutDown = "ShutDown: ";

template <class Q>
std::vector<int> sorted_gets(Q& q, int n) {
  std::vector<int> out;
  for (int i = 0; i < n; ++i)
    out.push_back(q.get());
  std::sort(out.begin(), out.end());
  return out;
}

int count(const std::vector<std::string>& results, const std::string& what) {
  return static_cast<int>(std::count(results.begin(), results.end(), what));
}

// Lets `calls` block on `q`, shuts it down and checks that they all (and only then) raised
// ShutDown, woken rather than timed out.
template <class Q>
void shut_down_while_blocked(Q& q, std::vector<Call>& calls, bool immediate) {
  settle();
  const int early = count_finished(calls);
  q.shutdown(immediate);
  const std::vector<std::string> results = outcomes(calls, 40.0);
  CHECK(early == 0);
  CHECK(results == std::vector<std::string>(calls.size(), kShutDown));
  CHECK(pyconc_test::longest(calls) < 10.0);
}

}  // namespace

TEMPLATE_TEST_CASE("Queue.shutdown transitions are all allowed", "[queue][shutdown]", PYCONC_TEST_TASK_QUEUES) {
  // test_shutdown_allowed_transitions
  TestType q;
  CHECK_FALSE(q.is_shutdown());
  q.put(1);
  q.put(2);
  q.shutdown();
  CHECK(q.is_shutdown());
  CHECK(q.qsize() == 2);  // a plain shutdown keeps the items
  q.shutdown();           // twice
  CHECK(q.is_shutdown());
  q.shutdown(true);  // then immediate: drops what is left, counting it done
  CHECK(q.is_shutdown());
  CHECK(q.qsize() == 0);
  CHECK(q.unfinished_tasks() == 0);
  q.shutdown(false);  // and back to a plain one: still shut down
  q.shutdown(true);
  CHECK(q.is_shutdown());
  q.join();
}

TEMPLATE_TEST_CASE("Queue.shutdown of an empty queue makes put and get raise ShutDown", "[queue][shutdown]",
                   PYCONC_TEST_TASK_QUEUES) {
  // test_shutdown_empty, with every form of put and get
  const bool immediate = GENERATE(false, true);
  const long long maxsize = GENERATE(0LL, 2LL);
  INFO("immediate " << immediate << " maxsize " << maxsize);
  TestType q(maxsize);
  q.shutdown(immediate);
  REQUIRE_RAISES(q.put(1), queue::ShutDown, "");
  REQUIRE_RAISES(q.put(1, false), queue::ShutDown, "");
  REQUIRE_RAISES(q.put(1, true, 1.0), queue::ShutDown, "");
  REQUIRE_RAISES(q.put(1, true, -1), queue::ShutDown, "");  // ShutDown is checked before the timeout
  REQUIRE_RAISES(q.put_nowait(1), queue::ShutDown, "");
  const pyconc_test::Stopwatch clock;
  REQUIRE_RAISES(q.get(), queue::ShutDown, "");
  REQUIRE_RAISES(q.get(false), queue::ShutDown, "");
  REQUIRE_RAISES(q.get(true, 1.0), queue::ShutDown, "");
  REQUIRE_RAISES(q.get(true, 1s), queue::ShutDown, "");
  REQUIRE_RAISES(q.get(false, -1), queue::ShutDown, "");
  REQUIRE_RAISES(q.get_nowait(), queue::ShutDown, "");
  CHECK(clock.elapsed() < 1.0);  // none of them waited (two would wait 1 s each)
  CHECK(q.qsize() == 0);
  CHECK(q.unfinished_tasks() == 0);
  q.join();
}

TEMPLATE_TEST_CASE("Queue.shutdown makes get with a negative timeout raise ShutDown once empty",
                   "[queue][shutdown][timeout]", PYCONC_TEST_TASK_QUEUES) {
  // CPython 3.13's get() checks "shut down and empty" before it looks at the timeout:
  //   q = queue.Queue(); q.shutdown(); q.get(timeout=-1)  ->  queue.ShutDown
  // (with items left, the same call raises ValueError: see the next test).
  const bool immediate = GENERATE(false, true);
  INFO("immediate " << immediate);
  TestType q;
  q.put(1);
  q.shutdown(immediate);
  if (!immediate)
    CHECK(q.get() == 1);
  REQUIRE_RAISES(q.get(true, -1), queue::ShutDown, "");
  REQUIRE_RAISES(q.get(true, -1s), queue::ShutDown, "");
}

TEMPLATE_TEST_CASE("Queue.shutdown lets get drain the items then raises ShutDown", "[queue][shutdown]",
                   PYCONC_TEST_TASK_QUEUES) {
  // test_shutdown_nonempty and _shutdown_all_methods_in_one_thread(False)
  TestType q(2);
  q.put(1);
  q.put_nowait(2);
  q.shutdown();
  REQUIRE_RAISES(q.put(3), queue::ShutDown, "");  // full too: ShutDown comes before Full
  REQUIRE_RAISES(q.put_nowait(3), queue::ShutDown, "");
  REQUIRE_RAISES(q.put(3, true, 0.01), queue::ShutDown, "");
  REQUIRE_RAISES(q.put(3, true, -1), queue::ShutDown, "");
  CHECK(q.qsize() == 2);
  CHECK(q.unfinished_tasks() == 2);
  CHECK(q.full());
  // Items remain: a negative timeout is still checked.
  REQUIRE_RAISES(q.get(true, -1), ValueError, "'timeout' must be a non-negative number");
  std::vector<int> got;
  got.push_back(q.get());
  q.task_done();
  got.push_back(q.get(true, 1.0));
  q.task_done();
  std::sort(got.begin(), got.end());
  CHECK(got == std::vector<int>{1, 2});
  q.join();
  REQUIRE_RAISES(q.get(), queue::ShutDown, "");
  REQUIRE_RAISES(q.get_nowait(), queue::ShutDown, "");
  REQUIRE_RAISES(q.get(true, 1.0), queue::ShutDown, "");
  SECTION("get(false) and get_nowait drain too") {
    TestType r;
    r.put(5);
    r.put(6);
    r.put(7);
    r.shutdown();
    std::vector<int> out{r.get(false), r.get_nowait(), r.get(false, -1)};
    std::sort(out.begin(), out.end());
    CHECK(out == std::vector<int>{5, 6, 7});
    REQUIRE_RAISES(r.get(false), queue::ShutDown, "");
  }
}

TEMPLATE_TEST_CASE("Queue.shutdown immediate drops the items and counts them done", "[queue][shutdown]",
                   PYCONC_TEST_TASK_QUEUES) {
  // test_shutdown_immediate and _shutdown_all_methods_in_one_thread(True)
  TestType q(2);
  q.put(1);
  q.put_nowait(2);
  q.shutdown(true);
  CHECK(q.is_shutdown());
  CHECK(q.qsize() == 0);
  CHECK(q.empty());
  CHECK_FALSE(q.full());
  CHECK(q.unfinished_tasks() == 0);
  REQUIRE_RAISES(q.put(3), queue::ShutDown, "");
  REQUIRE_RAISES(q.put_nowait(3), queue::ShutDown, "");
  REQUIRE_RAISES(q.get(), queue::ShutDown, "");
  REQUIRE_RAISES(q.get_nowait(), queue::ShutDown, "");
  REQUIRE_RAISES(q.task_done(), ValueError, "task_done() called too many times");
  q.join();
}

TEMPLATE_TEST_CASE("Queue.shutdown immediate leaves tasks already taken unfinished", "[queue][shutdown][join]",
                   PYCONC_TEST_TASK_QUEUES) {
  // Python 3.13: q.put(1); q.get(); q.put(2); q.put(3); q.shutdown(immediate=True)
  // leaves unfinished_tasks == 1, and join() waits for that task_done().
  TestType q;
  q.put(1);
  static_cast<void>(q.get());
  q.put(2);
  q.put(3);
  q.shutdown(true);
  CHECK(q.qsize() == 0);
  CHECK(q.unfinished_tasks() == 1);
  const auto join = pyconc_test::blocked_call([&] { q.join(); }, [&] { q.task_done(); });
  CHECK_FALSE(join.finished_early);
  CHECK(join.outcome == "returned");
  REQUIRE_RAISES(q.task_done(), ValueError, "task_done() called too many times");
}

TEMPLATE_TEST_CASE("Queue.shutdown wakes blocked getters with ShutDown", "[queue][shutdown][blocking]",
                   PYCONC_TEST_TASK_QUEUES) {
  // test_shutdown_pending_get, with several getters, with and without timeouts
  const bool immediate = GENERATE(false, true);
  INFO("immediate " << immediate);
  TestType q;
  std::vector<Call> getters;
  getters.emplace_back([&] { return q.get(); });
  getters.emplace_back([&] { return q.get(); });
  getters.emplace_back([&] { return q.get(true, 30.0); });
  getters.emplace_back([&] { return q.get(true, 30s); });
  shut_down_while_blocked(q, getters, immediate);
}

TEMPLATE_TEST_CASE("Queue.shutdown wakes blocked putters with ShutDown", "[queue][shutdown][blocking]",
                   PYCONC_TEST_TASK_QUEUES) {
  // test_shutdown_put / test_shutdown_immediate_put, plus putters with timeouts
  const bool immediate = GENERATE(false, true);
  INFO("immediate " << immediate);
  TestType q(2);
  q.put(1);
  q.put(2);
  std::vector<Call> putters;
  putters.emplace_back([&] { q.put(3); });
  putters.emplace_back([&] { q.put(4); });
  putters.emplace_back([&] { q.put(5, true, 30.0); });
  putters.emplace_back([&] { q.put(6, true, 30s); });
  shut_down_while_blocked(q, putters, immediate);
  if (immediate) {
    CHECK(q.qsize() == 0);
    CHECK(q.unfinished_tasks() == 0);
  } else {
    CHECK(q.qsize() == 2);  // the putters added nothing; the items are still there
    CHECK(q.unfinished_tasks() == 2);
    CHECK(sorted_gets(q, 2) == std::vector<int>{1, 2});
  }
  REQUIRE_RAISES(q.get_nowait(), queue::ShutDown, "");
}

TEMPLATE_TEST_CASE("Queue.shutdown then getters take what is left and the rest get ShutDown", "[queue][shutdown]",
                   PYCONC_TEST_TASK_QUEUES) {
  // _shutdown_get: a full queue of two, getters that start after shutdown()
  const bool immediate = GENERATE(false, true);
  INFO("immediate " << immediate);
  TestType q(2);
  q.put(10);
  q.put(20);
  threading::Event go;
  std::vector<Call> getters = pyconc_test::start_calls(3, [&] {
    go.wait();
    return q.get();
  });
  q.shutdown(immediate);
  go.set();
  const std::vector<std::string> results = outcomes(getters);
  if (immediate) {
    CHECK(count(results, kShutDown) == 3);
  } else {
    CHECK(count(results, kShutDown) == 1);
    CHECK(count(results, "returned 10") == 1);
    CHECK(count(results, "returned 20") == 1);
  }
}

TEMPLATE_TEST_CASE("Queue.shutdown immediate releases blocked joiners", "[queue][shutdown][join][blocking]",
                   PYCONC_TEST_TASK_QUEUES) {
  // test_shutdown_immediate_join
  TestType q;
  q.put(1);
  q.put(2);
  std::vector<Call> joiners = pyconc_test::start_calls(2, [&] { q.join(); });
  settle();
  const int early = count_finished(joiners);
  q.shutdown(true);
  const std::vector<std::string> results = outcomes(joiners);
  CHECK(early == 0);
  CHECK(results == std::vector<std::string>(2, "returned"));
  CHECK(q.unfinished_tasks() == 0);
}

TEMPLATE_TEST_CASE("Queue.shutdown without immediate keeps joiners blocked until the tasks are done",
                   "[queue][shutdown][join][blocking]", PYCONC_TEST_TASK_QUEUES) {
  // test_shutdown_join: join() keeps waiting for task_done after a plain shutdown().
  TestType q;
  q.put(1);
  q.put(2);
  std::vector<Call> joiners = pyconc_test::start_calls(2, [&] { q.join(); });
  settle();
  const int early = count_finished(joiners);
  q.shutdown();
  settle();
  const int after_shutdown = count_finished(joiners);
  const std::vector<int> got = sorted_gets(q, 2);
  q.task_done();
  settle();
  const int after_one = count_finished(joiners);
  q.task_done();
  const std::vector<std::string> results = outcomes(joiners);
  CHECK(early == 0);
  CHECK(after_shutdown == 0);
  CHECK(after_one == 0);
  CHECK(got == std::vector<int>{1, 2});
  CHECK(results == std::vector<std::string>(2, "returned"));
}

TEMPLATE_TEST_CASE("Queue.shutdown with a pending putter and a joiner", "[queue][shutdown][join][blocking]",
                   PYCONC_TEST_TASK_QUEUES) {
  // _shutdown_put_join: a putter that starts after shutdown() gets ShutDown; the joiner returns
  // once the one item is done (plain) or dropped (immediate).
  const bool immediate = GENERATE(false, true);
  INFO("immediate " << immediate);
  TestType q(2);
  q.put(7);
  threading::Event go;
  Call put([&] {
    go.wait();
    q.put(8);
  });
  Call join([&] { q.join(); });
  const std::size_t unfinished = q.unfinished_tasks();
  q.shutdown(immediate);
  go.set();
  std::string got;
  if (immediate) {
    got = outcome([&] { return q.get_nowait(); });
  } else {
    got = outcome([&] { return q.get(); });
    q.task_done();
  }
  const std::string put_result = put.outcome();
  const std::string join_result = join.outcome();
  CHECK(unfinished == 1);
  CHECK(got == (immediate ? kShutDown : "returned 7"));
  CHECK(put_result == kShutDown);
  CHECK(join_result == "returned");
}

TEMPLATE_TEST_CASE("Queue.shutdown with getters doing task_done and joiners", "[queue][shutdown][join]",
                   PYCONC_TEST_TASK_QUEUES) {
  // test_shutdown_get_task_done_join
  TestType q(2);
  q.put(1);
  q.put(2);
  CHECK(q.unfinished_tasks() == q.qsize());
  threading::Event go;
  std::vector<Call> getters = pyconc_test::start_calls(2, [&] {
    go.wait();
    const int x = q.get();
    q.task_done();
    return x;
  });
  std::vector<Call> joiners = pyconc_test::start_calls(2, [&] { q.join(); });
  go.set();
  q.shutdown(false);
  std::vector<std::string> results = outcomes(getters);
  for (const auto& r : outcomes(joiners))
    results.push_back(r);
  CHECK(count(results, "returned 1") == 1);
  CHECK(count(results, "returned 2") == 1);
  CHECK(count(results, "returned") == 2);
}

TEMPLATE_TEST_CASE("Queue.shutdown amid many producers and consumers loses nothing", "[queue][shutdown][stress]",
                   PYCONC_TEST_TASK_QUEUES) {
  // After _shutdown_all_methods_in_many_threads: producers put until ShutDown, consumers get
  // (and task_done) until ShutDown; shutdown() comes from another thread mid-stream.
  const bool immediate = GENERATE(false, true);
  INFO("immediate " << immediate);
  constexpr int kWriters = 4;
  constexpr int kReaders = 6;
  constexpr int kJoiners = 2;
  constexpr int kShutdownAfter = 20000;  // items put before shutdown() is called
  TestType q(8);
  std::atomic<int> put_count{0};
  threading::Event time_to_shut;
  std::vector<std::vector<int>> put_ok(kWriters);
  std::vector<std::vector<int>> got(kReaders);
  std::vector<std::string> writer_end(kWriters);
  std::vector<std::string> reader_end(kReaders);
  std::vector<threading::Thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      writer_end[static_cast<std::size_t>(w)] = outcome([&] {
        for (int i = 0;; ++i) {
          const int value = i * kWriters + w;
          q.put(value);
          put_ok[static_cast<std::size_t>(w)].push_back(value);
          if (++put_count == kShutdownAfter)
            time_to_shut.set();
        }
      });
    });
  }
  for (int r = 0; r < kReaders; ++r) {
    threads.emplace_back([&, r] {
      reader_end[static_cast<std::size_t>(r)] = outcome([&] {
        for (;;) {
          got[static_cast<std::size_t>(r)].push_back(q.get());
          q.task_done();
        }
      });
    });
  }
  std::string shutdown_result;
  threads.emplace_back([&] {
    time_to_shut.wait();
    shutdown_result = outcome([&] { q.shutdown(immediate); });
  });
  for (auto& t : threads)
    t.start();
  std::vector<Call> joiners = pyconc_test::start_calls(immediate ? kJoiners : 0, [&] { q.join(); });
  for (auto& t : threads)
    t.join();
  const std::vector<std::string> join_results = outcomes(joiners);

  CHECK(shutdown_result == "returned");
  CHECK(writer_end == std::vector<std::string>(kWriters, kShutDown));
  CHECK(reader_end == std::vector<std::string>(kReaders, kShutDown));
  CHECK(join_results == std::vector<std::string>(immediate ? kJoiners : 0, "returned"));
  CHECK(q.empty());
  CHECK(q.unfinished_tasks() == 0);
  std::vector<int> all_put;
  for (const auto& v : put_ok)
    all_put.insert(all_put.end(), v.begin(), v.end());
  std::vector<int> all_got;
  for (const auto& v : got)
    all_got.insert(all_got.end(), v.begin(), v.end());
  std::sort(all_put.begin(), all_put.end());
  std::sort(all_got.begin(), all_got.end());
  CHECK(all_put.size() >= static_cast<std::size_t>(kShutdownAfter));
  CHECK(std::adjacent_find(all_got.begin(), all_got.end()) == all_got.end());  // no duplicate
  if (immediate) {
    // Everything got was put; what was not got was dropped by shutdown(immediate=True).
    CHECK(std::includes(all_put.begin(), all_put.end(), all_got.begin(), all_got.end()));
    CHECK(all_put.size() - all_got.size() <= 8);  // at most a queueful was dropped
  } else {
    CHECK(all_got == all_put);  // a plain shutdown lets the consumers drain every item
  }
  q.join();
}
