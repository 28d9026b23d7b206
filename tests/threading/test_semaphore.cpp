// Tests for threading::Semaphore, after CPython's Lib/test/lock_tests.py (BaseSemaphoreTests).
#include <algorithm>
#include <atomic>
#include <mutex>
#include <vector>

#include <catch2/catch.hpp>
#include <pyconc/threading.hpp>
#include <pyconc/time.hpp>

#include "support.hpp"

using namespace pyconc;

TEST_CASE("Semaphore rejects a negative initial value", "[semaphore][errors]") {
  REQUIRE_RAISES(threading::Semaphore(-1), ValueError, "semaphore initial value must be >= 0");
  REQUIRE_RAISES(threading::Semaphore(-100), ValueError, "semaphore initial value must be >= 0");
  threading::Semaphore zero(0);
  CHECK_FALSE(zero.acquire(false));
}

TEST_CASE("Semaphore counts acquires and releases", "[semaphore]") {
  threading::Semaphore sem(3);
  CHECK(sem.acquire());
  CHECK(sem.acquire(false));
  CHECK(sem.acquire(true, 0.01));
  CHECK_FALSE(sem.acquire(false));
  sem.release();
  CHECK(sem.value() == 1);
  sem.release(5);  // unbounded: may grow past the initial value
  CHECK(sem.value() == 6);
}

TEST_CASE("Semaphore argument errors match CPython", "[semaphore][errors]") {
  threading::Semaphore sem(1);
  REQUIRE_RAISES(sem.release(0), ValueError, "n must be one or more");
  REQUIRE_RAISES(sem.release(-3), ValueError, "n must be one or more");
  REQUIRE_RAISES(sem.acquire(false, 1), ValueError, "can't specify timeout for non-blocking acquire");
  CHECK(sem.value() == 1);
}

TEST_CASE("Semaphore.acquire with a negative timeout returns false at once", "[semaphore][timeout]") {
  threading::Semaphore sem(0);
  const double t0 = time::monotonic();
  CHECK_FALSE(sem.acquire(true, -1));
  CHECK(time::monotonic() - t0 < 0.5);
  sem.release();
  CHECK(sem.acquire(true, -1));  // still takes a free unit
}

TEST_CASE("Semaphore.acquire with a timeout gives up after about that long", "[semaphore][timeout]") {
  threading::Semaphore sem(0);
  const double T = 0.1;
  const double t0 = time::monotonic();
  CHECK_FALSE(sem.acquire(true, T));
  const double dt = time::monotonic() - t0;
  CHECK(dt >= 0.6 * T);
  CHECK(dt < 10 * T);
}

TEST_CASE("Semaphore.acquire blocks until a release", "[semaphore][blocking]") {
  threading::Semaphore sem(0);
  std::atomic<int> through{0};
  threading::Barrier all_started(4);
  std::vector<threading::Thread> threads;
  for (int i = 0; i < 3; ++i) {
    threads.emplace_back([&] {
      all_started.wait();
      sem.acquire();
      ++through;
    });
  }
  for (auto& t : threads)
    t.start();
  all_started.wait();
  time::sleep(0.05);  // give them the chance to (wrongly) get through
  CHECK(through == 0);
  sem.release(3);
  for (auto& t : threads)
    t.join();
  CHECK(through == 3);
}

TEST_CASE("Semaphore.release(n) wakes n waiters", "[semaphore][blocking]") {
  threading::Semaphore sem(0);
  std::atomic<int> through{0};
  std::vector<threading::Thread> threads;
  for (int i = 0; i < 5; ++i) {
    threads.emplace_back([&] {
      if (sem.acquire(true, 10.0))
        ++through;
    });
  }
  for (auto& t : threads)
    t.start();
  sem.release(5);
  for (auto& t : threads)
    t.join();
  CHECK(through == 5);
  CHECK(sem.value() == 0);
}

TEST_CASE("Semaphore limits concurrency to its value", "[semaphore][stress]") {
  auto limit = GENERATE(1, 2, 3);
  threading::Semaphore sem(limit);
  std::atomic<int> inside{0};
  std::atomic<int> most{0};
  std::vector<threading::Thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      for (int k = 0; k < 2000; ++k) {
        std::lock_guard with(sem);
        const int now = ++inside;
        int seen = most.load();
        while (now > seen && !most.compare_exchange_weak(seen, now)) {
        }
        --inside;
      }
    });
  }
  for (auto& t : threads)
    t.start();
  for (auto& t : threads)
    t.join();
  CHECK(most <= limit);
  CHECK(most >= 1);
  CHECK(sem.value() == static_cast<unsigned>(limit));
}

TEST_CASE("BoundedSemaphore refuses to pass its initial value", "[bounded_semaphore][errors]") {
  REQUIRE_RAISES(threading::BoundedSemaphore(-1), ValueError, "semaphore initial value must be >= 0");
  threading::BoundedSemaphore sem(3);
  REQUIRE_RAISES(sem.release(), ValueError, "Semaphore released too many times");
  CHECK(sem.value() == 3);
  sem.acquire();
  sem.acquire();
  REQUIRE_RAISES(sem.release(3), ValueError, "Semaphore released too many times");
  CHECK(sem.value() == 1);  // unchanged by the failed release
  sem.release(2);
  CHECK(sem.value() == 3);
  REQUIRE_RAISES(sem.release(0), ValueError, "n must be one or more");
  threading::Semaphore& as_base = sem;  // the bound holds through the base class too
  REQUIRE_RAISES(as_base.release(), ValueError, "Semaphore released too many times");
}

TEST_CASE("BoundedSemaphore candy machine", "[bounded_semaphore]") {
  threading::BoundedSemaphore candy(5);
  for (int i = 0; i < 5; ++i)
    CHECK(candy.acquire(false));
  CHECK_FALSE(candy.acquire(false));
  for (int i = 0; i < 5; ++i)
    candy.release();
  REQUIRE_RAISES(candy.release(), ValueError, "Semaphore released too many times");
}
