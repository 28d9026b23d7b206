// SPDX-License-Identifier: MIT
// Tests for concurrent::futures::wait, after CPython's Lib/test/test_concurrent_futures/
// test_wait.py (WaitTests) and the reference's sections 1.3, 2.3 and 6.
#include <pyconc/concurrent/futures.hpp>
#include <pyconc/threading.hpp>
#include <pyconc/time.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <list>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "futures_support.hpp"
#include "support.hpp"

using namespace pyconc;
namespace cf = pyconc::concurrent::futures;

using namespace futures_test;

TEST_CASE("wait returns when the first future completes with FIRST_COMPLETED", "[wait]") {
  // CPython's test_first_completed.
  cf::ThreadPoolExecutor executor(2);
  threading::Event release;
  auto slow = executor.submit([&] {
    release.wait(10.0);
    return 1;
  });
  auto fast = executor.submit([] {
    time::sleep(0.05);
    return 2;
  });
  auto [done, not_done] = cf::wait(std::vector{slow, fast}, cf::FIRST_COMPLETED);
  CHECK(done == Set{fast});
  CHECK(not_done == Set{slow});
  release.set();
}

TEST_CASE("wait with FIRST_COMPLETED returns at once when some future is done", "[wait]") {
  // CPython's test_first_completed_some_already_completed.
  auto pending = pending_future();
  const auto cn = cancelled_and_notified_future();
  const auto ok = successful_future();
  pyconc_test::Stopwatch clock;
  auto [done, not_done] = cf::wait(std::vector{cn, ok, pending}, 10.0, cf::FIRST_COMPLETED);
  CHECK(clock.elapsed() < 5.0);
  CHECK(done == Set{cn, ok});
  CHECK(not_done == Set{pending});
}

TEST_CASE("wait returns when a future raises with FIRST_EXCEPTION", "[wait]") {
  // CPython's test_first_exception.
  cf::ThreadPoolExecutor executor(3);
  threading::Event release;
  auto quick = executor.submit([] { return 1; });
  auto raises = executor.submit([]() -> int {
    time::sleep(0.05);
    throw ValueError("x");
  });
  auto blocked = executor.submit([&] {
    release.wait(10.0);
    return 3;
  });
  auto [done, not_done] = cf::wait(std::vector{quick, raises, blocked}, cf::FIRST_EXCEPTION);
  CHECK(done == Set{quick, raises});
  CHECK(not_done == Set{blocked});
  release.set();
}

TEST_CASE("wait with FIRST_EXCEPTION returns at once when a done future raised", "[wait]") {
  // CPython's test_first_exception_some_already_complete and test_first_exception_one_already_failed.
  auto pending = pending_future();
  const auto ok = successful_future();
  const auto c = cancelled_future();
  const auto cn = cancelled_and_notified_future();
  const auto bad = exception_future();
  auto [done, not_done] = cf::wait(std::vector{ok, c, cn, bad, pending}, 10.0, cf::FIRST_EXCEPTION);
  CHECK(done == Set{ok, cn, bad});
  CHECK(not_done == Set{c, pending});  // cancelled but not notified: not done for wait()

  auto [done2, not_done2] = cf::wait(std::vector{bad, pending}, cf::FIRST_EXCEPTION);
  CHECK(done2 == Set{bad});
  CHECK(not_done2 == Set{pending});
}

TEST_CASE("wait with FIRST_EXCEPTION and no exception waits for all", "[wait]") {
  cf::ThreadPoolExecutor executor(2);
  auto a = executor.submit([] {
    time::sleep(0.02);
    return 1;
  });
  auto b = executor.submit([] {
    time::sleep(0.05);
    return 2;
  });
  const auto cn = cancelled_and_notified_future();  // a cancelled future is no exception
  auto [done, not_done] = cf::wait(std::vector{a, b, cn}, cf::FIRST_EXCEPTION);
  CHECK(done == Set{a, b, cn});
  CHECK(not_done.empty());
}

