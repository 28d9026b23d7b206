// SPDX-License-Identifier: MIT
// multiprocessing.Pool and multiprocessing.pool.ThreadPool, after CPython's
// _test_multiprocessing.py (_TestPool: test_apply, test_map, test_map_async,
// test_map_async_callbacks, test_map_chunksize, test_starmap, test_imap, test_imap_unordered,
// test_async_timeout, test_terminate, test_empty_iterable, test_context, test_enter;
// _TestPoolWorkerLifetime: test_pool_worker_lifetime, test_worker_finalization_via_atexit;
// _TestPoolWorkerErrors: test_async_error_callback, test_unpickleable_result) and the
// semantics reference (§1.4, §2.4, §3.6), for fork and spawn: results, chunks, callbacks
// before get(), errors with their types and messages, misuse, worker names and lifetime, a
// worker killed mid-task (WorkerLostError, the pool goes on), a failing initializer, the
// owner SIGKILLed (its workers end within a second), terminate, close and join.
#include <pyconc/multiprocessing.hpp>
#include <pyconc/multiprocessing/pool.hpp>
#include <pyconc/threading.hpp>
#include <pyconc/time.hpp>

#include "multiprocessing/process_support.hpp"
#include "support.hpp"

#include <signal.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <set>
#include <string>
#include <tuple>
#include <vector>

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
int fail_on_three(int x) {
  if (x == 3)
    throw pyconc::ValueError("three is bad");
  return x;
}
double sleep_then(double seconds) {
  pyconc::time::sleep(seconds);
  return seconds;
}
std::string worker_name() {
  return mp::current_process().name();
}
long worker_pid() {
  return static_cast<long>(::getpid());
}
bool worker_is_daemon() {
  return mp::current_process().daemon();
}
void kill_self() {
  ::kill(::getpid(), SIGKILL);
}
void exit_three() {
  ::_exit(3);
}
void nothing() {}

int initialized = 0;
void initialize(int value) {
  initialized = value;
}
int read_initialized() {
  return initialized;
}
void failing_initializer() {
  throw pyconc::KeyError(std::string("no database"));
}

// Writes a frame that is not a reply onto the worker's socket (the spawn worker's only socket).
int write_garbage_reply() {
  for (int fd = 3; fd < 64; ++fd) {
    int type = 0;
    socklen_t size = sizeof type;
    if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &size) == 0 && type == SOCK_STREAM) {
      const char frame[] = {8, 0, 0, 0, 'g', 'a', 'r', 'b', 'a', 'g', 'e', '!'};
      [[maybe_unused]] const auto n = ::write(fd, frame, sizeof frame);
      return fd;
    }
  }
  return -1;
}

struct WithLock {
  mp::Lock lock;
  int n = 0;
};
PYCONC_PICKLE_FIELDS(WithLock, lock, n);
WithLock make_with_lock() {
  return WithLock{};
}

const std::string& kDefaultMethod = pyconc_test::pool_start_method();
const std::vector<std::string> kMethods = pyconc_test::pool_start_methods();

// Makes a pool, sends its workers' pids, and waits for tasks that take 30 s.
void pool_owner(mp::Connection out) {
  mp::Pool pool(2);
  auto r = pool.map_async(sleep_then, std::vector<double>(2, 30.0), 1);
  pool.apply_async(sleep_then, std::tuple{0.0});
  pyconc::time::sleep(0.2);
  out.send(pool.worker_pids());
  r.wait();
}

}  // namespace

