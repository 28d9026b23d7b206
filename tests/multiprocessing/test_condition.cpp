// SPDX-License-Identifier: MIT
// multiprocessing.Condition, after CPython's _test_multiprocessing.py (_TestCondition:
// test_notify, test_notify_n, test_notify_all, test_timeout, test_waitfor) and the semantics
// reference (§2.4): the lock must be held, repr, RLock and Lock underneath, fork and spawn
// waiters; and a waiter killed inside wait() does not absorb a notify meant for a live one.
#include <pyconc/multiprocessing.hpp>
#include <pyconc/threading.hpp>

#include "multiprocessing/process_support.hpp"
#include "support.hpp"

#include <chrono>
#include <cmath>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

namespace mp = pyconc::multiprocessing;
using pyconc_test::ProcessGuard;

namespace {

/** Waits once on `cond`; reports through `woken` (a semaphore given once per notified waiter). */
void wait_once(mp::Condition cond, mp::Semaphore registered, mp::Semaphore woken) {
  std::unique_lock hold(cond);
  registered.release();
  if (cond.wait(30.0))
    woken.release();
}

/** Registers before the parent can take the lock back: announce while holding it, then wait. */
void wait_forever(mp::Condition cond, mp::Event registered) {
  std::unique_lock hold(cond);
  registered.set();
  cond.wait();
}

/** After registering, taking the lock proves the waiter is inside wait(). */
void until_waiting(mp::Condition& cond, mp::Semaphore& registered, int n) {
  for (int i = 0; i < n; ++i)
    REQUIRE(registered.acquire(true, 20.0));
  std::lock_guard hold(cond);
}

}  // namespace

TEST_CASE("Condition: wait and notify need the lock, with CPython's messages", "[condition]") {
  mp::Condition cond;
  REQUIRE_RAISES(cond.wait(), pyconc::AssertionError, "must acquire() condition before using wait()");
  REQUIRE_RAISES(cond.notify(), pyconc::AssertionError, "lock is not owned");
  REQUIRE_RAISES(cond.notify_all(), pyconc::AssertionError, "lock is not owned");
  CHECK(cond.repr() == "<Condition(<RLock(None, 0)>, 0)>");
  std::lock_guard hold(cond);
  CHECK(cond.repr() == "<Condition(<RLock(MainProcess, 1)>, 0)>");
  cond.notify();  // nobody waits: nothing happens
  mp::Condition over_lock{mp::Lock()};
  CHECK(over_lock.repr() == "<Condition(<Lock(owner=None)>, 0)>");
}

TEST_CASE("Condition: wait(timeout) returns false after the timeout, a negative one at once (test_timeout)",
          "[condition]") {
  mp::Condition cond;
  std::lock_guard hold(cond);
  const auto start = std::chrono::steady_clock::now();
  CHECK_FALSE(cond.wait(0.1));
  REQUIRE_TIMING(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 0.1);
  CHECK_FALSE(cond.wait(-1));
  REQUIRE_RAISES(cond.wait(std::nan("")), pyconc::OSError, "[Errno 22] Invalid argument");
  CHECK(cond.repr() == "<Condition(<RLock(MainProcess, 1)>, 0)>");  // the lock is held again
}

TEST_CASE("Condition: an RLock held twice is released entirely by wait and restored after", "[condition]") {
  mp::RLock lock;
  mp::Condition cond(lock);
  lock.acquire();
  lock.acquire();
  bool taken = false;
  pyconc::threading::Thread t([&] {
    std::lock_guard hold(cond);
    taken = true;
    cond.notify();
  });
  t.start();
  CHECK(cond.wait(20.0));
  t.join();
  CHECK(taken);
  CHECK(lock.repr() == "<RLock(MainProcess, 2)>");
  lock.release();
  lock.release();
}

TEST_CASE("Condition: notify wakes one, notify(n) n, notify_all the rest, across processes (test_notify_n)",
          "[condition]") {
  ProcessGuard guard;
  mp::Condition cond;
  mp::Semaphore registered(0);
  mp::Semaphore woken(0);
  std::vector<mp::Process> waiters;
  for (int i = 0; i < 6; ++i) {
    waiters.emplace_back(wait_once, std::tuple{cond, registered, woken});
    waiters.back().start();
  }
  until_waiting(cond, registered, 6);
  CHECK(cond.repr() == "<Condition(<RLock(None, 0)>, 6)>");
  {
    std::lock_guard hold(cond);
    cond.notify();
  }
  CHECK(woken.acquire(true, 20.0));
  CHECK_FALSE(woken.acquire(true, 0.05));
  {
    std::lock_guard hold(cond);
    cond.notify(2);
  }
  CHECK(woken.acquire(true, 20.0));
  CHECK(woken.acquire(true, 20.0));
  CHECK_FALSE(woken.acquire(true, 0.05));
  {
    std::lock_guard hold(cond);
    cond.notify_all();
  }
  for (int i = 0; i < 3; ++i)
    CHECK(woken.acquire(true, 20.0));
  for (auto& w : waiters) {
    w.join();
    CHECK(w.exitcode() == 0);
  }
}

TEST_CASE("Condition: a spawned waiter is notified by its parent", "[condition][spawn]") {
  ProcessGuard guard;
  mp::Condition cond{mp::Lock()};
  mp::Semaphore registered(0);
  mp::Semaphore woken(0);
  auto p = mp::get_context("spawn").Process(wait_once, std::tuple{cond, registered, woken});
  p.start();
  until_waiting(cond, registered, 1);
  {
    std::lock_guard hold(cond);
    cond.notify();
  }
  CHECK(woken.acquire(true, 20.0));
  p.join();
  CHECK(p.exitcode() == 0);
}

TEST_CASE("Condition: wait_for waits until the predicate holds (test_waitfor)", "[condition]") {
  ProcessGuard guard;
  mp::Condition cond;
  auto state = pyconc::detail::Shared<int>::make(0, 0);
  mp::Process p([cond, state]() mutable {
    for (int i = 1; i <= 4; ++i) {
      std::lock_guard hold(cond);
      *state = i;
      cond.notify();
    }
  });
  {
    std::unique_lock hold(cond);
    p.start();
    CHECK(cond.wait_for([&] { return *state == 4; }, 20.0));
    CHECK_FALSE(cond.wait_for([&] { return *state == 5; }, 0.05));
  }
  p.join();
}

TEST_CASE("Condition: a waiter SIGKILLed inside wait() does not take a notify meant for a live one",
          "[condition][robust]") {
  ProcessGuard guard;
  mp::Condition cond;
  mp::Event registered;
  mp::Process doomed(wait_forever, std::tuple{cond, registered});
  doomed.start();
  REQUIRE(registered.wait(20.0));
  {
    std::lock_guard hold(cond);  // the doomed waiter is inside wait(), first in line
  }
  doomed.kill();
  doomed.join();
  mp::Semaphore live_registered(0);
  mp::Semaphore woken(0);
  mp::Process live(wait_once, std::tuple{cond, live_registered, woken});
  live.start();
  until_waiting(cond, live_registered, 1);
  {
    std::lock_guard hold(cond);
    cond.notify();
  }
  CHECK(woken.acquire(true, 20.0));
  live.join();
  CHECK(live.exitcode() == 0);
  CHECK(cond.repr() == "<Condition(<RLock(None, 0)>, 0)>");  // the dead waiter's place was freed
}
