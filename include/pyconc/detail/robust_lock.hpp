// SPDX-License-Identifier: MIT
/**
`pyconc/detail/robust_lock.hpp` — a lock in memory shared between processes that survives
the death of its holder.

Defines:
- `detail::RobustLock`   16 bytes, no pointers: lock, try, release; tells the one acquirer that
                         finds the holder dead (`Acquired::abandoned`).

## The state

One 64-bit word: 0 when free, else the holder's `ProcessIdentity` (pid + start time) with bit 0
set when a waiter may sleep. The value that takes the lock *is* the record of who holds it,
so there is no moment at which the lock is held by an unknown process. Acquire is one CAS
0 -> identity; release is one exchange -> 0, and a futex wake only when the waiters bit was
set. Futexes are 32-bit, so the waiters sleep on a separate sequence word that every release
with waiters bumps before waking: a waiter reads the sequence before the state, so a release
between its read of the state and its sleep changes the sequence and the sleep returns at once.
A waiter that acquires after sleeping sets the waiters bit again (others may still sleep).

## A dead holder

A waiter sleeps in slices of 100 ms. Once it has seen the same holder for a whole slice, it
checks whether that process lives (`identity_alive`). If not, it tries a CAS from the dead
identity to its own: a dead identity is never written again, so exactly one acquirer wins
the claim; it is told `abandoned` and holds the lock, to repair what it protects, and its
caller releases it and reports. An acquirer that gives up (a timeout, a non-blocking try)
remembers per thread which holder it saw since when, so even a loop of non-blocking tries
finds a dead holder within a slice. A lock that another process released after the holder
died is simply free.

Memory ordering: acquire on the fast path, sequentially consistent on the slow path; release
by the exchange.
*/
#ifndef PYCONC_DETAIL_ROBUST_LOCK_HPP_INCLUDED
#define PYCONC_DETAIL_ROBUST_LOCK_HPP_INCLUDED

#include <atomic>   // std::atomic
#include <chrono>   // std::chrono
#include <cstdint>  // std::uint64_t, std::uint32_t

#include <pyconc/detail/deadline.hpp>
#include <pyconc/detail/futex.hpp>
#include <pyconc/detail/process_identity.hpp>
#include <pyconc/detail/wait.hpp>

