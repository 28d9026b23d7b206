// SPDX-License-Identifier: MIT
/**
`pyconc/detail/deadline.hpp` — when a wait gives up.

Defines:
- `detail::Clock`      the monotonic clock every timeout is measured with.
- `detail::Deadline`   a point on that clock after which a wait gives up, or never.
- `detail::NanTimeout` what a NaN timeout means to a call (CPython differs per call).
*/
#ifndef PYCONC_DETAIL_DEADLINE_HPP_INCLUDED
#define PYCONC_DETAIL_DEADLINE_HPP_INCLUDED

#include <chrono>  // std::chrono
#include <ctime>   // timespec

#include <pyconc/errors.hpp>

namespace pyconc {
inline namespace v0 {
namespace detail {

using Clock = std::chrono::steady_clock;  // CLOCK_MONOTONIC on Linux

/**
What a NaN timeout means, per call, as CPython behaves (each call's doc says which):
`raises` ValueError("Invalid value NaN (not a number)") as `Lock.acquire`, `Thread.join`,
`time.sleep` and `SimpleQueue.get` do; `never` expires, as `Semaphore.acquire`,
`Queue.get/put`, `Barrier.wait` and `as_completed` behave (CPython loops until the condition
holds); `now` expires at once, as `Event.wait`, `Condition.wait`, `Future.result` and
`wait()` do.
*/
enum class NanTimeout { raises, never, now };

/** A point on the monotonic clock after which a wait gives up; `forever()` never comes. */
class Deadline {
 public:
  /** A deadline that never passes. */
  static Deadline forever() noexcept { return Deadline{}; }

  /**
  The deadline `seconds` from now; zero or negative is already past; NaN as `nan` says.
  Timeouts longer than about 30 years are treated as forever.
  */
  static Deadline after(double seconds, NanTimeout nan = NanTimeout::raises) {
    if (__builtin_isnan(seconds)) {  // std::isnan without <cmath> (about 0.1 s of parsing)
      if (nan == NanTimeout::raises)
        raise<ValueError>("Invalid value NaN (not a number)");
      if (nan == NanTimeout::never)
        return forever();
      seconds = 0;
    }
    if (seconds >= 1e9)
      return forever();
    Deadline d;
    d.forever_ = false;
    d.at_ = Clock::now() +
            std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds > 0 ? seconds : 0.0));
    return d;
  }

  /** The deadline at monotonic time `at`. */
  static Deadline at_time(Clock::time_point at) noexcept {
    Deadline d;
    d.forever_ = false;
    d.at_ = at;
    return d;
  }

  [[nodiscard]] bool is_forever() const noexcept { return forever_; }
  [[nodiscard]] bool expired() const noexcept { return !forever_ && Clock::now() >= at_; }
  [[nodiscard]] Clock::time_point at() const noexcept { return at_; }
  /** Seconds left, never negative; a huge value when forever. */
  [[nodiscard]] double remaining() const noexcept {
    if (forever_)
      return 1e18;
    const double left = std::chrono::duration<double>(at_ - Clock::now()).count();
    return left > 0 ? left : 0.0;
  }
  /** The deadline as an absolute CLOCK_MONOTONIC time (only when not forever). */
  [[nodiscard]] timespec absolute() const noexcept {
    const auto since_epoch = at_.time_since_epoch();
    const auto secs = std::chrono::duration_cast<std::chrono::seconds>(since_epoch);
    timespec ts{};
    ts.tv_sec = static_cast<time_t>(secs.count());
    ts.tv_nsec = static_cast<long>(std::chrono::duration_cast<std::chrono::nanoseconds>(since_epoch - secs).count());
    return ts;
  }
  /** The time left as a relative timespec, never negative (only when not forever). */
  [[nodiscard]] timespec relative() const noexcept {
    const auto left = at_ - Clock::now();
    if (left <= Clock::duration::zero())
      return timespec{};
    const auto secs = std::chrono::duration_cast<std::chrono::seconds>(left);
    timespec ts{};
    ts.tv_sec = static_cast<time_t>(secs.count());
    ts.tv_nsec = static_cast<long>(std::chrono::duration_cast<std::chrono::nanoseconds>(left - secs).count());
    return ts;
  }

 private:
  Deadline() = default;
  bool forever_ = true;
  Clock::time_point at_{};
};

}  // namespace detail
}  // namespace v0
}  // namespace pyconc

#endif  // PYCONC_DETAIL_DEADLINE_HPP_INCLUDED
