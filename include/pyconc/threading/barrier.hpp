// SPDX-License-Identifier: MIT
/**
`pyconc/threading/barrier.hpp` — `threading.Barrier`.

Defines:
- `threading::Barrier`             a rendezvous point for a fixed number of threads.
- `threading::BrokenBarrierError`  raised by waits on a broken or reset barrier.
*/
#ifndef PYCONC_THREADING_BARRIER_HPP_INCLUDED
#define PYCONC_THREADING_BARRIER_HPP_INCLUDED

#include <cstddef>     // std::size_t
#include <functional>  // std::function
#include <mutex>       // std::lock_guard
#include <optional>    // std::optional
#include <utility>     // std::move

#include <pyconc/detail/wait.hpp>
#include <pyconc/errors.hpp>
#include <pyconc/threading/condition.hpp>
#include <pyconc/threading/lock.hpp>

namespace pyconc {
inline namespace v0 {
namespace threading {

/** Python: `threading.BrokenBarrierError` (a `RuntimeError`, raised with an empty message). */
PYCONC_DEFINE_ERROR(BrokenBarrierError, RuntimeError, "BrokenBarrierError");

/**
Python: `threading.Barrier(parties, action=None, timeout=None)`. `wait()` blocks until
`parties` threads are waiting, then releases them all at once; the barrier can be used again.

The last thread to arrive runs `action` (if any) before the others are released. If the
action throws, the barrier breaks: that thread gets the action's exception, the others
`BrokenBarrierError`.

Blocking and timeouts: `wait()` uses the constructor's timeout (none: forever); `wait(t)`
overrides it. A wait that times out breaks the barrier for everyone and raises
`BrokenBarrierError`. `wait()` returns a distinct index in `0 .. parties-1` to each thread.

| state \ call | wait()                          | reset()                 | abort()  |
|--------------|---------------------------------|-------------------------|----------|
| filling      | blocks, or releases all if last | waiters get Broken...; filling | broken |
| broken       | raises BrokenBarrierError       | filling                 | broken   |

Memory ordering: everything each party did before `wait()` happens-before every party's
return from that `wait()`.

```cpp
threading::Barrier barrier(3);
auto index = barrier.wait();  // in each of 3 threads
```

Differs from Python: not copyable.
*/
class Barrier {
 public:
  /** Raises `ValueError("parties must be > 0")` when `parties < 1` (CPython 3.13). */
  explicit Barrier(long long parties, std::function<void()> action = {}, std::optional<Timeout> timeout = std::nullopt)
      : parties_(checked_parties(parties)), action_(std::move(action)), timeout_(timeout), cond_(lock_) {}
  Barrier(const Barrier&) = delete;
  Barrier& operator=(const Barrier&) = delete;

  /** Waits for all parties with the constructor's timeout. Blocks. Thread-safe. */
  std::size_t wait() { return wait_impl(timeout_); }
  /** Waits for all parties, at most `timeout` seconds. Blocks. Thread-safe. */
  std::size_t wait(Timeout timeout) { return wait_impl(timeout); }

  /**
  Returns the barrier to its empty, unbroken state; threads waiting in it get
  `BrokenBarrierError`. Thread-safe.
  */
  void reset() {
    std::lock_guard with(cond_);
    if (count_ > 0) {
      if (state_ == State::filling) {
        state_ = State::resetting;
      } else if (state_ == State::broken) {
        state_ = State::resetting;  // waiters raise, then the last one out refills it
      }
    } else {
      state_ = State::filling;
    }
    cond_.notify_all();
  }

  /** Breaks the barrier: current and future `wait()` calls raise `BrokenBarrierError`. */
  void abort() {
    std::lock_guard with(cond_);
    break_barrier();
  }

  /** The number of threads required to pass the barrier. */
  [[nodiscard]] std::size_t parties() const noexcept { return parties_; }
  /** The number of threads waiting in the barrier right now. Thread-safe. */
  [[nodiscard]] std::size_t n_waiting() {
    std::lock_guard with(cond_);
    return state_ == State::filling ? count_ : 0;
  }
  /** Whether the barrier is broken. Thread-safe. */
  [[nodiscard]] bool broken() {
    std::lock_guard with(cond_);
    return state_ == State::broken;
  }

 private:
  enum class State { filling, draining, resetting, broken };

  static std::size_t checked_parties(long long parties) {
    if (parties < 1)
      pyconc::detail::raise<ValueError>("parties must be > 0");
    return static_cast<std::size_t>(parties);
  }

  std::size_t wait_impl(std::optional<Timeout> timeout) {
    std::lock_guard with(cond_);
    enter();
    const std::size_t index = count_++;
    struct Leave {  // Python's `finally: count -= 1; _exit()`
      Barrier& b;
      ~Leave() {
        --b.count_;
        b.leave();
      }
    } leave{*this};
    if (index + 1 == parties_) {
      release_all();
    } else {
      wait_for_release(timeout);
    }
    return index;
  }

  // Blocks while a previous cycle drains or resets.
  void enter() {
    while (state_ == State::draining || state_ == State::resetting)
      cond_.wait();
    if (state_ == State::broken)
      pyconc::detail::raise<BrokenBarrierError>();
  }

  // The last arrival: run the action, then let everyone go.
  void release_all() {
    try {
      if (action_)
        action_();
      state_ = State::draining;
      cond_.notify_all();
    } catch (...) {
      break_barrier();
      throw;
    }
  }

  void wait_for_release(std::optional<Timeout> timeout) {
    auto released = [this] { return state_ != State::filling; };
    const bool ok = timeout ? cond_.wait_for(released, *timeout) : cond_.wait_for(released);
    if (!ok) {
      break_barrier();
      pyconc::detail::raise<BrokenBarrierError>();
    }
    if (state_ == State::broken || state_ == State::resetting)
      pyconc::detail::raise<BrokenBarrierError>();
  }

  // The last thread out of a draining or resetting barrier opens it for the next cycle.
  void leave() {
    if (count_ == 0 && (state_ == State::draining || state_ == State::resetting)) {
      state_ = State::filling;
      cond_.notify_all();
    }
  }

  void break_barrier() {
    state_ = State::broken;
    cond_.notify_all();
  }

  const std::size_t parties_;
  std::function<void()> action_;
  std::optional<Timeout> timeout_;
  Lock lock_;
  Condition cond_;
  State state_ = State::filling;
  std::size_t count_ = 0;
};

}  // namespace threading
}  // namespace v0
}  // namespace pyconc

#endif  // PYCONC_THREADING_BARRIER_HPP_INCLUDED
