// SPDX-License-Identifier: MIT
// Tests of pyconc::threading in a child process made by fork() (Python: threading._after_fork;
// reference section 3.4). Each child checks and reports through a pipe and its exit status.
//
// ThreadSanitizer cannot start threads in a child forked from a multi-threaded process, so
// children that start threads are forked while the parent has a single thread; under TSan,
// the children of multi-threaded parents skip starting threads.
#include <pyconc/threading.hpp>

#include <catch2/catch.hpp>

#include <atomic>    // std::atomic
#include <optional>  // std::optional
#include <string>    // std::string
#include <thread>    // std::thread
#include <vector>    // std::vector

#include "support.hpp"

using namespace pyconc;

namespace {

// Joins `t` and waits until its OS thread is gone, so that the process is single-threaded again.
void join_and_reap(threading::Thread& t) {
  t.join();
  const auto native = t.native_id();
  REQUIRE(native.has_value());
  REQUIRE(pyconc_test::wait_task_gone(*native));
}

// Starts a thread in the calling (child) process and checks it runs and is counted.
void check_new_thread_runs(pyconc_test::ChildChecks& c) {
  threading::Event release;
  std::atomic<int> runs{0};
  threading::Thread t(
      [&] {
        ++runs;
        release.wait();
      },
      {.name = "ChildThread"});
  t.start();
  CHILD_CHECK(c, t.is_alive());
  CHILD_CHECK(c, threading::active_count() == 2);
  release.set();
  t.join();
  CHILD_CHECK(c, runs == 1);
  CHILD_CHECK(c, !t.is_alive());
  CHILD_CHECK(c, threading::active_count() == 1);
}

// Lock, RLock, Event, Condition and Semaphore work in the child.
void check_primitives_work(pyconc_test::ChildChecks& c) {
  threading::Lock lock;
  CHILD_CHECK(c, lock.acquire(false));
  CHILD_CHECK(c, lock.locked());
  CHILD_CHECK(c, !lock.acquire(true, 0.01));
  lock.release();
  CHILD_CHECK(c, !lock.locked());

  threading::RLock rlock;
  rlock.acquire();
  rlock.acquire();
  rlock.release();
  rlock.release();

  threading::Event event;
  CHILD_CHECK(c, !event.wait(0.01));
  event.set();
  CHILD_CHECK(c, event.wait(0.01));

  threading::Condition cond;
  cond.acquire();
  CHILD_CHECK(c, !cond.wait(0.01));
  cond.release();

  threading::Semaphore sem(1);
  CHILD_CHECK(c, sem.acquire(false));
  CHILD_CHECK(c, !sem.acquire(false));
  sem.release();
}

}  // namespace

TEST_CASE("fork: only the forking thread remains in the child", "[fork]") {
  threading::Event release;
  threading::Event blocked_running;
  threading::Thread blocked(
      [&] {
        blocked_running.set();
        release.wait();
      },
      {.name = "Blocked"});
  blocked.start();
  // Fork only once the new thread has finished starting: a sanitizer's allocator lock that a
  // starting thread holds at the fork stays held in the child, whose own new thread would wait
  // for it for ever (the child below starts one).
  blocked_running.wait();

  threading::Event foreign_registered;
  std::optional<threading::Thread> dummy;
  std::thread foreign([&] {
    dummy = threading::current_thread();  // a Dummy-N in the parent's registry
    foreign_registered.set();
    release.wait();
  });
  foreign_registered.wait();
  REQUIRE(threading::active_count() >= 3);
  const std::string blocked_repr_stopped = "<Thread(Blocked, stopped " + std::to_string(*blocked.ident()) + ")>";

  const auto child = pyconc_test::run_in_child([&](int fd) {
    pyconc_test::ChildChecks c(fd);
    const threading::Thread me = threading::current_thread();
    CHILD_CHECK(c, threading::active_count() == 1);
    const auto all = threading::enumerate();
    CHILD_CHECK(c, all.size() == 1 && all[0] == me);
    CHILD_CHECK(c, threading::main_thread() == me);
    CHILD_CHECK(c, me.name() == "MainThread");
    CHILD_CHECK(c, me.is_alive());
    CHILD_CHECK(c, me.ident() == std::optional<unsigned long>(threading::get_ident()));

    CHILD_CHECK(c, !blocked.is_alive());
    CHILD_CHECK(c, blocked.repr() == blocked_repr_stopped);
    blocked.join();  // does not block: the thread does not exist here
    blocked.join(5.0);
    CHILD_CHECK(c, !dummy->is_alive());

    check_primitives_work(c);
#if !PYCONC_TEST_TSAN
    check_new_thread_runs(c);
#endif
    return c.status();
  });

  // The parent is untouched.
  REQUIRE(blocked.is_alive());
  REQUIRE(dummy->is_alive());
  release.set();
  foreign.join();
  join_and_reap(blocked);
  pyconc_test::require_child_passed(child);
}

