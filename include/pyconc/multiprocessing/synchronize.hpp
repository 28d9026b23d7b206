// SPDX-License-Identifier: MIT
/**
`pyconc/multiprocessing/synchronize.hpp` — Python's `multiprocessing.synchronize`: locks and
friends that work between processes.

Defines (namespace `pyconc::multiprocessing`):
- `AnyLock`                         a `Lock` or an `RLock` (what `Value::get_lock` returns).
- `Lock`, `RLock`                   robust: a holder's death is reported to one acquirer
                                    (`AbandonedLockError`) instead of hanging everyone.
- `Semaphore`, `BoundedSemaphore`   counters, with `get_value()`.
- `Event`                           a flag to wait for.
- `Condition`                       wait/notify over a Lock or RLock (default: a new RLock).
- `Barrier`                         parties meet; a party that dies inside `wait` breaks it.

Each object lives in memory shared between processes (`heap.hpp`) and is a handle: copies
are the same lock. Pass one to a child as a `Process` argument (fork, spawn or forkserver);
it cannot be sent through a `Connection` or a queue (a compile error, as CPython's
"should only be shared between processes through inheritance"). Every wait sleeps on a
futex in the shared memory (no system call while uncontended, no unbounded spinning) and
releases the GIL.

## Python's signatures, not threading's

`acquire(block = true, timeout = None)`: the keyword is `block`; a negative timeout makes one
non-blocking attempt; `acquire(false, t)` ignores `t`; a NaN timeout raises
`OSError(EINVAL)`. Releasing too often raises `ValueError("semaphore or lock released too many
times")`, and any thread of any process may release a `Lock`.

## When a process dies

- holding a `Lock` or `RLock`: the first acquirer that finds the holder dead (at most about
  100 ms after the death for one already waiting) gets `AbandonedLockError` naming the pid,
  and does not hold the lock afterwards; every other acquirer acquires normally. A pid the
  system gave to a new process is never mistaken for the dead holder (the identity holds the
  start time: `detail/process_identity.hpp`).
- inside `Barrier::wait`: the barrier breaks for the parties waiting (`BrokenBarrierError`)
  within about 100 ms; after `reset()` it works again.
- inside `Condition::wait`: its place in the queue is skipped; a `notify` wakes a live waiter.
- holding `Semaphore` units: they are lost, as in CPython (a semaphore has no owner).
*/
#ifndef PYCONC_MULTIPROCESSING_SYNCHRONIZE_HPP_INCLUDED
#define PYCONC_MULTIPROCESSING_SYNCHRONIZE_HPP_INCLUDED

#include <algorithm>    // std::min
#include <atomic>       // std::atomic
#include <cerrno>       // EINVAL
#include <climits>      // INT_MAX, LLONG_MAX
#include <cstdint>      // std::uint64_t, std::uint32_t
#include <cstdio>       // std::snprintf
#include <functional>   // std::function
#include <optional>     // std::optional
#include <ostream>      // std::ostream
#include <string>       // std::string
#include <type_traits>  // std::is_invocable_r_v
#include <utility>      // std::move
#include <variant>      // std::variant

#include <pyconc/detail/deadline.hpp>
#include <pyconc/detail/futex.hpp>
#include <pyconc/detail/process_identity.hpp>
#include <pyconc/detail/robust_lock.hpp>
#include <pyconc/detail/wait.hpp>
#include <pyconc/errors.hpp>
#include <pyconc/multiprocessing/errors.hpp>
#include <pyconc/multiprocessing/heap.hpp>
#include <pyconc/multiprocessing/process.hpp>
#include <pyconc/pickle.hpp>
#include <pyconc/threading/barrier.hpp>
#include <pyconc/threading/event.hpp>
#include <pyconc/threading/semaphore.hpp>
#include <pyconc/threading/thread.hpp>
#include <pyconc/timeout.hpp>

