// SPDX-License-Identifier: MIT
/**
`pyconc/threading/condition.hpp` — `threading.Condition`.

Defines:
- `threading::Condition`   a condition variable bound to a `Lock` or an `RLock`.
*/
#ifndef PYCONC_THREADING_CONDITION_HPP_INCLUDED
#define PYCONC_THREADING_CONDITION_HPP_INCLUDED

#include <cstddef>   // std::size_t
#include <optional>  // std::optional
#include <utility>   // std::forward
#include <variant>   // std::variant

#include <pyconc/detail/wait.hpp>
#include <pyconc/detail/wait_list.hpp>
#include <pyconc/errors.hpp>
#include <pyconc/threading/lock.hpp>

namespace pyconc {
inline namespace v0 {
namespace threading {

/**
Python: `threading.Condition(lock=None)`. Lets threads wait, holding a lock, until another
thread that holds the same lock notifies them. Without an argument it uses a new `RLock`.

Blocking and timeouts: `wait()` releases the lock (every level of an `RLock`), blocks until
notified, and re-acquires it (restoring the recursion level). `wait(t)` gives up after `t`
seconds and returns `false`; `t <= 0` returns `false` at once (after releasing and
re-acquiring the lock, as CPython does). `wait_for(pred, t)` loops until `pred()` is true or
the overall time `t` has passed, and returns the last value of `pred()`.

Fairness: `notify(n)` wakes the `n` longest waiters, in the order they began waiting (as
CPython's implementation does; Python's documentation does not promise it). No spurious
wake-ups: `wait()` without a timeout returns only when notified.

Memory ordering: a notifier's writes before `notify()` happen-before the woken thread's
return from `wait()` (through the lock the two share).

Lifetime: a `Condition` built over your `Lock`/`RLock` keeps a reference to it: the lock must
outlive the condition.

Misuse: `wait()` or `notify()` without holding the lock raises `RuntimeError`.

```cpp
threading::Condition cond;
std::deque<int> items;
{ std::lock_guard with(cond); items.push_back(1); cond.notify(); }               // producer
{ std::lock_guard with(cond); cond.wait_for([&] { return !items.empty(); }); }   // consumer
```

Differs from Python: only `Lock` and `RLock` may serve as the lock; not copyable.
*/
class Condition {
 public:
  /** A condition with its own new `RLock`. */
  Condition() : lock_(&own_) {}
  /** A condition over `lock`, which must outlive it. */
  explicit Condition(Lock& lock) : lock_(&lock) {}
  /** A condition over `lock`, which must outlive it. */
  explicit Condition(RLock& lock) : lock_(&lock) {}
  Condition(const Condition&) = delete;
  Condition& operator=(const Condition&) = delete;

  /** Acquires the underlying lock; same arguments and result as its `acquire`. */
  template <class... Args>
  bool acquire(Args&&... args) {
    return std::visit([&](auto* l) { return l->acquire(std::forward<Args>(args)...); }, lock_);
  }
  /** Releases the underlying lock. */
  void release() {
    std::visit([](auto* l) { l->release(); }, lock_);
  }
  void lock() { acquire(); }
  void unlock() { release(); }
  [[nodiscard]] bool try_lock() { return acquire(false); }

  /**
  Waits until notified. Blocks. Thread-safe. Returns `true`.
  Raises `RuntimeError("cannot wait on un-acquired lock")` when the caller does not hold the lock.
  */
  bool wait() { return wait_until(pyconc::detail::Deadline::forever(), true); }
  /**
  Waits until notified or `timeout` seconds have passed; returns `false` on timeout.
  Blocks. Thread-safe. Raises as `wait()`.
  */
  bool wait(Timeout timeout) {
    const bool positive = timeout.seconds > 0;
    return wait_until(pyconc::detail::Deadline::after(positive ? timeout.seconds : 0), positive);
  }

  /**
  Waits until `predicate()` is true; returns its last value. Blocks. Thread-safe.
  */
  template <class Predicate>
  auto wait_for(Predicate predicate) {
    auto result = predicate();
    while (!result) {
      wait();
      result = predicate();
    }
    return result;
  }
  /**
  Waits until `predicate()` is true or `timeout` seconds have passed in all; returns the
  last value of `predicate()`. Blocks. Thread-safe.
  */
  template <class Predicate>
  auto wait_for(Predicate predicate, Timeout timeout) {
    auto result = predicate();
    std::optional<pyconc::detail::Deadline> deadline;
    double wait_time = timeout.seconds;
    while (!result) {
      if (!deadline) {
        // NaN: as long as it takes (CPython's loop never sees the time run out).
        deadline = pyconc::detail::Deadline::after(wait_time, pyconc::detail::NanTimeout::never);
      } else {
        wait_time = deadline->remaining();
        if (wait_time <= 0)
          break;
      }
      wait(wait_time);
      result = predicate();
    }
    return result;
  }

  /**
  Wakes up to `n` threads waiting on this condition, longest waiter first. Never blocks.
  Raises `RuntimeError("cannot notify on un-acquired lock")` unless the caller holds the lock.
  */
  void notify(std::size_t n = 1) {
    if (!is_owned())
      pyconc::detail::raise<RuntimeError>("cannot notify on un-acquired lock");
    waiters_.notify(n);
  }
  /** Wakes every waiting thread. Never blocks. Raises as `notify()`. */
  void notify_all() { notify(static_cast<std::size_t>(-1)); }

 private:
  [[nodiscard]] bool is_owned() {
    if (auto** r = std::get_if<RLock*>(&lock_))
      return (*r)->is_owned();
    // A plain Lock has no owner: CPython checks that it is held by someone.
    Lock* l = std::get<Lock*>(lock_);
    if (l->acquire(false)) {
      l->release();
      return false;
    }
    return true;
  }

  bool wait_until(const pyconc::detail::Deadline& deadline, bool may_block) {
    if (!is_owned())
      pyconc::detail::raise<RuntimeError>("cannot wait on un-acquired lock");
    unsigned long saved = 0;
    return waiters_.wait(
        deadline, may_block,
        [&] {
          if (auto** r = std::get_if<RLock*>(&lock_)) {
            saved = (*r)->release_save();
          } else {
            std::get<Lock*>(lock_)->release();
          }
        },
        [&] {
          if (auto** r = std::get_if<RLock*>(&lock_)) {
            (*r)->acquire_restore(saved);
          } else {
            std::get<Lock*>(lock_)->acquire();
          }
        });
  }

  // The default lock lives inside the object (no heap): a daemon thread still waiting on a
  // static Condition while the program exits touches no freed memory.
  RLock own_;
  std::variant<Lock*, RLock*> lock_;
  pyconc::detail::WaitList waiters_;  // guarded by the lock
};

}  // namespace threading
}  // namespace v0
}  // namespace pyconc

#endif  // PYCONC_THREADING_CONDITION_HPP_INCLUDED
