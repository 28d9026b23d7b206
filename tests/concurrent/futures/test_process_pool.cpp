// SPDX-License-Identifier: MIT
// concurrent.futures.ProcessPoolExecutor, after CPython's test_concurrent_futures
// (ProcessPoolExecutorTest: test_map_chunksize, test_killed_child, test_max_tasks_per_child,
// test_max_tasks_early_shutdown, test_ressources_gced_in_workers; ExecutorDeadlockTest:
// test_exit_at_task, test_crash_at_task, test_error_at_task_pickle; the broken-pool and
// shutdown tests) and the semantics reference (§1.3, §2.3, §3.3, §3.6), for fork and spawn.
#include <pyconc/concurrent/futures.hpp>
#include <pyconc/multiprocessing.hpp>
#include <pyconc/time.hpp>

#include "multiprocessing/process_support.hpp"
#include "support.hpp"

#include <signal.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <set>
#include <string>
#include <vector>

namespace futures = pyconc::concurrent::futures;
namespace mp = pyconc::multiprocessing;
using pyconc_test::DefaultSigterm;
using pyconc_test::ProcessGuard;
using Clock = std::chrono::steady_clock;

namespace {

int square(int x) {
  return x * x;
}
int add(int a, int b) {
  return a + b;
}
double sleep_then(double seconds) {
  pyconc::time::sleep(seconds);
  return seconds;
}
void raise_value_error(std::string message) {
  throw pyconc::ValueError(message);
}
void exit_three() {
  pyconc::sys::exit(3);
}
void underscore_exit() {
  ::_exit(1);
}
void crash() {
  std::signal(SIGSEGV, SIG_DFL);  // a forked worker has Catch2's handler, which would report it as a test failure
  std::raise(SIGSEGV);
}
long worker_pid() {
  return static_cast<long>(::getpid());
}
std::string worker_name() {
  return mp::current_process().name();
}
void failing_initializer() {
  throw pyconc::RuntimeError("initializer failed");
}
void write_file(std::string path, std::string text) {
  std::ofstream(path) << text;
}

const std::string& kDefaultMethod = pyconc_test::pool_start_method();
const std::vector<std::string> kMethods = pyconc_test::pool_start_methods();

// Submits to an executor never shut down, then returns: the exit sequence drains it.
void leave_executor_running(std::string path) {
  auto* executor = new futures::ProcessPoolExecutor(1);  // never destroyed
  executor->submit(sleep_then, 0.1);
  executor->submit(write_file, path, std::string("drained"));
}

}  // namespace

TEST_CASE("ProcessPoolExecutor: submit, map with chunks, exceptions with their types (test_map_chunksize)",
          "[process_pool][spawn]") {
  ProcessGuard guard;
  DefaultSigterm sigterm;
  for (const auto& method : kMethods) {
    INFO(method);
    futures::ProcessPoolExecutor executor({.max_workers = 2, .mp_context = mp::get_context(method)});
    CHECK(executor.max_workers() == 2);
    CHECK(executor.worker_pids().empty());  // started by the first submit
    CHECK(executor.submit(square, 7).result() == 49);
    CHECK(executor.submit(add, 2, 3).result() == 5);
    CHECK(executor.worker_pids().size() == 2);
    std::vector<int> xs;
    std::vector<int> expected;
    for (int i = 0; i < 250; ++i) {
      xs.push_back(i);
      expected.push_back(i * i);
    }
    for (int chunksize : {1, 7, 100, 1000}) {
      std::vector<int> got;
      for (int v : executor.map({.chunksize = chunksize}, square, xs))
        got.push_back(v);
      CHECK(got == expected);
    }
    std::vector<int> sums;
    for (int v : executor.map(add, std::vector{1, 2, 3}, std::vector{10, 20}))
      sums.push_back(v);
    CHECK(sums == std::vector{11, 22});
    auto f = executor.submit(raise_value_error, std::string("bad value"));
    CHECK_THROWS_MATCHES(f.result(), pyconc::ValueError, Catch::Matchers::Message("bad value"));
    CHECK(f.exception() != nullptr);
    try {
      executor.submit(exit_three).result();
      FAIL("sys.exit in a call raises SystemExit from result()");
    } catch (const pyconc::SystemExit& e) {
      CHECK(e.code() == 3);
    }
    CHECK(executor.submit(square, 3).result() == 9);  // still usable
    // The futures are the thread pool's: wait and as_completed work on them.
    std::vector<futures::Future<double>> fs{executor.submit(sleep_then, 0.01), executor.submit(sleep_then, 0.02)};
    const auto done = futures::wait(fs);
    CHECK(done.done.size() == 2);
    int completed = 0;
    for (auto& g : futures::as_completed(fs)) {
      CHECK(g.done());
      ++completed;
    }
    CHECK(completed == 2);
  }
}

