// SPDX-License-Identifier: MIT
// Tests for concurrent::futures::ThreadPoolExecutor (and Executor::map), after CPython's
// Lib/test/test_concurrent_futures/{test_thread_pool,executor,test_shutdown,
// test_init}.py and the reference's sections 1.3, 2.3 and 3.3.
#include <pyconc/concurrent/futures.hpp>
#include <pyconc/threading.hpp>
#include <pyconc/time.hpp>

#include <catch2/catch.hpp>

#include <dirent.h>  // opendir
#include <sched.h>   // sched_getaffinity
#include <unistd.h>  // write

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <list>
#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "futures_support.hpp"
#include "support.hpp"

using namespace pyconc;
namespace cf = pyconc::concurrent::futures;

#if PYCONC_TEST_TSAN
// ThreadSanitizer sleeps 1 s at exit while other threads run (atexit_sleep_ms).
extern "C" const char* __tsan_default_options() {
  return "atexit_sleep_ms=0";
}
#endif

namespace {

/** The number of threads of this process (entries of /proc/self/task). */
int task_count() {
  DIR* dir = ::opendir("/proc/self/task");
  if (dir == nullptr)
    return -1;
  int n = 0;
  while (const dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] != '.')
      ++n;
  }
  ::closedir(dir);
  return n;
}

/**
Waits until this process has a single thread: pyconc threads are detached and end a moment
after join() returns, and ThreadSanitizer refuses threads in a child forked from a
multi-threaded process. (ThreadSanitizer's own background thread, started with the first
thread, does not count.)
*/
bool wait_single_threaded(double timeout = 5.0) {
  const int allowed = PYCONC_TEST_TSAN ? 2 : 1;
  const pyconc_test::Stopwatch clock;
  while (task_count() > allowed) {
    if (clock.elapsed() > timeout)
      return false;
    time::sleep(0.001);
  }
  return true;
}

void say(int fd, const std::string& text) {
  [[maybe_unused]] const auto n = ::write(fd, text.data(), text.size());
}

void require_exited_cleanly(const pyconc_test::ChildOutcome& child) {
  INFO("child output: " << child.output);
  REQUIRE_FALSE(child.timed_out);
  REQUIRE(child.signal == 0);
  REQUIRE(child.exited);
  REQUIRE(child.exit_status == 0);
}

int square(int x) {
  return x * x;
}

// What a pool's initializer saw, per worker (at namespace scope: g++ 12 skips the lazy
// construction of a function-local thread_local used inside a lambda).
thread_local std::string seen_by_initializer;

}  // namespace

// ---- submit ------------------------------------------------------------------------------

TEST_CASE("ThreadPoolExecutor.submit returns a future of the call's result", "[thread_pool_executor]") {
  cf::ThreadPoolExecutor executor(2);
  CHECK(executor.submit(square, 8).result(10.0) == 64);
  CHECK(executor.submit([](int a, int b) { return a + b; }, 2, 3).result(10.0) == 5);
  CHECK(executor.submit([] { return std::string("py"); }).result(10.0) == "py");
  int counter = 0;
  executor.submit([](int& c) { c = 7; }, std::ref(counter)).result(10.0);
  CHECK(counter == 7);
  int copied = 1;
  executor.submit([](int c) { return c; }, copied).result(10.0);  // arguments are copied
  static int shared = 5;
  auto ref = executor.submit([]() -> int& { return shared; });  // a reference result is copied
  CHECK(ref.result(10.0) == 5);
}

TEST_CASE("ThreadPoolExecutor.submit stores the call's exception in the future", "[thread_pool_executor]") {
  cf::ThreadPoolExecutor executor(2);
  auto f = executor.submit([]() -> int { throw ValueError("bad"); });
  REQUIRE_RAISES(f.result(10.0), ValueError, "bad");
  CHECK(f.done());
  CHECK(pyconc_test::raised([&] { std::rethrow_exception(f.exception()); }) == "ValueError: bad");
  auto g = executor.submit([] { throw std::runtime_error("std"); });
  CHECK(pyconc_test::raised([&] { g.result(10.0); }) == "std::runtime_error: std");
  // Like Python's BaseException, anything thrown is stored (SystemExit too).
  auto h = executor.submit([] { throw SystemExit(3); });
  CHECK(pyconc_test::raised([&] { h.result(10.0); }) == "SystemExit: 3");
  auto i = executor.submit([] { throw 42; });
  CHECK(pyconc_test::raised([&] { i.result(10.0); }) == "unknown exception");
  CHECK(executor.submit(square, 3).result(10.0) == 9);  // the worker lives on
}

TEST_CASE("ThreadPoolExecutor.submit moves move-only arguments and results", "[thread_pool_executor]") {
  cf::ThreadPoolExecutor executor(1);
  auto f =
      executor.submit([](std::unique_ptr<int> p) { return std::make_unique<int>(*p + 1); }, std::make_unique<int>(41));
  CHECK(*f.result(10.0) == 42);
}