namespace pyconc {
inline namespace v0 {
namespace detail {

template <class Object, class State, const char* Name>
struct SharedObjectCodec;

/**
The deadline of a `multiprocessing` acquire: `block == false` or a negative timeout tries
once; NaN raises `OSError(EINVAL)` (from `sem_timedwait`, in CPython).
*/
inline Deadline semlock_deadline(bool block, std::optional<double> timeout) {
  if (!block)
    return Deadline::after(0.0);
  if (!timeout)
    return Deadline::forever();
  if (__builtin_isnan(*timeout))
    raise_errno(EINVAL);
  return Deadline::after(*timeout);
}

/** A `Lock` in shared memory: the robust lock and which thread of the holder took it. */
struct SharedLockState {
  RobustLock lock;
  std::atomic<std::uint64_t> owner_thread{0};  // thread_token() of the acquirer, 0 when free
};

/** An `RLock` in shared memory. `count` is touched only by the owner. */
struct SharedRLockState {
  SharedLockState owner;
  std::atomic<std::uint32_t> count{0};
  std::uint32_t reserved = 0;
};

/** Whether the calling thread holds `s` (its process holds it, and this thread took it). */
inline bool held_by_caller(const SharedLockState& s) noexcept {
  return s.lock.holder() == self_identity() && s.owner_thread.load(std::memory_order_relaxed) == thread_token();
}

/**
Takes `s` for the calling thread until `deadline`; returns whether it did. When its holder
died holding it, `scrub()` runs while this thread holds it (to reset what the lock keeps beside
it), then the lock is released and `AbandonedLockError` raised, naming the dead process.
*/
template <class Scrub>
bool acquire_for_caller(SharedLockState& s, const Deadline& deadline, Scrub scrub) {
  pid_t dead = 0;
  const Acquired got = s.lock.acquire(self_identity(), deadline, &dead);
  if (got == Acquired::no)
    return false;
  if (got == Acquired::abandoned) {
    s.owner_thread.store(0, std::memory_order_relaxed);
    scrub();
    s.lock.release();
    throw multiprocessing::AbandonedLockError(dead);
  }
  s.owner_thread.store(thread_token(), std::memory_order_relaxed);
  return true;
}

/** A `Semaphore` in shared memory. */
struct SharedSemaphoreState {
  explicit SharedSemaphoreState(std::uint32_t value, std::uint32_t max) : core(value), maxvalue(max) {}
  SemaphoreCore<FutexScope::process_shared> core;
  std::uint32_t maxvalue;
};

/** One waiter of a `Condition`: its process, its place in line, its futex word. */
struct ConditionSlot {
  std::atomic<std::uint64_t> owner{0};   // the waiter's process identity; 0: a free place
  std::atomic<std::uint64_t> ticket{0};  // arrival order
  std::atomic<std::uint32_t> word{0};    // 0 waiting, 1 notified, 2 gone (timed out or dead)
  std::uint32_t reserved = 0;
};

/** A `Condition`'s waiters in shared memory; the condition's lock guards taking a place. */
struct SharedConditionState {
  static constexpr std::uint32_t kSlots = 1024;
  std::atomic<std::uint64_t> next_ticket{1};
  std::atomic<std::uint32_t> used{0};  // places [0, used) have been used
  std::uint32_t reserved = 0;
  ConditionSlot slots[kSlots];
};

/** A `Barrier` in shared memory; followed by one identity per party (who has arrived). */
struct SharedBarrierState {
  explicit SharedBarrierState(std::uint32_t n) : parties(n) {}
  RobustLock lock;                     // guards the fields below
  std::atomic<std::uint32_t> word{0};  // bumped (and woken) on every change waiters look for
  std::uint32_t parties;
  std::int32_t count = 0;
  std::int32_t phase = 0;  // 0 filling, 1 draining, -1 resetting, -2 broken
};

/** Python's `repr` of the owner of a lock held by this process: `MainProcess` or `MainProcess|Thread-1`. */
inline std::string owner_name() {
  std::string name = multiprocessing::current_process().name();
  const std::string thread = threading::current_thread().name();
  if (thread != "MainThread")
    name += "|" + thread;
  return name;
}

/** `<Class at 0x...`: the address part of CPython's default `repr`. */
inline std::string at_address(const char* type, const void* address) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "<%s at %p", type, address);
  return buf;
}

}  // namespace detail

namespace multiprocessing {

class Condition;
template <class T>
class Value;
template <class T>
class Array;

/**
Python: `multiprocessing.Lock()`. A non-recursive lock shared between processes: `acquire()`
blocks while anyone holds it; any thread of any process may `release()` it.

Blocking and timeouts: `acquire()` waits forever; `acquire(false)` tries once; `acquire(true,
t)` waits at most `t` seconds, a negative `t` tries once (CPython's `acquire(block, timeout)`).
Raises `ValueError("semaphore or lock released too many times")` when released unlocked.

Beyond CPython, robust: if the holder's process dies, one acquirer gets `AbandonedLockError`
and the lock works normally afterwards (see the file comment).

Cost: `acquire` and `release` are one atomic instruction each while uncontended (no system
call); a blocked acquirer sleeps on a futex. 24 bytes of shared memory and one descriptor.

Lockable (`lock`/`unlock`/`try_lock`): `std::lock_guard with(lock);` ports `with lock:`.

```cpp
multiprocessing::Lock lock;
multiprocessing::Process p(f, std::tuple{lock});  // the child locks the same lock
```

Differs from Python: also robust (`AbandonedLockError`); a copy is the same lock.
*/
class Lock {
 public:
  using pyconc_inheritance_only = void;

  Lock() : state_(detail::Shared<detail::SharedLockState>::make(0)) {}

  /** Acquires, waiting as long as it takes (`block`), or tries once. Blocks. Thread-safe. */
  bool acquire(bool block = true) { return acquire_until(detail::semlock_deadline(block, std::nullopt)); }
  /** Waits at most `timeout` seconds (negative: one try) when `block`; returns whether acquired. */
  bool acquire(bool block, Timeout timeout) { return acquire_until(detail::semlock_deadline(block, timeout.seconds)); }

  /** Releases the lock; any thread of any process may. Never blocks. */
  void release() {
    auto& s = *state_;
    s.owner_thread.store(0, std::memory_order_relaxed);
    if (!s.lock.release())
      detail::raise<ValueError>("semaphore or lock released too many times");
  }

  void lock() { acquire(); }
  void unlock() { release(); }
  [[nodiscard]] bool try_lock() { return acquire(false); }

  /** Python's `repr`: `<Lock(owner=None)>`, `<Lock(owner=MainProcess)>`, `SomeOtherThread`, `SomeOtherProcess`. */
  [[nodiscard]] std::string repr() const {
    const std::uint64_t holder = state_->lock.holder();
    std::string owner;
    if (holder == 0)
      owner = "None";
    else if (holder != detail::self_identity())
      owner = "SomeOtherProcess";
    else if (state_->owner_thread.load(std::memory_order_relaxed) == detail::thread_token())
      owner = detail::owner_name();
    else
      owner = "SomeOtherThread";
    return "<Lock(owner=" + owner + ")>";
  }
  friend std::ostream& operator<<(std::ostream& os, const Lock& l) { return os << l.repr(); }
  friend bool operator==(const Lock& a, const Lock& b) noexcept { return a.state_ == b.state_; }