TEST_CASE("wait with ALL_COMPLETED waits for every future", "[wait]") {
  // CPython's test_all_completed.
  cf::ThreadPoolExecutor executor(2);
  auto f1 = executor.submit([]() -> int { throw ValueError("x"); });
  auto f2 = executor.submit([] {
    time::sleep(0.05);
    return 2;
  });
  const std::vector<cf::Future<int>> fs{successful_future(), cancelled_and_notified_future(), exception_future(), f1,
                                        f2};
  auto [done, not_done] = cf::wait(fs, cf::ALL_COMPLETED);
  CHECK(done == Set(fs.begin(), fs.end()));
  CHECK(not_done.empty());
  auto result = cf::wait(fs);  // ALL_COMPLETED is the default
  CHECK(result.done.size() == 5);
}

TEST_CASE("wait with a timeout returns the futures done by then without raising", "[wait][timing]") {
  // CPython's test_timeout.
  auto pending = pending_future();
  const auto cn = cancelled_and_notified_future();
  const auto bad = exception_future();
  const auto ok = successful_future();
  const double T = 0.1;
  pyconc_test::Stopwatch clock;
  auto [done, not_done] = cf::wait(std::vector{cn, bad, ok, pending}, T, cf::ALL_COMPLETED);
  REQUIRE_TIMING(clock.elapsed(), T);
  CHECK(done == Set{cn, bad, ok});
  CHECK(not_done == Set{pending});

  pyconc_test::Stopwatch clock2;
  auto r = cf::wait(std::vector{pending}, -1);  // negative: no wait
  CHECK(clock2.elapsed() < 0.5);
  CHECK(r.not_done == Set{pending});
  auto r2 = cf::wait(std::vector{pending}, std::chrono::milliseconds(20), cf::FIRST_COMPLETED);
  CHECK(r2.done.empty());
}

TEST_CASE("wait collapses duplicate futures", "[wait]") {
  // CPython's test_20369.
  cf::ThreadPoolExecutor executor(1);
  auto f = executor.submit([] { return 1; });
  auto [done, not_done] = cf::wait(std::vector{f, f});
  CHECK(done == Set{f});
  CHECK(not_done.empty());
}

TEST_CASE("wait raises ValueError for an invalid return_when only when it must wait", "[wait]") {
  const auto ok = successful_future();
  auto [done, not_done] = cf::wait(std::vector{ok}, "BOGUS");  // nothing to wait for: not checked
  CHECK(done == Set{ok});
  CHECK(cf::wait(std::vector<cf::Future<int>>{}, 0, "BOGUS").done.empty());

  auto pending = pending_future();
  REQUIRE_RAISES(cf::wait(std::vector{ok, pending}, "BOGUS"), ValueError, "Invalid return condition: 'BOGUS'");
  REQUIRE_RAISES(cf::wait(std::vector{pending}, 0, "it's"), ValueError, "Invalid return condition: \"it's\"");
  // The futures are left as they were (no waiter, no lock held).
  pending.set_result(3);
  CHECK(cf::wait(std::vector{pending}, 1.0, "BOGUS").done == Set{pending});
}

TEST_CASE("wait returns at once for no futures", "[wait]") {
  auto result = cf::wait(std::vector<cf::Future<int>>{});
  CHECK(result.done.empty());
  CHECK(result.not_done.empty());
}

TEST_CASE("wait treats a cancelled future as done only once its cancellation is notified", "[wait]") {
  auto c = cancelled_future();
  CHECK(c.done());
  auto r = cf::wait(std::vector{c}, 0.05);
  CHECK(r.not_done == Set{c});  // as CPython
  threading::Thread notifier([c] {
    time::sleep(0.02);
    c.set_running_or_notify_cancel();
  });
  notifier.start();
  auto r2 = cf::wait(std::vector{c}, 10.0, cf::FIRST_COMPLETED);
  notifier.join();
  CHECK(r2.done == Set{c});
}

