// Tests for threading::Event, after CPython's Lib/test/lock_tests.py (EventTests).
#include <atomic>
#include <vector>

#include <catch2/catch.hpp>
#include <pyconc/threading.hpp>
#include <pyconc/time.hpp>

#include "support.hpp"

using namespace pyconc;

TEST_CASE("Event starts clear, set and clear change is_set", "[event]") {
  threading::Event ev;
  CHECK_FALSE(ev.is_set());
  ev.set();
  CHECK(ev.is_set());
  ev.set();
  CHECK(ev.is_set());
  ev.clear();
  CHECK_FALSE(ev.is_set());
  ev.clear();
  CHECK_FALSE(ev.is_set());
}

TEST_CASE("Event.wait returns true at once when set", "[event]") {
  threading::Event ev;
  ev.set();
  CHECK(ev.wait());
  CHECK(ev.wait(0));
  CHECK(ev.wait(-1));
}

TEST_CASE("Event.wait with a timeout returns false after about that long", "[event][timeout]") {
  threading::Event ev;
  const double T = 0.1;
  const double t0 = time::monotonic();
  CHECK_FALSE(ev.wait(T));
  const double dt = time::monotonic() - t0;
  CHECK(dt >= 0.6 * T);
  CHECK(dt < 10 * T);
  const double t1 = time::monotonic();
  CHECK_FALSE(ev.wait(-1));  // negative: returns at once, no error
  CHECK_FALSE(ev.wait(std::chrono::milliseconds(-5)));
  CHECK(time::monotonic() - t1 < 0.5);
}

TEST_CASE("Event.set wakes every waiter", "[event][blocking]") {
  auto n = GENERATE(1, 5, 16);
  threading::Event ev;
  std::atomic<int> woken{0};
  threading::Barrier all_started(n + 1);
  std::vector<threading::Thread> threads;
  for (int i = 0; i < n; ++i) {
    threads.emplace_back([&] {
      all_started.wait();
      if (ev.wait())
        ++woken;
    });
  }
  for (auto& t : threads)
    t.start();
  all_started.wait();
  time::sleep(0.02);  // give them the chance to (wrongly) return early
  CHECK(woken == 0);
  ev.set();
  for (auto& t : threads)
    t.join();
  CHECK(woken == n);
}

TEST_CASE("Event.wait returns true even if cleared before the waiter ran (gh-57711)", "[event]") {
  for (int round = 0; round < 10; ++round) {
    threading::Event ev;
    threading::Event waiting;
    std::atomic<bool> result{false};
    threading::Thread t([&] {
      waiting.set();
      result = ev.wait(10.0);
    });
    t.start();
    waiting.wait();
    time::sleep(0.05);  // let the waiter block in wait() before the flag flips
    ev.set();
    ev.clear();
    t.join();
    CHECK(result);
  }
}

TEST_CASE("Event ping-pong between two threads", "[event][stress]") {
  threading::Event ping;
  threading::Event pong;
  const int rounds = 2000;
  threading::Thread other([&] {
    for (int i = 0; i < rounds; ++i) {
      ping.wait();
      ping.clear();
      pong.set();
    }
  });
  other.start();
  for (int i = 0; i < rounds; ++i) {
    ping.set();
    REQUIRE(pong.wait(10.0));
    pong.clear();
  }
  other.join();
  CHECK_FALSE(ping.is_set());
}
