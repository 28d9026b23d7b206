// Tests for threading::Lock, after CPython's Lib/test/lock_tests.py (BaseLockTests, LockTests).
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <mutex>
#include <vector>

#include <catch2/catch.hpp>
#include <pyconc/threading.hpp>
#include <pyconc/time.hpp>

#include "support.hpp"

using namespace pyconc;

TEST_CASE("Lock.acquire and release change locked()", "[lock]") {
  threading::Lock lock;
  CHECK_FALSE(lock.locked());
  CHECK(lock.acquire());
  CHECK(lock.locked());
  lock.release();
  CHECK_FALSE(lock.locked());
}

TEST_CASE("Lock.acquire(false) fails while locked", "[lock]") {
  threading::Lock lock;
  CHECK(lock.acquire(false));
  CHECK_FALSE(lock.acquire(false));
  CHECK_FALSE(lock.acquire(true, 0));
  lock.release();
  CHECK(lock.acquire(false, -1));  // -1 is the default "no timeout": allowed when not blocking
  lock.release();
}

TEST_CASE("Lock.release of an unlocked lock raises RuntimeError", "[lock][errors]") {
  threading::Lock lock;
  REQUIRE_RAISES(lock.release(), RuntimeError, "release unlocked lock");
  lock.acquire();
  lock.release();
  REQUIRE_RAISES(lock.release(), RuntimeError, "release unlocked lock");
}

TEST_CASE("Lock.acquire rejects timeouts as CPython does", "[lock][errors]") {
  threading::Lock lock;
  REQUIRE_RAISES(lock.acquire(false, 1), ValueError, "can't specify a timeout for a non-blocking call");
  REQUIRE_RAISES(lock.acquire(true, -2), ValueError, "timeout value must be a non-negative number");
  REQUIRE_RAISES(lock.acquire(true, -0.5), ValueError, "timeout value must be a non-negative number");
  REQUIRE_RAISES(lock.acquire(true, threading::TIMEOUT_MAX + 1), OverflowError,
                 "timestamp out of range for platform time_t");
  REQUIRE_RAISES(lock.acquire(true, 1e100), OverflowError, "timestamp out of range for platform time_t");
  CHECK_FALSE(lock.locked());
  CHECK(lock.acquire(true, threading::TIMEOUT_MAX));  // accepted: free lock, taken at once
  lock.release();
  CHECK(lock.acquire(true, -1));  // -1 means forever
  lock.release();
}

TEST_CASE("Lock may be released by a thread that did not acquire it", "[lock]") {
  threading::Lock lock;
  lock.acquire();
  threading::Thread t([&] { lock.release(); });
  t.start();
  t.join();
  CHECK_FALSE(lock.locked());
}

TEST_CASE("Lock.acquire blocks until the holder releases", "[lock][blocking]") {
  threading::Lock lock;
  lock.acquire();
  std::atomic<bool> acquired{false};
  threading::Event started;
  threading::Thread t([&] {
    started.set();
    lock.acquire();
    acquired = true;
    lock.release();
  });
  t.start();
  started.wait();
  time::sleep(0.05);  // give the waiter the chance to (wrongly) get through
  CHECK_FALSE(acquired);
  CHECK(t.is_alive());
  lock.release();
  t.join();
  CHECK(acquired);
}

TEST_CASE("Lock.acquire with a timeout gives up after about that long", "[lock][timeout]") {
  threading::Lock lock;
  lock.acquire();
  const double T = 0.1;
  const auto [acquired, seconds] = pyconc_test::timed_in_thread([&] { return lock.acquire(true, T); });
  CHECK_FALSE(acquired);
  REQUIRE_TIMING(seconds, T);
  CHECK_FALSE(pyconc_test::timed_in_thread([&] { return lock.acquire(true, std::chrono::milliseconds(20)); }).first);
  lock.release();
}

TEST_CASE("Lock.acquire with a timeout succeeds when released in time", "[lock][timeout]") {
  threading::Lock lock;
  lock.acquire();
  std::atomic<bool> got{false};
  threading::Event waiting;
  threading::Thread t([&] {
    waiting.set();
    got = lock.acquire(true, 10.0);
  });
  t.start();
  waiting.wait();
  lock.release();
  t.join();
  CHECK(got);
  CHECK(lock.locked());
  lock.release();
}

TEST_CASE("Lock rejects a NaN timeout", "[lock][errors]") {
  threading::Lock lock;
  lock.acquire();
  REQUIRE_RAISES(lock.acquire(true, std::nan("")), ValueError, "Invalid value NaN (not a number)");
  lock.release();
}

TEST_CASE("Lock is Lockable: std::lock_guard, std::scoped_lock, condition_variable_any", "[lock]") {
  threading::Lock a;
  threading::Lock b;
  {
    std::lock_guard with(a);
    CHECK(a.locked());
  }
  CHECK_FALSE(a.locked());
  {
    std::scoped_lock both(a, b);
    CHECK(a.locked());
    CHECK(b.locked());
  }
  CHECK_FALSE(a.locked());
  CHECK_FALSE(b.locked());

  std::condition_variable_any cv;
  bool ready = false;
  threading::Thread t([&] {
    std::lock_guard with(a);
    ready = true;
    cv.notify_one();
  });
  {
    std::unique_lock with(a);
    t.start();
    cv.wait(with, [&] { return ready; });
  }
  t.join();
  CHECK(ready);
}

TEST_CASE("Lock keeps a shared counter exact under contention", "[lock][stress]") {
  auto n_threads = GENERATE(2, 4, 8, 16);
  threading::Lock lock;
  long counter = 0;
  std::vector<threading::Thread> threads;
  for (int i = 0; i < n_threads; ++i) {
    threads.emplace_back([&] {
      for (int k = 0; k < 20000; ++k) {
        std::lock_guard with(lock);
        ++counter;
      }
    });
  }
  for (auto& t : threads)
    t.start();
  for (auto& t : threads)
    t.join();
  CHECK(counter == 20000L * n_threads);
}

TEST_CASE("Lock.at_fork_reinit makes it unlocked", "[lock]") {
  threading::Lock lock;
  lock.acquire();
  lock.at_fork_reinit();
  CHECK_FALSE(lock.locked());
  CHECK(lock.acquire(false));
  lock.release();
}
