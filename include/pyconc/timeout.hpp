// SPDX-License-Identifier: MIT
/**
`pyconc/timeout.hpp` — the type of every `timeout=` argument.

Defines:
- `pyconc::Timeout`   Python float seconds (`double`, or any number) or any `std::chrono::duration`.
*/
#ifndef PYCONC_TIMEOUT_HPP_INCLUDED
#define PYCONC_TIMEOUT_HPP_INCLUDED

#include <chrono>       // std::chrono::duration
#include <type_traits>  // std::is_arithmetic_v, std::is_same_v

namespace pyconc {
inline namespace v0 {

/**
A timeout argument, as Python's `timeout=` seconds (`double`, `int`, or any other number) or as
any `std::chrono::duration`: `event.wait(0.5)`, `q.get(true, 2)`, `f.result(100ms)`.

Each call decides what negative and NaN values mean, as CPython's does (see the call's doc).

A `bool` is not a timeout: `event.wait(true)` does not compile (in Python it would wait one
second, which is never what was meant).
*/
struct Timeout {
  double seconds;

  template <class Number>
  requires(std::is_arithmetic_v<Number> && !std::is_same_v<Number, bool>) constexpr Timeout(
      Number s) noexcept  // NOLINT(google-explicit-constructor): implicit on purpose
      : seconds(static_cast<double>(s)) {}

  template <class Rep, class Period>
  constexpr Timeout(std::chrono::duration<Rep, Period> d) noexcept  // NOLINT(google-explicit-constructor)
      : seconds(std::chrono::duration<double>(d).count()) {}

  Timeout(bool) = delete;  // a blocking flag passed where a timeout goes
};

}  // namespace v0
}  // namespace pyconc

#endif  // PYCONC_TIMEOUT_HPP_INCLUDED
