// SPDX-License-Identifier: MIT
/**
`pyconc/time.hpp` — the part of Python's `time` module that threaded programs use.

Defines:
- `pyconc::time::sleep`         suspend the calling thread.
- `pyconc::time::time`          seconds since the Unix epoch (wall clock).
- `pyconc::time::monotonic`     seconds on a clock that never goes back.
- `pyconc::time::perf_counter`  seconds on the highest-resolution monotonic clock.
*/
#ifndef PYCONC_TIME_HPP_INCLUDED
#define PYCONC_TIME_HPP_INCLUDED

#include <atomic>   // std::atomic
#include <chrono>   // std::chrono
#include <cstdint>  // std::uint32_t

#include <pyconc/detail/wait.hpp>
#include <pyconc/errors.hpp>

namespace pyconc {
inline namespace v0 {
namespace time {

/**
Python: `time.sleep(secs)`. Suspends the calling thread for `secs` seconds (a `double` or a
`std::chrono::duration`). Blocks. Raises `ValueError("sleep length must be non-negative")`
when `secs < 0`.
*/
inline void sleep(Timeout secs) {
  if (secs.seconds < 0)
    pyconc::detail::raise<ValueError>("sleep length must be non-negative");
  const auto deadline = pyconc::detail::Deadline::after(secs.seconds);
  std::atomic<std::uint32_t> never_woken{0};  // nobody wakes it: only the deadline ends the wait
  while (pyconc::detail::wait_on(never_woken, 0, deadline)) {
  }
}

/** Python: `time.time()`. Seconds since 1970-01-01 UTC, as a `double`. */
[[nodiscard]] inline double time() noexcept {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

/** Python: `time.monotonic()`. Seconds on a clock that never goes back (CLOCK_MONOTONIC). */
[[nodiscard]] inline double monotonic() noexcept {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

/** Python: `time.perf_counter()`. Seconds on the finest monotonic clock; only differences matter. */
[[nodiscard]] inline double perf_counter() noexcept {
  return monotonic();
}

}  // namespace time
}  // namespace v0
}  // namespace pyconc

#endif  // PYCONC_TIME_HPP_INCLUDED
