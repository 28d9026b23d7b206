// SPDX-License-Identifier: MIT
/**
`pyconc/threading/lock.hpp` — `threading.Lock` and `threading.RLock`.

Defines:
- `threading::Lock`    a mutual-exclusion lock that any thread may release.
- `threading::RLock`   a re-entrant lock owned by the thread that acquired it.
- `threading::TIMEOUT_MAX`, `threading::get_ident()`.
*/
#ifndef PYCONC_THREADING_LOCK_HPP_INCLUDED
#define PYCONC_THREADING_LOCK_HPP_INCLUDED

#include <atomic>   // std::atomic
#include <cstdint>  // std::uint32_t

#include <pthread.h>  // pthread_self

#include <pyconc/detail/deadline.hpp>
#include <pyconc/detail/futex_lock.hpp>
#include <pyconc/errors.hpp>
#include <pyconc/timeout.hpp>

namespace pyconc {
inline namespace v0 {
namespace threading {

/** Python: `threading.TIMEOUT_MAX`. The largest timeout `Lock.acquire` accepts, in seconds. */
inline constexpr double TIMEOUT_MAX = 9223372036.0;

/**
Python: `threading.get_ident()`. A nonzero integer naming the calling thread among the live
ones (`pthread_self()`); it may be reused after the thread ends. Never blocks. Thread-safe.
*/
[[nodiscard]] inline unsigned long get_ident() noexcept {
  return static_cast<unsigned long>(::pthread_self());
}

}  // namespace threading

namespace detail {

// Lock.acquire's argument checks, in CPython's order, turned into a deadline.
inline Deadline lock_deadline(bool blocking, double timeout) {
  if (!blocking && timeout != -1)
    raise<ValueError>("can't specify a timeout for a non-blocking call");
  if (timeout < 0 && timeout != -1)
    raise<ValueError>("timeout value must be a non-negative number");
  if (timeout > threading::TIMEOUT_MAX)
    raise<OverflowError>("timestamp out of range for platform time_t");
  if (!blocking)
    return Deadline::after(0);
  return timeout == -1 ? Deadline::forever() : Deadline::after(timeout);
}

}  // namespace detail

namespace threading {

/**
Python: `threading.Lock()`. A primitive lock: `acquire()` blocks while another thread holds it.

Blocking and timeouts: `acquire()` waits forever; `acquire(false)` tries once; `acquire(true, t)`
waits at most `t` seconds (a `double` or a `std::chrono::duration`). As in CPython, `t == -1`
means forever, any other negative `t` raises `ValueError`, a timeout with `blocking == false`
raises `ValueError`, and `t > TIMEOUT_MAX` raises `OverflowError`.

Ownership: none. Any thread may release a Lock, not only the one that acquired it (CPython's
`lock_tests.test_different_thread`). Releasing an unlocked Lock raises `RuntimeError`.

Fairness: none; a releasing thread may take the lock again before a woken waiter runs.

Memory ordering: everything a thread did before `release()` happens-before everything the
next acquirer does after its `acquire()` returns `true`.

| state \ call | acquire()        | acquire(false)   | release()            |
|--------------|------------------|------------------|----------------------|
| unlocked     | locked, `true`   | locked, `true`   | raises RuntimeError  |
| locked       | blocks           | `false`          | unlocked             |

Also Lockable (`lock`/`unlock`/`try_lock`), so `std::lock_guard`, `std::scoped_lock` and
`std::condition_variable_any` work with it; `with lock:` becomes `std::lock_guard g(lock);`.

```cpp
threading::Lock lock;
{
  std::lock_guard with(lock);  // with lock:
  balance += n;
}
```

Differs from Python: not copyable or movable (a Python lock is shared by reference; share a
`Lock&` or a `std::shared_ptr<Lock>`).
*/
class Lock {
 public:
  Lock() = default;
  Lock(const Lock&) = delete;
  Lock& operator=(const Lock&) = delete;

  /** Acquires the lock, waiting as long as it takes. Blocks. Thread-safe. Returns `true`. */
  bool acquire() { return impl_.acquire(detail::Deadline::forever()); }
  /** `acquire(false)` tries once without blocking; `acquire(true)` waits forever. */
  bool acquire(bool blocking) { return blocking ? acquire() : impl_.try_acquire(); }
  /**
  Waits at most `timeout` seconds (`-1`: forever). Returns whether the lock was acquired.
  Blocks. Thread-safe. Raises `ValueError`/`OverflowError` for invalid timeouts (see class).
  */
  bool acquire(bool blocking, Timeout timeout) {
    const auto deadline = detail::lock_deadline(blocking, timeout.seconds);
    return blocking ? impl_.acquire(deadline) : impl_.try_acquire();
  }

  /** Releases the lock; any thread may. Never blocks. Raises `RuntimeError` when unlocked. */
  void release() {
    if (!impl_.release())
      detail::raise<RuntimeError>("release unlocked lock");
  }

  /** Whether some thread holds the lock right now. Thread-safe. */
  [[nodiscard]] bool locked() const noexcept { return impl_.locked(); }

  void lock() { acquire(); }
  void unlock() { release(); }
  [[nodiscard]] bool try_lock() { return impl_.try_acquire(); }

  /** Python: `Lock._at_fork_reinit()`. Makes the lock unlocked; for a forked child only. */
  void at_fork_reinit() noexcept { impl_.at_fork_reinit(); }

 private:
  detail::FutexLock<> impl_;
};

/**
Python: `threading.RLock()`. A re-entrant lock: the thread that holds it may acquire it again;
it is released when `release()` has been called as many times as `acquire()`.

Blocking and timeouts: as `Lock` (same arguments, same errors).

Ownership: the acquiring thread owns it. `release()` by any other thread, or when unowned,
raises `RuntimeError("cannot release un-acquired lock")`.

Memory ordering: as `Lock`, between the final `release()` and the next owner's `acquire()`.

| state \ call        | acquire() by owner | acquire() by other | release() by owner | release() by other |
|---------------------|--------------------|--------------------|--------------------|--------------------|
| unowned             | owned, count 1     | owned, count 1     | raises             | raises             |
| owned, count n      | count n+1          | blocks             | count n-1 (n=1: unowned) | raises       |

Lockable too: `std::lock_guard`, `std::scoped_lock`, `std::condition_variable_any` work.

Differs from Python: not copyable or movable.
*/
class RLock {
 public:
  RLock() = default;
  RLock(const RLock&) = delete;
  RLock& operator=(const RLock&) = delete;

  /** Acquires the lock (again, if the caller owns it). Blocks. Thread-safe. Returns `true`. */
  bool acquire() { return acquire_until(detail::Deadline::forever(), true); }
  /** `acquire(false)` tries once; `acquire(true)` waits forever. */
  bool acquire(bool blocking) { return acquire_until(detail::Deadline::forever(), blocking); }
  /** Waits at most `timeout` seconds (`-1`: forever). Raises as `Lock::acquire`. */
  bool acquire(bool blocking, Timeout timeout) {
    return acquire_until(detail::lock_deadline(blocking, timeout.seconds), blocking);
  }

  /** Releases one level. Never blocks. Raises `RuntimeError` unless the caller owns it. */
  void release() {
    if (owner_.load(std::memory_order_relaxed) != get_ident() || count_ == 0) {
      detail::raise<RuntimeError>("cannot release un-acquired lock");
    }
    if (--count_ == 0) {
      owner_.store(0, std::memory_order_relaxed);
      impl_.release();
    }
  }

  void lock() { acquire(); }
  void unlock() { release(); }
  [[nodiscard]] bool try_lock() { return acquire(false); }

  /** Python: `RLock._is_owned()`. Whether the calling thread holds the lock. */
  [[nodiscard]] bool is_owned() const noexcept {
    return owner_.load(std::memory_order_relaxed) == get_ident() && count_ > 0;
  }
  /** Python: `RLock._recursion_count()`. The caller's recursion depth; 0 when it is not the owner. */
  [[nodiscard]] unsigned long recursion_count() const noexcept { return is_owned() ? count_ : 0; }

  /** Python: `RLock._release_save()`. Releases every level; returns the count to restore. */
  unsigned long release_save() {
    if (!is_owned())
      detail::raise<RuntimeError>("cannot release un-acquired lock");
    const unsigned long saved = count_;
    count_ = 0;
    owner_.store(0, std::memory_order_relaxed);
    impl_.release();
    return saved;
  }
  /** Python: `RLock._acquire_restore(state)`. Re-acquires with the saved recursion count. */
  void acquire_restore(unsigned long count) {
    impl_.acquire(detail::Deadline::forever());
    owner_.store(get_ident(), std::memory_order_relaxed);
    count_ = count;
  }

  /** Python: `RLock._at_fork_reinit()`. Makes the lock unowned; for a forked child only. */
  void at_fork_reinit() noexcept {
    impl_.at_fork_reinit();
    owner_.store(0, std::memory_order_relaxed);
    count_ = 0;
  }

 private:
  bool acquire_until(const detail::Deadline& deadline, bool blocking) {
    const unsigned long me = get_ident();
    if (owner_.load(std::memory_order_relaxed) == me) {
      ++count_;
      return true;
    }
    if (!(blocking ? impl_.acquire(deadline) : impl_.try_acquire()))
      return false;
    owner_.store(me, std::memory_order_relaxed);
    count_ = 1;
    return true;
  }

  detail::FutexLock<> impl_;
  std::atomic<unsigned long> owner_{0};  // get_ident() of the owner, 0 when unowned
  unsigned long count_ = 0;              // touched only by the owner
};

}  // namespace threading
}  // namespace v0
}  // namespace pyconc

#endif  // PYCONC_THREADING_LOCK_HPP_INCLUDED
