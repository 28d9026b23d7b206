// SPDX-License-Identifier: MIT
// Tests of pyconc/detail/fork_gate.hpp: no pyconc-internal lock is held by another thread at
// the moment of fork(), so every pyconc object is usable in the child, with the GIL on or off.
// A user's threading::Lock is not internal: it stays held in the child if it was held.
#include <pyconc/concurrent/futures.hpp>
#include <pyconc/detail/fork_gate.hpp>
#include <pyconc/gil.hpp>
#include <pyconc/queue.hpp>
#include <pyconc/threading.hpp>
#include <pyconc/time.hpp>

#include <catch2/catch.hpp>

#include <algorithm>  // std::min
#include <atomic>     // std::atomic
#include <string>     // std::string
#include <vector>     // std::vector

#include "support.hpp"

using namespace pyconc;

namespace {

#if defined(__SANITIZE_ADDRESS__) || PYCONC_TEST_TSAN
constexpr int kForks = 100;  // a sanitizer makes each fork of a big process slow
#else
constexpr int kForks = 500;  // about 7 s here; without the gate, about 1 child in 20 hung
#endif

struct Hammered {
  threading::Lock lock;
  queue::Queue<int> q{64};
  concurrent::futures::ThreadPoolExecutor ex{{.max_workers = 2}};
  std::atomic<bool> stop{false};
  std::atomic<long> rounds{0};
};

// What one hammering thread does until told to stop: the user lock, the queue, the pool.
void hammer(Hammered& h, bool with_gil) {
  while (!h.stop.load(std::memory_order_relaxed)) {
    {
      std::lock_guard with(h.lock);
      h.rounds.fetch_add(1, std::memory_order_relaxed);
    }
    h.q.put(1);
    (void)h.q.get();
    (void)h.ex.submit([] { return 2; }).result();
    if (with_gil)
      gil::checkpoint();
  }
}

// In the child: the parent's queue, a new future and the thread registry must all work.
int use_pyconc_in_child(Hammered& h, int report) {
  pyconc_test::ChildChecks c(report);
  h.q.put(7);
  int got = -1;
  while (got != 7)
    got = h.q.get(true, 2.0);  // other threads' items may still be queued
  concurrent::futures::Future<int> f;
  f.set_result(3);
  CHILD_CHECK(c, f.result(1.0) == 3);
  CHILD_CHECK(c, threading::current_thread().name() == "MainThread");
  CHILD_CHECK(c, threading::active_count() == 1);
  return c.status();
}

// Forks kForks times while four threads hammer; returns the number of children that hung.
int fork_while_hammering(bool with_gil) {
  if (with_gil)
    gil::enable();
  Hammered h;
  std::vector<threading::Thread> threads;
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&h, with_gil] { hammer(h, with_gil); });
  for (auto& t : threads)
    t.start();
  int hung = 0;
  int failed = 0;
  int forks = 0;
  std::string first_failure;
  // At most kForks forks, and no more than 20 s of them: on a loaded machine each fork waits
  // for descheduled threads to leave their sections.
  const pyconc_test::Stopwatch clock;
  for (; forks < kForks && clock.elapsed() < 20.0; ++forks) {
    pyconc_test::ChildOutcome child;
    {
      gil::gil_scoped_release nogil;  // the parent's wait for the child lets the hammers run
      child = pyconc_test::run_in_child([&h](int report) { return use_pyconc_in_child(h, report); }, 5.0);
    }
    if (child.timed_out) {
      ++hung;
    } else if (!child.exited || child.exit_status != 0) {
      if (failed++ == 0)
        first_failure = child.output;
    }
  }
  h.stop = true;
  {
    gil::gil_scoped_release nogil;
    for (auto& t : threads)
      t.join();
  }
  if (with_gil)
    gil::disable();
  INFO("first failure: " << first_failure);
  INFO(forks << " forks");
  CHECK(forks >= std::min(kForks, 50));
  CHECK(failed == 0);
  CHECK(h.rounds.load() > 0);
  return hung;
}

}  // namespace

TEST_CASE("InternalLock excludes and enters the gate only once when nested", "[detail][fork_gate]") {
  detail::InternalLock a;
  detail::InternalLock b;
  a.lock();
  REQUIRE(a.locked());
  REQUIRE_FALSE(a.try_lock());
  b.lock();  // nested section
  REQUIRE(detail::tls_gate->depth.load() == 2);
  b.unlock();
  a.unlock();
  REQUIRE(detail::tls_gate->depth.load() == 0);
  REQUIRE_FALSE(a.locked());
}

TEST_CASE("fork waits until another thread leaves its internal lock, the child finds it free",
          "[detail][fork_gate][fork]") {
  detail::InternalLock internal;
  threading::Lock user;
  threading::Event held;
  threading::Event forking;
  threading::Thread holder([&] {
    internal.lock();
    user.acquire();
    held.set();
    forking.wait();
    time::sleep(0.05);  // still inside while the fork is prepared
    internal.unlock();
  });
  holder.start();
  held.wait();
  forking.set();
  const auto child = pyconc_test::run_in_child([&](int report) {
    pyconc_test::ChildChecks c(report);
    CHILD_CHECK(c, internal.try_lock());  // the gate waited for the holder to let go
    CHILD_CHECK(c, user.locked());        // a user's lock stays as it was, as in CPython
    return c.status();
  });
  holder.join();
  user.release();
  pyconc_test::require_child_passed(child);
}

TEST_CASE("no child hangs in a pyconc lock when forked while threads use a Lock, a Queue and a pool",
          "[detail][fork_gate][fork][stress]") {
  REQUIRE(fork_while_hammering(false) == 0);
}

TEST_CASE("no child hangs in a pyconc lock when forked while threads hammer, with the GIL on",
          "[detail][fork_gate][fork][stress][gil]") {
  REQUIRE(fork_while_hammering(true) == 0);
}
