// SPDX-License-Identifier: MIT
// Tests of pyconc::Timeout (the public timeout argument) and pyconc::detail::Deadline,
// including what a NaN timeout means per call (CPython differs per call).
#include <pyconc/detail/deadline.hpp>
#include <pyconc/threading/event.hpp>
#include <pyconc/timeout.hpp>

#include <catch2/catch.hpp>

#include <chrono>       // std::chrono
#include <cmath>        // NAN
#include <type_traits>  // std::is_constructible_v

#include "support.hpp"

using pyconc::detail::Deadline;
using pyconc::detail::NanTimeout;
using namespace std::chrono_literals;

// Python's `timeout=` takes seconds or, in C++, any duration; a bool is a blocking flag.
static_assert(std::is_constructible_v<pyconc::Timeout, double>);
static_assert(std::is_constructible_v<pyconc::Timeout, int>);
static_assert(std::is_constructible_v<pyconc::Timeout, std::chrono::milliseconds>);
static_assert(!std::is_constructible_v<pyconc::Timeout, bool>);
template <class E>
concept waits_with = requires(E& e) {
  e.wait(true);
};
static_assert(!waits_with<pyconc::threading::Event>, "event.wait(true) must not compile");

TEST_CASE("Timeout holds seconds from numbers and durations", "[detail][deadline]") {
  REQUIRE(pyconc::Timeout(2).seconds == 2.0);
  REQUIRE(pyconc::Timeout(0.25).seconds == 0.25);
  REQUIRE(pyconc::Timeout(1500ms).seconds == 1.5);
}

TEST_CASE("Deadline::after: zero and negative are past, huge is forever", "[detail][deadline]") {
  REQUIRE(Deadline::after(0).expired());
  REQUIRE(Deadline::after(-1).expired());
  REQUIRE_FALSE(Deadline::after(10).expired());
  REQUIRE(Deadline::after(1e10).is_forever());
  REQUIRE(Deadline::forever().remaining() > 1e9);
  const auto d = Deadline::after(10);
  REQUIRE(d.remaining() > 9);
  REQUIRE(d.remaining() <= 10);
}

TEST_CASE("Deadline::after(NaN) raises, never expires or expires now, as the call says", "[detail][deadline]") {
  REQUIRE_RAISES(Deadline::after(NAN), pyconc::ValueError, "Invalid value NaN (not a number)");
  REQUIRE_RAISES(Deadline::after(NAN, NanTimeout::raises), pyconc::ValueError, "Invalid value NaN (not a number)");
  REQUIRE(Deadline::after(NAN, NanTimeout::never).is_forever());
  REQUIRE(Deadline::after(NAN, NanTimeout::now).expired());
}