TEST_CASE("Pool: apply, apply_async, map, starmap, imap and imap_unordered (test_apply, test_map, test_imap)",
          "[pool][spawn]") {
  ProcessGuard guard;
  DefaultSigterm sigterm;
  for (const auto& method : kMethods) {
    INFO(method);
    mp::Pool pool({.processes = 2, .context = mp::get_context(method)});
    CHECK(pool.apply(square, std::tuple{5}) == 25);
    CHECK(pool.apply_async(add, std::tuple{2, 3}).get() == 5);
    pool.apply(nothing);  // void: returns nothing
    std::vector<int> xs;
    for (int i = 0; i < 100; ++i)
      xs.push_back(i);
    std::vector<int> expected;
    for (int x : xs)
      expected.push_back(x * x);
    CHECK(pool.map(square, xs) == expected);
    CHECK(pool.map(square, xs, 1) == expected);
    CHECK(pool.map(square, xs, 7) == expected);
    CHECK(pool.map_async(square, xs).get() == expected);
    std::vector<std::tuple<int, int>> pairs{{1, 2}, {3, 4}, {5, 6}};
    CHECK(pool.starmap(add, pairs) == std::vector<int>{3, 7, 11});
    CHECK(pool.starmap_async(add, pairs, 2).get() == std::vector<int>{3, 7, 11});
    std::vector<int> got;
    for (int v : pool.imap(square, xs))
      got.push_back(v);
    CHECK(got == expected);
    got.clear();
    for (int v : pool.imap(square, xs, 9))
      got.push_back(v);
    CHECK(got == expected);
    std::multiset<int> unordered;
    auto it = pool.imap_unordered(square, xs, 3);
    for (int v : it)
      unordered.insert(v);
    CHECK(unordered == std::multiset<int>(expected.begin(), expected.end()));
    CHECK_THROWS_AS(it.next(), pyconc::StopIteration);
    CHECK(pool.map(square, std::vector<int>{}).empty());
    CHECK(pool.repr() == "<multiprocessing.pool.Pool state=RUN pool_size=2>");
  }
}

TEST_CASE(
    "Pool: a callback runs before get() returns, an empty map is ready at once without it (test_map_async_callbacks)",
    "[pool]") {
  ProcessGuard guard;
  DefaultSigterm sigterm;
  mp::Pool pool(2);
  std::vector<int> seen;
  int seen_value = 0;
  auto r = pool.map_async(square, std::vector{1, 2, 3}, std::nullopt,
                          {.callback = [&](const std::vector<int>& v) { seen = v; }});
  CHECK(r.get() == std::vector<int>{1, 4, 9});
  CHECK(seen == std::vector<int>{1, 4, 9});  // read right after get(), as CPython allows
  CHECK(pool.apply_async(square, std::tuple{4}, {.callback = [&](int v) { seen_value = v; }}).get() == 16);
  CHECK(seen_value == 16);
  bool called = false;
  auto empty =
      pool.map_async(square, std::vector<int>{}, std::nullopt, {.callback = [&](const auto&) { called = true; }});
  CHECK(empty.ready());
  CHECK(empty.get().empty());
  CHECK_FALSE(called);  // CPython's MapResult of nothing never calls back
}

TEST_CASE("Pool: a task's exception comes back with its type and message, once per map (test_async_error_callback)",
          "[pool][spawn]") {
  ProcessGuard guard;
  DefaultSigterm sigterm;
  for (const auto& method : kMethods) {
    INFO(method);
    mp::Pool pool({.processes = 2, .context = mp::get_context(method)});
    CHECK_THROWS_MATCHES(pool.apply(fail_on_three, std::tuple{3}), pyconc::ValueError,
                         Catch::Matchers::Message("three is bad"));
    CHECK_THROWS_MATCHES(pool.map(fail_on_three, std::vector{1, 2, 3, 4}), pyconc::ValueError,
                         Catch::Matchers::Message("three is bad"));
    int errors = 0;
    std::string message;
    auto r = pool.map_async(fail_on_three, std::vector{1, 2, 3, 4, 5, 6}, 1,
                            {.error_callback = [&](const std::exception& e) {
                              ++errors;
                              message = e.what();
                            }});
    r.wait();
    CHECK(r.ready());
    CHECK_FALSE(r.successful());
    CHECK(errors == 1);
    CHECK(message == "three is bad");
    CHECK_THROWS_AS(r.get(), pyconc::ValueError);
    // imap: with chunks of one, the iteration goes on after a failing item; with bigger chunks it ends.
    auto it = pool.imap(fail_on_three, std::vector{2, 3, 4});
    CHECK(it.next() == 2);
    CHECK_THROWS_AS(it.next(), pyconc::ValueError);
    CHECK(it.next() == 4);
    CHECK_THROWS_AS(it.next(), pyconc::StopIteration);
    auto chunked = pool.imap(fail_on_three, std::vector{3, 4, 5, 6}, 2);
    CHECK_THROWS_AS(chunked.next(), pyconc::ValueError);
    CHECK_THROWS_AS(chunked.next(), pyconc::StopIteration);
  }
}

