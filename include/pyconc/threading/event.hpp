// SPDX-License-Identifier: MIT
/**
`pyconc/threading/event.hpp` — `threading.Event`.

Defines:
- `threading::Event`   a flag that threads can wait to see set.
*/
#ifndef PYCONC_THREADING_EVENT_HPP_INCLUDED
#define PYCONC_THREADING_EVENT_HPP_INCLUDED

#include <atomic>   // std::atomic
#include <cstdint>  // std::uint32_t

#include <pyconc/detail/wait.hpp>

namespace pyconc {
inline namespace v0 {
namespace threading {

/**
Python: `threading.Event()`. A flag, initially false: `set()` makes it true and wakes every
waiter, `clear()` makes it false again, `wait()` blocks until it is true.

Blocking and timeouts: `wait()` waits forever; `wait(t)` at most `t` seconds and returns the
flag (so `false` on timeout); a negative `t` returns at once. As in CPython (gh-57711), a
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
  [[nodiscard]] bool is_set() const noexcept { return (word_.load(std::memory_order_acquire) & kSet) != 0; }

  /** Sets the flag and wakes every waiter. Never blocks. Thread-safe. */
  void set() noexcept {
    std::uint32_t w = word_.load(std::memory_order_relaxed);
    do {
      if (w & kSet)
        return;
    } while (!word_.compare_exchange_weak(w, (w + kGeneration) | kSet, std::memory_order_seq_cst,
                                          std::memory_order_relaxed));
    if (waiters_.load(std::memory_order_seq_cst) != 0)
      pyconc::detail::wake_all(word_);
  }

  /** Clears the flag. Never blocks. Thread-safe. */
  void clear() noexcept { word_.fetch_and(~kSet, std::memory_order_relaxed); }

  /** Waits until the flag is set. Blocks. Thread-safe. Returns `true`. */
  bool wait() { return wait_until(pyconc::detail::Deadline::forever()); }
  /** Waits at most `timeout` seconds; returns the flag. Blocks. Thread-safe. */
  bool wait(pyconc::detail::Timeout timeout) {
    if (is_set())
      return true;
    return wait_until(pyconc::detail::Deadline::after(timeout.seconds));
  }

 private:
  // word_ = generation << 1 | set-bit. Each set() of a clear flag bumps the generation, so a
  // waiter knows it was set while it slept even if the flag was cleared again since.
  static constexpr std::uint32_t kSet = 1;
  static constexpr std::uint32_t kGeneration = 2;

  bool wait_until(const pyconc::detail::Deadline& deadline) {
    const std::uint32_t seen = word_.load(std::memory_order_acquire);
    if (seen & kSet)
      return true;
    // Only set() changes the word of a clear flag (clear() of a clear flag changes nothing),
    // so any change since `seen` means the flag was set while we waited.
    waiters_.fetch_add(1, std::memory_order_seq_cst);
    bool result = false;
    for (;;) {
      if (word_.load(std::memory_order_seq_cst) != seen) {
        result = true;
        break;
      }
      if (!pyconc::detail::wait_on(word_, seen, deadline)) {
        result = word_.load(std::memory_order_acquire) != seen;
        break;
      }
    }
    waiters_.fetch_sub(1, std::memory_order_relaxed);
    return result;
  }

  std::atomic<std::uint32_t> word_{0};
  std::atomic<std::uint32_t> waiters_{0};
};

}  // namespace threading
}  // namespace v0
}  // namespace pyconc

#endif  // PYCONC_THREADING_EVENT_HPP_INCLUDED
