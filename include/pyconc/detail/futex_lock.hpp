// SPDX-License-Identifier: MIT
/**
`pyconc/detail/futex_lock.hpp` — the one lock everything in pyconc is built on.

Defines:
- `detail::WaitPolicy`   whether a blocked acquirer releases the GIL (`releases_gil`) or not (`raw`).
- `detail::FutexLock`    a futex lock: one atomic instruction to acquire or release when
                         uncontended; a blocked acquirer sleeps in the kernel.
- `detail::RawLock`      `FutexLock<WaitPolicy::raw>`, for the GIL's own bookkeeping.
*/
#ifndef PYCONC_DETAIL_FUTEX_LOCK_HPP_INCLUDED
#define PYCONC_DETAIL_FUTEX_LOCK_HPP_INCLUDED

#include <atomic>   // std::atomic
#include <cstdint>  // std::uint32_t

#include <pyconc/detail/deadline.hpp>
#include <pyconc/detail/futex.hpp>
#include <pyconc/detail/wait.hpp>

namespace pyconc {
inline namespace v0 {
namespace detail {

/** How a blocked acquirer waits. */
enum class WaitPolicy {
  releases_gil,  ///< through `wait_on`: a GIL holder releases it while blocked (every lock users see)
  raw,           ///< through `futex_wait`: never touches the GIL (the GIL's own locks)
};

/**
A futex lock (Drepper's "Futexes Are Tricky", mutex 2): the word is 0 unlocked, 1 locked,
2 locked and perhaps waited for. Acquire and release are one atomic instruction each when
uncontended; the release of a lock marked 2 wakes one sleeper. No owner: any thread (or, with
`FutexScope::process_shared`, any process) may release it. Not fair.

Memory ordering: everything before `release()` happens-before everything after the next
successful acquire.
*/
template <WaitPolicy Policy = WaitPolicy::releases_gil, FutexScope Scope = FutexScope::process_private>
class FutexLock {
 public:
  constexpr FutexLock() noexcept = default;
  FutexLock(const FutexLock&) = delete;
  FutexLock& operator=(const FutexLock&) = delete;

  /** One attempt; never blocks. */
  [[nodiscard]] bool try_acquire() noexcept {
    std::uint32_t expected = 0;
    return state_.compare_exchange_strong(expected, 1, std::memory_order_acquire, std::memory_order_relaxed);
  }

  /** Waits until acquired or `deadline`; returns whether it was acquired. Blocks. */
  bool acquire(const Deadline& deadline) noexcept {
    if (try_acquire())
      return true;
    // Mark "waited for" so the holder's release wakes someone, then sleep while it stays so.
    while (state_.exchange(2, std::memory_order_acquire) != 0) {
      if (!sleep(deadline)) {
        // Timed out; one last try, since the lock may have been freed as the clock ran out.
        std::uint32_t expected = 0;
        return state_.compare_exchange_strong(expected, 2, std::memory_order_acquire, std::memory_order_relaxed);
      }
    }
    return true;
  }

  /** Releases; returns `false` if the lock was not locked. Never blocks. */
  bool release() noexcept {
    const std::uint32_t previous = state_.exchange(0, std::memory_order_release);
    if (previous == 2)
      futex_wake(state_, 1, Scope);
    return previous != 0;
  }

  /** Lockable, for `std::lock_guard` and `std::unique_lock`. */
  void lock() noexcept { acquire(Deadline::forever()); }
  void unlock() noexcept { release(); }
  [[nodiscard]] bool try_lock() noexcept { return try_acquire(); }

  [[nodiscard]] bool locked() const noexcept { return state_.load(std::memory_order_relaxed) != 0; }

  /** Unlocked again without waking anyone: only in a child process after `fork()`. */
  void at_fork_reinit() noexcept { state_.store(0, std::memory_order_relaxed); }

 private:
  bool sleep(const Deadline& deadline) noexcept {
    if constexpr (Policy == WaitPolicy::releases_gil) {
      return wait_on(state_, 2, deadline, Scope);
    } else {
      return futex_wait(state_, 2, deadline, Scope);
    }
  }

  std::atomic<std::uint32_t> state_{0};
};

/** A lock for the GIL's bookkeeping: it never waits through the GIL. */
using RawLock = FutexLock<WaitPolicy::raw>;

}  // namespace detail
}  // namespace v0
}  // namespace pyconc

#endif  // PYCONC_DETAIL_FUTEX_LOCK_HPP_INCLUDED
