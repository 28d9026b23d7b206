// SPDX-License-Identifier: MIT
// multiprocessing.Semaphore and BoundedSemaphore, after CPython's _test_multiprocessing.py
// (_TestSemaphore) and the semantics reference (§2.4): get_value, acquire(block, timeout),
// Semaphore(-1) as sem_open's OSError, over-release of a bounded one, children of every
// start method taking and giving units.
#include <pyconc/multiprocessing.hpp>

#include "multiprocessing/process_support.hpp"
#include "support.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <string>
#include <tuple>
#include <vector>

namespace mp = pyconc::multiprocessing;
using pyconc_test::ProcessGuard;

namespace {

void give_back(mp::Semaphore sem, mp::Semaphore done) {
  sem.release();
  sem.release();
  done.release();
}

}  // namespace

TEST_CASE("Semaphore: get_value follows acquire and release (test_semaphore)", "[semaphore]") {
  mp::Semaphore sem(2);
  CHECK(sem.get_value() == 2);
  CHECK(sem.acquire());
  CHECK(sem.get_value() == 1);
  CHECK(sem.acquire());
  CHECK(sem.get_value() == 0);
  CHECK_FALSE(sem.acquire(false));
  CHECK_FALSE(sem.acquire(true, -1));
  const auto start = std::chrono::steady_clock::now();
  CHECK_FALSE(sem.acquire(true, 0.1));
  REQUIRE_TIMING(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 0.1);
  sem.release();
  CHECK(sem.get_value() == 1);
  sem.release();
  sem.release();  // an unbounded semaphore goes past its initial value
  CHECK(sem.get_value() == 3);
  CHECK(sem.repr() == "<Semaphore(value=3)>");
}

TEST_CASE("Semaphore: Semaphore(-1) raises OSError errno 22 as sem_open does", "[semaphore]") {
  REQUIRE_RAISES(mp::Semaphore(-1), pyconc::OSError, "[Errno 22] Invalid argument");
  CHECK(mp::Semaphore(0).get_value() == 0);
}

TEST_CASE("BoundedSemaphore: release past the initial value raises CPython's ValueError", "[semaphore]") {
  mp::BoundedSemaphore sem(2);
  CHECK(sem.repr() == "<BoundedSemaphore(value=2, maxvalue=2)>");
  REQUIRE_RAISES(sem.release(), pyconc::ValueError, "semaphore or lock released too many times");
  sem.acquire();
  CHECK(sem.repr() == "<BoundedSemaphore(value=1, maxvalue=2)>");
  sem.release();
  CHECK(sem.get_value() == 2);
}

TEST_CASE("Semaphore: children of every start method give units to a waiting parent", "[semaphore][spawn]") {
  ProcessGuard guard;
  for (const std::string method : {"fork", "spawn", "forkserver"}) {
    mp::Semaphore sem(0);
    mp::Semaphore done(0);
    auto p = mp::get_context(method).Process(give_back, std::tuple{sem, done});
    p.start();
    CHECK(sem.acquire(true, 20.0));
    CHECK(sem.acquire(true, 20.0));
    CHECK(done.acquire(true, 20.0));
    p.join();
    CHECK(p.exitcode() == 0);
    CHECK(sem.get_value() == 0);
  }
}

TEST_CASE("Semaphore: units taken by a process that dies are lost, as in CPython", "[semaphore][robust]") {
  ProcessGuard guard;
  mp::Semaphore sem(1);
  mp::Process p([sem]() mutable { sem.acquire(); });
  p.start();
  p.join();
  CHECK(sem.get_value() == 0);
  CHECK_FALSE(sem.acquire(true, 0.05));
}

TEST_CASE("Semaphore: as a Lockable it bounds how many children are inside at once", "[semaphore]") {
  ProcessGuard guard;
  mp::BoundedSemaphore slots(2);
  mp::Semaphore inside(0);
  mp::Lock count_lock;
  auto peak = pyconc::detail::Shared<std::array<int, 2>>::make(0, std::array<int, 2>{0, 0});
  std::vector<mp::Process> children;
  for (int i = 0; i < 4; ++i) {
    children.emplace_back([slots, count_lock, peak]() mutable {
      for (int k = 0; k < 200; ++k) {
        std::lock_guard with(slots);
        {
          std::lock_guard c(count_lock);
          (*peak)[0] += 1;
          (*peak)[1] = std::max((*peak)[1], (*peak)[0]);
        }
        std::lock_guard c(count_lock);
        (*peak)[0] -= 1;
      }
    });
  }
  for (auto& c : children)
    c.start();
  for (auto& c : children) {
    c.join();
    CHECK(c.exitcode() == 0);
  }
  CHECK((*peak)[0] == 0);
  CHECK((*peak)[1] >= 1);
  CHECK((*peak)[1] <= 2);
}
