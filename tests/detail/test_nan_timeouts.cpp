// SPDX-License-Identifier: MIT
// A NaN timeout, call by call, as CPython 3.11-3.13 behaves (checked by running it): some calls
// raise ValueError("Invalid value NaN (not a number)"), some return at once as if the time were
// up, and some wait as long as it takes (CPython's Python-level loops never see a NaN time run
// out; pyconc sleeps where CPython spins).
#include <pyconc/concurrent/futures.hpp>
#include <pyconc/queue.hpp>
#include <pyconc/threading.hpp>
#include <pyconc/time.hpp>

#include <catch2/catch.hpp>

#include <cmath>  // NAN

#include "support.hpp"

using namespace pyconc;

namespace {
constexpr double kNan = NAN;
const char* const kNanMessage = "Invalid value NaN (not a number)";
}  // namespace

TEST_CASE("NaN raises ValueError: Lock.acquire, RLock.acquire, Thread.join, time.sleep, SimpleQueue.get", "[nan]") {
  threading::Lock lock;
  REQUIRE_RAISES(lock.acquire(true, kNan), ValueError, kNanMessage);
  lock.acquire();
  REQUIRE_RAISES(lock.acquire(true, kNan), ValueError, kNanMessage);
  threading::RLock rlock;
  REQUIRE_RAISES(rlock.acquire(true, kNan), ValueError, kNanMessage);
  threading::Thread t([] {});
  t.start();
  REQUIRE_RAISES(t.join(kNan), ValueError, kNanMessage);
  t.join();
  REQUIRE_RAISES(time::sleep(kNan), ValueError, kNanMessage);
  queue::SimpleQueue<int> sq;
  REQUIRE_RAISES(sq.get(true, kNan), ValueError, kNanMessage);
}

TEST_CASE("NaN returns at once: Event.wait, Condition.wait, Future.result and exception, futures.wait", "[nan]") {
  pyconc_test::Stopwatch clock;
  threading::Event event;
  REQUIRE_FALSE(event.wait(kNan));
  threading::Condition cond;
  {
    std::lock_guard with(cond);
    REQUIRE_FALSE(cond.wait(kNan));
  }
  concurrent::futures::Future<int> f;
  REQUIRE_RAISES(f.result(kNan), TimeoutError, "");
  REQUIRE_RAISES(f.exception(kNan), TimeoutError, "");
  const auto sets = concurrent::futures::wait(std::vector{f}, kNan);
  REQUIRE(sets.done.empty());
  REQUIRE(sets.not_done.size() == 1);
  REQUIRE(clock.elapsed() < 1.0);
}

TEST_CASE("NaN waits as long as it takes: Semaphore.acquire, Condition.wait_for, Barrier.wait, Queue.get/put",
          "[nan]") {
  SECTION("Semaphore.acquire") {
    threading::Semaphore sem(0);
    threading::Thread releaser([&] { sem.release(); });
    releaser.start();
    REQUIRE(sem.acquire(true, kNan));
    releaser.join();
  }
  SECTION("Condition.wait_for") {
    threading::Condition cond;
    bool ready = false;
    threading::Thread setter([&] {
      std::lock_guard with(cond);
      ready = true;
      cond.notify_all();
    });
    {
      std::lock_guard with(cond);
      setter.start();
      REQUIRE(cond.wait_for([&] { return ready; }, kNan));
    }
    setter.join();
  }
  SECTION("Barrier.wait") {
    threading::Barrier barrier(2);
    threading::Thread other([&] { barrier.wait(); });
    other.start();
    const auto index = barrier.wait(kNan);
    REQUIRE(index <= 1);
    other.join();
  }
  SECTION("Queue.get and a full Queue's put") {
    queue::Queue<int> q(1);
    threading::Thread producer([&] { q.put(1); });
    producer.start();
    REQUIRE(q.get(true, kNan) == 1);
    producer.join();
    q.put(2);
    threading::Thread consumer([&] { (void)q.get(); });
    consumer.start();
    q.put(3, true, kNan);  // waits for the consumer to make room
    consumer.join();
    REQUIRE(q.get() == 3);
  }
}

TEST_CASE("NaN: as_completed waits as long as it takes, map's results time out at once", "[nan]") {
  concurrent::futures::ThreadPoolExecutor ex({.max_workers = 1});
  threading::Event go;
  auto later = ex.submit([&] {
    go.wait();
    return 7;
  });
  threading::Timer opener(0.05, [&] { go.set(); });
  opener.start();
  int seen = 0;
  for (auto& f : concurrent::futures::as_completed(std::vector{later}, kNan))
    seen += f.result();
  REQUIRE(seen == 7);
  opener.join();
  go.clear();
  auto results = ex.map(
      {.timeout = kNan},
      [&](int x) {
        go.wait();
        return x;
      },
      std::vector{1});
  REQUIRE_THROWS_AS(*results.begin(), TimeoutError);
  go.set();
}