 private:
  friend class Condition;
  template <class, class, const char*>
  friend struct pyconc::detail::SharedObjectCodec;
  explicit Lock(detail::Shared<detail::SharedLockState> state) : state_(std::move(state)) {}

  bool acquire_until(const detail::Deadline& deadline) {
    return detail::acquire_for_caller(*state_, deadline, [] {});
  }
  /** Whether the calling thread holds it (for Condition). */
  [[nodiscard]] bool is_mine() const noexcept { return detail::held_by_caller(*state_); }

  detail::Shared<detail::SharedLockState> state_;
};

/**
Python: `multiprocessing.RLock()`. A recursive lock shared between processes: the thread that
holds it may acquire it again; it is free once released as many times. Only the owning thread
may release it: another raises `AssertionError("attempt to release recursive lock not owned by
thread")`.

Blocking, timeouts and robustness as `Lock`'s. Lockable.

Differs from Python: also robust (`AbandonedLockError`, the recursion count dropped); a copy
is the same lock.
*/
class RLock {
 public:
  using pyconc_inheritance_only = void;

  RLock() : state_(detail::Shared<detail::SharedRLockState>::make(0)) {}

  bool acquire(bool block = true) { return acquire_until(detail::semlock_deadline(block, std::nullopt)); }
  bool acquire(bool block, Timeout timeout) { return acquire_until(detail::semlock_deadline(block, timeout.seconds)); }

  /** Releases one level; the last release frees the lock. Only the owner may. Never blocks. */
  void release() {
    if (!is_mine())
      detail::raise<AssertionError>("attempt to release recursive lock not owned by thread");
    auto& s = *state_;
    const std::uint32_t left = s.count.load(std::memory_order_relaxed) - 1;
    s.count.store(left, std::memory_order_relaxed);
    if (left == 0) {
      s.owner.owner_thread.store(0, std::memory_order_relaxed);
      s.owner.lock.release();
    }
  }

  void lock() { acquire(); }
  void unlock() { release(); }
  [[nodiscard]] bool try_lock() { return acquire(false); }

  /** Python's `repr`: `<RLock(None, 0)>`, `<RLock(MainProcess, 2)>`, `<RLock(SomeOtherThread, nonzero)>`. */
  [[nodiscard]] std::string repr() const {
    const std::uint64_t holder = state_->owner.lock.holder();
    if (holder == 0)
      return "<RLock(None, 0)>";
    if (is_mine())
      return "<RLock(" + detail::owner_name() + ", " + std::to_string(state_->count.load()) + ")>";
    if (holder == detail::self_identity())
      return "<RLock(SomeOtherThread, nonzero)>";
    return "<RLock(SomeOtherProcess, nonzero)>";
  }
  friend std::ostream& operator<<(std::ostream& os, const RLock& l) { return os << l.repr(); }
  friend bool operator==(const RLock& a, const RLock& b) noexcept { return a.state_ == b.state_; }

 private:
  friend class Condition;
  template <class, class, const char*>
  friend struct pyconc::detail::SharedObjectCodec;
  template <class>
  friend class Value;
  template <class>
  friend class Array;
  explicit RLock(detail::Shared<detail::SharedRLockState> state) : state_(std::move(state)) {}

  [[nodiscard]] bool is_mine() const noexcept { return detail::held_by_caller(state_->owner); }

  bool acquire_until(const detail::Deadline& deadline) {
    auto& s = *state_;
    if (is_mine()) {
      s.count.fetch_add(1, std::memory_order_relaxed);
      return true;
    }
    if (!detail::acquire_for_caller(s.owner, deadline, [&s] { s.count.store(0, std::memory_order_relaxed); }))
      return false;
    s.count.store(1, std::memory_order_relaxed);
    return true;
  }

  /** For Condition::wait: releases every level; returns the count to restore. */
  std::uint32_t release_save() {
    auto& s = *state_;
    const std::uint32_t count = s.count.load(std::memory_order_relaxed);
    s.count.store(0, std::memory_order_relaxed);
    s.owner.owner_thread.store(0, std::memory_order_relaxed);
    s.owner.lock.release();
    return count;
  }
  void acquire_restore(std::uint32_t count) {
    acquire_until(detail::Deadline::forever());
    state_->count.store(count, std::memory_order_relaxed);
  }

  detail::Shared<detail::SharedRLockState> state_;
};

/**
A `Lock` or an `RLock`: what `Value::get_lock()` and `Array::get_lock()` return (Python returns
whichever lock object the value was made with). Lockable; `repr` is the lock's.
*/
class AnyLock {
 public:
  using pyconc_inheritance_only = void;

  AnyLock(Lock lock) : lock_(std::move(lock)) {}   // NOLINT: implicit, as Python's duck typing
  AnyLock(RLock lock) : lock_(std::move(lock)) {}  // NOLINT

  bool acquire(bool block = true) {
    return std::visit([&](auto& l) { return l.acquire(block); }, lock_);
  }
  bool acquire(bool block, Timeout timeout) {
    return std::visit([&](auto& l) { return l.acquire(block, timeout); }, lock_);
  }
  void release() {
    std::visit([](auto& l) { l.release(); }, lock_);
  }
  void lock() { acquire(); }
  void unlock() { release(); }
  [[nodiscard]] bool try_lock() { return acquire(false); }