TEST_CASE(
    "Pool: get and next time out with multiprocessing.TimeoutError, successful() before ready raises "
    "(test_async_timeout)",
    "[pool]") {
  ProcessGuard guard;
  DefaultSigterm sigterm;
  mp::Pool pool(2);
  auto r = pool.apply_async(sleep_then, std::tuple{0.5});
  CHECK_FALSE(r.ready());
  CHECK_THROWS_AS(r.get(0.05), mp::TimeoutError);
  try {
    (void)r.successful();
    FAIL("successful() before ready must raise");
  } catch (const pyconc::ValueError& e) {
    CHECK_THAT(e.what(), Catch::Matchers::StartsWith("<multiprocessing.pool.ApplyResult object at 0x") &&
                             Catch::Matchers::EndsWith("> not ready"));
  }
  r.wait(0.01);
  CHECK_FALSE(r.ready());
  CHECK(r.get(5.0) == 0.5);
  CHECK(r.successful());
  auto it = pool.imap(sleep_then, std::vector{0.5});
  CHECK_THROWS_AS(it.next(0.05), mp::TimeoutError);
  CHECK(it.next(5.0) == 0.5);
  CHECK_THAT(pool.map_async(square, std::vector{1}).repr(),
             Catch::Matchers::StartsWith("<multiprocessing.pool.MapResult object at 0x"));
}

TEST_CASE("Pool: misuse raises CPython's errors", "[pool]") {
  ProcessGuard guard;
  DefaultSigterm sigterm;
  CHECK_THROWS_MATCHES(mp::Pool(0), pyconc::ValueError,
                       Catch::Matchers::Message("Number of processes must be at least 1"));
  for (long bad : {0L, -1L})
    CHECK_THROWS_MATCHES(mp::Pool({.processes = 1, .maxtasksperchild = bad}), pyconc::ValueError,
                         Catch::Matchers::Message("maxtasksperchild must be a positive int or None"));
  mp::Pool pool(1);
  CHECK_THROWS_MATCHES(pool.join(), pyconc::ValueError, Catch::Matchers::Message("Pool is still running"));
  CHECK_THROWS_MATCHES(pool.imap(square, std::vector{1}, 0), pyconc::ValueError,
                       Catch::Matchers::Message("Chunksize must be 1+, not 0"));
  CHECK_THROWS_MATCHES(pool.map(square, std::vector{1}, 0), pyconc::ValueError,
                       Catch::Matchers::Message("Chunksize must be 1+, not 0"));
  pool.close();
  CHECK(pool.repr() == "<multiprocessing.pool.Pool state=CLOSE pool_size=1>");
  CHECK_THROWS_MATCHES(pool.apply(square, std::tuple{1}), pyconc::ValueError,
                       Catch::Matchers::Message("Pool not running"));
  CHECK_THROWS_MATCHES(pool.map_async(square, std::vector{1}), pyconc::ValueError,
                       Catch::Matchers::Message("Pool not running"));
  pool.join();
  pool.terminate();
  CHECK(pool.repr() == "<multiprocessing.pool.Pool state=TERMINATE pool_size=1>");
  CHECK_THROWS_MATCHES(pool.imap(square, std::vector{1}), pyconc::ValueError,
                       Catch::Matchers::Message("Pool not running"));
}

TEST_CASE("Pool: workers are daemonic processes named after the start method, initializer runs in each",
          "[pool][spawn]") {
  ProcessGuard guard;
  DefaultSigterm sigterm;
  if (!PYCONC_TEST_TSAN) {
    mp::Pool pool({.processes = 2, .context = mp::get_context("fork")});
    const auto names = pool.map(
        +[](int) { return worker_name(); }, std::vector{1, 2, 3, 4}, 1);
    for (const auto& name : names)
      CHECK_THAT(name, Catch::Matchers::StartsWith("ForkPoolWorker-"));
    CHECK(pool.apply(worker_is_daemon));
  }
  {
    mp::Pool pool({.processes = 1, .context = mp::get_context("spawn")}, initialize, std::tuple{42});
    CHECK_THAT(pool.apply(worker_name), Catch::Matchers::StartsWith("SpawnPoolWorker-"));
    CHECK(pool.apply(read_initialized) == 42);
  }
  {
    mp::Pool pool({.processes = 1, .context = mp::get_context("forkserver")});
    CHECK_THAT(pool.apply(worker_name), Catch::Matchers::StartsWith("ForkServerPoolWorker-"));
  }
  if (!PYCONC_TEST_TSAN) {
    int captured = 7;  // under fork the initializer may capture
    mp::Pool pool({.processes = 2, .context = mp::get_context("fork")}, [captured] { initialized = captured; });
    CHECK(pool.map(
              +[](int) { return read_initialized(); }, std::vector{1, 2, 3}) == std::vector{7, 7, 7});
  }
  int captured = 1;
  CHECK_THROWS_AS(
      mp::Pool({.processes = 1, .context = mp::get_context("spawn")}, [captured] { initialized = captured; }),
      pyconc::pickle::PicklingError);
}

