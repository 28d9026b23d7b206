// SPDX-License-Identifier: MIT
/**
`pyconc/threading/event.hpp` — `threading.Event`.

Defines:
- `threading::Event`   a flag that threads can wait to see set.
- `detail::EventCore`   the flag and its waiters, private or process-shared.
*/
#ifndef PYCONC_THREADING_EVENT_HPP_INCLUDED
#define PYCONC_THREADING_EVENT_HPP_INCLUDED

#include <atomic>   // std::atomic
#include <cstdint>  // std::uint32_t

#include <pyconc/detail/deadline.hpp>
#include <pyconc/detail/futex.hpp>
#include <pyconc/detail/wait_word.hpp>
#include <pyconc/timeout.hpp>

namespace pyconc {
inline namespace v0 {
namespace detail {

/**
An event's flag and its waiters, on the waiter protocol of `detail/wait_word.hpp`. The word
is `generation << 1 | set`: each `set()` of a clear flag bumps the generation, so a waiter
knows the flag was set while it slept even if it was cleared again since (CPython's
gh-57711 behaviour). With `FutexScope::process_shared` it works across processes.
*/
template <FutexScope Scope = FutexScope::process_private>
class EventCore {
 public:
  [[nodiscard]] bool is_set() const noexcept { return (word_.word().load(std::memory_order_acquire) & kSet) != 0; }

  /** Sets the flag and wakes every waiter. Never blocks. */
  void set() noexcept {
    auto& w = word_.word();
    std::uint32_t now = w.load(std::memory_order_relaxed);
    do {
      if (now & kSet)
        return;
    } while (!w.compare_exchange_weak(now, (now + kGeneration) | kSet, std::memory_order_seq_cst,
                                      std::memory_order_relaxed));
    word_.wake_all();
  }

  /** Clears the flag. Never blocks. */
  void clear() noexcept { word_.word().fetch_and(~kSet, std::memory_order_relaxed); }

  /** Waits until the flag is (or was, meanwhile) set, or `deadline`; returns whether it was. Blocks. */
  bool wait(const Deadline& deadline) {
    const std::uint32_t seen = word_.word().load(std::memory_order_acquire);
    if (seen & kSet)
      return true;
    // Only set() changes the word of a clear flag (clear() of a clear flag changes nothing),
    // so any change since `seen` means the flag was set while we waited.
    return word_.wait([seen](std::uint32_t now) { return now != seen; }, deadline);
  }

 private:
  static constexpr std::uint32_t kSet = 1;
  static constexpr std::uint32_t kGeneration = 2;
  WaitWord<Scope> word_;
};

}  // namespace detail

namespace threading {

/**
Python: `threading.Event()`. A flag, initially false: `set()` makes it true and wakes every
waiter, `clear()` makes it false again, `wait()` blocks until it is true.

Blocking and timeouts: `wait()` waits forever; `wait(t)` at most `t` seconds and returns the
flag (so `false` on timeout); a negative or NaN `t` returns at once, as in CPython. As in CPython (gh-57711), a
waiter woken by `set()` returns `true` even if `clear()` ran before it got to run.

Memory ordering: everything before `set()` happens-before a `wait()` or `is_set()` that
returns `true` because of it.

Cost: `set()`, `clear()` and `is_set()` are atomics only while nobody waits.

```cpp
threading::Event go;
threading::Thread t([&] { go.wait(); print("running"); });
t.start(); go.set(); t.join();
```

Differs from Python: not copyable (share it by reference or `std::shared_ptr`).
*/
class Event {
 public:
  Event() = default;
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;

  /** Whether the flag is set. Never blocks. Thread-safe. */
  [[nodiscard]] bool is_set() const noexcept { return core_.is_set(); }

  /** Sets the flag and wakes every waiter. Never blocks. Thread-safe. */
  void set() noexcept { core_.set(); }

  /** Clears the flag. Never blocks. Thread-safe. */
  void clear() noexcept { core_.clear(); }

  /** Waits until the flag is set. Blocks. Thread-safe. Returns `true`. */
  bool wait() { return core_.wait(detail::Deadline::forever()); }
  /** Waits at most `timeout` seconds; returns the flag. Blocks. Thread-safe. */
  bool wait(Timeout timeout) {
    if (is_set())
      return true;
    return core_.wait(detail::Deadline::after(timeout.seconds, detail::NanTimeout::now));
  }

 private:
  detail::EventCore<> core_;
};

}  // namespace threading
}  // namespace v0
}  // namespace pyconc

#endif  // PYCONC_THREADING_EVENT_HPP_INCLUDED