  [[nodiscard]] std::string repr() const {
    return std::visit([](const auto& l) { return l.repr(); }, lock_);
  }
  friend std::ostream& operator<<(std::ostream& os, const AnyLock& l) { return os << l.repr(); }
  /** The lock, as the `Lock` or `RLock` it is. */
  [[nodiscard]] const std::variant<Lock, RLock>& get() const noexcept { return lock_; }

 private:
  std::variant<Lock, RLock> lock_;
};

/**
Python: `multiprocessing.Semaphore(value=1)`. A counter shared between processes:
`acquire()` waits until it is positive and takes one; `release()` gives one back.
`Semaphore(-1)` raises `OSError` errno 22, as CPython's `sem_open`. `get_value()` reads it.

Blocking and timeouts as `Lock`'s. Releasing past 2^31 - 1 raises `ValueError("semaphore or
lock released too many times")`. Units held by a process that dies are lost, as in CPython
(a semaphore has no owner to check). Lockable.

Cost: one atomic instruction per acquire and release while nobody waits.
*/
class Semaphore {
 public:
  using pyconc_inheritance_only = void;

  explicit Semaphore(long long value = 1) : Semaphore(value, INT_MAX) {}

  bool acquire(bool block = true) { return take(detail::semlock_deadline(block, std::nullopt)); }
  bool acquire(bool block, Timeout timeout) { return take(detail::semlock_deadline(block, timeout.seconds)); }

  /** Gives one unit back, waking a waiter. Never blocks. */
  void release() {
    if (!state_->core.give(1, state_->maxvalue))
      detail::raise<ValueError>("semaphore or lock released too many times");
  }

  /** Python: `get_value()`. The current count. */
  [[nodiscard]] long long get_value() const noexcept { return state_->core.value(); }

  void lock() { acquire(); }
  void unlock() { release(); }
  [[nodiscard]] bool try_lock() { return acquire(false); }

  /** Python's `repr`: `<Semaphore(value=2)>`. */
  [[nodiscard]] std::string repr() const { return "<Semaphore(value=" + std::to_string(get_value()) + ")>"; }
  friend std::ostream& operator<<(std::ostream& os, const Semaphore& s) { return os << s.repr(); }

 protected:
  Semaphore(long long value, long long maxvalue) {
    if (value < 0 || value > INT_MAX)
      detail::raise_errno(EINVAL);
    state_ = detail::Shared<detail::SharedSemaphoreState>::make(0, static_cast<std::uint32_t>(value),
                                                                static_cast<std::uint32_t>(maxvalue));
  }
  explicit Semaphore(detail::Shared<detail::SharedSemaphoreState> state) : state_(std::move(state)) {}
  [[nodiscard]] std::uint32_t maxvalue() const noexcept { return state_->maxvalue; }

 private:
  template <class, class, const char*>
  friend struct pyconc::detail::SharedObjectCodec;
  bool take(const detail::Deadline& deadline) { return state_->core.take(deadline); }

  detail::Shared<detail::SharedSemaphoreState> state_;
};

/**
Python: `multiprocessing.BoundedSemaphore(value=1)`: a `Semaphore` whose `release()` raises
`ValueError("semaphore or lock released too many times")` past its initial value.
*/
class BoundedSemaphore : public Semaphore {
 public:
  explicit BoundedSemaphore(long long value = 1) : Semaphore(value, value) {}

  /** Python's `repr`: `<BoundedSemaphore(value=2, maxvalue=2)>`. */
  [[nodiscard]] std::string repr() const {
    return "<BoundedSemaphore(value=" + std::to_string(get_value()) + ", maxvalue=" + std::to_string(maxvalue()) + ")>";
  }
  friend std::ostream& operator<<(std::ostream& os, const BoundedSemaphore& s) { return os << s.repr(); }

 private:
  template <class, class, const char*>
  friend struct pyconc::detail::SharedObjectCodec;
  explicit BoundedSemaphore(detail::Shared<detail::SharedSemaphoreState> state) : Semaphore(std::move(state)) {}
};

/**
Python: `multiprocessing.Event()`. A flag shared between processes: `set()` makes it true and
wakes every waiter, `clear()` makes it false, `wait()` blocks until it is true.

Blocking and timeouts: `wait()` waits forever; `wait(t)` at most `t` seconds and returns the
flag; a negative `t` returns at once; NaN raises `OSError(EINVAL)` as in CPython. A waiter
woken by `set()` returns `true` even if `clear()` ran before it got to run.

Cost: `set`, `clear` and `is_set` are atomics only while nobody waits.
*/
class Event {
 public:
  using pyconc_inheritance_only = void;

  Event() : state_(detail::Shared<detail::EventCore<detail::FutexScope::process_shared>>::make(0)) {}

  [[nodiscard]] bool is_set() const noexcept { return state_->is_set(); }
  void set() noexcept { state_->set(); }
  void clear() noexcept { state_->clear(); }
  /** Waits until set; returns `true`. Blocks. */
  bool wait() { return state_->wait(detail::Deadline::forever()); }
  /** Waits at most `timeout` seconds; returns the flag. Blocks. */
  bool wait(Timeout timeout) { return state_->wait(detail::semlock_deadline(true, timeout.seconds)); }