TEST_CASE("ThreadPoolExecutor.submit destroys the call before its future completes", "[thread_pool_executor]") {
  cf::ThreadPoolExecutor executor(1);
  auto token = std::make_shared<int>(1);
  std::weak_ptr<int> watch = token;
  auto f = executor.submit([token = std::move(token)] { return *token; });
  CHECK(f.result(10.0) == 1);
  CHECK(watch.expired());  // as CPython's worker drops the work item: captured objects die at once
}

// ---- construction, threads, names ----------------------------------------------------------

TEST_CASE("ThreadPoolExecutor default max_workers is min(32 and process_cpu_count + 4)", "[thread_pool_executor]") {
  cpu_set_t set;
  CPU_ZERO(&set);
  REQUIRE(::sched_getaffinity(0, sizeof set, &set) == 0);
  cf::ThreadPoolExecutor executor;
  CHECK(executor.max_workers() == std::min(32, CPU_COUNT(&set) + 4));
  CHECK(cf::ThreadPoolExecutor(7).max_workers() == 7);
  CHECK(cf::ThreadPoolExecutor({.max_workers = 3}).max_workers() == 3);
}

TEST_CASE("ThreadPoolExecutor rejects max_workers below 1", "[thread_pool_executor]") {
  REQUIRE_RAISES(cf::ThreadPoolExecutor(0), ValueError, "max_workers must be greater than 0");
  REQUIRE_RAISES(cf::ThreadPoolExecutor(-1), ValueError, "max_workers must be greater than 0");
  REQUIRE_RAISES(cf::ThreadPoolExecutor({.max_workers = 0}), ValueError, "max_workers must be greater than 0");
}

TEST_CASE("ThreadPoolExecutor starts threads lazily and at most max_workers", "[thread_pool_executor]") {
  cf::ThreadPoolExecutor executor(3);
  CHECK(executor.threads().empty());
  threading::Event release;
  std::vector<cf::Future<void>> fs;
  for (int i = 0; i < 10; ++i)
    fs.push_back(executor.submit([&] { release.wait(10.0); }));
  CHECK(executor.threads().size() == 3);
  release.set();
  for (auto& f : fs)
    f.result(10.0);
  CHECK(executor.threads().size() == 3);
}

TEST_CASE("ThreadPoolExecutor runs at most max_workers calls at once", "[thread_pool_executor]") {
  cf::ThreadPoolExecutor executor(3);
  std::atomic<int> now{0};
  std::atomic<int> most{0};
  std::vector<cf::Future<void>> fs;
  for (int i = 0; i < 12; ++i) {
    fs.push_back(executor.submit([&] {
      const int n = ++now;
      int m = most.load();
      while (n > m && !most.compare_exchange_weak(m, n)) {
      }
      time::sleep(0.01);
      --now;
    }));
  }
  for (auto& f : fs)
    f.result(10.0);
  CHECK(most.load() == 3);
}

TEST_CASE("ThreadPoolExecutor reuses an idle worker for sequential submit and result", "[thread_pool_executor]") {
  // CPython's test_idle_thread_reuse.
  cf::ThreadPoolExecutor executor;
  for (int i = 0; i < 50; ++i)
    executor.submit(square, i).result(10.0);
  CHECK(executor.threads().size() == 1);
  executor.shutdown(true);
}

TEST_CASE("ThreadPoolExecutor worker threads are named prefix_i", "[thread_pool_executor]") {
  // CPython's test_thread_names_assigned.
  cf::ThreadPoolExecutor executor({.max_workers = 5, .thread_name_prefix = "SpecialPool"});
  threading::Barrier all(5);
  std::vector<cf::Future<std::string>> fs;
  for (int i = 0; i < 5; ++i) {
    fs.push_back(executor.submit([&] {
      all.wait(10.0);
      return threading::current_thread().name();
    }));
  }
  std::set<std::string> names;
  for (auto& f : fs)
    names.insert(f.result(10.0));
  CHECK(names ==
        std::set<std::string>{"SpecialPool_0", "SpecialPool_1", "SpecialPool_2", "SpecialPool_3", "SpecialPool_4"});
}

TEST_CASE("ThreadPoolExecutor default thread names count pools from a class-wide counter", "[thread_pool_executor]") {
  // CPython's test_thread_names_default: "ThreadPoolExecutor-K_i".
  cf::ThreadPoolExecutor first(1);
  cf::ThreadPoolExecutor second(1);
  const std::string a = first.submit([] { return threading::current_thread().name(); }).result(10.0);
  const std::string b = second.submit([] { return threading::current_thread().name(); }).result(10.0);
  const std::string prefix = "ThreadPoolExecutor-";
  REQUIRE(a.rfind(prefix, 0) == 0);
  REQUIRE(b.rfind(prefix, 0) == 0);
  REQUIRE(a.size() > 2);
  CHECK(a.substr(a.size() - 2) == "_0");
  const int ka = std::stoi(a.substr(prefix.size()));
  const int kb = std::stoi(b.substr(prefix.size()));
  CHECK(kb == ka + 1);
  CHECK(first.threads().at(0).name() == a);
}

