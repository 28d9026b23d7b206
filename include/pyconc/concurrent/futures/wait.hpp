// SPDX-License-Identifier: MIT
/**
`pyconc/concurrent/futures/wait.hpp` — `concurrent.futures.wait` and `as_completed`.

Defines:
- `futures::wait`                    wait for some or all of several futures.
- `futures::DoneAndNotDoneFutures`   what `wait()` returns: the `done` and `not_done` sets.
- `futures::as_completed`            a range yielding futures as they complete.
- `futures::AsCompleted`             that range's type.
*/
#ifndef PYCONC_CONCURRENT_FUTURES_WAIT_HPP_INCLUDED
#define PYCONC_CONCURRENT_FUTURES_WAIT_HPP_INCLUDED

#include <cstddef>      // std::size_t, std::ptrdiff_t
#include <iterator>     // std::default_sentinel_t
#include <memory>       // std::unique_ptr
#include <mutex>        // std::lock_guard
#include <optional>     // std::optional
#include <ranges>       // std::ranges::input_range
#include <set>          // std::set
#include <string>       // std::string
#include <string_view>  // std::string_view
#include <type_traits>  // std::remove_cvref_t
#include <utility>      // std::move
#include <vector>       // std::vector

#include <pyconc/concurrent/futures/future.hpp>
#include <pyconc/detail/wait.hpp>
#include <pyconc/errors.hpp>