  /** Python's `repr`: `<Event at 0x7f... set>` / `unset`. */
  [[nodiscard]] std::string repr() const {
    return detail::at_address("Event", state_.get()) + (is_set() ? " set>" : " unset>");
  }
  friend std::ostream& operator<<(std::ostream& os, const Event& e) { return os << e.repr(); }

 private:
  template <class, class, const char*>
  friend struct pyconc::detail::SharedObjectCodec;
  using State = detail::EventCore<detail::FutexScope::process_shared>;
  explicit Event(detail::Shared<State> state) : state_(std::move(state)) {}
  detail::Shared<State> state_;
};

/**
Python: `multiprocessing.Condition(lock=None)`. Wait for a notification over a `Lock` or an
`RLock` (by default a new `RLock`), between processes. `wait()` releases the lock (every
level of an RLock), sleeps until notified, and takes it back; `notify(n)` wakes the `n`
longest waiting; both need the lock held (`AssertionError("must acquire() condition before
using wait()")`, `AssertionError("lock is not owned")`).

Blocking and timeouts: `wait()` waits forever; `wait(t)` at most `t` seconds and returns
whether it was notified; a negative `t` returns `false` at once; NaN raises `OSError(EINVAL)`.
`wait_for(predicate[, t])` as in threading. Never wakes spuriously.

A waiter whose process dies is skipped by `notify`, which checks a waiter in another process
is alive before waking it (about 15 us per such waiter; none for a waiter in this process).
At most 1,024 threads wait on one Condition at once (`RuntimeError` beyond).

Differs from Python: a copy is the same condition; the lock is a `Lock` or an `RLock`.
*/
class Condition {
 public:
  using pyconc_inheritance_only = void;

  Condition() : Condition(RLock()) {}
  explicit Condition(RLock lock) : lock_(std::move(lock)), state_(make_state()) {}
  explicit Condition(Lock lock) : lock_(std::move(lock)), state_(make_state()) {}

  bool acquire(bool block = true) {
    return std::visit([&](auto& l) { return l.acquire(block); }, lock_);
  }
  bool acquire(bool block, Timeout timeout) {
    return std::visit([&](auto& l) { return l.acquire(block, timeout); }, lock_);
  }
  void release() {
    std::visit([](auto& l) { l.release(); }, lock_);
  }
  void lock() { acquire(); }
  void unlock() { release(); }
  [[nodiscard]] bool try_lock() { return acquire(false); }

  /** Waits until notified; returns `true`. Needs the lock. Blocks. */
  bool wait() { return wait_until(detail::Deadline::forever()); }
  /** Waits until notified or `timeout` seconds; returns whether notified. Needs the lock. Blocks. */
  bool wait(Timeout timeout) { return wait_until(detail::semlock_deadline(true, timeout.seconds)); }

  /** Waits until `predicate()` is true; returns its value. Needs the lock. Blocks. */
  template <class Predicate>
  auto wait_for(Predicate predicate) {
    auto result = predicate();
    while (!result) {
      wait();
      result = predicate();
    }
    return result;
  }
  /** Waits until `predicate()` is true or `timeout` seconds in all; returns its last value. */
  template <class Predicate>
  auto wait_for(Predicate predicate, Timeout timeout) {
    const auto deadline = detail::semlock_deadline(true, timeout.seconds);
    auto result = predicate();
    while (!result) {
      if (deadline.expired())
        break;
      wait_until(deadline);
      result = predicate();
    }
    return result;
  }

  /** Wakes the `n` longest-waiting live waiters (fewer if fewer wait). Needs the lock. */
  void notify(long long n = 1) {
    if (!lock_is_mine())
      detail::raise<AssertionError>("lock is not owned");
    auto& s = *state_;
    const std::uint64_t me = detail::self_identity();
    while (n > 0) {
      detail::ConditionSlot* oldest = nullptr;
      const std::uint32_t used = s.used.load(std::memory_order_acquire);
      for (std::uint32_t i = 0; i < used; ++i) {
        detail::ConditionSlot& slot = s.slots[i];
        if (slot.owner.load(std::memory_order_acquire) == 0 || slot.word.load(std::memory_order_acquire) != kWaiting)
          continue;
        if (oldest == nullptr ||
            slot.ticket.load(std::memory_order_relaxed) < oldest->ticket.load(std::memory_order_relaxed))
          oldest = &slot;
      }
      if (oldest == nullptr)
        return;
      const std::uint64_t owner = oldest->owner.load(std::memory_order_acquire);
      std::uint32_t waiting = kWaiting;
      if (owner != me && !detail::identity_alive(owner)) {
        // Its process died while waiting: free its place; this notification is for someone else.
        if (oldest->word.compare_exchange_strong(waiting, kGone, std::memory_order_acq_rel))
          oldest->owner.store(0, std::memory_order_release);
        continue;
      }
      if (oldest->word.compare_exchange_strong(waiting, kNotified, std::memory_order_acq_rel)) {
        detail::futex_wake(oldest->word, 1, detail::FutexScope::process_shared);
        --n;
      }
    }
  }
  /** Wakes every waiter. Needs the lock. */
  void notify_all() { notify(LLONG_MAX); }

