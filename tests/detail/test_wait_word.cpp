// SPDX-License-Identifier: MIT
// Tests of pyconc/detail/wait_word.hpp: the waiter protocol (SleeperCount, WaitWord), Latch,
// and the primitives built on it running in process-shared memory across fork (a Semaphore
// and an Event placed in a MAP_SHARED mapping, woken by the parent).
#include <pyconc/detail/wait_word.hpp>
#include <pyconc/threading/event.hpp>
#include <pyconc/threading/semaphore.hpp>

#include <catch2/catch.hpp>

#include <unistd.h>  // getpid

#include <atomic>   // std::atomic
#include <cstdint>  // std::uint32_t
#include <thread>   // std::thread
#include <vector>   // std::vector

#include "detail/shared_memory_support.hpp"
#include "support.hpp"

using pyconc::detail::Deadline;
using pyconc::detail::FutexScope;

TEST_CASE("SleeperCount counts waiters in and out, and take_one takes a place", "[detail][wait_word]") {
  pyconc::detail::SleeperCount sleepers;
  REQUIRE_FALSE(sleepers.any());
  REQUIRE_FALSE(sleepers.take_one());
  sleepers.enter();
  sleepers.enter();
  REQUIRE(sleepers.any());
  REQUIRE(sleepers.take_one());
  sleepers.leave();
  REQUIRE_FALSE(sleepers.any());
}

TEST_CASE("WaitWord.wait returns at once when the attempt succeeds, without counting a sleeper",
          "[detail][wait_word]") {
  pyconc::detail::WaitWord<> w(7);
  int attempts = 0;
  REQUIRE(w.wait(
      [&](std::uint32_t v) {
        ++attempts;
        return v == 7;
      },
      Deadline::forever()));
  REQUIRE(attempts == 1);
  REQUIRE_FALSE(w.has_sleepers());
}

TEST_CASE("WaitWord.wait with a past deadline attempts once and never sleeps", "[detail][wait_word]") {
  pyconc::detail::WaitWord<> w;
  int attempts = 0;
  REQUIRE_FALSE(w.wait(
      [&](std::uint32_t) {
        ++attempts;
        return false;
      },
      Deadline::after(0)));
  REQUIRE(attempts == 1);
  REQUIRE_FALSE(w.has_sleepers());
}

TEST_CASE("WaitWord.wait times out, then counts nobody", "[detail][wait_word]") {
  pyconc::detail::WaitWord<> w;
  pyconc_test::Stopwatch clock;
  REQUIRE_FALSE(w.wait([](std::uint32_t v) { return v != 0; }, Deadline::after(0.05)));
  REQUIRE_TIMING(clock.elapsed(), 0.05);
  REQUIRE_FALSE(w.has_sleepers());
}

TEST_CASE("WaitWord loses no wake-up: two threads hand a token back and forth 20000 times", "[detail][wait_word]") {
  // Each side waits for its turn with a generous deadline; a lost wake-up would make one side
  // sleep until that deadline and report it.
  pyconc::detail::WaitWord<> turn(0);
  constexpr std::uint32_t kRounds = 20000;
  std::atomic<bool> stuck{false};
  auto side = [&](std::uint32_t parity) {
    for (std::uint32_t i = parity; i < 2 * kRounds; i += 2) {
      if (!turn.wait([i](std::uint32_t v) { return v == i; }, Deadline::after(10.0))) {
        stuck = true;
        return;
      }
      turn.word().store(i + 1, std::memory_order_seq_cst);
      turn.wake_all();
    }
  };
  std::thread odd(side, 1u);
  side(0);
  odd.join();
  REQUIRE_FALSE(stuck);
  REQUIRE(turn.word().load() == 2 * kRounds);
  REQUIRE_FALSE(turn.has_sleepers());
}

TEST_CASE("Latch wakes every waiter once set", "[detail][wait_word]") {
  pyconc::detail::Latch latch;
  REQUIRE_FALSE(latch.is_set());
  REQUIRE_FALSE(latch.wait(Deadline::after(0.01)));
  std::atomic<int> woken{0};
  std::vector<std::thread> waiters;
  for (int i = 0; i < 4; ++i) {
    waiters.emplace_back([&] {
      if (latch.wait(Deadline::after(10.0)))
        ++woken;
    });
  }
  latch.set();
  for (auto& t : waiters)
    t.join();
  REQUIRE(woken == 4);
  REQUIRE(latch.is_set());
}

namespace {

template <class Core>
struct InSharedMemory {
  template <class... Args>
  explicit InSharedMemory(Args... args) : core(args...) {}
  Core core;
  std::atomic<int> child_pid{0};
};

}  // namespace

TEST_CASE("a process-shared SemaphoreCore wakes a forked child blocked in take", "[detail][wait_word][fork]") {
  using Core = pyconc::detail::SemaphoreCore<FutexScope::process_shared>;
  pyconc_test::Shared<InSharedMemory<Core>> shared(0u);
  bool asleep = false;
  bool gave = false;
  const auto child = pyconc_test::run_child_then(
      shared->child_pid,
      [&](int report) {
        pyconc_test::ChildChecks c(report);
        CHILD_CHECK(c, shared->core.take(Deadline::after(5.0)));
        CHILD_CHECK(c, shared->core.value() == 1);  // the parent gave 2
        return c.status();
      },
      [&] { gave = shared->core.give(2, 10); }, asleep);
  REQUIRE(asleep);
  REQUIRE(gave);
  pyconc_test::require_child_passed(child);
  REQUIRE(child.seconds < 5.0);
  REQUIRE(shared->core.value() == 1);
  REQUIRE_FALSE(shared->core.give(10, 10));  // past the bound: refused, unchanged
  REQUIRE(shared->core.value() == 1);
}

TEST_CASE("a process-shared EventCore wakes a forked child blocked in wait", "[detail][wait_word][fork]") {
  using Core = pyconc::detail::EventCore<FutexScope::process_shared>;
  pyconc_test::Shared<InSharedMemory<Core>> shared;
  bool asleep = false;
  const auto child = pyconc_test::run_child_then(
      shared->child_pid,
      [&](int report) {
        pyconc_test::ChildChecks c(report);
        CHILD_CHECK(c, shared->core.wait(Deadline::after(5.0)));
        CHILD_CHECK(c, shared->core.is_set());
        shared->core.clear();
        return c.status();
      },
      [&] { shared->core.set(); }, asleep);
  REQUIRE(asleep);
  pyconc_test::require_child_passed(child);
  REQUIRE(child.seconds < 5.0);
  REQUIRE_FALSE(shared->core.is_set());  // the child's clear() is seen here
}