namespace pyconc {
inline namespace v0 {
namespace concurrent {
namespace futures {

/**
Python: `concurrent.futures.DoneAndNotDoneFutures`, the named pair `wait()` returns. Duplicates
given to `wait()` appear once.
*/
template <class T>
struct DoneAndNotDoneFutures {
  std::set<Future<T>> done;      ///< finished or cancelled (and notified) when `wait()` returned
  std::set<Future<T>> not_done;  ///< the others
};

namespace detail {

template <class F>
struct future_traits {};
template <class T>
struct future_traits<Future<T>> {
  using value_type = T;
};

/** A range whose elements are `Future<T>`, for some `T`. */
template <class R>
concept future_range = std::ranges::input_range<R> && requires {
  typename future_traits<std::remove_cvref_t<std::ranges::range_value_t<R>>>::value_type;
};

template <class R>
using future_range_value_t = typename future_traits<std::remove_cvref_t<std::ranges::range_value_t<R>>>::value_type;

/** Python's `repr()` of a str, as in "Invalid return condition: 'BOGUS'". */
inline std::string py_str_repr(std::string_view s) {
  const char quote = (s.find('\'') != std::string_view::npos && s.find('"') == std::string_view::npos) ? '"' : '\'';
  std::string out(1, quote);
  for (const char c : s) {
    if (c == quote || c == '\\')
      out += '\\';
    out += c;
  }
  return out + quote;
}

/**
CPython's `_AcquireFutures`: every future's lock, taken in address order. `fs` holds each
future once, ordered by address (a `std::set<Future<T>>`, or a vector copied from one).
*/
template <class Futures>
class LockAll {
 public:
  explicit LockAll(const Futures& fs) : fs_(fs) {
    for (const auto& f : fs_)
      FutureAccess::state(f)->lock().acquire();
  }
  LockAll(const LockAll&) = delete;
  LockAll& operator=(const LockAll&) = delete;
  ~LockAll() {
    for (const auto& f : fs_)
      FutureAccess::state(f)->lock().release();
  }

 private:
  const Futures& fs_;
};

/** Installs `waiter` on every future of `fs`, whose locks the caller holds; all or none. */
template <class Futures>
void install_all(const Futures& fs, Waiter* waiter) {
  try {
    for (const auto& f : fs)
      FutureAccess::state(f)->install(waiter);
  } catch (...) {
    for (const auto& f : fs)
      FutureAccess::state(f)->uninstall(waiter);
    throw;
  }
}

/** Removes `waiter` from every future of `fs`, taking each future's lock in turn. */
template <class Futures>
void uninstall_all(const Futures& fs, Waiter* waiter) noexcept {
  for (const auto& f : fs) {
    auto* state = FutureAccess::state(f);
    std::lock_guard with(state->lock());
    state->uninstall(waiter);
  }
}

/** CPython's `_FirstCompletedWaiter`. */
class FirstCompletedWaiter final : public Waiter {
 public:
  void add_result(FutureCore* f) noexcept override { add(f); }
  void add_exception(FutureCore* f) noexcept override { add(f); }
  void add_cancelled(FutureCore* f) noexcept override { add(f); }

 private:
  void add(FutureCore* f) noexcept {
    append(f);
    event.set();
  }
};

/** CPython's `_AllCompletedWaiter`, for FIRST_EXCEPTION and ALL_COMPLETED. */
class AllCompletedWaiter final : public Waiter {
 public:
  AllCompletedWaiter(std::size_t pending, bool stop_on_exception) noexcept
      : pending_(pending), stop_on_exception_(stop_on_exception) {}

  void add_result(FutureCore* f) noexcept override { add(f, false); }
  void add_exception(FutureCore* f) noexcept override { add(f, stop_on_exception_); }
  void add_cancelled(FutureCore* f) noexcept override { add(f, false); }

 private:
  void add(FutureCore* f, bool stop) noexcept {
    bool all_done = false;
    {
      std::lock_guard with(lock);
      finished.push_back(f);
      if (!stop)
        all_done = --pending_ == 0;
    }
    if (stop || all_done)
      event.set();
  }

  std::size_t pending_;  // guarded by lock
  bool stop_on_exception_;
};

/** Waits on `event` until it is set or `deadline` passes. */
inline void wait_event(threading::Event& event, const pyconc::detail::Deadline& deadline) {
  if (deadline.is_forever()) {
    event.wait();
  } else {
    event.wait(deadline.remaining());
  }
}

template <class T, class R>
std::set<Future<T>> unique_futures(R&& fs) {
  std::set<Future<T>> unique;
  for (auto&& f : fs)
    unique.insert(f);
  return unique;
}

template <class T>
DoneAndNotDoneFutures<T> wait_until(std::set<Future<T>> fs, const pyconc::detail::Deadline& deadline,
                                    std::string_view return_when) {
  DoneAndNotDoneFutures<T> result;
  std::unique_ptr<Waiter> waiter;
  {
    LockAll locked(fs);
    for (const auto& f : fs) {
      const auto s = FutureAccess::state(f)->state();
      (s == kCancelledAndNotified || s == kFinished ? result.done : result.not_done).insert(f);
    }
    if (return_when == FIRST_COMPLETED && !result.done.empty())
      return result;
    if (return_when == FIRST_EXCEPTION && !result.done.empty()) {
      for (const auto& f : result.done) {
        auto* state = FutureAccess::state(f);
        if (state->state() == kFinished && state->stored_exception())
          return result;
      }
    }
    if (result.done.size() == fs.size())
      return result;

    if (return_when == FIRST_COMPLETED) {
      waiter = std::make_unique<FirstCompletedWaiter>();
    } else if (return_when == FIRST_EXCEPTION || return_when == ALL_COMPLETED) {
      waiter = std::make_unique<AllCompletedWaiter>(result.not_done.size(), return_when == FIRST_EXCEPTION);
    } else {
      pyconc::detail::raise<ValueError>("Invalid return condition: " + py_str_repr(return_when));
    }
    waiter->finished.reserve(result.not_done.size());
    install_all(fs, waiter.get());
  }

  wait_event(waiter->event, deadline);
  uninstall_all(fs, waiter.get());
  std::lock_guard with(waiter->lock);
  for (FutureCore* core : waiter->finished) {
    Future<T> f = FutureAccess::share(static_cast<FutureState<T>*>(core));
    result.not_done.erase(f);
    result.done.insert(std::move(f));
  }
  return result;
}

}  // namespace detail

/**
Python: `concurrent.futures.wait(fs, timeout=None, return_when=ALL_COMPLETED)`. Waits until
the futures in `fs` (any range of `Future<T>`) are done, as `return_when` says:
`ALL_COMPLETED` (default), `FIRST_COMPLETED`, or `FIRST_EXCEPTION` (any future finished
with an exception; otherwise as ALL_COMPLETED).

Blocking and timeouts: without a timeout it waits as long as it takes; with one it waits at
most that long (negative: not at all) and does not raise: it returns what is done by then.
It returns at once, without checking `return_when`, when nothing needs waiting for; an
invalid `return_when` raises `ValueError("Invalid return condition: 'BOGUS'")` only when it
would have to wait (as in CPython).

As in CPython, a future cancelled with `cancel()` counts as done for `wait()` only once its
executor noticed (`set_running_or_notify_cancel()`): a `ThreadPoolExecutor` notices when a
worker reaches it, never for the calls `shutdown(cancel_futures = true)` cancelled.

Memory ordering: as `Future::result()` for each future reported done.

```cpp
auto [done, not_done] = futures::wait(fs, 5.0, futures::FIRST_COMPLETED);
```

Differs from Python: every future in `fs` has the same result type `T` (a Python set mixes
any futures). For calls of different result types, give them a common one (wrap them in
lambdas returning a `std::variant`, or `void`), or wait for each type's futures in turn.
*/
template <detail::future_range R>
DoneAndNotDoneFutures<detail::future_range_value_t<R>> wait(R&& fs) {
  return detail::wait_until(detail::unique_futures<detail::future_range_value_t<R>>(fs),
                            pyconc::detail::Deadline::forever(), ALL_COMPLETED);
}
/** As `wait(fs)`, giving up after `timeout` seconds. Blocks. Thread-safe. */
template <detail::future_range R>
DoneAndNotDoneFutures<detail::future_range_value_t<R>> wait(R&& fs, Timeout timeout,
                                                            std::string_view return_when = ALL_COMPLETED) {
  const auto deadline = pyconc::detail::Deadline::after(timeout.seconds, pyconc::detail::NanTimeout::now);
  return detail::wait_until(detail::unique_futures<detail::future_range_value_t<R>>(fs), deadline, return_when);
}
/** Python: `wait(fs, return_when=...)` (no timeout). Blocks. Thread-safe. */
template <detail::future_range R, class S>
requires(std::is_convertible_v<S, std::string_view> && !std::is_arithmetic_v<std::remove_cvref_t<S>>)
    DoneAndNotDoneFutures<detail::future_range_value_t<R>> wait(R&& fs, S&& return_when) {
  return detail::wait_until(detail::unique_futures<detail::future_range_value_t<R>>(fs),
                            pyconc::detail::Deadline::forever(), return_when);
}

template <class T>
class AsCompleted;

namespace detail {
template <class T, class R>
AsCompleted<T> make_as_completed(R&& fs, std::optional<double> timeout);
}  // namespace detail

/**
Python: the generator `concurrent.futures.as_completed(fs, timeout=None)` returns. An input
range of `Future<T>`: first the futures already done when iteration starts, then each other
one as it completes (finishes, or is cancelled and notified). Duplicates are yielded once.

Lazy, as CPython's generator: nothing happens until `begin()`, which looks at the futures,
starts the timeout and waits for the first one.

Blocking and timeouts: `begin()` and `++` wait for the next future. With a timeout, counted
from the first `begin()` (CPython's first `next()`), they raise `TimeoutError("2 (of 5)
futures unfinished")` once it has passed.

Lifetime: movable, not copyable; iterators stay valid when the range is moved. Destroying it
early is fine (CPython's generator `close()`).
*/
template <class T>
class AsCompleted {
  struct Impl final : detail::Waiter {
    std::vector<Future<T>> fs;     // every future, once each, in address order
    std::vector<Future<T>> ready;  // done, not yet yielded: yielded from the back
    std::optional<Future<T>> current;
    std::size_t pending = 0;        // neither yielded nor reported done yet
    std::optional<double> timeout;  // seconds; unset: none
    pyconc::detail::Deadline deadline = pyconc::detail::Deadline::forever();
    bool started = false;  // installed on every future of fs

    Impl() = default;
    Impl(const Impl&) = delete;
    Impl& operator=(const Impl&) = delete;
    ~Impl() override {
      if (started)
        detail::uninstall_all(fs, this);
    }

    void add_result(detail::FutureCore* f) noexcept override { add(f); }
    void add_exception(detail::FutureCore* f) noexcept override { add(f); }
    void add_cancelled(detail::FutureCore* f) noexcept override { add(f); }
    void add(detail::FutureCore* f) noexcept {
      std::lock_guard with(lock);
      finished.push_back(f);  // capacity reserved by start()
      event.set();
    }

    // The generator's first steps: the deadline, the futures done by now, a waiter on all.
    void start() {
      if (timeout)
        deadline = pyconc::detail::Deadline::after(*timeout, pyconc::detail::NanTimeout::never);
      finished.reserve(fs.size());
      ready.reserve(fs.size());
      detail::LockAll locked(fs);
      for (const auto& f : fs) {
        const auto s = detail::FutureAccess::state(f)->state();
        if (s == detail::kCancelledAndNotified || s == detail::kFinished) {
          ready.push_back(f);
        } else {
          ++pending;
        }
      }
      detail::install_all(fs, this);
      started = true;
    }

    void advance() {
      current.reset();
      while (ready.empty() && pending > 0) {
        if (deadline.expired()) {
          pyconc::detail::raise<TimeoutError>(std::to_string(pending) + " (of " + std::to_string(fs.size()) +
                                              ") futures unfinished");
        }
        detail::wait_event(event, deadline);
        std::vector<detail::FutureCore*> got;
        {
          std::lock_guard with(lock);
          got.assign(finished.begin(), finished.end());
          finished.clear();
          event.clear();
        }
        pending -= got.size();
        for (auto it = got.rbegin(); it != got.rend(); ++it) {  // the first finished is yielded first
          ready.push_back(detail::FutureAccess::share(static_cast<detail::FutureState<T>*>(*it)));
        }
      }
      if (!ready.empty()) {
        current = std::move(ready.back());
        ready.pop_back();
      }
    }
  };

 public:
  /** An input iterator over the futures; `*it` is the future just completed. */
  class iterator {
   public:
    using value_type = Future<T>;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    const Future<T>& operator*() const { return *impl_->current; }
    const Future<T>* operator->() const { return &*impl_->current; }
    /** Waits for the next future. Blocks. Raises `TimeoutError` past the deadline. */
    iterator& operator++() {
      impl_->advance();
      return *this;
    }
    void operator++(int) { ++*this; }
    friend bool operator==(const iterator& it, std::default_sentinel_t) noexcept { return !it.impl_->current; }

   private:
    friend class AsCompleted;
    explicit iterator(Impl* impl) noexcept : impl_(impl) {}
    Impl* impl_ = nullptr;
  };

  AsCompleted(AsCompleted&&) noexcept = default;
  AsCompleted& operator=(AsCompleted&&) noexcept = default;

  /**
  On the first call, starts (see the class) and waits for the first future; later calls
  return the iterator where it is. Blocks. Raises `TimeoutError` past the deadline.
  */
  iterator begin() {
    if (!impl_->started) {
      impl_->start();
      impl_->advance();
    }
    return iterator(impl_.get());
  }
  std::default_sentinel_t end() const noexcept { return {}; }

 private:
  template <class U, class R>
  friend AsCompleted<U> detail::make_as_completed(R&& fs, std::optional<double> timeout);

  AsCompleted() : impl_(std::make_unique<Impl>()) {}

  std::unique_ptr<Impl> impl_;
};

namespace detail {

/** `as_completed()`: keeps each future once; the rest waits for `begin()`. */
template <class T, class R>
AsCompleted<T> make_as_completed(R&& fs, std::optional<double> timeout) {
  AsCompleted<T> range;
  const std::set<Future<T>> unique = unique_futures<T>(fs);
  range.impl_->fs.assign(unique.begin(), unique.end());
  range.impl_->timeout = timeout;
  return range;
}

}  // namespace detail

/**
Python: `concurrent.futures.as_completed(fs)`. A range over the futures of `fs` (any range of
`Future<T>`) in the order they complete. One thread iterates a range; the futures may
complete in any thread.

```cpp
for (auto& f : futures::as_completed(fs)) print(f.result());
```

Differs from Python: every future in `fs` has the same result type `T` (see `wait()`).
*/
template <detail::future_range R>
AsCompleted<detail::future_range_value_t<R>> as_completed(R&& fs) {
  return detail::make_as_completed<detail::future_range_value_t<R>>(fs, std::nullopt);
}
/**
Python: `as_completed(fs, timeout)`: iterating raises `TimeoutError` once `timeout` seconds
have passed since iteration began.
*/
template <detail::future_range R>
AsCompleted<detail::future_range_value_t<R>> as_completed(R&& fs, Timeout timeout) {
  return detail::make_as_completed<detail::future_range_value_t<R>>(fs, timeout.seconds);
}

}  // namespace futures
}  // namespace concurrent
}  // namespace v0
}  // namespace pyconc

#endif  // PYCONC_CONCURRENT_FUTURES_WAIT_HPP_INCLUDED
