// SPDX-License-Identifier: MIT
/**
`pyconc/threading/semaphore.hpp` — `threading.Semaphore` and `threading.BoundedSemaphore`.

Defines:
- `threading::Semaphore`          a counter that `acquire()` decrements, blocking at zero.
- `threading::BoundedSemaphore`   a Semaphore whose value may never exceed its initial value.
*/
#ifndef PYCONC_THREADING_SEMAPHORE_HPP_INCLUDED
#define PYCONC_THREADING_SEMAPHORE_HPP_INCLUDED

#include <atomic>   // std::atomic
#include <cstdint>  // std::uint32_t
#include <limits>   // std::numeric_limits

#include <pyconc/detail/wait.hpp>
#include <pyconc/errors.hpp>

namespace pyconc {
inline namespace v0 {
namespace threading {

/**
Python: `threading.Semaphore(value=1)`. A counter: `acquire()` waits until it is positive and
decrements it; `release(n)` adds `n` and wakes up to `n` waiters.

Blocking and timeouts: `acquire()` waits forever; `acquire(false)` tries once; `acquire(true, t)`
waits at most `t` seconds and a negative `t` just tries once (no error, as in CPython).
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
  bool acquire() { return acquire_until(pyconc::detail::Deadline::forever()); }
  /** `acquire(false)` tries once without blocking; `acquire(true)` waits forever. */
  bool acquire(bool blocking) { return blocking ? acquire() : try_take(); }
  /** Waits at most `timeout` seconds; returns whether it decremented. Blocks. Thread-safe. */
  bool acquire(bool blocking, pyconc::detail::Timeout timeout) {
    if (!blocking)
      pyconc::detail::raise<ValueError>("can't specify timeout for non-blocking acquire");
    if (try_take())
      return true;
    return acquire_until(pyconc::detail::Deadline::after(timeout.seconds));
  }

  /**
  Adds `n` to the value and wakes up to `n` waiters. Never blocks. Thread-safe.
  Raises `ValueError("n must be one or more")` when `n < 1`; a `BoundedSemaphore` raises
  `ValueError("Semaphore released too many times")` rather than pass its initial value.
  */
  void release(long long n = 1) {
    if (n < 1)
      pyconc::detail::raise<ValueError>("n must be one or more");
    std::uint32_t v = value_.load(std::memory_order_relaxed);
    do {
      if (n > static_cast<long long>(bound_ - v)) {
        if (bounded_)
          pyconc::detail::raise<ValueError>("Semaphore released too many times");
        pyconc::detail::raise<OverflowError>("semaphore value too large");
      }
    } while (!value_.compare_exchange_weak(v, v + static_cast<std::uint32_t>(n), std::memory_order_seq_cst,
                                           std::memory_order_relaxed));
    // seq_cst pairs with the waiter's increment of waiters_ then load of value_ (Dekker):
    // either we see the waiter, or the waiter sees the new value.
    if (waiters_.load(std::memory_order_seq_cst) != 0) {
      pyconc::detail::wake_n(value_, static_cast<std::uint32_t>(n));
    }
  }

  void lock() { acquire(); }
  void unlock() { release(); }
  [[nodiscard]] bool try_lock() { return try_take(); }

  /** Python: `Semaphore._value`. The current value; for reports and tests. */
  [[nodiscard]] std::uint32_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

 protected:
  Semaphore(long long value, bool bounded)
      : value_(checked_initial(value)),
        bound_(bounded ? value_.load() : std::numeric_limits<std::uint32_t>::max()),
        bounded_(bounded) {}

 private:
  static std::uint32_t checked_initial(long long value) {
    if (value < 0)
      pyconc::detail::raise<ValueError>("semaphore initial value must be >= 0");
    if (value > std::numeric_limits<std::uint32_t>::max())
      pyconc::detail::raise<OverflowError>("semaphore value too large");
    return static_cast<std::uint32_t>(value);
  }

  [[nodiscard]] bool try_take() noexcept {
    std::uint32_t v = value_.load(std::memory_order_relaxed);
    while (v != 0) {
      if (value_.compare_exchange_weak(v, v - 1, std::memory_order_acquire, std::memory_order_relaxed))
        return true;
    }
    return false;
  }

  bool acquire_until(const pyconc::detail::Deadline& deadline) {
    if (try_take())
      return true;
    waiters_.fetch_add(1, std::memory_order_seq_cst);
    bool taken = false;
    for (;;) {
      if (try_take()) {
        taken = true;
        break;
      }
      if (!pyconc::detail::wait_on(value_, 0, deadline)) {
        taken = try_take();
        break;
      }
    }
    waiters_.fetch_sub(1, std::memory_order_relaxed);
    return taken;
  }

  std::atomic<std::uint32_t> value_;
  std::atomic<std::uint32_t> waiters_{0};
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
