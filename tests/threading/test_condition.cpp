// Tests for threading::Condition, after CPython's Lib/test/lock_tests.py (ConditionTests).
#include <atomic>
#include <deque>
#include <memory>
#include <mutex>
#include <vector>

#include <catch2/catch.hpp>
#include <pyconc/threading.hpp>
#include <pyconc/time.hpp>

#include "support.hpp"

using namespace pyconc;

namespace {

// Starts a thread that waits on `cond` and returns once it is certainly waiting: it set
// `started` while holding the lock, and we could take the lock, so it is inside wait().
threading::Thread start_waiter(threading::Condition& cond, std::function<void()> body) {
  auto started = std::make_shared<threading::Event>();
  threading::Thread t([&cond, started, body] {
    std::lock_guard with(cond);
    started->set();
    body();
  });
  t.start();
  started->wait();
  { std::lock_guard with(cond); }
  return t;
}

}  // namespace

TEST_CASE("Condition.wait and notify without the lock raise RuntimeError", "[condition][errors]") {
  threading::Condition cond;
  REQUIRE_RAISES(cond.wait(), RuntimeError, "cannot wait on un-acquired lock");
  REQUIRE_RAISES(cond.wait(0.01), RuntimeError, "cannot wait on un-acquired lock");
  REQUIRE_RAISES(cond.notify(), RuntimeError, "cannot notify on un-acquired lock");
  REQUIRE_RAISES(cond.notify_all(), RuntimeError, "cannot notify on un-acquired lock");

  threading::Lock lock;
  threading::Condition over_lock(lock);
  REQUIRE_RAISES(over_lock.notify(), RuntimeError, "cannot notify on un-acquired lock");
  REQUIRE_RAISES(over_lock.wait(), RuntimeError, "cannot wait on un-acquired lock");
}

TEST_CASE("Condition over an RLock held by another thread is not owned", "[condition][errors]") {
  threading::Condition cond;
  cond.acquire();
  threading::Thread t([&] { REQUIRE_RAISES(cond.notify(), RuntimeError, "cannot notify on un-acquired lock"); });
  t.start();
  t.join();
  cond.release();
}

TEST_CASE("Condition.notify wakes one waiter at a time", "[condition][blocking]") {
  threading::Condition cond;
  std::atomic<int> woken{0};
  std::vector<threading::Thread> waiters;
  for (int i = 0; i < 3; ++i) {
    waiters.push_back(start_waiter(cond, [&] {
      if (cond.wait())
        ++woken;
    }));
  }
  CHECK(woken == 0);
  {
    std::lock_guard with(cond);
    cond.notify();
  }
  waiters[0].join();  // FIFO: the longest waiter goes first
  CHECK(woken == 1);
  {
    std::lock_guard with(cond);
    cond.notify(2);
  }
  for (auto& t : waiters)
    t.join();
  CHECK(woken == 3);
}

TEST_CASE("Condition.notify wakes waiters in FIFO order (CPython-compatible)", "[condition][order]") {
  threading::Condition cond;
  std::vector<int> order;
  std::vector<threading::Thread> waiters;
  for (int i = 0; i < 5; ++i) {
    waiters.push_back(start_waiter(cond, [&, i] {
      cond.wait();
      order.push_back(i);  // under the condition's lock
    }));
  }
  for (std::size_t i = 0; i < waiters.size(); ++i) {
    {
      std::lock_guard with(cond);
      cond.notify();
    }
    waiters[i].join();  // the i-th waiter, and no other, must have been woken
  }
  CHECK(order == std::vector<int>{0, 1, 2, 3, 4});
}

TEST_CASE("Condition.notify_all wakes every waiter", "[condition][blocking]") {
  threading::Lock lock;
  threading::Condition cond(lock);
  std::atomic<int> woken{0};
  std::vector<threading::Thread> waiters;
  for (int i = 0; i < 8; ++i) {
    waiters.push_back(start_waiter(cond, [&] {
      cond.wait();
      ++woken;
    }));
  }
  {
    std::lock_guard with(cond);
    cond.notify_all();
  }
  for (auto& t : waiters)
    t.join();
  CHECK(woken == 8);
}

