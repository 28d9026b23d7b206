// SPDX-License-Identifier: MIT
/**
`pyconc/threading/semaphore.hpp` — `threading.Semaphore` and `threading.BoundedSemaphore`.

Defines:
- `threading::Semaphore`          a counter that `acquire()` decrements, blocking at zero.
- `threading::BoundedSemaphore`   a Semaphore whose value may never exceed its initial value.
- `detail::SemaphoreCore`         the counter and its waiters, private or process-shared.
*/
#ifndef PYCONC_THREADING_SEMAPHORE_HPP_INCLUDED
#define PYCONC_THREADING_SEMAPHORE_HPP_INCLUDED

#include <atomic>   // std::atomic
#include <cstdint>  // std::uint32_t
#include <limits>   // std::numeric_limits

#include <pyconc/detail/deadline.hpp>
#include <pyconc/detail/futex.hpp>
#include <pyconc/detail/wait_word.hpp>
#include <pyconc/errors.hpp>
#include <pyconc/timeout.hpp>

namespace pyconc {
inline namespace v0 {
namespace detail {

/**
A semaphore's counter and its waiters, on the waiter protocol of `detail/wait_word.hpp`: the
value is the futex word, so `take` and `give` are one atomic instruction each while nobody
waits. With `FutexScope::process_shared` it works in memory several processes map.
*/
template <FutexScope Scope = FutexScope::process_private>
class SemaphoreCore {
 public:
  constexpr explicit SemaphoreCore(std::uint32_t value) noexcept : value_(value) {}

  /** Takes a unit if there is one. Never blocks. */
  [[nodiscard]] bool try_take() noexcept {
    auto& v = value_.word();
    std::uint32_t n = v.load(std::memory_order_relaxed);
    while (n != 0) {
      if (v.compare_exchange_weak(n, n - 1, std::memory_order_acquire, std::memory_order_relaxed))
        return true;
    }
    return false;
  }

  /** Takes a unit, waiting for one until `deadline`; returns whether it took one. Blocks. */
  bool take(const Deadline& deadline) {
    return value_.wait([this](std::uint32_t) { return try_take(); }, deadline);
  }

  /**
  Adds `n` unless that would pass `bound`; returns whether it did. Wakes up to `n` waiters.
  Never blocks.
  */
  bool give(std::uint32_t n, std::uint32_t bound) noexcept {
    auto& v = value_.word();
    std::uint32_t now = v.load(std::memory_order_relaxed);
    do {
      if (n > bound - now)
        return false;
    } while (!v.compare_exchange_weak(now, now + n, std::memory_order_seq_cst, std::memory_order_relaxed));
    value_.wake_n(n);
    return true;
  }

  [[nodiscard]] std::uint32_t value() const noexcept { return value_.word().load(std::memory_order_relaxed); }

 private:
  WaitWord<Scope> value_;
};

}  // namespace detail

namespace threading {

/**
Python: `threading.Semaphore(value=1)`. A counter: `acquire()` waits until it is positive and
decrements it; `release(n)` adds `n` and wakes up to `n` waiters.

Blocking and timeouts: `acquire()` waits forever; `acquire(false)` tries once; `acquire(true, t)`
waits at most `t` seconds and a negative `t` just tries once (no error, as in CPython); a NaN
`t` waits as long as it takes (CPython loops until it gets a unit).
`acquire(false, t)` raises `ValueError("can't specify timeout for non-blocking acquire")`.

Fairness: woken waiters compete with newly arriving threads, which may take the value first
(CPython allows this too).

Memory ordering: a `release()` happens-before the `acquire()` that takes what it released.

Cost: `acquire` and `release` are one atomic instruction each while nobody waits.

Lockable as well (`lock` = `acquire`, `unlock` = `release`), so `std::lock_guard` ports `with sem:`.

```cpp
threading::Semaphore slots(3);
std::lock_guard with(slots);  // at most 3 threads in here at once
```

Differs from Python: the value is at most 2^32 - 1 (`OverflowError` beyond); not copyable.
*/
class Semaphore {
 public:
  /** Raises `ValueError("semaphore initial value must be >= 0")` when `value < 0`. */
  explicit Semaphore(long long value = 1) : Semaphore(value, false) {}
  Semaphore(const Semaphore&) = delete;
  Semaphore& operator=(const Semaphore&) = delete;

  /** Waits until the value is positive, then decrements it. Blocks. Thread-safe. Returns `true`. */
  bool acquire() { return core_.take(detail::Deadline::forever()); }
  /** `acquire(false)` tries once without blocking; `acquire(true)` waits forever. */
  bool acquire(bool blocking) { return blocking ? acquire() : core_.try_take(); }
  /** Waits at most `timeout` seconds; returns whether it decremented. Blocks. Thread-safe. */
  bool acquire(bool blocking, Timeout timeout) {
    if (!blocking)
      detail::raise<ValueError>("can't specify timeout for non-blocking acquire");
    if (core_.try_take())
      return true;
    return core_.take(detail::Deadline::after(timeout.seconds, detail::NanTimeout::never));
  }

  /**
  Adds `n` to the value and wakes up to `n` waiters. Never blocks. Thread-safe.
  Raises `ValueError("n must be one or more")` when `n < 1`; a `BoundedSemaphore` raises
  `ValueError("Semaphore released too many times")` rather than pass its initial value.
  */
  void release(long long n = 1) {
    if (n < 1)
      detail::raise<ValueError>("n must be one or more");
    if (n > static_cast<long long>(bound_) || !core_.give(static_cast<std::uint32_t>(n), bound_)) {
      if (bounded_)
        detail::raise<ValueError>("Semaphore released too many times");
      detail::raise<OverflowError>("semaphore value too large");
    }
  }

  void lock() { acquire(); }
  void unlock() { release(); }
  [[nodiscard]] bool try_lock() { return core_.try_take(); }

  /** Python: `Semaphore._value`. The current value; for reports and tests. */
  [[nodiscard]] std::uint32_t value() const noexcept { return core_.value(); }

 protected:
  Semaphore(long long value, bool bounded)
      : core_(checked_initial(value)),
        bound_(bounded ? core_.value() : std::numeric_limits<std::uint32_t>::max()),
        bounded_(bounded) {}

 private:
  static std::uint32_t checked_initial(long long value) {
    if (value < 0)
      detail::raise<ValueError>("semaphore initial value must be >= 0");
    if (value > std::numeric_limits<std::uint32_t>::max())
      detail::raise<OverflowError>("semaphore value too large");
    return static_cast<std::uint32_t>(value);
  }

  detail::SemaphoreCore<> core_;
  std::uint32_t bound_;  // the largest value release() may reach
  bool bounded_;
};

/**
Python: `threading.BoundedSemaphore(value=1)`. A `Semaphore` that refuses to grow past its
initial value: such a `release()` raises `ValueError("Semaphore released too many times")`
and leaves the value unchanged. Everything else is as `Semaphore`.
*/
class BoundedSemaphore : public Semaphore {
 public:
  /** Raises `ValueError("semaphore initial value must be >= 0")` when `value < 0`. */
  explicit BoundedSemaphore(long long value = 1) : Semaphore(value, true) {}
};

}  // namespace threading
}  // namespace v0
}  // namespace pyconc

#endif  // PYCONC_THREADING_SEMAPHORE_HPP_INCLUDED