TEST_CASE("ThreadPoolExecutor workers are non-daemon even when a daemon thread starts them", "[thread_pool_executor]") {
  cf::ThreadPoolExecutor executor(1);
  threading::Thread daemon([&] { executor.submit([] {}).result(10.0); }, {.daemon = true});
  daemon.start();
  daemon.join(10.0);
  REQUIRE(executor.threads().size() == 1);
  CHECK_FALSE(executor.threads()[0].daemon());
}

// ---- shutdown ------------------------------------------------------------------------------

TEST_CASE("ThreadPoolExecutor.submit after shutdown raises RuntimeError", "[thread_pool_executor]") {
  cf::ThreadPoolExecutor executor(1);
  executor.submit(square, 2).result(10.0);
  executor.shutdown();
  executor.shutdown();  // idempotent
  executor.shutdown(false, true);
  REQUIRE_RAISES(executor.submit(square, 2), RuntimeError, "cannot schedule new futures after shutdown");
  REQUIRE_RAISES(executor.map(square, std::vector{1, 2}), RuntimeError, "cannot schedule new futures after shutdown");
  cf::ThreadPoolExecutor unused(1);
  unused.shutdown(false);
  REQUIRE_RAISES(unused.submit(square, 2), RuntimeError, "cannot schedule new futures after shutdown");
}

TEST_CASE("ThreadPoolExecutor.shutdown waits for every queued call", "[thread_pool_executor][shutdown]") {
  cf::ThreadPoolExecutor executor(1);
  std::atomic<int> ran{0};
  std::vector<cf::Future<void>> fs;
  for (int i = 0; i < 5; ++i) {
    fs.push_back(executor.submit([&] {
      time::sleep(0.01);
      ++ran;
    }));
  }
  executor.shutdown(true);
  CHECK(ran.load() == 5);
  for (auto& f : fs)
    CHECK(f.done());
  for (auto& t : executor.threads())
    CHECK_FALSE(t.is_alive());
}

TEST_CASE("ThreadPoolExecutor.shutdown without wait returns at once and the work still runs",
          "[thread_pool_executor][shutdown]") {
  // CPython's test_shutdown_no_wait / test_cancel_futures_wait_false.
  cf::ThreadPoolExecutor executor(1);
  threading::Event release;
  std::atomic<int> ran{0};
  std::vector<cf::Future<void>> fs;
  for (int i = 0; i < 4; ++i) {
    fs.push_back(executor.submit([&] {
      release.wait(10.0);
      ++ran;
    }));
  }
  pyconc_test::Stopwatch clock;
  executor.shutdown(false);
  CHECK(clock.elapsed() < 1.0);
  CHECK(ran.load() == 0);
  release.set();
  for (auto& f : fs)
    f.result(10.0);
  CHECK(ran.load() == 4);
}

TEST_CASE("ThreadPoolExecutor.shutdown with cancel_futures cancels the calls not started",
          "[thread_pool_executor][shutdown]") {
  // CPython's test_cancel_futures.
  cf::ThreadPoolExecutor executor(1);
  threading::Event started;
  threading::Event release;
  std::atomic<int> ran{0};
  auto first = executor.submit([&] {
    started.set();
    release.wait(10.0);
    ++ran;
    return 1;
  });
  REQUIRE(started.wait(10.0));
  std::vector<cf::Future<int>> rest;
  for (int i = 0; i < 5; ++i) {
    rest.push_back(executor.submit([&] {
      ++ran;
      return 2;
    }));
  }
  executor.shutdown(false, true);
  for (auto& f : rest)
    CHECK(f.cancelled());
  CHECK_FALSE(first.cancelled());
  release.set();
  CHECK(first.result(10.0) == 1);
  executor.shutdown(true);
  CHECK(ran.load() == 1);
  for (auto& f : rest)
    REQUIRE_RAISES(f.result(0), cf::CancelledError, "");
  // As CPython: cancelled but never notified, so wait() counts them as not done.
  auto [done, not_done] = cf::wait(rest, 0);
  CHECK(done.empty());
  CHECK(not_done.size() == 5);
}

TEST_CASE("ThreadPoolExecutor destructor waits for pending work like leaving a with block",
          "[thread_pool_executor][shutdown]") {
  std::atomic<int> ran{0};
  std::vector<cf::Future<void>> fs;
  {
    cf::ThreadPoolExecutor executor(2);
    for (int i = 0; i < 10; ++i) {
      fs.push_back(executor.submit([&] {
        time::sleep(0.005);
        ++ran;
      }));
    }
  }
  CHECK(ran.load() == 10);
  for (auto& f : fs)
    CHECK(f.done());
}

// ---- initializer ---------------------------------------------------------------------------