TEST_CASE("wait is woken by a pool noticing a cancelled call", "[wait]") {
  futures_test::OneBusyWorker busy;
  auto queued = busy.executor.submit([] { return 1; });
  REQUIRE(queued.cancel());
  threading::Thread releaser([&] {
    time::sleep(0.02);
    busy.release();
  });
  releaser.start();
  auto [done, not_done] = cf::wait(std::vector{queued}, 10.0, cf::FIRST_COMPLETED);
  releaser.join();
  CHECK(done == Set{queued});
  CHECK(not_done.empty());
}

TEST_CASE("wait blocks until another thread completes the futures", "[wait][blocking]") {
  auto a = pending_future();
  auto b = pending_future();
  std::atomic<bool> returned{false};
  std::size_t done_count = 0;
  threading::Thread waiter([&] {
    done_count = cf::wait(std::vector{a, b}, 10.0).done.size();
    returned = true;
  });
  waiter.start();
  time::sleep(0.05);
  CHECK_FALSE(returned.load());
  a.set_result(1);
  time::sleep(0.05);
  CHECK_FALSE(returned.load());  // ALL_COMPLETED: one is not enough
  b.set_exception(ValueError("b"));
  waiter.join(10.0);
  REQUIRE_FALSE(waiter.is_alive());
  CHECK(done_count == 2);
}

TEST_CASE("wait that timed out leaves the futures usable", "[wait][misuse]") {
  std::vector<cf::Future<int>> fs{pending_future(), pending_future()};
  auto r = cf::wait(fs, 0.01);
  CHECK(r.not_done.size() == 2);
  // Its waiter is gone from the futures: completing them touches nothing freed.
  fs[0].set_result(1);
  fs[1].cancel();
  fs[1].set_running_or_notify_cancel();
  CHECK(cf::wait(fs, 0).done.size() == 2);
}

TEST_CASE("wait accepts sets of futures and returns sets usable with structured bindings", "[wait]") {
  const std::unordered_set<cf::Future<int>> hashed{successful_future(), exception_future()};
  auto [done, not_done] = cf::wait(hashed);
  CHECK(done.size() == 2);
  CHECK(not_done.empty());
  std::vector<cf::Future<void>> voids(3);
  for (auto& f : voids)
    f.set_result();
  CHECK(cf::wait(voids, cf::FIRST_EXCEPTION).done.size() == 3);
}

TEST_CASE("wait accepts a braced list of futures", "[wait]") {
  // wait([f1, f2], timeout=0, return_when=FIRST_COMPLETED)
  const auto ok = successful_future();
  const auto bad = exception_future();
  auto pending = pending_future();
  auto [done, not_done] = cf::wait({ok, bad});
  CHECK(done == Set{ok, bad});
  CHECK(not_done.empty());
  auto r = cf::wait({ok, pending}, 0, cf::FIRST_COMPLETED);
  CHECK(r.done == Set{ok});
  CHECK(r.not_done == Set{pending});
  CHECK(cf::wait({pending}, 0.01).not_done == Set{pending});
  CHECK(cf::wait({ok, pending}, cf::FIRST_COMPLETED).done == Set{ok});
  REQUIRE_RAISES(cf::wait({pending}, 0, "BOGUS"), ValueError, "Invalid return condition: 'BOGUS'");
}