  /** Python's `repr`: `<Condition(<RLock(None, 0)>, 0)>` (the lock, the number of waiters). */
  [[nodiscard]] std::string repr() const {
    std::uint32_t waiting = 0;
    const std::uint32_t used = state_->used.load(std::memory_order_acquire);
    for (std::uint32_t i = 0; i < used; ++i) {
      if (state_->slots[i].owner.load() != 0 && state_->slots[i].word.load() == kWaiting)
        ++waiting;
    }
    const std::string lock = std::visit([](const auto& l) { return l.repr(); }, lock_);
    return "<Condition(" + lock + ", " + std::to_string(waiting) + ")>";
  }
  friend std::ostream& operator<<(std::ostream& os, const Condition& c) { return os << c.repr(); }

 private:
  friend struct pyconc::detail::PickleCodec<Condition>;
  static constexpr std::uint32_t kWaiting = 0;
  static constexpr std::uint32_t kNotified = 1;
  static constexpr std::uint32_t kGone = 2;  // timed out, or its process died

  static detail::Shared<detail::SharedConditionState> make_state() {
    return detail::Shared<detail::SharedConditionState>::make(0);
  }
  Condition(std::variant<Lock, RLock> lock, detail::Shared<detail::SharedConditionState> state)
      : lock_(std::move(lock)), state_(std::move(state)) {}

  [[nodiscard]] bool lock_is_mine() const noexcept {
    return std::visit([](const auto& l) { return l.is_mine(); }, lock_);
  }

  /** Takes a free place in the waiters' table (the lock is held, so no other taker runs). */
  detail::ConditionSlot& take_slot() {
    auto& s = *state_;
    const std::uint64_t me = detail::self_identity();
    for (int round = 0; round < 2; ++round) {
      const std::uint32_t used = s.used.load(std::memory_order_acquire);
      for (std::uint32_t i = 0; i <= used && i < detail::SharedConditionState::kSlots; ++i) {
        detail::ConditionSlot& slot = s.slots[i];
        std::uint64_t owner = slot.owner.load(std::memory_order_acquire);
        if (owner == 0 && slot.owner.compare_exchange_strong(owner, me, std::memory_order_acq_rel)) {
          if (i == used)
            s.used.store(used + 1, std::memory_order_release);
          slot.ticket.store(s.next_ticket.fetch_add(1, std::memory_order_relaxed), std::memory_order_relaxed);
          slot.word.store(kWaiting, std::memory_order_release);
          return slot;
        }
      }
      // Full: free the places of waiters whose process died, then look again.
      for (std::uint32_t i = 0; i < detail::SharedConditionState::kSlots; ++i) {
        detail::ConditionSlot& slot = s.slots[i];
        const std::uint64_t owner = slot.owner.load(std::memory_order_acquire);
        std::uint32_t waiting = kWaiting;
        if (owner != 0 && owner != me && !detail::identity_alive(owner) &&
            slot.word.compare_exchange_strong(waiting, kGone, std::memory_order_acq_rel))
          slot.owner.store(0, std::memory_order_release);
      }
    }
    detail::raise<RuntimeError>("too many threads waiting on one multiprocessing.Condition (at most 1024)");
  }

  bool wait_until(const detail::Deadline& deadline) {
    if (!lock_is_mine())
      detail::raise<AssertionError>("must acquire() condition before using wait()");
    detail::ConditionSlot& slot = take_slot();
    // Give the lock up entirely (every level of an RLock), remembering how to take it back.
    const std::uint32_t levels = std::visit(
        [](auto& l) -> std::uint32_t {
          if constexpr (std::is_same_v<std::decay_t<decltype(l)>, RLock>) {
            return l.release_save();
          } else {
            l.release();
            return 1;
          }
        },
        lock_);
    while (slot.word.load(std::memory_order_acquire) == kWaiting) {
      if (!detail::wait_on(slot.word, kWaiting, deadline, detail::FutexScope::process_shared))
        break;
    }
    std::uint32_t waiting = kWaiting;
    const bool notified = !slot.word.compare_exchange_strong(waiting, kGone, std::memory_order_acq_rel);
    slot.owner.store(0, std::memory_order_release);
    std::visit(
        [levels](auto& l) {
          if constexpr (std::is_same_v<std::decay_t<decltype(l)>, RLock>) {
            l.acquire_restore(levels);
          } else {
            l.acquire();
          }
        },
        lock_);
    return notified;
  }

  std::variant<Lock, RLock> lock_;
  detail::Shared<detail::SharedConditionState> state_;
};

/**
Python: `multiprocessing.Barrier(parties, action=None, timeout=None)`: `parties` processes
(or threads) meet in `wait()`; the last to arrive runs `action` and releases them all. As in
threading: `wait(timeout)` returns the arrival index (0 .. parties-1); a timeout, an
`abort()`, or an action that throws breaks the barrier and every waiter gets
`threading::BrokenBarrierError`; `reset()` makes it usable again; `parties()`,
`n_waiting()`, `broken()`. `Barrier(0)` is accepted, as in CPython (its `wait` can only time out).

Beyond CPython: a party whose process dies inside `wait()` breaks the barrier for the others
within about 100 ms instead of hanging them.

Differs from Python: `action` runs in whichever process arrives last, as in CPython, but a
Barrier with an action reaches only forked children (the action cannot be pickled for spawn).
*/
class Barrier {
 public:
  using pyconc_inheritance_only = void;

  explicit Barrier(long long parties, std::function<void()> action = {}, std::optional<double> timeout = std::nullopt)
      : action_(std::move(action)), timeout_(timeout) {
    if (parties < 0 || parties > INT_MAX)
      detail::raise<ValueError>("parties must be >= 0");
    const auto n = static_cast<std::uint32_t>(parties);
    state_ = detail::Shared<detail::SharedBarrierState>::make(sizeof(std::atomic<std::uint64_t>) * (n == 0 ? 1 : n), n);
  }

