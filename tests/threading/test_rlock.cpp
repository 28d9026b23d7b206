// Tests for threading::RLock, after CPython's Lib/test/lock_tests.py (RLockTests).
#include <atomic>
#include <mutex>
#include <vector>

#include <catch2/catch.hpp>
#include <pyconc/threading.hpp>
#include <pyconc/time.hpp>

#include "support.hpp"

using namespace pyconc;

TEST_CASE("RLock may be acquired again by its owner", "[rlock]") {
  threading::RLock lock;
  CHECK(lock.acquire());
  CHECK(lock.acquire());
  CHECK(lock.acquire(false));
  CHECK(lock.recursion_count() == 3);
  CHECK(lock.is_owned());
  lock.release();
  lock.release();
  CHECK(lock.is_owned());
  lock.release();
  CHECK_FALSE(lock.is_owned());
  CHECK(lock.recursion_count() == 0);
}

TEST_CASE("RLock.release when unowned raises RuntimeError", "[rlock][errors]") {
  threading::RLock lock;
  REQUIRE_RAISES(lock.release(), RuntimeError, "cannot release un-acquired lock");
  lock.acquire();
  lock.release();
  REQUIRE_RAISES(lock.release(), RuntimeError, "cannot release un-acquired lock");
}

TEST_CASE("RLock.release by another thread raises RuntimeError", "[rlock][errors]") {
  threading::RLock lock;
  lock.acquire();
  threading::Thread t([&] { REQUIRE_RAISES(lock.release(), RuntimeError, "cannot release un-acquired lock"); });
  t.start();
  t.join();
  CHECK(lock.is_owned());
  lock.release();
}

TEST_CASE("RLock.acquire rejects timeouts as Lock does", "[rlock][errors]") {
  threading::RLock lock;
  REQUIRE_RAISES(lock.acquire(false, 1), ValueError, "can't specify a timeout for a non-blocking call");
  REQUIRE_RAISES(lock.acquire(true, -2), ValueError, "timeout value must be a non-negative number");
  REQUIRE_RAISES(lock.acquire(true, threading::TIMEOUT_MAX + 1), OverflowError,
                 "timestamp out of range for platform time_t");
  CHECK_FALSE(lock.is_owned());
}

TEST_CASE("RLock blocks other threads until fully released", "[rlock][blocking]") {
  threading::RLock lock;
  lock.acquire();
  lock.acquire();
  std::atomic<bool> acquired{false};
  std::atomic<bool> try_failed{false};
  threading::Event started;
  threading::Thread t([&] {
    try_failed = !lock.acquire(false);
    started.set();
    lock.acquire();
    acquired = true;
    lock.release();
  });
  t.start();
  started.wait();
  lock.release();
  time::sleep(0.05);  // one level is still held: the other thread must still wait
  CHECK_FALSE(acquired);
  lock.release();
  t.join();
  CHECK(try_failed);
  CHECK(acquired);
}

TEST_CASE("RLock.acquire with a timeout gives up after about that long", "[rlock][timeout]") {
  threading::RLock lock;
  lock.acquire();
  const double T = 0.1;
  const auto [acquired, seconds] = pyconc_test::timed_in_thread([&] { return lock.acquire(true, T); });
  CHECK_FALSE(acquired);
  REQUIRE_TIMING(seconds, T);
  lock.release();
}

TEST_CASE("RLock release_save and acquire_restore keep the recursion level", "[rlock]") {
  threading::RLock lock;
  REQUIRE_RAISES(lock.release_save(), RuntimeError, "cannot release un-acquired lock");
  lock.acquire();
  lock.acquire();
  const auto saved = lock.release_save();
  CHECK(saved == 2);
  CHECK_FALSE(lock.is_owned());
  CHECK(pyconc_test::timed_in_thread([&] {  // really free
          const bool free = lock.acquire(false);
          if (free)
            lock.release();
          return free;
        })
            .first);
  lock.acquire_restore(saved);
  CHECK(lock.recursion_count() == 2);
  lock.release();
  lock.release();
}

TEST_CASE("RLock works with std::lock_guard and keeps a counter exact", "[rlock][stress]") {
  auto n_threads = GENERATE(2, 8);
  threading::RLock lock;
  long counter = 0;
  std::vector<threading::Thread> threads;
  for (int i = 0; i < n_threads; ++i) {
    threads.emplace_back([&] {
      for (int k = 0; k < 10000; ++k) {
        std::lock_guard outer(lock);
        std::lock_guard inner(lock);
        ++counter;
      }
    });
  }
  for (auto& t : threads)
    t.start();
  for (auto& t : threads)
    t.join();
  CHECK(counter == 10000L * n_threads);
}
