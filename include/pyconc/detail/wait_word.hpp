// SPDX-License-Identifier: MIT
/**
`pyconc/detail/wait_word.hpp` — the waiter protocol every blocking primitive is built on.

Defines:
- `detail::SleeperCount`   how many threads sleep (or are about to) waiting for a condition.
- `detail::WaitWord`       a futex word that waiters watch, with its `SleeperCount`.
- `detail::Latch`          a one-shot flag to wait for.

## The protocol, and why no wake-up is lost

A waiter waits for a condition on shared state; a notifier makes the condition true. Neither
makes a system call unless a waiter really sleeps. Every operation named below is a
sequentially consistent atomic, so all of them fall in one total order S:

    waiter                                   notifier
    W1  sleepers.enter()      (RMW)          N1  change the state      (RMW or store)
    W2  read the state; done if it holds     N2  sleepers.any()        (load)
    W3  sleep, unless the futex word no      N3  if N2 saw a sleeper: wake the futex word
        longer holds the value read in W2
    W4  sleepers.leave()

Either N2 comes before W1 in S, and then N1 comes before W2, so W2 sees the new state and the
waiter does not sleep; or W1 comes before N2, and N2 sees the waiter and wakes. That wake
cannot be lost: when the state lives in the futex word itself (`WaitWord`), N1 changed the
word before N3, and the kernel checks the word against W2's value atomically with queueing
the sleeper in W3, so either W3 sees the change and returns at once or it is queued before N3
and woken by it. When the state lives elsewhere (a queue's item count, with a `WaitList` per
condition), the notifier wakes under the lock the waiter holds from W2 to W3, with the same
effect. A stale count (a waiter between W4 and its return) costs one wake that finds nobody.

`FutexScope::process_shared` puts the same protocol in memory mapped by several processes.
A waiter that dies between W1 and W4 leaves the count one too high: notifiers then make a
wake system call that finds nobody, which is harmless.
*/
#ifndef PYCONC_DETAIL_WAIT_WORD_HPP_INCLUDED
#define PYCONC_DETAIL_WAIT_WORD_HPP_INCLUDED

#include <atomic>   // std::atomic
#include <climits>  // INT_MAX
#include <cstdint>  // std::uint32_t

#include <pyconc/detail/deadline.hpp>
#include <pyconc/detail/futex.hpp>
#include <pyconc/detail/wait.hpp>

namespace pyconc {
inline namespace v0 {
namespace detail {

/** The number of threads that may sleep waiting for a condition: W1, W4 and N2 above. */
class SleeperCount {
 public:
  /** W1: counts the caller in; then it re-checks its condition before sleeping. */
  void enter() noexcept { count_.fetch_add(1, std::memory_order_seq_cst); }
  /** W4: counts the caller out once it is done waiting. */
  void leave() noexcept { count_.fetch_sub(1, std::memory_order_relaxed); }
  /** N2: whether a waiter may sleep; call it after changing the state. */
  [[nodiscard]] bool any() const noexcept { return count_.load(std::memory_order_seq_cst) != 0; }
  /**
  N2 for a notifier that wakes one sleeper and takes its place in the count (the sleeper
  then does not `leave()`): one wake per sleeper, not one per notification.
  */
  bool take_one() noexcept {
    std::uint32_t n = count_.load(std::memory_order_seq_cst);
    while (n != 0) {
      if (count_.compare_exchange_weak(n, n - 1, std::memory_order_seq_cst))
        return true;
    }
    return false;
  }
  /** Forgets every sleeper: in a forked child, where the sleepers' threads do not exist. */
  void at_fork_reset() noexcept { count_.store(0, std::memory_order_relaxed); }

 private:
  std::atomic<std::uint32_t> count_{0};
};

/**
A 32-bit word that waiters watch, and the count of those that sleep on it. Notifiers change
the word with a sequentially consistent operation and then call `wake_*`, which makes a
system call only when someone sleeps. `Scope` chooses a private or process-shared futex.
*/
template <FutexScope Scope = FutexScope::process_private>
class WaitWord {
 public:
  constexpr explicit WaitWord(std::uint32_t initial = 0) noexcept : word_(initial) {}
  WaitWord(const WaitWord&) = delete;
  WaitWord& operator=(const WaitWord&) = delete;

  /** The word. Change it only with `std::memory_order_seq_cst` operations (N1). */
  std::atomic<std::uint32_t>& word() noexcept { return word_; }
  [[nodiscard]] const std::atomic<std::uint32_t>& word() const noexcept { return word_; }

  /**
  Waits until `attempt(value)` returns `true` for the word's current value, or `deadline`;
  returns the last `attempt`'s result. `attempt` may do more than look (a semaphore takes a
  unit in it); it is called again after every wake-up. With a past deadline it is called
  once and nothing sleeps. Releases the GIL while asleep. Blocks. Thread-safe.
  */
  template <class Attempt>
  bool wait(Attempt&& attempt, const Deadline& deadline) {
    if (attempt(word_.load(std::memory_order_seq_cst)))
      return true;
    if (deadline.expired())
      return false;
    sleepers_.enter();
    bool done = false;
    for (;;) {
      const std::uint32_t seen = word_.load(std::memory_order_seq_cst);
      if (attempt(seen)) {
        done = true;
        break;
      }
      if (!wait_on(word_, seen, deadline, Scope)) {
        done = attempt(word_.load(std::memory_order_seq_cst));
        break;
      }
    }
    sleepers_.leave();
    return done;
  }

  /** N2 + N3: wakes one sleeper, if any. Never blocks. */
  void wake_one() noexcept {
    if (sleepers_.any())
      futex_wake(word_, 1, Scope);
  }
  /** N2 + N3: wakes up to `n` sleepers, if any. Never blocks. */
  void wake_n(std::uint32_t n) noexcept {
    if (sleepers_.any())
      futex_wake(word_, n, Scope);
  }
  /** N2 + N3: wakes every sleeper, if any. Never blocks. */
  void wake_all() noexcept {
    if (sleepers_.any())
      futex_wake(word_, INT_MAX, Scope);
  }
  /** Whether anyone may sleep on the word now. */
  [[nodiscard]] bool has_sleepers() const noexcept { return sleepers_.any(); }
  /** Forgets the sleepers: in a forked child, where their threads do not exist. */
  void at_fork_reset() noexcept { sleepers_.at_fork_reset(); }

 private:
  std::atomic<std::uint32_t> word_;
  SleeperCount sleepers_;
};

/**
A one-shot flag: `set()` once, `wait()` until it is set. Neither side makes a system call
unless a waiter actually sleeps. Thread-safe.
*/
class Latch {
 public:
  [[nodiscard]] bool is_set() const noexcept { return word_.word().load(std::memory_order_acquire) != 0; }

  /** Sets the flag and wakes every waiter. Never blocks. */
  void set() noexcept {
    word_.word().store(1, std::memory_order_seq_cst);
    word_.wake_all();
  }

  /** Waits until set or `deadline`; returns whether it is set. Blocks. */
  bool wait(const Deadline& deadline) {
    return word_.wait([](std::uint32_t v) { return v != 0; }, deadline);
  }

 private:
  WaitWord<> word_;
};

}  // namespace detail
}  // namespace v0
}  // namespace pyconc

#endif  // PYCONC_DETAIL_WAIT_WORD_HPP_INCLUDED
