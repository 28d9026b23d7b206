// SPDX-License-Identifier: MIT
/**
`pyconc/detail/wait.hpp` — the one way pyconc waits.

Defines:
- `detail::Timeout`   a timeout argument: Python float seconds or any `std::chrono::duration`.
- `detail::Deadline`  a point on the monotonic clock after which a wait gives up.
- `detail::wait_on`   block while an atomic word holds a value, until woken or the deadline;
                      releases the GIL meanwhile when the caller holds it (see `gil.hpp`).
- `detail::futex_wait`  the same without the GIL hook (for the GIL's own waits).
- `detail::gil_on`, `detail::gil_wait_hook`   how `gil.hpp` plugs into `wait_on`.
- `detail::wake_one`, `wake_all`, `wake_n`   wake threads blocked in `wait_on`.
- `detail::Latch`     a one-shot flag to wait for, with no system call unless someone sleeps.

Every blocking call of the library (lock acquire, condition/event wait, join, sleep, ...)
ends up in `wait_on`, so timeouts are computed in one place against one clock. Uncontended
fast paths never come here: they are atomics only. On Linux the word is a futex.
*/
#ifndef PYCONC_DETAIL_WAIT_HPP_INCLUDED
#define PYCONC_DETAIL_WAIT_HPP_INCLUDED

#include <atomic>       // std::atomic
#include <cerrno>       // errno
#include <chrono>       // std::chrono
#include <climits>      // INT_MAX
#include <cmath>        // std::isnan
#include <cstdint>      // std::uint32_t
#include <ctime>        // timespec
#include <type_traits>  // std::is_arithmetic_v

#include <linux/futex.h>  // FUTEX_*
#include <sys/syscall.h>  // SYS_futex
#include <unistd.h>       // syscall

#include <pyconc/errors.hpp>

namespace pyconc {
inline namespace v0 {
namespace detail {

using Clock = std::chrono::steady_clock;  // CLOCK_MONOTONIC on Linux

/**
A timeout argument, as Python's `timeout=` seconds (`double`, or any arithmetic value) or as
any `std::chrono::duration`. Each call decides what negative values mean, as CPython does.
*/
struct Timeout {
  double seconds;

  template <class Arith>
  requires std::is_arithmetic_v<Arith>
  constexpr Timeout(Arith s) noexcept : seconds(static_cast<double>(s)) {}  // NOLINT: implicit on purpose

  template <class Rep, class Period>
  constexpr Timeout(std::chrono::duration<Rep, Period> d) noexcept  // NOLINT: implicit on purpose
      : seconds(std::chrono::duration<double>(d).count()) {}
};

/** A point on the monotonic clock after which a wait gives up; `forever()` never comes. */
class Deadline {
 public:
  /** A deadline that never passes. */
  static Deadline forever() noexcept { return Deadline{}; }

  /**
  The deadline `seconds` from now; zero or negative is already past. Raises `ValueError` on NaN.
  Timeouts longer than about 30 years are treated as forever.
  */
  static Deadline after(double seconds) {
    if (std::isnan(seconds))
      raise<ValueError>("Invalid value NaN (not a number)");
    if (seconds >= 1e9)
      return forever();
    Deadline d;
    d.forever_ = false;
    d.at_ = Clock::now() +
            std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds > 0 ? seconds : 0.0));
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

 private:
  Deadline() = default;
  bool forever_ = true;
  Clock::time_point at_{};
};

namespace futex {

inline long call(std::atomic<std::uint32_t>* word, int op, std::uint32_t value, const timespec* ts,
                 std::uint32_t bitset) noexcept {
  static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t));
  return ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), op | FUTEX_PRIVATE_FLAG, value, ts, nullptr,
                   bitset);
}

}  // namespace futex

