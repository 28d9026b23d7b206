// SPDX-License-Identifier: MIT
/**
`pyconc/detail/futex.hpp` — the one place pyconc talks to the kernel's futexes.

Defines:
- `detail::FutexScope`    whether a futex word is private to this process or lives in memory
                          that other processes map too (a `MAP_SHARED` mapping).
- `detail::futex_wait`    block while a word holds a value, until woken or a deadline.
- `detail::futex_wake`    wake up to `n` threads blocked on a word.

These never touch the GIL: `detail/wait.hpp` adds that. A primitive chooses its scope once
(a template argument), so the same Lock, Semaphore or Event code runs in one process or
across processes: a private futex is cheaper for the kernel to look up, and a shared one is
found by its physical page, so a waiter in a forked or spawned child is woken by a parent's
wake on the same mapping.
*/
#ifndef PYCONC_DETAIL_FUTEX_HPP_INCLUDED
#define PYCONC_DETAIL_FUTEX_HPP_INCLUDED

#include <atomic>   // std::atomic
#include <cerrno>   // errno, ETIMEDOUT
#include <climits>  // INT_MAX
#include <cstdint>  // std::uint32_t
#include <ctime>    // timespec

#include <linux/futex.h>  // FUTEX_*
#include <sys/syscall.h>  // SYS_futex
#include <unistd.h>       // syscall

#include <pyconc/detail/deadline.hpp>

namespace pyconc {
inline namespace v0 {
namespace detail {

/** Who may wait on and wake a futex word. */
enum class FutexScope : int {
  process_private = FUTEX_PRIVATE_FLAG,  ///< threads of this process only (the default)
  process_shared = 0,                    ///< any process that maps the word (MAP_SHARED memory)
};

static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t) &&
                  std::atomic<std::uint32_t>::is_always_lock_free,
              "a futex word is a plain 32-bit word");

inline long futex_call(std::atomic<std::uint32_t>& word, int op, FutexScope scope, std::uint32_t value,
                       const timespec* ts, std::uint32_t bitset) noexcept {
  return ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), op | static_cast<int>(scope), value, ts, nullptr,
                   bitset);
}

/**
Blocks while `word == expected`, until a `futex_wake`, a spurious wake-up, or `deadline`.
Returns `false` only when the deadline has passed; callers re-check their condition and loop.
Never touches the GIL. Blocks. Thread-safe.
*/
inline bool futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected, const Deadline& deadline,
                       FutexScope scope = FutexScope::process_private) noexcept {
  if (deadline.is_forever()) {
    futex_call(word, FUTEX_WAIT_BITSET, scope, expected, nullptr, FUTEX_BITSET_MATCH_ANY);
    return true;
  }
  // FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC time: no drift across spurious wake-ups.
  const timespec ts = deadline.absolute();
  const long rc = futex_call(word, FUTEX_WAIT_BITSET, scope, expected, &ts, FUTEX_BITSET_MATCH_ANY);
  if (rc == -1 && errno == ETIMEDOUT)
    return false;
  return !deadline.expired();
}

/** Wakes up to `n` threads blocked in `futex_wait(word, ...)` of the same scope. Never blocks. */
inline void futex_wake(std::atomic<std::uint32_t>& word, std::uint32_t n,
                       FutexScope scope = FutexScope::process_private) noexcept {
  futex_call(word, FUTEX_WAKE, scope, n > INT_MAX ? INT_MAX : n, nullptr, 0);
}

}  // namespace detail
}  // namespace v0
}  // namespace pyconc

#endif  // PYCONC_DETAIL_FUTEX_HPP_INCLUDED