  /** Waits for the other parties (at most the barrier's timeout); returns the arrival index. */
  long long wait() { return wait_until(timeout_); }
  /** Waits at most `timeout` seconds; then breaks the barrier and raises `BrokenBarrierError`. */
  long long wait(Timeout timeout) { return wait_until(timeout.seconds); }

  /** Breaks the barrier and returns it to its initial state: waiters get `BrokenBarrierError`. */
  void reset() {
    Hold hold(*this);
    auto& s = *state_;
    if (s.count > 0) {
      if (s.phase == kFilling || s.phase == kBroken)
        s.phase = kResetting;
    } else {
      s.phase = kFilling;
    }
    notify_all();
  }
  /** Breaks the barrier: current and future waiters get `BrokenBarrierError` until `reset()`. */
  void abort() {
    Hold hold(*this);
    break_barrier();
  }

  [[nodiscard]] long long parties() const noexcept { return state_->parties; }
  [[nodiscard]] long long n_waiting() {
    Hold hold(*this);
    return state_->phase == kFilling ? state_->count : 0;
  }
  [[nodiscard]] bool broken() {
    Hold hold(*this);
    return state_->phase == kBroken;
  }

  /** Python's `repr`: `<multiprocessing.synchronize.Barrier at 0x...: waiters=0/2>` or `...: broken>`. */
  [[nodiscard]] std::string repr() {
    std::string out = detail::at_address("multiprocessing.synchronize.Barrier", state_.get());
    if (broken())
      return out + ": broken>";
    return out + ": waiters=" + std::to_string(n_waiting()) + "/" + std::to_string(parties()) + ">";
  }
  friend std::ostream& operator<<(std::ostream& os, Barrier& b) { return os << b.repr(); }

 private:
  friend struct pyconc::detail::PickleCodec<Barrier>;
  static constexpr std::int32_t kFilling = 0;
  static constexpr std::int32_t kDraining = 1;
  static constexpr std::int32_t kResetting = -1;
  static constexpr std::int32_t kBroken = -2;

  Barrier(detail::Shared<detail::SharedBarrierState> state, std::optional<double> timeout)
      : state_(std::move(state)), timeout_(timeout) {}

  /** Holds the barrier's own lock; a party that died inside it leaves the barrier broken. */
  class Hold {
   public:
    explicit Hold(Barrier& b) : b_(b) {
      if (b_.state_->lock.acquire(detail::self_identity(), detail::Deadline::forever()) == detail::Acquired::abandoned)
        b_.state_->phase = kBroken;
    }
    ~Hold() { b_.state_->lock.release(); }
    Hold(const Hold&) = delete;
    Hold& operator=(const Hold&) = delete;

   private:
    Barrier& b_;
  };

  std::atomic<std::uint64_t>* arrived() const noexcept {
    return reinterpret_cast<std::atomic<std::uint64_t>*>(state_.extra());
  }
  void notify_all() noexcept {
    state_->word.fetch_add(1, std::memory_order_seq_cst);
    detail::futex_wake(state_->word, INT_MAX, detail::FutexScope::process_shared);
  }
  void break_barrier() noexcept {
    state_->phase = kBroken;
    notify_all();
  }

  /** Parties of this round whose process died: forgotten; while filling, the barrier breaks. */
  void drop_dead_parties() {
    auto& s = *state_;
    const std::uint64_t me = detail::self_identity();
    const std::uint32_t slots = s.parties == 0 ? 1 : s.parties;
    for (std::uint32_t i = 0; i < slots; ++i) {
      const std::uint64_t who = arrived()[i].load(std::memory_order_relaxed);
      if (who == 0 || who == me || detail::identity_alive(who))
        continue;
      arrived()[i].store(0, std::memory_order_relaxed);
      --s.count;
      if (s.phase == kFilling)
        s.phase = kBroken;
      leave_round();
      notify_all();
    }
  }

  /**
  Waits (holding `hold`'s lock on return) until `done()` or the deadline; every 100 ms checks
  the other parties' processes. Returns `done()`.
  */
  template <class Done>
  bool wait_while_not(Done done, const detail::Deadline& deadline) {
    auto& s = *state_;
    auto next_check = detail::Clock::now() + detail::RobustLock::kSlice;
    while (!done()) {
      if (deadline.expired())
        return false;
      const std::uint32_t seen = s.word.load(std::memory_order_seq_cst);
      const auto until =
          deadline.is_forever() || next_check < deadline.at() ? detail::Deadline::at_time(next_check) : deadline;
      s.lock.release();
      detail::wait_on(s.word, seen, until, detail::FutexScope::process_shared);
      if (s.lock.acquire(detail::self_identity(), detail::Deadline::forever()) == detail::Acquired::abandoned)
        s.phase = kBroken;
      if (detail::Clock::now() >= next_check) {
        drop_dead_parties();
        next_check = detail::Clock::now() + detail::RobustLock::kSlice;
      }
    }
    return true;
  }

  /** Python: `Barrier._exit`: the last party out of a drained or reset round starts the next. */
  void leave_round() noexcept {
    auto& s = *state_;
    if (s.count == 0 && (s.phase == kResetting || s.phase == kDraining)) {
      s.phase = kFilling;
      notify_all();
    }
  }

