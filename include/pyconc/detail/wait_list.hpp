// SPDX-License-Identifier: MIT
/**
`pyconc/detail/wait_list.hpp` — a FIFO of threads waiting to be notified.

Defines:
- `detail::WaitList`   what `threading::Condition` and the queues wait on.
*/
#ifndef PYCONC_DETAIL_WAIT_LIST_HPP_INCLUDED
#define PYCONC_DETAIL_WAIT_LIST_HPP_INCLUDED

#include <atomic>   // std::atomic
#include <cstddef>  // std::size_t
#include <cstdint>  // std::uint32_t

#include <pyconc/detail/wait.hpp>

namespace pyconc {
inline namespace v0 {
namespace detail {

/**
The threads waiting for a notification, longest waiter first; CPython's `Condition._waiters`.

The list is guarded by a lock the caller holds around every call (the condition's lock, the
queue's mutex). Each waiter sleeps on its own futex word, so `notify(n)` wakes exactly the
`n` longest waiters, and notifying an empty list costs a pointer test.

Memory ordering: what the notifier did before `notify()` happens-before the woken thread's
return from `wait()` (through the guarding lock, which the woken thread re-acquires).
*/
class WaitList {
 public:
  WaitList() = default;
  WaitList(const WaitList&) = delete;
  WaitList& operator=(const WaitList&) = delete;

  /**
  Joins the list, calls `unlock()`, sleeps until notified (or `deadline`; not at all unless
  `may_block`), calls `relock()`, and returns whether it was notified. Call it with the
  guarding lock held; it is held again on return.
  */
  template <class Unlock, class Relock>
  bool wait(const Deadline& deadline, bool may_block, Unlock&& unlock, Relock&& relock) {
    Waiter me;
    link(&me);
    unlock();
    if (may_block) {
      while (me.signaled.load(std::memory_order_acquire) == 0) {
        if (!wait_on(me.signaled, 0, deadline))
          break;
      }
    }
    relock();
    // With the lock held again: a notify that came in time unlinked us; otherwise leave.
    const bool notified = me.signaled.load(std::memory_order_acquire) != 0;
    if (!notified)
      unlink(&me);
    return notified;
  }

  /** Wakes up to `n` waiters, longest first. Call it with the guarding lock held. Never blocks. */
  void notify(std::size_t n = 1) noexcept {
    while (n > 0 && head_ != nullptr) {
      Waiter* w = head_;
      unlink(w);
      // The waiter cannot return (and free `w`) before it re-takes the lock we hold.
      w->signaled.store(1, std::memory_order_release);
      wake_one(w->signaled);
      --n;
    }
  }
  /** Wakes every waiter. Call it with the guarding lock held. Never blocks. */
  void notify_all() noexcept { notify(static_cast<std::size_t>(-1)); }

  /** Whether nobody waits. Call it with the guarding lock held. */
  [[nodiscard]] bool empty() const noexcept { return head_ == nullptr; }

 private:
  struct Waiter {  // on the waiting thread's stack
    std::atomic<std::uint32_t> signaled{0};
    Waiter* prev = nullptr;
    Waiter* next = nullptr;
  };

  void link(Waiter* w) noexcept {
    w->prev = tail_;
    (tail_ ? tail_->next : head_) = w;
    tail_ = w;
  }
  void unlink(Waiter* w) noexcept {
    (w->prev ? w->prev->next : head_) = w->next;
    (w->next ? w->next->prev : tail_) = w->prev;
    w->prev = w->next = nullptr;
  }

  Waiter* head_ = nullptr;
  Waiter* tail_ = nullptr;
};

}  // namespace detail
}  // namespace v0
}  // namespace pyconc

#endif  // PYCONC_DETAIL_WAIT_LIST_HPP_INCLUDED