int fail_on_three(int x) {
  if (x == 3)
    throw pyconc::ValueError("three is bad");
  return x;
}

TEST_CASE(
    "ProcessPoolExecutor: map raises a chunk's exception where it comes, and times out (test_map_exception, "
    "test_map_timeout)",
    "[process_pool]") {
  ProcessGuard guard;
  DefaultSigterm sigterm;
  futures::ProcessPoolExecutor executor(2);
  std::vector<int> got;
  try {
    for (int v : executor.map({.chunksize = 2}, fail_on_three, std::vector{1, 2, 3, 4, 5}))
      got.push_back(v);
    FAIL("the third call raises");
  } catch (const pyconc::ValueError& e) {
    CHECK(std::string(e.what()) == "three is bad");
  }
  CHECK(got == std::vector{1, 2});
  auto slow = executor.map({.timeout = 0.2}, sleep_then, std::vector{5.0});
  const auto begin = Clock::now();
  CHECK_THROWS_AS(*slow.begin(), pyconc::TimeoutError);
  CHECK(Clock::now() - begin < std::chrono::seconds(2));
}

TEST_CASE("ProcessPoolExecutor: misuse raises CPython's errors", "[process_pool]") {
  ProcessGuard guard;
  CHECK_THROWS_MATCHES(futures::ProcessPoolExecutor(0), pyconc::ValueError,
                       Catch::Matchers::Message("max_workers must be greater than 0"));
  CHECK_THROWS_MATCHES(futures::ProcessPoolExecutor({.max_workers = 1, .max_tasks_per_child = 0}), pyconc::ValueError,
                       Catch::Matchers::Message("max_tasks_per_child must be >= 1"));
  CHECK_THROWS_MATCHES(
      futures::ProcessPoolExecutor({.max_workers = 1, .mp_context = mp::get_context("fork"), .max_tasks_per_child = 2}),
      pyconc::ValueError,
      Catch::Matchers::Message("max_tasks_per_child is incompatible with the 'fork' multiprocessing start method; "
                               "supply a different mp_context."));
  futures::ProcessPoolExecutor executor(1);
  CHECK_THROWS_MATCHES(executor.map({.chunksize = 0}, square, std::vector{1}), pyconc::ValueError,
                       Catch::Matchers::Message("chunksize must be >= 1."));
  CHECK(executor.submit(square, 2).result() == 4);
  executor.shutdown();
  CHECK_THROWS_MATCHES(executor.submit(square, 1), pyconc::RuntimeError,
                       Catch::Matchers::Message("cannot schedule new futures after shutdown"));
  CHECK_THROWS_MATCHES(executor.map(square, std::vector{1}), pyconc::RuntimeError,
                       Catch::Matchers::Message("cannot schedule new futures after shutdown"));
  executor.shutdown();  // idempotent
  futures::Executor& base = executor;
  static_cast<void>(base);
}

TEST_CASE("ProcessPoolExecutor: a worker killed mid-task or idle breaks the pool within a second (test_killed_child)",
          "[process_pool][spawn]") {
  ProcessGuard guard;
  DefaultSigterm sigterm;
  for (const auto& method : kMethods) {
    INFO(method);
    futures::ProcessPoolExecutor executor({.max_workers = 2, .mp_context = mp::get_context(method)});
    auto running = executor.submit(sleep_then, 20.0);
    auto running2 = executor.submit(sleep_then, 20.0);
    auto pending = executor.submit(sleep_then, 20.0);
    CHECK_THROWS_AS(running.result(0.3), pyconc::TimeoutError);
    const auto pids = executor.worker_pids();
    REQUIRE(pids.size() == 2);
    const auto killed_at = Clock::now();
    ::kill(static_cast<pid_t>(pids.front()), SIGKILL);
    for (auto* f : {&running, &running2, &pending}) {
      CHECK_THROWS_MATCHES(f->result(5.0), futures::BrokenProcessPool,
                           Catch::Matchers::Message("A process in the process pool was terminated abruptly while the "
                                                    "future was running or pending."));
    }
    CHECK(Clock::now() - killed_at < std::chrono::seconds(1));
    CHECK_THROWS_MATCHES(executor.submit(square, 1), futures::BrokenProcessPool,
                         Catch::Matchers::Message("A child process terminated abruptly, the process pool is not usable "
                                                  "anymore"));
    CHECK_THROWS_AS(executor.submit(square, 1), futures::BrokenExecutor);
    CHECK(executor.worker_pids().empty());  // the others were terminated
  }
  {
    futures::ProcessPoolExecutor executor(2);
    CHECK(executor.submit(square, 2).result() == 4);
    const auto killed_at = Clock::now();
    ::kill(static_cast<pid_t>(executor.worker_pids().front()), SIGKILL);  // idle
    bool broken = false;
    while (!broken && Clock::now() - killed_at < std::chrono::seconds(1)) {
      try {
        executor.submit(sleep_then, 0.01).result();
      } catch (const futures::BrokenProcessPool&) {
        broken = true;
      }
    }
    CHECK(broken);
  }
}

