// SPDX-License-Identifier: MIT
// Tests for pyconc::sys's GIL settings: setswitchinterval/getswitchinterval as CPython 3.2+
// (units, truncation, ValueError) and setcheckinterval/getcheckinterval as CPython 2.7.
#include <pyconc/gil.hpp>

#include <catch2/catch.hpp>

#include <chrono>  // std::chrono
#include <limits>  // std::numeric_limits

#include "support.hpp"

using namespace pyconc;

namespace {

// Puts the default back when a test ends.
struct RestoreIntervals {
  RestoreIntervals() = default;
  RestoreIntervals(const RestoreIntervals&) = delete;
  RestoreIntervals& operator=(const RestoreIntervals&) = delete;
  ~RestoreIntervals() {
    sys::setswitchinterval(0.005);
    sys::setcheckinterval(100);
  }
};

}  // namespace

TEST_CASE("getswitchinterval is 5 ms by default", "[gil][sys]") {
  CHECK(sys::getswitchinterval() == 0.005);
  CHECK(sys::getcheckinterval() == 100);
}

TEST_CASE("setswitchinterval stores whole microseconds as CPython does", "[gil][sys]") {
  RestoreIntervals restore;
  sys::setswitchinterval(0.001);
  CHECK(sys::getswitchinterval() == 0.001);
  sys::setswitchinterval(1.0);
  CHECK(sys::getswitchinterval() == 1.0);
  sys::setswitchinterval(1000);
  CHECK(sys::getswitchinterval() == 1000.0);
  sys::setswitchinterval(1e-6);
  CHECK(sys::getswitchinterval() == 1e-6);
  sys::setswitchinterval(1.5e-6);  // truncated, not rounded
  CHECK(sys::getswitchinterval() == 1e-6);
  sys::setswitchinterval(0.0012345);  // CPython: 0.0012339999999999999
  CHECK(sys::getswitchinterval() == 1e-6 * 1234);
  sys::setswitchinterval(1e-9);  // silently 0 (and waits behave as 1 µs)
  CHECK(sys::getswitchinterval() == 0.0);
  sys::setswitchinterval(std::chrono::milliseconds(2));
  CHECK(sys::getswitchinterval() == 0.002);
}

TEST_CASE("setswitchinterval converts huge and NaN intervals as CPython on x86-64", "[gil][sys]") {
  RestoreIntervals restore;
  sys::setswitchinterval(std::numeric_limits<double>::infinity());
  CHECK(sys::getswitchinterval() == 0.0);
  sys::setswitchinterval(1e30);
  CHECK(sys::getswitchinterval() == 0.0);
  sys::setswitchinterval(std::numeric_limits<double>::quiet_NaN());
  CHECK(sys::getswitchinterval() == 1e-6 * 9223372036854775808.0);  // 9223372036854.775
}

TEST_CASE("setswitchinterval rejects zero and negative intervals", "[gil][sys]") {
  RestoreIntervals restore;
  sys::setswitchinterval(0.002);
  REQUIRE_RAISES(sys::setswitchinterval(0), ValueError, "switch interval must be strictly positive");
  REQUIRE_RAISES(sys::setswitchinterval(-1), ValueError, "switch interval must be strictly positive");
  REQUIRE_RAISES(sys::setswitchinterval(-0.0), ValueError, "switch interval must be strictly positive");
  REQUIRE_RAISES(sys::setswitchinterval(-std::numeric_limits<double>::infinity()), ValueError,
                 "switch interval must be strictly positive");
  CHECK(sys::getswitchinterval() == 0.002);  // unchanged
}

TEST_CASE("setcheckinterval stores any int as Python 2.7 does", "[gil][sys]") {
  RestoreIntervals restore;
  sys::setcheckinterval(1000);
  CHECK(sys::getcheckinterval() == 1000);
  sys::setcheckinterval(0);
  CHECK(sys::getcheckinterval() == 0);
  sys::setcheckinterval(-5);
  CHECK(sys::getcheckinterval() == -5);
}
