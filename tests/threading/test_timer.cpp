// SPDX-License-Identifier: MIT
// Tests of pyconc::threading::Timer (Python: threading.Timer).
#include <pyconc/threading.hpp>

#include <catch2/catch.hpp>

#include <atomic>  // std::atomic
#include <chrono>  // std::chrono
#include <string>  // std::string
#include <tuple>   // std::tuple

#include "support.hpp"

using namespace pyconc;

namespace {

long thread_number(const std::string& name) {
  INFO("name: " << name);
  REQUIRE(name.rfind("Thread-", 0) == 0);
  return std::stol(name.substr(7));
}

}  // namespace

TEST_CASE("Timer calls its function after the interval", "[timer][timing]") {
  threading::Event fired;
  double fired_after = -1;
  const pyconc_test::Stopwatch clock;
  threading::Timer t(0.1, [&] {
    fired_after = clock.elapsed();
    fired.set();
  });
  t.start();
  REQUIRE(fired.wait(5.0));
  t.join();
  REQUIRE_TIMING(fired_after, 0.1);
  REQUIRE_FALSE(t.is_alive());
}

TEST_CASE("Timer takes its interval as a std::chrono duration", "[timer][timing]") {
  threading::Event fired;
  double fired_after = -1;
  const pyconc_test::Stopwatch clock;
  threading::Timer t(std::chrono::milliseconds(100), [&] {
    fired_after = clock.elapsed();
    fired.set();
  });
  t.start();
  REQUIRE(fired.wait(5.0));
  t.join();
  REQUIRE_TIMING(fired_after, 0.1);
}

TEST_CASE("Timer does not call its function before the interval", "[timer]") {
  std::atomic<int> calls{0};
  threading::Timer t(30.0, [&] { ++calls; });
  t.start();
  t.join(0.05);  // gives the timer the chance to (wrongly) fire early
  REQUIRE(t.is_alive());
  REQUIRE(calls == 0);
  t.cancel();
  t.join(5.0);
  REQUIRE_FALSE(t.is_alive());
  REQUIRE(calls == 0);
}

TEST_CASE("Timer.cancel before it fires prevents the call and ends the thread promptly", "[timer]") {
  std::atomic<int> calls{0};
  threading::Timer t(30.0, [&] { ++calls; });
  t.start();
  REQUIRE(t.is_alive());
  t.cancel();
  const pyconc_test::Stopwatch clock;
  t.join(5.0);
  REQUIRE_FALSE(t.is_alive());  // ended long before its 30 s interval
  REQUIRE(clock.elapsed() < 5.0);
  REQUIRE(calls == 0);
}

TEST_CASE("Timer.cancel before start prevents the call", "[timer]") {
  std::atomic<int> calls{0};
  threading::Timer t(30.0, [&] { ++calls; });
  t.cancel();
  t.start();
  t.join(5.0);
  REQUIRE_FALSE(t.is_alive());
  REQUIRE(calls == 0);
}

TEST_CASE("Timer.cancel from another thread prevents the call", "[timer]") {
  std::atomic<int> calls{0};
  threading::Timer timer(30.0, [&] { ++calls; });
  timer.start();
  threading::Thread canceller([&] { timer.cancel(); });
  canceller.start();
  canceller.join();
  timer.join(5.0);
  REQUIRE_FALSE(timer.is_alive());
  REQUIRE(calls == 0);
}

TEST_CASE("Timer.cancel after it fired changes nothing", "[timer]") {
  std::atomic<int> calls{0};
  threading::Timer t(0.0, [&] { ++calls; });
  t.start();
  t.join();
  REQUIRE(calls == 1);
  t.cancel();
  t.cancel();
  REQUIRE(calls == 1);
  REQUIRE_FALSE(t.is_alive());
}

TEST_CASE("Timer with a zero or negative interval fires at once", "[timer]") {
  std::atomic<int> calls{0};
  threading::Timer zero(0.0, [&] { ++calls; });
  threading::Timer negative(-1.0, [&] { ++calls; });
  const pyconc_test::Stopwatch clock;
  zero.start();
  negative.start();
  zero.join(5.0);
  negative.join(5.0);
  REQUIRE_FALSE(zero.is_alive());
  REQUIRE_FALSE(negative.is_alive());
  REQUIRE(calls == 2);
  REQUIRE(clock.elapsed() < 5.0);
}

TEST_CASE("Timer passes an args tuple to its function", "[timer]") {
  int number = 0;
  std::string text;
  threading::Timer t(
      0.01,
      [&](int n, const std::string& s) {
        number = n;
        text = s;
      },
      std::tuple{3, std::string("three")});
  t.start();
  t.join();
  REQUIRE(number == 3);
  REQUIRE(text == "three");
}

TEST_CASE("Timer is named Thread-N from the counter unnamed threads share", "[timer]") {
  threading::Thread before;
  threading::Timer timer(1.0, [] {});
  threading::Thread after;
  const long n = thread_number(before.name());
  REQUIRE(thread_number(timer.name()) == n + 1);
  REQUIRE(thread_number(after.name()) == n + 2);
}

TEST_CASE("Timer is a Thread", "[timer]") {
  std::atomic<int> calls{0};
  threading::Timer timer(0.01, [&] { ++calls; });
  REQUIRE_FALSE(timer.daemon());  // inherited from the main thread
  REQUIRE_FALSE(timer.ident().has_value());
  threading::Thread handle = timer;  // a handle to the same thread
  timer.start();
  REQUIRE(handle.is_alive() == timer.is_alive());
  REQUIRE(handle.ident() == timer.ident());
  REQUIRE_RAISES(timer.start(), RuntimeError, "threads can only be started once");
  handle.join();
  REQUIRE_FALSE(timer.is_alive());
  REQUIRE(calls == 1);
}

TEST_CASE("Timer set to daemon before start", "[timer]") {
  threading::Event fired;
  threading::Timer timer(0.01, [&] { fired.set(); });
  timer.daemon(true);
  REQUIRE(timer.daemon());
  timer.start();
  REQUIRE_RAISES(timer.daemon(false), RuntimeError, "cannot set daemon status of active thread");
  REQUIRE(fired.wait(5.0));
  timer.join();
}