TEST_CASE("Condition.notify with no waiter is a no-op", "[condition]") {
  threading::Condition cond;
  std::lock_guard with(cond);
  cond.notify();
  cond.notify(10);
  cond.notify_all();
  CHECK_FALSE(cond.wait(0.01));
}

TEST_CASE("Condition.wait with a timeout returns false after about that long", "[condition][timeout]") {
  threading::Condition cond;
  std::lock_guard with(cond);
  const double T = 0.1;
  const double t0 = time::monotonic();
  CHECK_FALSE(cond.wait(T));
  const double dt = time::monotonic() - t0;
  CHECK(dt >= 0.6 * T);
  CHECK(dt < 10 * T);
  CHECK_FALSE(cond.wait(std::chrono::milliseconds(10)));
}

TEST_CASE("Condition.wait with a negative timeout returns false at once", "[condition][timeout]") {
  threading::Condition cond;
  std::lock_guard with(cond);
  const double t0 = time::monotonic();
  CHECK_FALSE(cond.wait(-1));
  CHECK_FALSE(cond.wait(0));
  CHECK(time::monotonic() - t0 < 0.5);
}

TEST_CASE("Condition.wait on an RLock releases every level and restores them", "[condition]") {
  threading::RLock lock;
  threading::Condition cond(lock);
  lock.acquire();
  lock.acquire();
  threading::Thread notifier([&] {
    std::lock_guard with(cond);  // possible only if wait() released both levels
    cond.notify();
  });
  notifier.start();
  CHECK(cond.wait(10.0));
  CHECK(lock.recursion_count() == 2);
  lock.release();
  lock.release();
  notifier.join();
}

TEST_CASE("Condition.wait_for returns the predicate's value", "[condition]") {
  threading::Condition cond;
  int state = 0;
  threading::Thread producer([&] {
    for (int i = 0; i < 4; ++i) {
      std::lock_guard with(cond);
      ++state;
      cond.notify();
    }
  });
  {
    std::lock_guard with(cond);
    producer.start();
    CHECK(cond.wait_for([&] { return state == 4; }));
    CHECK(state == 4);
  }
  producer.join();
}

TEST_CASE("Condition.wait_for with a timeout gives up with the predicate's last value", "[condition][timeout]") {
  threading::Condition cond;
  std::lock_guard with(cond);
  const double T = 0.1;
  int calls = 0;
  const double t0 = time::monotonic();
  CHECK_FALSE(cond.wait_for(
      [&] {
        ++calls;
        return false;
      },
      T));
  const double dt = time::monotonic() - t0;
  CHECK(dt >= 0.6 * T);
  CHECK(dt < 10 * T);
  CHECK(calls >= 2);
  CHECK_FALSE(cond.wait_for([] { return false; }, -1));
  CHECK(cond.wait_for([] { return 7; }, 0.01) == 7);  // returns the value, not just a bool
}

TEST_CASE("Condition producer/consumer loses no wake-up", "[condition][stress]") {
  auto n_consumers = GENERATE(1, 2, 4);
  threading::Condition cond;
  std::deque<int> items;
  const int total = 20000;
  long sum = 0;
  int consumed = 0;
  std::vector<threading::Thread> consumers;
  for (int c = 0; c < n_consumers; ++c) {
    consumers.emplace_back([&] {
      for (;;) {
        std::lock_guard with(cond);
        cond.wait_for([&] { return !items.empty(); });
        const int item = items.front();
        items.pop_front();
        if (item < 0)
          return;
        sum += item;
        ++consumed;
      }
    });
  }
  for (auto& t : consumers)
    t.start();
  for (int i = 1; i <= total; ++i) {
    std::lock_guard with(cond);
    items.push_back(i);
    cond.notify();
  }
  for (int c = 0; c < n_consumers; ++c) {
    std::lock_guard with(cond);
    items.push_back(-1);
    cond.notify();
  }
  for (auto& t : consumers)
    t.join();
  CHECK(consumed == total);
  CHECK(sum == static_cast<long>(total) * (total + 1) / 2);
}
