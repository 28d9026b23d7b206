// SPDX-License-Identifier: MIT
/**
`pyconc/queue/base.hpp` — what every queue shares.

Defines:
- `queue::Empty`, `queue::Full`, `queue::ShutDown`   the module's exceptions.
- `detail::QueueLock`, `detail::Sleepers`            a queue's locks and its waiting threads.
- `detail::QueueCalls`                               Python's put/get overloads, written once.
- `detail::release_items`                            a queue's storage, kept while the program exits.
*/
#ifndef PYCONC_QUEUE_BASE_HPP_INCLUDED
#define PYCONC_QUEUE_BASE_HPP_INCLUDED

#include <atomic>   // std::atomic
#include <cstdint>  // std::uint32_t
#include <memory>   // std::shared_ptr
#include <mutex>    // std::lock_guard
#include <utility>  // std::move

#include <pyconc/detail/deadline.hpp>
#include <pyconc/detail/fork_gate.hpp>
#include <pyconc/detail/thread_state.hpp>
#include <pyconc/detail/wait_list.hpp>
#include <pyconc/detail/wait_word.hpp>
#include <pyconc/errors.hpp>
#include <pyconc/timeout.hpp>

namespace pyconc {
inline namespace v0 {
namespace queue {

/** Python: `queue.Empty`, raised (with an empty message) by a `get` that finds nothing. */
PYCONC_DEFINE_ERROR(Empty, Error, "Empty");
/** Python: `queue.Full`, raised (with an empty message) by a `put` into a full queue. */
PYCONC_DEFINE_ERROR(Full, Error, "Full");
/** Python: `queue.ShutDown` (3.13), raised by `put`, and by `get` once empty, after `shutdown()`. */
PYCONC_DEFINE_ERROR(ShutDown, Error, "ShutDown");

}  // namespace queue

namespace detail {

using QueueLock = InternalLock;  // never held across fork(): see detail/fork_gate.hpp
using Hold = std::lock_guard<QueueLock>;

/**
Threads waiting for one condition of a queue: a `WaitList` guarded by one of the queue's
locks, plus a `SleeperCount` that a notifier reads without the lock. This is the waiter
protocol of `detail/wait_word.hpp` with the state outside the futex word: a sleeper counts
itself, then re-checks its condition before it sleeps; a notifier changes the state, then
reads the count, and wakes under the lock, so a notifier that sees no sleeper skips the lock.
*/
class Sleepers {
 public:
  /**
  With `guard` held: unless `ready()`, sleeps until notified or `deadline`, releasing `guard`
  meanwhile. `guard` is held again on return.
  */
  template <class Ready>
  void sleep_unless(QueueLock& guard, Ready&& ready, const Deadline& deadline) {
    count_.enter();
    if (!ready()) {
      list_.wait(
          deadline, true, [&guard] { guard.release(); }, [&guard] { guard.acquire(); });
    }
    count_.leave();
  }
  /** With `guard` held: wakes the longest sleeper, if any. Never blocks. */
  void notify_locked() noexcept { list_.notify(); }
  /** With `guard` held: wakes every sleeper. Never blocks. */
  void notify_all_locked() noexcept { list_.notify_all(); }
  /** With `guard` not held: wakes the longest sleeper, taking `guard` only if there is one. */
  void notify(QueueLock& guard) {
    if (!count_.any())
      return;
    Hold with(guard);
    list_.notify();
  }
  /** With `guard` not held: wakes every sleeper, taking `guard` only if there is one. */
  void notify_all(QueueLock& guard) {
    if (!count_.any())
      return;
    Hold with(guard);
    list_.notify_all();
  }
  /** With `guard` held: whether anyone sleeps here. */
  [[nodiscard]] bool any_locked() const noexcept { return !list_.empty(); }

 private:
  WaitList list_;
  SleeperCount count_;
};

/**
Frees a queue's items, except while the program exits: then daemon threads may still be
blocked in (or calling) a static queue, as Python's worker idiom has them, so the items are
kept until the process ends. The queue's locks and waiting lists need no freeing.
*/
template <class Items>
void release_items(Items* items) {
  if (exiting()) {
    registry().keep_until_exit(std::shared_ptr<Items>(items));
  } else {
    delete items;
  }
}

inline void check_timeout(double timeout) {
  if (timeout < 0)
    raise<ValueError>("'timeout' must be a non-negative number");
}

/**
The calls every queue offers, in Python's overloads, on top of two primitives the queue
defines: `put_until(item, block, deadline, timeout)` and `get_until(block, deadline, timeout)`.
`timeout` is the caller's value, which each primitive checks where CPython does.
*/
template <class Derived, class T>
class QueueCalls {
 public:
  /** Puts `item` in, waiting while a bounded queue is full. Blocks. Thread-safe. */
  void put(T item) { self().put_until(std::move(item), true, Deadline::forever(), 0); }
  /** `put(item, false)` raises `queue::Full` at once when full; `put(item, true)` waits. */
  void put(T item, bool block) { self().put_until(std::move(item), block, Deadline::forever(), 0); }
  /**
  Waits at most `timeout` seconds for room, then raises `queue::Full`. On a bounded queue a negative
  `timeout` raises `ValueError("'timeout' must be a non-negative number")`; an unbounded queue
  ignores it. `block == false` ignores the timeout. Blocks. Thread-safe.
  */
  void put(T item, bool block, Timeout timeout) {
    if (!block)
      return put(std::move(item), false);
    // A NaN timeout waits as long as it takes (CPython's loop never sees the time run out).
    self().put_until(std::move(item), true, Deadline::after(timeout.seconds, NanTimeout::never), timeout.seconds);
  }
  /** Python: `put_nowait(item)`, which is `put(item, false)`. */
  void put_nowait(T item) { put(std::move(item), false); }

  /** Takes the next item out, waiting while the queue is empty. Blocks. Thread-safe. */
  T get() { return self().get_until(true, Deadline::forever(), 0); }
  /** `get(false)` raises `queue::Empty` at once when empty; `get(true)` waits. */
  T get(bool block) { return self().get_until(block, Deadline::forever(), 0); }
  /**
  Waits at most `timeout` seconds for an item, then raises `queue::Empty`. A negative `timeout`
  raises `ValueError("'timeout' must be a non-negative number")`, even when an item is there.
  `block == false` ignores the timeout. Blocks. Thread-safe.
  */
  T get(bool block, Timeout timeout) {
    if (!block)
      return get(false);
    // NaN: Queue, LifoQueue and PriorityQueue wait as long as it takes (CPython's loop never
    // sees the time run out); SimpleQueue raises ValueError, as its C implementation does.
    return self().get_until(true, Deadline::after(timeout.seconds, Derived::kNanTimeout), timeout.seconds);
  }
  /** Python: `get_nowait()`, which is `get(false)`. */
  T get_nowait() { return get(false); }

  /** Whether the queue is empty now (only a hint once the call returns). Thread-safe. */
  [[nodiscard]] bool empty() const { return static_cast<const Derived&>(*this).qsize() == 0; }

 private:
  Derived& self() noexcept { return static_cast<Derived&>(*this); }
};

}  // namespace detail
}  // namespace v0
}  // namespace pyconc

#endif  // PYCONC_QUEUE_BASE_HPP_INCLUDED