  long long wait_until(std::optional<double> timeout) {
    const auto deadline =
        timeout ? detail::Deadline::after(*timeout, detail::NanTimeout::now) : detail::Deadline::forever();
    Hold hold(*this);
    auto& s = *state_;
    // Python: Barrier._enter: wait out a round that is draining or being reset.
    wait_while_not([&] { return s.phase != kDraining && s.phase != kResetting; }, detail::Deadline::forever());
    if (s.phase < 0)
      throw threading::BrokenBarrierError();
    const auto index = static_cast<std::uint32_t>(s.count);
    ++s.count;
    const bool recorded = index < s.parties;
    if (recorded)
      arrived()[index].store(detail::self_identity(), std::memory_order_relaxed);
    struct Leave {
      Barrier& b;
      std::uint32_t index;
      bool recorded;
      ~Leave() {
        --b.state_->count;
        if (recorded)
          b.arrived()[index].store(0, std::memory_order_relaxed);
        b.leave_round();
      }
    } leave{*this, index, recorded};
    if (index + 1 == s.parties) {
      if (action_) {
        try {
          action_();
        } catch (...) {
          break_barrier();
          throw;
        }
      }
      s.phase = kDraining;
      notify_all();
    } else {
      if (!wait_while_not([&] { return s.phase != kFilling; }, deadline)) {
        break_barrier();
        throw threading::BrokenBarrierError();
      }
      if (s.phase < 0)
        throw threading::BrokenBarrierError();
    }
    return index;
  }

  detail::Shared<detail::SharedBarrierState> state_;
  std::function<void()> action_;
  std::optional<double> timeout_;
};
}  // namespace multiprocessing

namespace detail {

/** The pickling of the shared objects: only as arguments of a process being started. */
template <class Object, class State, const char* Name>
struct SharedObjectCodec {
  static constexpr bool supported = true;
  static constexpr std::size_t min_size() { return 1; }
  static std::string describe() { return Name; }
  static void dump(PickleWriter& w, const Object& o) { dump_shared(w, o.state_, Name); }
  static Object load(PickleReader& r) { return Object(load_shared<State>(r, Name)); }
};

inline constexpr char kLockName[] = "Lock";
inline constexpr char kRLockName[] = "RLock";
inline constexpr char kSemaphoreName[] = "Semaphore";
inline constexpr char kBoundedSemaphoreName[] = "BoundedSemaphore";
inline constexpr char kEventName[] = "Event";

template <>
struct PickleCodec<multiprocessing::Lock> : SharedObjectCodec<multiprocessing::Lock, SharedLockState, kLockName> {};
template <>
struct PickleCodec<multiprocessing::RLock> : SharedObjectCodec<multiprocessing::RLock, SharedRLockState, kRLockName> {};
template <>
struct PickleCodec<multiprocessing::Semaphore>
    : SharedObjectCodec<multiprocessing::Semaphore, SharedSemaphoreState, kSemaphoreName> {};
template <>
struct PickleCodec<multiprocessing::BoundedSemaphore>
    : SharedObjectCodec<multiprocessing::BoundedSemaphore, SharedSemaphoreState, kBoundedSemaphoreName> {};
template <>
struct PickleCodec<multiprocessing::Event>
    : SharedObjectCodec<multiprocessing::Event, EventCore<FutexScope::process_shared>, kEventName> {};

/** A Condition pickles as its lock and its waiters' table. */
template <>
struct PickleCodec<multiprocessing::Condition> {
  static constexpr bool supported = true;
  static constexpr std::size_t min_size() { return 3; }
  static std::string describe() { return "Condition"; }
  static void dump(PickleWriter& w, const multiprocessing::Condition& c) {
    w.flag(c.lock_.index() == 1);
    std::visit([&](const auto& l) { PickleCodec<std::decay_t<decltype(l)>>::dump(w, l); }, c.lock_);
    dump_shared(w, c.state_, "Condition");
  }
  static multiprocessing::Condition load(PickleReader& r) {
    std::variant<multiprocessing::Lock, multiprocessing::RLock> lock =
        r.flag("Condition lock")
            ? std::variant<multiprocessing::Lock, multiprocessing::RLock>(PickleCodec<multiprocessing::RLock>::load(r))
            : PickleCodec<multiprocessing::Lock>::load(r);
    auto state = load_shared<SharedConditionState>(r, "Condition");
    return multiprocessing::Condition(std::move(lock), std::move(state));
  }
};

/** A Barrier pickles as its shared state and its timeout; one with an action does not pickle. */
template <>
struct PickleCodec<multiprocessing::Barrier> {
  static constexpr bool supported = true;
  static constexpr std::size_t min_size() { return 2; }
  static std::string describe() { return "Barrier"; }
  static void dump(PickleWriter& w, const multiprocessing::Barrier& b) {
    if (b.action_)
      raise<pickle::PicklingError>("a Barrier with an action can only reach a child started by fork");
    dump_shared(w, b.state_, "Barrier");
    PickleCodec<std::optional<double>>::dump(w, b.timeout_);
  }
  static multiprocessing::Barrier load(PickleReader& r) {
    auto state = load_shared<SharedBarrierState>(r, "Barrier");
    auto timeout = PickleCodec<std::optional<double>>::load(r);
    return multiprocessing::Barrier(std::move(state), timeout);
  }
};

}  // namespace detail
}  // namespace v0
}  // namespace pyconc

#endif  // PYCONC_MULTIPROCESSING_SYNCHRONIZE_HPP_INCLUDED
