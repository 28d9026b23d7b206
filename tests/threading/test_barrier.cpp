// Tests for threading::Barrier, after CPython's Lib/test/lock_tests.py (BarrierTests).
#include <algorithm>
#include <atomic>
#include <mutex>
#include <set>
#include <vector>

#include <catch2/catch.hpp>
#include <pyconc/threading.hpp>
#include <pyconc/time.hpp>

#include "support.hpp"

using namespace pyconc;

namespace {

// Runs `body` in `n` threads and joins them.
void run_threads(int n, const std::function<void()>& body) {
  std::vector<threading::Thread> threads;
  for (int i = 0; i < n; ++i)
    threads.emplace_back(body);
  for (auto& t : threads)
    t.start();
  for (auto& t : threads)
    t.join();
}

// Starts `n` threads that wait on `barrier`, counting BrokenBarrierErrors in `broken`, and
// returns once all of them are waiting (polled, at most 5 s).
std::vector<threading::Thread> start_waiters(threading::Barrier& barrier, int n, std::atomic<int>& broken) {
  std::vector<threading::Thread> threads;
  for (int i = 0; i < n; ++i) {
    threads.emplace_back([&] {
      try {
        barrier.wait();
      } catch (const threading::BrokenBarrierError&) {
        ++broken;
      }
    });
  }
  for (auto& t : threads)
    t.start();
  for (int spins = 0; barrier.n_waiting() < static_cast<std::size_t>(n) && spins < 5000; ++spins)
    time::sleep(0.001);
  return threads;
}

}  // namespace

TEST_CASE("Barrier rejects fewer than one party (CPython 3.13)", "[barrier][errors]") {
  REQUIRE_RAISES(threading::Barrier(0), ValueError, "parties must be > 0");
  REQUIRE_RAISES(threading::Barrier(-1), ValueError, "parties must be > 0");
  threading::Barrier one(1);
  CHECK(one.wait() == 0);
  CHECK(one.parties() == 1);
}

TEST_CASE("Barrier.wait gives each party a distinct index, cycle after cycle", "[barrier]") {
  const int n = 5;
  threading::Barrier barrier(n);
  threading::Lock lock;
  std::vector<std::multiset<std::size_t>> seen(3);
  std::atomic<int> phase_errors{0};
  std::atomic<int> arrived{0};
  run_threads(n, [&] {
    for (int cycle = 0; cycle < 3; ++cycle) {
      ++arrived;
      const auto index = barrier.wait();
      if (arrived.load() < n * (cycle + 1))
        ++phase_errors;  // nobody leaves before all arrived
      {
        std::lock_guard with(lock);
        seen[static_cast<std::size_t>(cycle)].insert(index);
      }
      barrier.wait();  // keep cycles apart
    }
  });
  CHECK(phase_errors == 0);
  for (const auto& s : seen)
    CHECK(s == std::multiset<std::size_t>{0, 1, 2, 3, 4});
  CHECK(barrier.n_waiting() == 0);
  CHECK_FALSE(barrier.broken());
}

TEST_CASE("Barrier action runs once, before anyone is released", "[barrier]") {
  const int n = 4;
  std::atomic<int> actions{0};
  std::atomic<int> released_before_action{0};
  threading::Barrier barrier(n, [&] { ++actions; });
  run_threads(n, [&] {
    barrier.wait();
    if (actions.load() != 1)
      ++released_before_action;
  });
  CHECK(actions == 1);
  CHECK(released_before_action == 0);
}

TEST_CASE("Barrier action that throws breaks the barrier", "[barrier][errors]") {
  const int n = 3;
  threading::Barrier barrier(n, [] { throw ValueError("action failed"); });
  std::atomic<int> action_errors{0};
  std::atomic<int> broken_errors{0};
  std::atomic<int> wrong_messages{0};
  run_threads(n, [&] {
    try {
      barrier.wait();
    } catch (const threading::BrokenBarrierError& e) {
      if (!std::string(e.what()).empty())
        ++wrong_messages;
      ++broken_errors;
    } catch (const ValueError& e) {
      if (std::string(e.what()) != "action failed")
        ++wrong_messages;
      ++action_errors;
    }
  });
  CHECK(wrong_messages == 0);
  CHECK(action_errors == 1);
  CHECK(broken_errors == n - 1);
  CHECK(barrier.broken());
  REQUIRE_RAISES(barrier.wait(), threading::BrokenBarrierError, "");
}

TEST_CASE("Barrier.wait timeout breaks the barrier for everyone", "[barrier][timeout]") {
  threading::Barrier barrier(3);
  std::atomic<int> broken{0};
  const double T = 0.1;
  const double t0 = time::monotonic();
  run_threads(2, [&] {
    try {
      barrier.wait(T);
    } catch (const threading::BrokenBarrierError&) {
      ++broken;
    }
  });
  const double dt = time::monotonic() - t0;
  CHECK(broken == 2);
  CHECK(dt >= 0.6 * T);
  CHECK(dt < 10 * T);
  CHECK(barrier.broken());
  barrier.reset();
  CHECK_FALSE(barrier.broken());
}

TEST_CASE("Barrier's constructor timeout is the default for wait()", "[barrier][timeout]") {
  threading::Barrier barrier(2, {}, 0.05);
  REQUIRE_RAISES(barrier.wait(), threading::BrokenBarrierError, "");
  CHECK(barrier.broken());
}

TEST_CASE("Barrier.abort makes waiters raise BrokenBarrierError", "[barrier]") {
  threading::Barrier barrier(3);
  std::atomic<int> broken{0};
  auto threads = start_waiters(barrier, 2, broken);
  CHECK(barrier.n_waiting() == 2);
  barrier.abort();
  for (auto& t : threads)
    t.join();
  CHECK(broken == 2);
  CHECK(barrier.broken());
  CHECK(barrier.n_waiting() == 0);
}

TEST_CASE("Barrier.reset releases waiters with BrokenBarrierError and is reusable", "[barrier]") {
  threading::Barrier barrier(3);
  std::atomic<int> broken{0};
  auto threads = start_waiters(barrier, 2, broken);
  barrier.reset();
  for (auto& t : threads)
    t.join();
  CHECK(broken == 2);
  CHECK_FALSE(barrier.broken());
  CHECK(barrier.n_waiting() == 0);
  std::atomic<int> passed{0};
  run_threads(3, [&] {
    barrier.wait();
    ++passed;
  });
  CHECK(passed == 3);
}