TEST_CASE("ThreadPoolExecutor initializer runs once in each worker before its calls",
          "[thread_pool_executor][initializer]") {
  static thread_local bool initialized = false;
  std::atomic<int> inits{0};
  cf::ThreadPoolExecutor executor({.max_workers = 3, .initializer = [&] {
                                     initialized = true;
                                     ++inits;
                                   }});
  threading::Barrier all(3);
  std::vector<cf::Future<bool>> fs;
  for (int i = 0; i < 3; ++i) {
    fs.push_back(executor.submit([&] {
      all.wait(10.0);
      return initialized;
    }));
  }
  for (auto& f : fs)
    CHECK(f.result(10.0));
  for (int i = 0; i < 10; ++i)
    CHECK(executor.submit([] { return initialized; }).result(10.0));
  executor.shutdown();
  CHECK(inits.load() == 3);
  CHECK_FALSE(initialized);  // not in this thread
}

TEST_CASE("ThreadPoolExecutor initializer failure breaks the pool for pending and later calls",
          "[thread_pool_executor][initializer]") {
  // CPython's FailingInitializerMixin.test_initializer.
  threading::Event go;
  cf::ThreadPoolExecutor executor({.max_workers = 2, .initializer = [&] {
                                     go.wait(10.0);
                                     throw ValueError("init failed");
                                   }});
  std::vector<cf::Future<int>> fs;
  for (int i = 0; i < 5; ++i)
    fs.push_back(executor.submit(square, i));
  REQUIRE(executor.threads().size() == 2);
  pyconc_test::CaptureFd err;
  go.set();
  const std::string broken = "A thread initializer failed, the thread pool is not usable anymore";
  for (auto& f : fs)
    REQUIRE_RAISES(f.result(10.0), cf::BrokenThreadPool, broken);
  for (const auto& t : executor.threads())
    t.join(10.0);  // both workers failed and ended
  CHECK(err.text() ==
        "Exception in initializer:\nValueError: init failed\n"
        "Exception in initializer:\nValueError: init failed\n");
  REQUIRE_RAISES(executor.submit(square, 1), cf::BrokenThreadPool, broken);
  try {
    executor.submit(square, 1);
  } catch (const cf::BrokenExecutor& e) {  // BrokenThreadPool is a BrokenExecutor, a RuntimeError
    CHECK(std::string(e.type_name()) == "BrokenThreadPool");
    CHECK(dynamic_cast<const RuntimeError*>(&e) != nullptr);
  }
}

TEST_CASE("ThreadPoolExecutor initializer gets its initargs in each worker", "[thread_pool_executor][initializer]") {
  // ThreadPoolExecutor(max_workers=2, initializer=init, initargs=(7, 'w')).
  std::atomic<int> calls{0};
  auto init = [&calls](int n, const std::string& s) {
    seen_by_initializer = s + std::to_string(n);
    ++calls;
  };
  cf::ThreadPoolExecutor executor({.max_workers = 2}, init, std::tuple{7, std::string("w")});
  threading::Barrier both(2);
  std::vector<cf::Future<std::string>> fs;
  for (int i = 0; i < 2; ++i) {
    fs.push_back(executor.submit([&] {
      both.wait(10.0);
      return seen_by_initializer;
    }));
  }
  for (auto& f : fs)
    CHECK(f.result(10.0) == "w7");
  executor.shutdown();
  CHECK(calls.load() == 2);
  CHECK(executor.threads().size() == 2);

  int counter = 0;  // std::ref shares an object with the initializer, as a Python reference does
  {
    cf::ThreadPoolExecutor shared(
        {.max_workers = 1}, [](int& c) { ++c; }, std::tuple{std::ref(counter)});
    shared.submit([] {}).result(10.0);
  }
  CHECK(counter == 1);
}

TEST_CASE("ThreadPoolExecutor rejects an initializer given twice with TypeError",
          "[thread_pool_executor][initializer]") {
  REQUIRE_RAISES(cf::ThreadPoolExecutor(
                     {.max_workers = 1, .initializer = [] {}}, [](int) {}, std::tuple{1}),
                 TypeError, "ThreadPoolExecutor.__init__() got multiple values for argument 'initializer'");
}

TEST_CASE("ThreadPoolExecutor initializer with initargs that throws breaks the pool",
          "[thread_pool_executor][initializer]") {
  cf::ThreadPoolExecutor executor(
      {.max_workers = 1}, [](const std::string& why) { throw ValueError(why); }, std::tuple{std::string("bad init")});
  pyconc_test::CaptureFd err;
  auto f = executor.submit(square, 2);
  const std::string broken = "A thread initializer failed, the thread pool is not usable anymore";
  REQUIRE_RAISES(f.result(10.0), cf::BrokenThreadPool, broken);
  executor.threads().at(0).join(10.0);
  CHECK(err.text() == "Exception in initializer:\nValueError: bad init\n");
  REQUIRE_RAISES(executor.submit(square, 1), cf::BrokenThreadPool, broken);
}

// ---- map -----------------------------------------------------------------------------------