TEST_CASE(
    "ProcessPoolExecutor: _exit, a crash or a failing initializer in a worker break the pool (ExecutorDeadlockTest)",
    "[process_pool][spawn]") {
  ProcessGuard guard;
  DefaultSigterm sigterm;
  for (const auto& method : kMethods) {
    INFO(method);
    for (auto* call : {&underscore_exit, &crash}) {
      futures::ProcessPoolExecutor executor({.max_workers = 2, .mp_context = mp::get_context(method)});
      CHECK_THROWS_AS(executor.submit(call).result(5.0), futures::BrokenProcessPool);
      CHECK_THROWS_AS(executor.submit(square, 1), futures::BrokenProcessPool);
    }
    futures::ProcessPoolExecutor executor({.max_workers = 2, .mp_context = mp::get_context(method)},
                                          failing_initializer);
    CHECK_THROWS_AS(executor.submit(square, 1).result(5.0), futures::BrokenProcessPool);
  }
}

TEST_CASE("ProcessPoolExecutor: max_tasks_per_child replaces workers (test_max_tasks_per_child)",
          "[process_pool][spawn]") {
  ProcessGuard guard;
  futures::ProcessPoolExecutor executor({.max_workers = 1, .max_tasks_per_child = 3});
  std::set<long> pids;
  for (int i = 0; i < 9; ++i)
    pids.insert(executor.submit(worker_pid).result());
  CHECK(pids.size() == 3);
  CHECK_THAT(executor.submit(worker_name).result(), Catch::Matchers::StartsWith("SpawnProcess-"));
  executor.shutdown();
}

TEST_CASE("ProcessPoolExecutor: shutdown runs what is queued, or cancels it with cancel_futures", "[process_pool]") {
  ProcessGuard guard;
  DefaultSigterm sigterm;
  {
    futures::ProcessPoolExecutor executor(1);
    std::vector<futures::Future<double>> fs;
    for (int i = 0; i < 5; ++i)
      fs.push_back(executor.submit(sleep_then, 0.02));
    executor.shutdown(true);
    for (auto& f : fs)
      CHECK(f.result() == 0.02);
  }
  {
    futures::ProcessPoolExecutor executor(1);
    auto first = executor.submit(sleep_then, 0.3);
    std::vector<futures::Future<double>> rest;
    for (int i = 0; i < 5; ++i)
      rest.push_back(executor.submit(sleep_then, 0.3));
    CHECK_THROWS_AS(first.result(0.1), pyconc::TimeoutError);  // running
    executor.shutdown(true, true);
    CHECK(first.result() == 0.3);
    int cancelled = 0;
    for (auto& f : rest)
      cancelled += f.cancelled() ? 1 : 0;
    // All but those the worker already holds: with 6 calls queued for 1 worker, at most half of
    // them (see the file comment of process.hpp).
    CHECK(cancelled >= 2);
    for (auto& f : rest)
      CHECK((f.cancelled() || f.result() == 0.3));
  }
}

TEST_CASE("ProcessPoolExecutor: at exit, an executor never shut down runs what was queued", "[process_pool]") {
  ProcessGuard guard;
  DefaultSigterm sigterm;
  const std::string path = pyconc_test::temp_path("ppe_exit");
  auto child = mp::get_context(kDefaultMethod).Process(leave_executor_running, std::tuple{path});
  child.start();
  child.join();
  CHECK(child.exitcode() == 0);
  CHECK(pyconc_test::read_file(path) == "drained");
  std::remove(path.c_str());
}