TEST_CASE(
    "Pool: maxtasksperchild replaces workers, 1,000 tasks leave no fd or zombie behind (test_pool_worker_lifetime)",
    "[pool]") {
  ProcessGuard guard;
  DefaultSigterm sigterm;
  mp::Pool pool({.processes = 2, .maxtasksperchild = 10});
  const auto first = pool.worker_pids();
  std::vector<int> xs(1000, 3);
  std::set<long> pids;
  for (long pid : pool.map(
           +[](int) { return worker_pid(); }, xs, 1))
    pids.insert(pid);
  CHECK(pids.size() >= 100);  // 1,000 tasks, 10 per worker
  CHECK(pool.map(square, xs, 1) == std::vector<int>(1000, 9));
  const auto now = pool.worker_pids();
  for (long pid : first)
    CHECK(std::find(now.begin(), now.end(), pid) == now.end());
  pool.close();
  pool.join();
}

TEST_CASE("Pool: a worker killed mid-task fails that task with WorkerLostError within a second, the pool goes on",
          "[pool][spawn]") {
  ProcessGuard guard;
  DefaultSigterm sigterm;
  for (const auto& method : kMethods) {
    INFO(method);
    mp::Pool pool({.processes = 2, .context = mp::get_context(method)});
    auto slow = pool.apply_async(sleep_then, std::tuple{20.0});
    auto slow2 = pool.apply_async(sleep_then, std::tuple{20.0});
    CHECK_THROWS_AS(slow.get(0.3), mp::TimeoutError);  // both workers are busy now
    const auto pids = pool.worker_pids();
    REQUIRE(pids.size() == 2);
    const auto killed_at = Clock::now();
    for (long pid : pids)
      ::kill(static_cast<pid_t>(pid), SIGKILL);
    try {
      slow.get(5.0);
      FAIL("the task of a killed worker must fail");
    } catch (const mp::WorkerLostError& e) {
      CHECK(Clock::now() - killed_at < std::chrono::seconds(1));
      CHECK(std::find(pids.begin(), pids.end(), e.pid()) != pids.end());
      CHECK(e.exitcode() == -SIGKILL);
      CHECK_THAT(e.what(), Catch::Matchers::Contains("pid " + std::to_string(e.pid())) &&
                               Catch::Matchers::Contains("killed by signal 9 (-SIGKILL)"));
    }
    CHECK_THROWS_AS(slow2.get(5.0), mp::WorkerLostError);
    CHECK(pool.apply(square, std::tuple{4}) == 16);  // replaced workers
    try {
      pool.apply(exit_three);
      FAIL("a worker that exits mid-task fails its task");
    } catch (const mp::WorkerLostError& e) {
      CHECK(e.exitcode() == 3);
      CHECK_THAT(e.what(), Catch::Matchers::Contains("exited with code 3"));
    }
    CHECK_THROWS_AS(pool.apply(kill_self), mp::WorkerLostError);
    CHECK(pool.map(square, std::vector{1, 2, 3}) == std::vector{1, 4, 9});
  }
}

TEST_CASE("Pool: an initializer that raises fails every pending and later result with its exception", "[pool][spawn]") {
  ProcessGuard guard;
  DefaultSigterm sigterm;
  for (const auto& method : kMethods) {
    INFO(method);
    mp::Pool pool({.processes = 2, .context = mp::get_context(method)}, failing_initializer);
    auto r = pool.apply_async(square, std::tuple{2});
    CHECK_THROWS_MATCHES(r.get(5.0), pyconc::KeyError, Catch::Matchers::Message("'no database'"));
    CHECK_THROWS_AS(pool.map(square, std::vector{1, 2, 3}), pyconc::KeyError);
    CHECK_THROWS_AS(pool.apply(square, std::tuple{1}), pyconc::KeyError);
    pool.close();
    pool.join();  // returns: no worker is started again
    CHECK(pool.worker_pids().empty());
  }
}