TEST_CASE("wait accepts a std::list and maps keyed by futures (Python's dict of futures)", "[wait]") {
  // future_to_url = {executor.submit(load, url): url ...}; wait(future_to_url) waits for its keys.
  cf::ThreadPoolExecutor executor(2);
  std::map<cf::Future<int>, std::string> future_to_url;
  for (const std::string url : {"a.org", "b.org", "c.org"})
    future_to_url[executor.submit([url] { return static_cast<int>(url.size()); })] = url;
  auto [done, not_done] = cf::wait(future_to_url, 10.0);
  CHECK(done.size() == 3);
  CHECK(not_done.empty());
  for (const auto& f : done)
    CHECK(f.result() == static_cast<int>(future_to_url.at(f).size()));

  const auto ok = successful_future();
  auto pending = pending_future();
  const std::unordered_map<cf::Future<int>, int> hashed{{ok, 1}, {pending, 2}};
  auto first = cf::wait(hashed, 0, cf::FIRST_COMPLETED);
  CHECK(first.done == Set{ok});
  CHECK(first.not_done == Set{pending});

  const std::list<cf::Future<int>> list{ok, pending, ok};
  CHECK(cf::wait(list, 0).done == Set{ok});
}

TEST_CASE("print of wait's result is CPython's DoneAndNotDoneFutures repr", "[wait]") {
  // print(wait([f])) -> DoneAndNotDoneFutures(done={<Future at 0x... state=finished returned int>}, not_done=set())
  const auto ok = successful_future();
  const auto result = cf::wait({ok});
  CHECK(result.repr() == "DoneAndNotDoneFutures(done={" + ok.repr() + "}, not_done=set())");
  CHECK(ok.repr().find("state=finished returned int>") != std::string::npos);
  auto pending = pending_future();
  CHECK(cf::wait({pending}, 0).repr() == "DoneAndNotDoneFutures(done=set(), not_done={" + pending.repr() + "})");
}

TEST_CASE("wait on many pool futures completed concurrently returns them all", "[wait][stress]") {
  cf::ThreadPoolExecutor executor(8);
  for (int round = 0; round < 20; ++round) {
    std::vector<cf::Future<int>> fs;
    for (int i = 0; i < 200; ++i)
      fs.push_back(executor.submit([i] { return i; }));
    auto first = cf::wait(fs, 30.0, cf::FIRST_COMPLETED);
    REQUIRE_FALSE(first.done.empty());
    auto all = cf::wait(fs, 30.0);
    REQUIRE(all.done.size() == 200);
    REQUIRE(all.not_done.empty());
  }
}

TEST_CASE("wait keeps futures cancelled by shutdown with cancel_futures not done as CPython",
          "[wait][thread_pool_executor]") {
  // CPython: shutdown(cancel_futures=True) cancels the queued futures but never notifies
  // them, so a wait() in progress and any later wait() count them as not done.
  futures_test::OneBusyWorker busy;
  auto& executor = busy.executor;
  const auto& blocker = busy.blocker;
  std::vector<cf::Future<int>> queued;
  for (int i = 0; i < 3; ++i)
    queued.push_back(executor.submit([i] { return i; }));
  const double T = 0.3;
  cf::DoneAndNotDoneFutures<int> all;
  cf::DoneAndNotDoneFutures<int> first;
  double all_took = 0;
  threading::Thread waiter([&] {
    const pyconc_test::Stopwatch clock;
    all = cf::wait(queued, T);
    all_took = clock.elapsed();
  });
  threading::Thread first_waiter([&] { first = cf::wait(queued, T, cf::FIRST_COMPLETED); });
  waiter.start();
  first_waiter.start();
  time::sleep(0.05);  // most likely waiting by now; the outcome is the same either way
  executor.shutdown(false, true);
  for (const auto& f : queued)
    CHECK(f.cancelled());
  busy.release();
  waiter.join(10.0);
  first_waiter.join(10.0);
  REQUIRE_FALSE(waiter.is_alive());
  REQUIRE_FALSE(first_waiter.is_alive());
  CHECK(all.done.empty());
  CHECK(all.not_done == as_set(queued));
  REQUIRE_TIMING(all_took, T);
  CHECK(first.done.empty());
  CHECK(first.not_done == as_set(queued));
  executor.shutdown(true);
  CHECK(blocker.result() == 0);
  const auto after = cf::wait(queued, 0);
  CHECK(after.not_done == as_set(queued));
}
