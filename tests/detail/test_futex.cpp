// SPDX-License-Identifier: MIT
// Tests of pyconc/detail/futex.hpp and futex_lock.hpp: waits, wakes and deadlines, and the
// process-shared scope that lets a parent wake a forked child sleeping on shared memory.
#include <pyconc/detail/futex.hpp>
#include <pyconc/detail/futex_lock.hpp>

#include <catch2/catch.hpp>

#include <unistd.h>  // getpid

#include <atomic>   // std::atomic
#include <cstdint>  // std::uint32_t
#include <thread>   // std::thread

#include "detail/shared_memory_support.hpp"
#include "support.hpp"

using pyconc::detail::Deadline;
using pyconc::detail::FutexScope;

namespace {

struct SharedWord {
  std::atomic<std::uint32_t> word{0};
  std::atomic<int> child_pid{0};
};

// A child sleeps on a futex word in shared memory with `wait_scope`; once it sleeps, the parent
// changes the word and wakes it with `wake_scope`. Returns what the child saw: whether its wait
// ended before its 2 s deadline.
pyconc_test::ChildOutcome wake_child(FutexScope wait_scope, FutexScope wake_scope, bool& child_asleep) {
  pyconc_test::Shared<SharedWord> shared;
  return pyconc_test::run_child_then(
      shared->child_pid,
      [&](int) {
        const bool woken = pyconc::detail::futex_wait(shared->word, 0, Deadline::after(2.0), wait_scope);
        return woken ? 0 : 1;
      },
      [&] {
        shared->word.store(1);
        pyconc::detail::futex_wake(shared->word, 1, wake_scope);
      },
      child_asleep);
}

}  // namespace

TEST_CASE("futex_wait returns false once its deadline has passed", "[detail][futex]") {
  std::atomic<std::uint32_t> word{0};
  pyconc_test::Stopwatch clock;
  REQUIRE_FALSE(pyconc::detail::futex_wait(word, 0, Deadline::after(0.05)));
  REQUIRE_TIMING(clock.elapsed(), 0.05);
}

TEST_CASE("futex_wait returns at once when the word no longer holds the value", "[detail][futex]") {
  std::atomic<std::uint32_t> word{1};
  REQUIRE(pyconc::detail::futex_wait(word, 0, Deadline::after(10.0)));
}

TEST_CASE("futex_wake wakes a thread sleeping on the word", "[detail][futex]") {
  std::atomic<std::uint32_t> word{0};
  std::atomic<bool> timed_out{false};
  std::thread sleeper([&] {
    while (word.load() == 0) {
      if (!pyconc::detail::futex_wait(word, 0, Deadline::after(10.0))) {
        timed_out = true;
        return;
      }
    }
  });
  word.store(1);
  pyconc::detail::futex_wake(word, 1);
  sleeper.join();
  REQUIRE_FALSE(timed_out);
}

TEST_CASE("a process-shared futex in shared memory is woken across fork", "[detail][futex][fork]") {
  bool asleep = false;
  const auto child = wake_child(FutexScope::process_shared, FutexScope::process_shared, asleep);
  REQUIRE(asleep);
  pyconc_test::require_child_passed(child);
}

TEST_CASE("a process-private futex is not woken from another process", "[detail][futex][fork]") {
  // The reason for the shared scope: the kernel finds a private futex by (process, address),
  // so the parent's private wake never reaches the child, which sleeps until its deadline.
  bool asleep = false;
  const auto child = wake_child(FutexScope::process_private, FutexScope::process_private, asleep);
  REQUIRE(asleep);
  REQUIRE(child.exited);
  REQUIRE(child.exit_status == 1);
  REQUIRE(child.seconds >= 1.5);
}

TEST_CASE("FutexLock excludes, times out, and is released by any thread", "[detail][futex_lock]") {
  pyconc::detail::FutexLock<> lock;
  REQUIRE(lock.try_acquire());
  REQUIRE(lock.locked());
  REQUIRE_FALSE(lock.try_acquire());
  pyconc_test::Stopwatch clock;
  REQUIRE_FALSE(lock.acquire(Deadline::after(0.05)));
  REQUIRE_TIMING(clock.elapsed(), 0.05);
  bool released = false;
  std::thread other([&] { released = lock.release(); });
  other.join();
  REQUIRE(released);
  REQUIRE_FALSE(lock.locked());
  REQUIRE_FALSE(lock.release());  // not locked
}

TEST_CASE("FutexLock hands over to a blocked acquirer", "[detail][futex_lock]") {
  pyconc::detail::RawLock lock;
  lock.lock();
  std::atomic<bool> got{false};
  std::thread waiter([&] {
    got = lock.acquire(Deadline::after(10.0));
    lock.unlock();
  });
  lock.unlock();
  waiter.join();
  REQUIRE(got);
}

TEST_CASE("a process-shared FutexLock excludes a forked child until the parent releases it",
          "[detail][futex_lock][fork]") {
  struct State {
    pyconc::detail::FutexLock<pyconc::detail::WaitPolicy::raw, FutexScope::process_shared> lock;
    std::atomic<int> child_pid{0};
    int counter = 0;  // guarded by lock
  };
  pyconc_test::Shared<State> shared;
  shared->lock.lock();
  shared->counter = 1;
  bool asleep = false;
  const auto child = pyconc_test::run_child_then(
      shared->child_pid,
      [&](int report) {
        pyconc_test::ChildChecks c(report);
        CHILD_CHECK(c, shared->lock.acquire(Deadline::after(5.0)));
        CHILD_CHECK(c, shared->counter == 2);  // the parent's write before release
        shared->counter = 3;
        shared->lock.unlock();
        return c.status();
      },
      [&] {
        shared->counter = 2;
        shared->lock.unlock();
      },
      asleep);
  REQUIRE(asleep);
  pyconc_test::require_child_passed(child);
  REQUIRE(shared->lock.try_acquire());
  REQUIRE(shared->counter == 3);
}