TEST_CASE("fork: a pyconc thread that forks becomes the child's main thread and keeps its name", "[fork]") {
  threading::Thread original_main = threading::main_thread();
  pyconc_test::ChildOutcome child;
  threading::Thread forker(
      [&] {
        child = pyconc_test::run_in_child([&](int fd) {
          pyconc_test::ChildChecks c(fd);
          const threading::Thread me = threading::current_thread();
          CHILD_CHECK(c, me.name() == "Forker");
          CHILD_CHECK(c, threading::main_thread() == me);
          CHILD_CHECK(c, threading::main_thread().name() == "Forker");
          CHILD_CHECK(c, me.is_alive());
          CHILD_CHECK(c, me.ident() == std::optional<unsigned long>(threading::get_ident()));
          CHILD_CHECK(c, threading::active_count() == 1);
          const auto all = threading::enumerate();
          CHILD_CHECK(c, all.size() == 1 && all[0] == me);

          CHILD_CHECK(c, !original_main.is_alive());
          original_main.join();  // does not block
          original_main.join(5.0);

          check_primitives_work(c);
#if !PYCONC_TEST_TSAN
          check_new_thread_runs(c);
#endif
          return c.status();
        });
      },
      {.name = "Forker"});
  forker.start();
  join_and_reap(forker);
  REQUIRE(threading::main_thread() == original_main);
  REQUIRE(threading::main_thread().name() == "MainThread");
  pyconc_test::require_child_passed(child);
}

TEST_CASE("fork: the library works in a child of a single-threaded parent", "[fork]") {
  // Threads of earlier tests are gone (join_and_reap), so this parent has one thread.
  threading::Thread before;
  const std::string before_name = before.name();
  REQUIRE(before_name.rfind("Thread-", 0) == 0);
  const std::string next_name = "Thread-" + std::to_string(std::stol(before_name.substr(7)) + 1);
  const auto child = pyconc_test::run_in_child([&](int fd) {
    pyconc_test::ChildChecks c(fd);
    CHILD_CHECK(c, threading::active_count() == 1);
    CHILD_CHECK(c, threading::main_thread() == threading::current_thread());
    CHILD_CHECK(c, threading::main_thread().name() == "MainThread");
    check_new_thread_runs(c);
    check_primitives_work(c);

    // Unnamed threads go on numbering from the parent's counter.
    threading::Thread next;
    CHILD_CHECK(c, next.name() == next_name);

    // A Timer, a Barrier and local work across threads of the child.
    threading::Event fired;
    threading::Timer timer(0.01, [&] { fired.set(); });
    timer.start();
    CHILD_CHECK(c, fired.wait(5.0));
    timer.join();

    threading::Barrier barrier(2);
    threading::local<int> value;
    *value = 1;
    int seen_in_thread = -1;
    threading::Thread partner([&] {
      seen_in_thread = *value;
      barrier.wait();
    });
    partner.start();
    barrier.wait();
    partner.join();
    CHILD_CHECK(c, seen_in_thread == 0);
    CHILD_CHECK(c, *value == 1);
    return c.status();
  });
  pyconc_test::require_child_passed(child);
}

TEST_CASE("fork: a user Lock held by another thread stays locked in the child", "[fork]") {
  // As CPython: only the library's own locks are reinitialised after fork.
  threading::Lock user_lock;
  threading::Event holding;
  threading::Event release;
  threading::Thread holder([&] {
    user_lock.acquire();
    holding.set();
    release.wait();
    user_lock.release();
  });
  holder.start();
  holding.wait();

  const auto child = pyconc_test::run_in_child([&](int fd) {
    pyconc_test::ChildChecks c(fd);
    CHILD_CHECK(c, user_lock.locked());
    CHILD_CHECK(c, !user_lock.acquire(false));
    CHILD_CHECK(c, !user_lock.acquire(true, 0.05));
    // The library's own state is usable all the same.
    CHILD_CHECK(c, threading::active_count() == 1);
    CHILD_CHECK(c, !holder.is_alive());
    holder.join();
    return c.status();
  });

  release.set();
  join_and_reap(holder);
  REQUIRE_FALSE(user_lock.locked());
  pyconc_test::require_child_passed(child);
}

TEST_CASE("fork: a thread's name can be read in the child while that thread was reading it at fork time", "[fork]") {
  // CPython: Thread.name is a plain attribute; reading it in a forked child never blocks, whatever
  // other threads were doing at fork time. pyconc guards each name with a lock and reinitialises
  // only the forking thread's one in the child, so a lock held at fork time stays held there.
  std::atomic<bool> stop{false};
  threading::Event reading;
  const std::string name = "Logger-with-a-name-longer-than-a-short-string";
  threading::Thread logger(
      [&] {
        reading.set();
        while (!stop.load(std::memory_order_relaxed))
          static_cast<void>(threading::current_thread().name());
      },
      {.name = name});
  logger.start();
  reading.wait();

  int forks = 0;
  int hung = 0;
  int wrong = 0;
  const pyconc_test::Stopwatch clock;
  while (clock.elapsed() < 1.0 && hung == 0) {
    ++forks;
    const auto child = pyconc_test::run_in_child([&](int) { return logger.name() == name ? 0 : 1; }, 0.3);
    if (child.timed_out) {
      ++hung;
    } else if (!child.exited || child.exit_status != 0) {
      ++wrong;
    }
  }
  stop = true;
  join_and_reap(logger);
  INFO(forks << " forks, " << hung << " children blocked reading the name");
  REQUIRE(wrong == 0);
  REQUIRE(hung == 0);
}