/**
Blocks while `word == expected`, until a `wake_*` call, a spurious wake-up, or `deadline`.
Returns `false` only when the deadline has passed. Never touches the GIL: this is the wait
the GIL itself uses. Blocks. Thread-safe.
*/
inline bool futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected, const Deadline& deadline) noexcept {
  if (deadline.is_forever()) {
    futex::call(&word, FUTEX_WAIT_BITSET, expected, nullptr, FUTEX_BITSET_MATCH_ANY);
    return true;
  }
  const auto since_epoch = deadline.at().time_since_epoch();
  const auto secs = std::chrono::duration_cast<std::chrono::seconds>(since_epoch);
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(secs.count());
  ts.tv_nsec = static_cast<long>(std::chrono::duration_cast<std::chrono::nanoseconds>(since_epoch - secs).count());
  // FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC time: no drift across spurious wake-ups.
  const long rc = futex::call(&word, FUTEX_WAIT_BITSET, expected, &ts, FUTEX_BITSET_MATCH_ANY);
  if (rc == -1 && errno == ETIMEDOUT)
    return false;
  return !deadline.expired();
}

/**
Nonzero while the GIL is enabled (`gil.hpp` keeps its generation number here). With the GIL
off, this one relaxed load is all that `wait_on` and `gil::checkpoint()` pay for it.
*/
inline std::atomic<std::uint32_t> gil_on{0};

/** Installed by `gil.hpp` before it first sets `gil_on`: `futex_wait` with the GIL released. */
using GilWaitHook = bool (*)(std::atomic<std::uint32_t>&, std::uint32_t, const Deadline&) noexcept;
inline std::atomic<GilWaitHook> gil_wait_hook{nullptr};

/**
Blocks while `word == expected`, until a `wake_*` call, a spurious wake-up, or `deadline`.
Returns `false` only when the deadline has passed; callers re-check their condition and loop.
A caller holding the GIL releases it for the wait and takes it back afterwards (CPython's
`Py_BEGIN_ALLOW_THREADS`). Blocks. Thread-safe.
*/
inline bool wait_on(std::atomic<std::uint32_t>& word, std::uint32_t expected, const Deadline& deadline) {
  if (gil_on.load(std::memory_order_relaxed) != 0) [[unlikely]] {
    if (const GilWaitHook hook = gil_wait_hook.load(std::memory_order_acquire))
      return hook(word, expected, deadline);
  }
  return futex_wait(word, expected, deadline);
}

/** Wakes one thread blocked in `wait_on(word, ...)`. Never blocks. Thread-safe. */
inline void wake_one(std::atomic<std::uint32_t>& word) noexcept {
  futex::call(&word, FUTEX_WAKE, 1, nullptr, 0);
}

/** Wakes up to `n` threads blocked in `wait_on(word, ...)`. Never blocks. Thread-safe. */
inline void wake_n(std::atomic<std::uint32_t>& word, std::uint32_t n) noexcept {
  futex::call(&word, FUTEX_WAKE, n > INT_MAX ? INT_MAX : n, nullptr, 0);
}

/** Wakes every thread blocked in `wait_on(word, ...)`. Never blocks. Thread-safe. */
inline void wake_all(std::atomic<std::uint32_t>& word) noexcept {
  futex::call(&word, FUTEX_WAKE, INT_MAX, nullptr, 0);
}

/**
A one-shot flag: `set()` once, `wait()` until it is set. Neither side makes a system call
unless a waiter actually sleeps. Thread-safe.
*/
class Latch {
 public:
  [[nodiscard]] bool is_set() const noexcept { return word_.load(std::memory_order_acquire) == kSet; }

  /** Sets the flag and wakes every waiter. Never blocks. */
  void set() noexcept {
    if (word_.exchange(kSet, std::memory_order_acq_rel) == kWaited)
      wake_all(word_);
  }

  /** Waits until set or `deadline`; returns whether it is set. Blocks. */
  bool wait(const Deadline& deadline) {
    std::uint32_t w = word_.load(std::memory_order_acquire);
    while (w != kSet) {
      if (w == kClear &&
          !word_.compare_exchange_weak(w, kWaited, std::memory_order_acq_rel, std::memory_order_acquire)) {
        continue;  // `w` was reloaded: look again
      }
      if (!wait_on(word_, kWaited, deadline))
        return is_set();
      w = word_.load(std::memory_order_acquire);
    }
    return true;
  }

 private:
  static constexpr std::uint32_t kClear = 0;
  static constexpr std::uint32_t kSet = 1;
  static constexpr std::uint32_t kWaited = 2;  // clear, and someone sleeps on it
  std::atomic<std::uint32_t> word_{kClear};
};

}  // namespace detail
}  // namespace v0
}  // namespace pyconc

#endif  // PYCONC_DETAIL_WAIT_HPP_INCLUDED
