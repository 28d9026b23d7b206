// SPDX-License-Identifier: MIT
/**
`pyconc/detail/wait.hpp` — the one way pyconc blocks.

Defines:
- `detail::BlockingRegion`   a scope in which the calling thread does not hold the GIL
                             (CPython's `Py_BEGIN_ALLOW_THREADS` ... `Py_END_ALLOW_THREADS`).
- `detail::wait_on`          block while a futex word holds a value, until woken or a deadline.
- `detail::wait_fd`          block until file descriptors are ready (`ppoll`), or a deadline.
- `detail::wake_one`, `wake_n`, `wake_all`   wake threads blocked in `wait_on`.
- `detail::gil_on`, `gil_block_begin`, `gil_block_end`   how `gil.hpp` plugs in.

Every blocking call of the library (lock acquire, condition/event wait, join, sleep, queue
get/put, future result, and for processes pipe and pidfd waits) ends up in `wait_on` or
`wait_fd`, inside a `BlockingRegion`: timeouts are computed in one place against one clock,
and the GIL is released in one place. Uncontended fast paths never come here.
*/
#ifndef PYCONC_DETAIL_WAIT_HPP_INCLUDED
#define PYCONC_DETAIL_WAIT_HPP_INCLUDED

#include <atomic>   // std::atomic
#include <cerrno>   // errno, EINTR
#include <climits>  // INT_MAX
#include <cstddef>  // std::size_t
#include <cstdint>  // std::uint32_t
#include <ctime>    // timespec

#include <poll.h>  // ppoll, pollfd

#include <pyconc/detail/deadline.hpp>
#include <pyconc/detail/futex.hpp>
#include <pyconc/timeout.hpp>

namespace pyconc {
inline namespace v0 {
namespace detail {

/**
Nonzero while the GIL is enabled (`gil.hpp` keeps its generation number here). With the GIL
off, this one relaxed load is all that a blocking call and `gil::checkpoint()` pay for it.
*/
inline std::atomic<std::uint32_t> gil_on{0};

/**
Installed by `gil.hpp` before it first sets `gil_on`: `gil_block_begin` releases the GIL if
the calling thread holds it and says whether it did; `gil_block_end` takes it back.
*/
using GilBlockBegin = bool (*)() noexcept;
using GilBlockEnd = void (*)() noexcept;
inline std::atomic<GilBlockBegin> gil_block_begin{nullptr};
inline std::atomic<GilBlockEnd> gil_block_end{nullptr};

/**
A scope in which the calling thread does not hold the GIL: entered before a call that may
block, left after it. A thread that held the GIL releases it on entry and takes it back on
exit; otherwise (and always with the GIL off) it does nothing. Not copyable.
*/
class BlockingRegion {
 public:
  BlockingRegion() noexcept {
    if (gil_on.load(std::memory_order_relaxed) != 0) [[unlikely]] {
      if (const GilBlockBegin begin = gil_block_begin.load(std::memory_order_acquire))
        released_ = begin();
    }
  }
  ~BlockingRegion() {
    if (released_) [[unlikely]] {
      gil_block_end.load(std::memory_order_acquire)();
    }
  }
  BlockingRegion(const BlockingRegion&) = delete;
  BlockingRegion& operator=(const BlockingRegion&) = delete;

 private:
  bool released_ = false;
};

/**
Blocks while `word == expected`, until a `wake_*` call, a spurious wake-up, or `deadline`.
Returns `false` only when the deadline has passed; callers re-check their condition and loop.
A caller holding the GIL releases it for the wait and takes it back afterwards. Blocks.
Thread-safe.
*/
inline bool wait_on(std::atomic<std::uint32_t>& word, std::uint32_t expected, const Deadline& deadline,
                    FutexScope scope = FutexScope::process_private) noexcept {
  BlockingRegion region;
  return futex_wait(word, expected, deadline, scope);
}

/** Wakes one thread blocked in `wait_on(word, ...)`. Never blocks. Thread-safe. */
inline void wake_one(std::atomic<std::uint32_t>& word, FutexScope scope = FutexScope::process_private) noexcept {
  futex_wake(word, 1, scope);
}

/** Wakes up to `n` threads blocked in `wait_on(word, ...)`. Never blocks. Thread-safe. */
inline void wake_n(std::atomic<std::uint32_t>& word, std::uint32_t n,
                   FutexScope scope = FutexScope::process_private) noexcept {
  futex_wake(word, n, scope);
}

/** Wakes every thread blocked in `wait_on(word, ...)`. Never blocks. Thread-safe. */
inline void wake_all(std::atomic<std::uint32_t>& word, FutexScope scope = FutexScope::process_private) noexcept {
  futex_wake(word, INT_MAX, scope);
}

/**
Blocks until one of `fds` has an event it asks for (`ppoll`), or `deadline`. Returns the
number of entries with `revents` set, 0 when the deadline passed first, or -1 with `errno`
set on an error (never `EINTR`: an interrupted wait resumes with the time left). A caller
holding the GIL releases it for the wait. Blocks. Thread-safe.
*/
inline int wait_fd(pollfd* fds, std::size_t count, const Deadline& deadline) noexcept {
  BlockingRegion region;
  for (;;) {
    int rc = 0;
    if (deadline.is_forever()) {
      rc = ::ppoll(fds, count, nullptr, nullptr);
    } else {
      const timespec left = deadline.relative();
      rc = ::ppoll(fds, count, &left, nullptr);
    }
    if (rc >= 0 || errno != EINTR)
      return rc;
  }
}

/** `wait_fd` for one descriptor and `events` (`POLLIN` by default); returns its `revents`, 0 on timeout. */
inline short wait_fd(int fd, const Deadline& deadline, short events = POLLIN) noexcept {
  pollfd p{fd, events, 0};
  return wait_fd(&p, 1, deadline) > 0 ? p.revents : static_cast<short>(0);
}

}  // namespace detail
}  // namespace v0
}  // namespace pyconc

#endif  // PYCONC_DETAIL_WAIT_HPP_INCLUDED
