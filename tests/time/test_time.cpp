// Tests for pyconc::time: sleep, time, monotonic, perf_counter.
#include <chrono>

#include <catch2/catch.hpp>
#include <pyconc/time.hpp>

#include "support.hpp"

using namespace pyconc;

TEST_CASE("time.sleep sleeps about as long as asked", "[time]") {
  const double T = 0.05;
  const double t0 = time::monotonic();
  time::sleep(T);
  const double dt = time::monotonic() - t0;
  CHECK(dt >= T);  // a sleep is never shorter
  CHECK(dt < 10 * T);
  const double t1 = time::perf_counter();
  time::sleep(std::chrono::milliseconds(20));
  CHECK(time::perf_counter() - t1 >= 0.02);
  time::sleep(0);
}

TEST_CASE("time.sleep rejects a negative length", "[time][errors]") {
  REQUIRE_RAISES(time::sleep(-1), ValueError, "sleep length must be non-negative");
  REQUIRE_RAISES(time::sleep(std::chrono::seconds(-1)), ValueError, "sleep length must be non-negative");
}

TEST_CASE("time.time is the Unix time and monotonic never goes back", "[time]") {
  CHECK(time::time() > 1.6e9);  // after 2020
  double previous = time::monotonic();
  for (int i = 0; i < 1000; ++i) {
    const double now = time::monotonic();
    CHECK(now >= previous);
    previous = now;
  }
}