TEST_CASE("ThreadPoolExecutor.map yields results in input order", "[thread_pool_executor][map]") {
  cf::ThreadPoolExecutor executor(4);
  std::vector<int> got;
  // Later inputs finish first.
  for (int r : executor.map(
           [](int x) {
             time::sleep(0.005 * (4 - x));
             return x * 10;
           },
           std::vector{0, 1, 2, 3})) {
    got.push_back(r);
  }
  CHECK(got == std::vector<int>{0, 10, 20, 30});
  std::vector<int> squares;
  for (int r : executor.map(square, std::list<int>{1, 2, 3}))
    squares.push_back(r);
  CHECK(squares == std::vector<int>{1, 4, 9});
}

TEST_CASE("ThreadPoolExecutor.map zips several ranges and stops at the shortest", "[thread_pool_executor][map]") {
  cf::ThreadPoolExecutor executor(2);
  std::vector<long> got;
  for (long r :
       executor.map([](int a, long b) { return a * b; }, std::vector{1, 2, 3, 4}, std::array<long, 3>{10, 20, 30})) {
    got.push_back(r);
  }
  CHECK(got == std::vector<long>{10, 40, 90});
  int count = 0;
  for ([[maybe_unused]] int r : executor.map(square, std::vector<int>{}))
    ++count;
  CHECK(count == 0);
}