TEST_CASE("Pool: a result that cannot be pickled raises MaybeEncodingError, hostile reply bytes fail one task only",
          "[pool][spawn]") {
  ProcessGuard guard;
  DefaultSigterm sigterm;
  mp::Pool pool({.processes = 1, .context = mp::get_context("spawn")});
  try {
    pool.apply(make_with_lock);
    FAIL("a Lock inside a result cannot cross");
  } catch (const mp::MaybeEncodingError& e) {
    CHECK_THAT(e.what(),
               Catch::Matchers::StartsWith("Error sending result: '<WithLock object>'. Reason: 'RuntimeError("));
  }
  CHECK_THROWS_AS(pool.apply(write_garbage_reply), pyconc::pickle::UnpicklingError);
  CHECK(pool.apply(square, std::tuple{6}) == 36);
}

TEST_CASE("Pool: terminate stops running tasks at once, close and join wait for the queued ones (test_terminate)",
          "[pool]") {
  ProcessGuard guard;
  DefaultSigterm sigterm;
  {
    mp::Pool pool(2);
    auto r = pool.map_async(sleep_then, std::vector<double>(4, 10.0), 1);
    CHECK_THROWS_AS(r.get(0.3), mp::TimeoutError);  // the workers are busy
    const auto begin = Clock::now();
    pool.terminate();
    CHECK(Clock::now() - begin < std::chrono::seconds(3));
    CHECK_FALSE(r.ready());  // CPython: never completes
    pool.join();
  }
  {
    mp::Pool pool(2);
    std::vector<mp::AsyncResult<double>> results;
    for (int i = 0; i < 6; ++i)
      results.push_back(pool.apply_async(sleep_then, std::tuple{0.05}));
    pool.close();
    pool.join();
    for (auto& r : results)
      CHECK(r.ready());
  }
  {
    const auto begin = Clock::now();
    {
      mp::Pool pool(2);  // leaving the scope terminates, as Python's `with`
      pool.apply_async(sleep_then, std::tuple{10.0});
      pool.apply(nothing);
    }
    CHECK(Clock::now() - begin < std::chrono::seconds(3));
  }
}

TEST_CASE("Pool: the workers of a SIGKILLed owner end within a second", "[pool]") {
  ProcessGuard guard;
  DefaultSigterm sigterm;
  auto [reader, writer] = mp::Pipe(false);
  auto owner = mp::get_context(kDefaultMethod).Process(pool_owner, std::tuple{writer});
  owner.start();
  writer.close();
  const auto pids = reader.recv<std::vector<long>>();
  REQUIRE(pids.size() == 2);
  std::vector<int> pidfds;
  for (long pid : pids)
    pidfds.push_back(static_cast<int>(::syscall(SYS_pidfd_open, static_cast<pid_t>(pid), 0)));
  owner.kill();
  owner.join();
  const auto killed_at = Clock::now();
  for (int fd : pidfds) {
    REQUIRE(fd >= 0);
    pollfd p{fd, POLLIN, 0};
    CHECK(::poll(&p, 1, 1500) == 1);
    ::close(fd);
  }
  CHECK(Clock::now() - killed_at < std::chrono::milliseconds(1500));
  reader.close();
}

TEST_CASE("ThreadPool: the Pool API on threads, any callable (multiprocessing.dummy)", "[pool][threadpool]") {
  int factor = 3;
  mp::pool::ThreadPool pool(2);
  CHECK(pool.map([factor](int x) { return x * factor; }, std::vector{1, 2, 3}) == std::vector{3, 6, 9});
  CHECK(pool.apply([&] { return factor; }) == 3);
  CHECK(pool.repr() == "<multiprocessing.pool.ThreadPool state=RUN pool_size=2>");
  std::atomic<int> sum{0};
  auto r = pool.map_async([&](int x) { sum += x; }, std::vector{1, 2, 3, 4});
  r.get();
  CHECK(sum == 10);
  CHECK_THROWS_AS(pool.map(fail_on_three, std::vector{1, 2, 3}), pyconc::ValueError);
  std::vector<int> got;
  for (int v : pool.imap([](int x) { return x + 1; }, std::vector{1, 2, 3}))
    got.push_back(v);
  CHECK(got == std::vector{2, 3, 4});
  pool.close();
  CHECK_THROWS_MATCHES(pool.apply(square, std::tuple{1}), pyconc::ValueError,
                       Catch::Matchers::Message("Pool not running"));
  pool.join();
  mp::dummy::Pool failing(2, [] { throw pyconc::RuntimeError("init"); });
  CHECK_THROWS_MATCHES(failing.apply(square, std::tuple{1}), pyconc::RuntimeError, Catch::Matchers::Message("init"));
}