namespace pyconc {
inline namespace v0 {
namespace detail {

/** What an acquire attempt ended with. */
enum class Acquired {
  no,         ///< timed out (or a non-blocking try found it held)
  yes,        ///< the caller holds the lock
  abandoned,  ///< the caller holds the lock, taken from a holder that died holding it
};

/** Which holder an acquirer of one lock has been seeing, and since when (per thread). */
struct HolderWatch {
  const void* lock = nullptr;
  std::uint64_t holder = 0;
  Clock::time_point since{};
};

/** A lock in shared memory that survives the death of its holder; see the file comment. */
class RobustLock {
 public:
  static constexpr auto kSlice = std::chrono::milliseconds(100);

  /** The identity word of the holder (0: free), the waiters bit cleared. */
  [[nodiscard]] std::uint64_t holder() const noexcept {
    return ProcessIdentity::strip(state_.load(std::memory_order_relaxed));
  }

  /** One attempt, no waiting (except for the liveness check of a holder watched long enough). */
  Acquired try_acquire(std::uint64_t me, pid_t* dead = nullptr) noexcept {
    std::uint64_t expected = 0;
    if (state_.compare_exchange_strong(expected, me, std::memory_order_acquire, std::memory_order_relaxed))
      return Acquired::yes;
    return acquire_slow(me, Deadline::after(0.0), dead);
  }

  /** Acquires until `deadline`; `dead` receives the dead holder's pid on `abandoned`. Blocks. */
  Acquired acquire(std::uint64_t me, const Deadline& deadline, pid_t* dead = nullptr) noexcept {
    std::uint64_t expected = 0;
    if (state_.compare_exchange_strong(expected, me, std::memory_order_acquire, std::memory_order_relaxed))
      return Acquired::yes;
    return acquire_slow(me, deadline, dead);
  }

  /** Releases; returns false when the lock was not held (nothing changes then). Never blocks. */
  bool release() noexcept {
    const std::uint64_t old = state_.exchange(0, std::memory_order_seq_cst);  // 0 -> 0 changes nothing
    if (old == 0)
      return false;
    if (old & ProcessIdentity::kUserFlag)
      pass_wake();
    return true;
  }

 private:
  static HolderWatch& watch() noexcept {
    constinit thread_local HolderWatch w;
    return w;
  }

  void pass_wake() noexcept {
    sequence_.fetch_add(1, std::memory_order_seq_cst);
    futex_wake(sequence_, 1, FutexScope::process_shared);
  }

  Acquired acquire_slow(std::uint64_t me, const Deadline& deadline, pid_t* dead) noexcept {
    for (int spin = 0; spin < 64; ++spin) {
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
      std::uint64_t expected = 0;
      if (state_.load(std::memory_order_relaxed) == 0 &&
          state_.compare_exchange_strong(expected, me, std::memory_order_acquire, std::memory_order_relaxed))
        return Acquired::yes;
      if (deadline.expired())
        break;
    }
    HolderWatch& w = watch();
    if (w.lock != this)
      w = HolderWatch{this, 0, {}};
    bool slept = false;
    std::uint32_t woken_at = 0;
    for (;;) {
      const std::uint32_t seq = sequence_.load(std::memory_order_seq_cst);
      std::uint64_t s = state_.load(std::memory_order_seq_cst);
      if (s == 0) {
        // Others may sleep too: keep the waiters bit once anyone has waited.
        if (state_.compare_exchange_strong(s, slept ? (me | ProcessIdentity::kUserFlag) : me,
                                           std::memory_order_seq_cst)) {
          w.holder = 0;
          return Acquired::yes;
        }
        continue;
      }
      const std::uint64_t holder = ProcessIdentity::strip(s);
      const auto now = Clock::now();
      if (holder != w.holder) {
        w.holder = holder;  // a new holder (or a first look): a slice of patience before suspecting it
        w.since = now;
      } else if (now - w.since >= kSlice) {
        w.since = now;
        if (!identity_alive(holder)) {
          const std::uint64_t claimed = me | (s & ProcessIdentity::kUserFlag);
          if (state_.compare_exchange_strong(s, claimed, std::memory_order_seq_cst)) {
            w.holder = 0;
            if (dead != nullptr)
              *dead = ProcessIdentity::pid(holder);
            return Acquired::abandoned;
          }
          continue;  // released, taken or claimed meanwhile: look again
        }
      }
      if (deadline.expired()) {
        // A wake-up meant for a waiter may have come to us as we gave up: pass it on.
        if (slept && sequence_.load(std::memory_order_seq_cst) != woken_at)
          pass_wake();
        return Acquired::no;
      }
      if ((s & ProcessIdentity::kUserFlag) == 0 &&
          !state_.compare_exchange_strong(s, s | ProcessIdentity::kUserFlag, std::memory_order_seq_cst))
        continue;
      // Sleep until a release, the deadline, or the end of this slice (to check the holder).
      const auto slice_end = w.since + kSlice;
      const Deadline until =
          deadline.is_forever() || slice_end < deadline.at() ? Deadline::at_time(slice_end) : deadline;
      wait_on(sequence_, seq, until, FutexScope::process_shared);
      slept = true;
      woken_at = seq;
    }
  }

  std::atomic<std::uint64_t> state_{0};
  std::atomic<std::uint32_t> sequence_{0};
  std::uint32_t reserved_ = 0;
};

static_assert(sizeof(RobustLock) == 16, "RobustLock is 16 bytes in shared memory");

}  // namespace detail
}  // namespace v0
}  // namespace pyconc

#endif  // PYCONC_DETAIL_ROBUST_LOCK_HPP_INCLUDED