TEST_CASE("ThreadPoolExecutor.map submits every call before returning", "[thread_pool_executor][map]") {
  // CPython's test_map_submits_without_iteration.
  std::vector<int> finished;
  threading::Lock lock;
  cf::ThreadPoolExecutor executor(3);
  auto results = executor.map(
      [&](int i) {
        std::lock_guard with(lock);
        finished.push_back(i);
      },
      std::vector{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  CHECK(results.futures().size() == 10);
  executor.shutdown(true);
  std::sort(finished.begin(), finished.end());
  CHECK(finished == std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  int count = 0;
  for ([[maybe_unused]] std::monostate r : results)
    ++count;  // None for a void function
  CHECK(count == 10);
}

TEST_CASE("ThreadPoolExecutor.map raises the call's exception when reached and cancels the rest",
          "[thread_pool_executor][map]") {
  cf::ThreadPoolExecutor executor(1);
  threading::Event later;
  std::atomic<int> ran_later{0};
  auto results = executor.map(
      [&](int x) {
        if (x == 1)
          throw ValueError("one");
        if (x >= 2) {
          later.wait(10.0);
          ++ran_later;
        }
        return x;
      },
      std::vector{0, 1, 2, 3});
  const auto fs = results.futures();
  auto it = results.begin();
  REQUIRE(*it == 0);
  ++it;
  const std::string seen = pyconc_test::raised([&] { static_cast<void>(*it); });
  CHECK(seen == "ValueError: one");
  CHECK(it == results.end());  // the generator is over
  // The call after the failing one is running (blocked) or cancelled; the last is cancelled.
  CHECK((fs[2].running() || fs[2].cancelled()));
  CHECK(fs[3].cancelled());
  later.set();
  executor.shutdown(true);
  CHECK(ran_later.load() == (fs[2].cancelled() ? 0 : 1));
}

TEST_CASE("ThreadPoolExecutor.map timeout raises TimeoutError and cancels the remaining calls",
          "[thread_pool_executor][map][timing]") {
  // CPython's test_map_timeout and test_executor_map_current_future_cancel.
  cf::ThreadPoolExecutor executor(1);
  threading::Event stop;
  std::vector<std::string> log;
  threading::Lock lock;
  auto log_n_wait = [&](std::string ident) {
    {
      std::lock_guard with(lock);
      log.push_back("ident='" + ident + "' started");
    }
    stop.wait(10.0);
    std::lock_guard with(lock);
    log.push_back("ident='" + ident + "' stopped");
  };
  auto first = executor.submit(log_n_wait, std::string("first"));
  {
    auto gen = executor.map(cf::MapOptions{.timeout = 0}, log_n_wait, std::vector<std::string>{"second", "third"});
    REQUIRE_RAISES(*gen.begin(), cf::TimeoutError, "");
    CHECK(gen.futures()[0].cancelled());  // the current one, by _result_or_cancel
    CHECK(gen.futures()[1].cancelled());  // the remaining ones
  }
  stop.set();
  first.result(10.0);
  executor.shutdown(true);
  CHECK(log == std::vector<std::string>{"ident='first' started", "ident='first' stopped"});

  cf::ThreadPoolExecutor pool(2);
  threading::Event never;
  std::vector<double> delays{0, 0, 5};
  std::vector<int> got;
  pyconc_test::Stopwatch clock;
  auto results = pool.map(
      cf::MapOptions{.timeout = 0.2}, [&](double d) { return never.wait(d) ? -1 : 1; }, delays);
  std::string outcome = pyconc_test::raised([&] {
    for (int r : results)
      got.push_back(r);
  });
  CHECK(outcome == "TimeoutError: ");
  CHECK(got == std::vector<int>{1, 1});
  REQUIRE_TIMING(clock.elapsed(), 0.2);
  never.set();
}

TEST_CASE("ThreadPoolExecutor.map results destroyed early cancel the calls not started",
          "[thread_pool_executor][map]") {
  cf::ThreadPoolExecutor executor(1);
  threading::Event release;
  std::atomic<int> ran{0};
  auto blocker = executor.submit([&] { release.wait(10.0); });
  std::vector<cf::Future<int>> fs;
  {
    auto results = executor.map(
        [&](int x) {
          ++ran;
          return x;
        },
        std::vector{1, 2, 3});
    fs = results.futures();
  }
  for (auto& f : fs)
    CHECK(f.cancelled());
  release.set();
  executor.shutdown(true);
  CHECK(ran.load() == 0);
}

// ---- misuse: none of these may hang, crash or leak ------------------------------------------

TEST_CASE("ThreadPoolExecutor call may submit to its own pool", "[thread_pool_executor][misuse]") {
  cf::ThreadPoolExecutor one(1);
  // With one worker the inner call runs after the outer one returns.
  auto outer = one.submit([&] { return one.submit(square, 6); });
  CHECK(outer.result(10.0).result(10.0) == 36);

  cf::ThreadPoolExecutor two(2);
  // With a free worker the outer call may wait for the inner one.
  auto waiting = two.submit([&] { return two.submit(square, 7).result(10.0); });
  CHECK(waiting.result(10.0) == 49);
}

TEST_CASE("ThreadPoolExecutor calls waiting on each other's futures finish with enough workers",
          "[thread_pool_executor][misuse]") {
  cf::ThreadPoolExecutor executor(4);
  cf::Future<int> link;  // set by the last call
  std::vector<cf::Future<int>> chain;
  chain.push_back(executor.submit([link] { return link.result(10.0) + 1; }));
  chain.push_back(executor.submit([first = chain[0]] { return first.result(10.0) + 1; }));
  chain.push_back(executor.submit([second = chain[1]] { return second.result(10.0) + 1; }));
  executor.submit([link] { link.set_result(100); });
  CHECK(chain[2].result(10.0) == 103);
}

TEST_CASE("ThreadPoolExecutor call waiting on a call queued behind it times out instead of hanging",
          "[thread_pool_executor][misuse]") {
  cf::ThreadPoolExecutor executor(1);
  auto outer = executor.submit([&] {
    auto inner = executor.submit(square, 3);
    return pyconc_test::raised([&] { inner.result(0.1); });
  });
  CHECK(outer.result(10.0) == "TimeoutError: ");
}

TEST_CASE("ThreadPoolExecutor done-callback that throws is reported and the worker goes on",
          "[thread_pool_executor][misuse]") {
  cf::ThreadPoolExecutor executor(1);
  threading::Event release;
  auto f = executor.submit([&] {
    release.wait(10.0);
    return 5;
  });
  f.add_done_callback([](cf::Future<int>) { throw ValueError("callback"); });
  pyconc_test::CaptureFd err;
  release.set();
  CHECK(f.result(10.0) == 5);
  CHECK(executor.submit(square, 4).result(10.0) == 16);
  CHECK(executor.threads().size() == 1);
  CHECK(err.text() == "exception calling callback for " + f.repr() + "\nValueError: callback\n");
}

TEST_CASE("ThreadPoolExecutor cancel racing with the start of calls leaves each cancelled or run once",
          "[thread_pool_executor][misuse][race]") {
  constexpr int n = 2000;
  cf::ThreadPoolExecutor executor(2);
  std::vector<std::atomic<int>> runs(n);
  std::vector<cf::Future<int>> fs;
  fs.reserve(n);
  for (int i = 0; i < n; ++i) {
    fs.push_back(executor.submit([&runs, i] {
      ++runs[static_cast<std::size_t>(i)];
      return i;
    }));
  }
  std::atomic<int> cancelled{0};
  threading::Thread canceller([&] {
    for (auto& f : fs) {
      if (f.cancel())
        ++cancelled;
    }
  });
  canceller.start();
  canceller.join();
  // Every future, cancelled ones included, is reported done once a worker has seen it.
  auto [done, not_done] = cf::wait(fs, 30.0);
  REQUIRE(not_done.empty());
  int ran = 0;
  for (int i = 0; i < n; ++i) {
    const auto& f = fs[static_cast<std::size_t>(i)];
    const int r = runs[static_cast<std::size_t>(i)].load();
    if (f.cancelled()) {
      REQUIRE(r == 0);
    } else {
      REQUIRE(r == 1);
      REQUIRE(f.result() == i);
      ++ran;
    }
  }
  CHECK(ran + cancelled.load() == n);
}

TEST_CASE("ThreadPoolExecutor shutdown racing with submit never strands a call",
          "[thread_pool_executor][misuse][race]") {
  for (int round = 0; round < 20; ++round) {
    cf::ThreadPoolExecutor executor(3);
    std::vector<std::vector<cf::Future<int>>> accepted(4);
    std::vector<std::string> refusal(4);
    std::vector<threading::Thread> submitters;
    for (std::size_t t = 0; t < 4; ++t) {
      submitters.emplace_back([&, t] {
        refusal[t] = pyconc_test::raised([&] {
          for (int i = 0;; ++i)
            accepted[t].push_back(executor.submit(square, i % 100));
        });
      });
    }
    for (auto& s : submitters)
      s.start();
    time::sleep(0.002);
    executor.shutdown(true);
    for (auto& s : submitters)
      s.join();
    for (std::size_t t = 0; t < 4; ++t) {
      REQUIRE(refusal[t] == "RuntimeError: cannot schedule new futures after shutdown");
      for (const auto& f : accepted[t])
        REQUIRE(f.done());  // shutdown(true) ran every accepted call
    }
  }
}

TEST_CASE("ThreadPoolExecutor destroyed inside its own call does not hang", "[thread_pool_executor][misuse]") {
  auto executor = std::make_shared<cf::ThreadPoolExecutor>(2);
  std::weak_ptr<cf::ThreadPoolExecutor> watch = executor;
  threading::Event release;
  auto f = executor->submit([&release, keep = executor] {
    release.wait(10.0);
    return 1;
  });
  executor.reset();  // the call holds the last reference: the pool dies in its own worker
  release.set();
  CHECK(f.result(10.0) == 1);
  CHECK(watch.expired());
}

TEST_CASE("ThreadPoolExecutor.shutdown with wait inside its own call raises RuntimeError",
          "[thread_pool_executor][misuse]") {
  cf::ThreadPoolExecutor executor(2);
  auto f = executor.submit([&] { executor.shutdown(); });
  REQUIRE_RAISES(f.result(10.0), RuntimeError, "cannot join current thread");
  REQUIRE_RAISES(executor.submit(square, 1), RuntimeError, "cannot schedule new futures after shutdown");
}

TEST_CASE("ThreadPoolExecutor futures outlive their pool", "[thread_pool_executor][misuse]") {
  std::vector<cf::Future<int>> fs;
  cf::Future<int> cancelled;
  std::vector<std::string> calls;  // appended by the callbacks, in this thread or the caller's
  {
    cf::ThreadPoolExecutor executor(1);
    threading::Event started;
    threading::Event release;
    fs.push_back(executor.submit([&] {
      started.set();
      release.wait(10.0);
      return 1;
    }));
    REQUIRE(started.wait(10.0));
    fs.push_back(executor.submit(square, 3));
    cancelled = executor.submit(square, 4);
    cancelled.add_done_callback([&](cf::Future<int> g) { calls.push_back(g.cancelled() ? "cancelled" : "ran"); });
    REQUIRE(cancelled.cancel());  // notified when the worker reaches it
    release.set();
  }  // the destructor ran every call left; the pool is gone
  CHECK(fs[0].result() == 1);
  CHECK(fs[1].result() == 9);
  CHECK(cancelled.cancelled());
  REQUIRE_RAISES(cancelled.result(), cf::CancelledError, "");
  CHECK(cf::wait(std::vector{fs[0], fs[1], cancelled}, 0).not_done.empty());
  cancelled.add_done_callback([&](cf::Future<int>) { calls.push_back("late"); });  // runs at once
  CHECK(calls == std::vector<std::string>{"cancelled", "late"});
}

TEST_CASE("ThreadPoolExecutor pool future completed by hand before its call runs is skipped",
          "[thread_pool_executor][misuse]") {
  // Executor-author API used on a pool's future: the call must not run, nor kill the worker.
  futures_test::OneBusyWorker busy;
  auto& executor = busy.executor;
  std::atomic<int> ran{0};
  auto f = executor.submit([&] { return ++ran; });
  f.set_result(5);
  busy.release();
  busy.blocker.result(10.0);
  CHECK(executor.submit(square, 5).result(10.0) == 25);
  CHECK(f.result() == 5);
  CHECK(ran.load() == 0);
  CHECK(executor.threads().size() == 1);
}

namespace {
/** A result whose move (and copy) throws: completing its future fails after the call ran. */
struct ThrowsWhenMoved {
  ThrowsWhenMoved() = default;
  ThrowsWhenMoved(const ThrowsWhenMoved&) { throw ValueError("copied"); }
  ThrowsWhenMoved(ThrowsWhenMoved&&) { throw ValueError("moved"); }  // NOLINT: throws on purpose
  ThrowsWhenMoved& operator=(const ThrowsWhenMoved&) = default;
  ThrowsWhenMoved& operator=(ThrowsWhenMoved&&) = default;
  ~ThrowsWhenMoved() = default;
};
}  // namespace

TEST_CASE(
    "ThreadPoolExecutor result that cannot be stored becomes the future's exception and the pool counts idle workers "
    "right",
    "[thread_pool_executor][misuse]") {
  cf::ThreadPoolExecutor executor(2);
  auto f = executor.submit([] { return ThrowsWhenMoved{}; });
  REQUIRE_RAISES(f.exception(10.0) ? std::rethrow_exception(f.exception()) : void(), ValueError, "moved");
  REQUIRE(executor.threads().size() == 1);
  // One idle worker, so a second concurrent call needs a second thread: if the worker had
  // been counted idle twice, `setter` would queue behind `getter` and `getter` time out.
  threading::Event e;
  auto getter = executor.submit([&] { return e.wait(5.0); });
  auto setter = executor.submit([&] { e.set(); });
  setter.result(10.0);
  CHECK(getter.result(10.0));
  CHECK(executor.threads().size() == 2);
}

// ---- stress --------------------------------------------------------------------------------

TEST_CASE("ThreadPoolExecutor stress with 8 submitting threads sums exactly", "[thread_pool_executor][stress]") {
  constexpr int kThreads = 8;
  constexpr long long kTasks = PYCONC_TEST_TSAN ? 5000 : 20000;
  cf::ThreadPoolExecutor executor(4);
  std::atomic<long long> side{0};
  std::vector<long long> sums(kThreads, 0);
  std::vector<std::string> errors(kThreads, "no exception");
  std::vector<threading::Thread> submitters;
  for (int t = 0; t < kThreads; ++t) {
    submitters.emplace_back([&, t] {
      errors[static_cast<std::size_t>(t)] = pyconc_test::raised([&] {
        std::vector<cf::Future<long long>> fs;
        fs.reserve(kTasks);
        for (long long i = 0; i < kTasks; ++i) {
          fs.push_back(executor.submit(
              [&side](long long x) {
                side.fetch_add(1, std::memory_order_relaxed);
                return x;
              },
              i));
        }
        long long sum = 0;
        for (auto& f : fs)
          sum += f.result(60.0);
        sums[static_cast<std::size_t>(t)] = sum;
      });
    });
  }
  for (auto& s : submitters)
    s.start();
  for (auto& s : submitters)
    s.join();
  for (int t = 0; t < kThreads; ++t) {
    CHECK(errors[static_cast<std::size_t>(t)] == "no exception");
    CHECK(sums[static_cast<std::size_t>(t)] == kTasks * (kTasks - 1) / 2);
  }
  CHECK(side.load() == kThreads * kTasks);
  CHECK(executor.threads().size() <= 4);
}

// ---- program exit (CPython's _python_exit): each test runs in a forked child ----------------

TEST_CASE("ThreadPoolExecutor work queued at exit still runs though the pool was never shut down",
          "[thread_pool_executor][exit]") {
  REQUIRE(wait_single_threaded());
  const auto child = pyconc_test::run_in_child([](int fd) {
    auto* executor = new cf::ThreadPoolExecutor(1);  // never shut down nor destroyed
    for (int i = 0; i < 4; ++i) {
      executor->submit([fd, i] {
        time::sleep(0.02);
        say(fd, std::to_string(i));
      });
    }
    std::exit(0);
    return 1;  // not reached
  });
  require_exited_cleanly(child);
  CHECK(child.output == "0123");
}

TEST_CASE("ThreadPoolExecutor work queued before shutdown without wait and exit still runs",
          "[thread_pool_executor][exit]") {
  REQUIRE(wait_single_threaded());
  const auto child = pyconc_test::run_in_child([](int fd) {
    static cf::ThreadPoolExecutor executor(2);
    for (int i = 0; i < 6; ++i) {
      executor.submit([fd] {
        time::sleep(0.02);
        say(fd, "x");
      });
    }
    executor.shutdown(false);
    std::exit(0);
    return 1;  // not reached
  });
  require_exited_cleanly(child);
  CHECK(child.output == "xxxxxx");
}

TEST_CASE("ThreadPoolExecutor.submit during program exit raises RuntimeError", "[thread_pool_executor][exit]") {
  REQUIRE(wait_single_threaded());
  const auto child = pyconc_test::run_in_child([](int fd) {
    auto* executor = new cf::ThreadPoolExecutor(1);
    auto* other = new cf::ThreadPoolExecutor(1);
    other->submit([] {}).result();
    executor->submit([fd, executor, other] {
      time::sleep(0.2);  // the program is exiting by now
      say(fd, pyconc_test::raised([&] { executor->submit([] {}); }) + "\n");
      say(fd, pyconc_test::raised([&] { other->submit([] {}); }) + "\n");
    });
    std::exit(0);
    return 1;  // not reached
  });
  require_exited_cleanly(child);
  CHECK(child.output ==
        "RuntimeError: cannot schedule new futures after interpreter shutdown\n"
        "RuntimeError: cannot schedule new futures after interpreter shutdown\n");
}

TEST_CASE("ThreadPoolExecutor exit does not hang on a pool whose call runs std::exit", "[thread_pool_executor][exit]") {
  REQUIRE(wait_single_threaded());
  const auto child = pyconc_test::run_in_child([](int fd) {
    auto* executor = new cf::ThreadPoolExecutor(2);
    executor->submit([fd] {
      time::sleep(0.05);
      say(fd, "other");
    });
    executor->submit([] { std::exit(0); });
    time::sleep(5.0);
    return 1;  // not reached
  });
  require_exited_cleanly(child);
  CHECK(child.output == "other");
}
