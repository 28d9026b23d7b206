// SPDX-License-Identifier: MIT
/**
`pyconc/concurrent/futures/wait.hpp` — `concurrent.futures.wait` and `as_completed`.

Defines:
- `futures::wait`                    wait for some or all of several futures.
- `futures::DoneAndNotDoneFutures`   what `wait()` returns: the `done` and `not_done` sets.
- `futures::as_completed`            a range yielding futures as they complete.
- `futures::AsCompleted`             that range's type.

Both take the futures as Python does: any range of `Future<T>` (`std::vector`, `std::set`,
`std::list`, ...), a braced list (`wait({f1, f2})`), or a map whose keys are futures, whose
keys they use (Python's `as_completed(future_to_url)` on a dict iterates its keys):

```cpp
std::map<futures::Future<std::string>, std::string> future_to_url;  // {executor.submit(...): url}
for (const auto& future : futures::as_completed(future_to_url))
  print(future_to_url.at(future), future.result());
```
*/
#ifndef PYCONC_CONCURRENT_FUTURES_WAIT_HPP_INCLUDED
#define PYCONC_CONCURRENT_FUTURES_WAIT_HPP_INCLUDED

#include <cstddef>           // std::size_t, std::ptrdiff_t
#include <cstdint>           // std::uintptr_t
#include <cstdio>            // std::snprintf
#include <initializer_list>  // std::initializer_list
#include <iterator>          // std::default_sentinel_t, std::input_iterator_tag, std::ranges::input_range
#include <memory>            // std::unique_ptr
#include <mutex>             // std::lock_guard
#include <optional>          // std::optional
#include <set>               // std::set
#include <string>            // std::string
#include <string_view>       // std::string_view
#include <type_traits>       // std::remove_cvref_t
#include <utility>           // std::move
#include <vector>            // std::vector

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

  /**
  Python's `repr()` of the named tuple, as `print(wait(fs))` shows it:
  `DoneAndNotDoneFutures(done={<Future at 0x... state=finished returned int>}, not_done=set())`.
  */
  [[nodiscard]] std::string repr() const {
    auto set_repr = [](const std::set<Future<T>>& fs) {
      if (fs.empty())
        return std::string("set()");
      std::string out = "{";
      for (const auto& f : fs)
        out += (out.size() > 1 ? ", " : "") + f.repr();
      return out + "}";
    };
    return "DoneAndNotDoneFutures(done=" + set_repr(done) + ", not_done=" + set_repr(not_done) + ")";
  }
};

}  // namespace futures
}  // namespace concurrent

namespace detail {

template <class F>
struct future_traits {};
template <class T>
struct future_traits<concurrent::futures::Future<T>> {
  using value_type = T;
};

/** A map (`std::map`, `std::unordered_map`, ...) whose keys are `Future<T>`: Python's dict of futures. */
template <class R>
concept future_map = std::ranges::input_range<R> && requires {
  typename std::remove_cvref_t<R>::mapped_type;
  typename future_traits<typename std::remove_cvref_t<R>::key_type>::value_type;
};

/** A range whose elements are `Future<T>`, for some `T`, or a map whose keys are. */
template <class R>
concept future_range = future_map<R> ||(std::ranges::input_range<R>&& requires {
  typename future_traits<std::remove_cvref_t<std::ranges::range_value_t<R>>>::value_type;
});

template <class R>
struct future_range_traits {
  using value_type = typename future_traits<std::remove_cvref_t<std::ranges::range_value_t<R>>>::value_type;
};
template <future_map R>
struct future_range_traits<R> {
  using value_type = typename future_traits<typename std::remove_cvref_t<R>::key_type>::value_type;
};

/** The `T` of the futures a `future_range` holds. */
template <class R>
using future_range_value_t = typename future_range_traits<R>::value_type;

/** The future an element of `R` is: the element, or a map entry's key. */
template <class R, class E>
decltype(auto) future_of(E&& element) {
  if constexpr (future_map<R>) {
    return (std::forward<E>(element).first);
  } else {
    return std::forward<E>(element);
  }
}

/**
CPython's `_AcquireFutures`: every future's lock, taken in address order. `fs` holds each
future once, ordered by address (a `std::set<concurrent::futures::Future<T>>`, or a vector copied from one).
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
std::set<concurrent::futures::Future<T>> unique_futures(R&& fs) {
  std::set<concurrent::futures::Future<T>> unique;
  for (auto&& element : fs)
    unique.insert(future_of<R>(element));
  return unique;
}

template <class T>
concurrent::futures::DoneAndNotDoneFutures<T> wait_until(std::set<concurrent::futures::Future<T>> fs,
                                                         const pyconc::detail::Deadline& deadline,
                                                         std::string_view return_when) {
  concurrent::futures::DoneAndNotDoneFutures<T> result;
  std::unique_ptr<Waiter> waiter;
  {
    LockAll locked(fs);
    for (const auto& f : fs) {
      const auto s = FutureAccess::state(f)->state();
      (s == kCancelledAndNotified || s == kFinished ? result.done : result.not_done).insert(f);
    }
    if (return_when == concurrent::futures::FIRST_COMPLETED && !result.done.empty())
      return result;
    if (return_when == concurrent::futures::FIRST_EXCEPTION && !result.done.empty()) {
      for (const auto& f : result.done) {
        auto* state = FutureAccess::state(f);
        if (state->state() == kFinished && state->stored_exception())
          return result;
      }
    }
    if (result.done.size() == fs.size())
      return result;

    if (return_when == concurrent::futures::FIRST_COMPLETED) {
      waiter = std::make_unique<FirstCompletedWaiter>();
    } else if (return_when == concurrent::futures::FIRST_EXCEPTION ||
               return_when == concurrent::futures::ALL_COMPLETED) {
      waiter = std::make_unique<AllCompletedWaiter>(result.not_done.size(),
                                                    return_when == concurrent::futures::FIRST_EXCEPTION);
    } else {
      pyconc::detail::raise<ValueError>("Invalid return condition: " + pyconc::detail::string_repr(return_when));
    }
    waiter->finished.reserve(result.not_done.size());
    install_all(fs, waiter.get());
  }

  wait_event(waiter->event, deadline);
  uninstall_all(fs, waiter.get());
  std::lock_guard with(waiter->lock);
  for (FutureCore* core : waiter->finished) {
    concurrent::futures::Future<T> f = FutureAccess::share(static_cast<FutureState<T>*>(core));
    result.not_done.erase(f);
    result.done.insert(std::move(f));
  }
  return result;
}

}  // namespace detail

namespace concurrent {
namespace futures {

/**
Python: `concurrent.futures.wait(fs, timeout=None, return_when=ALL_COMPLETED)`. Waits until
the futures in `fs` are done, as `return_when` says: `ALL_COMPLETED` (default),
`FIRST_COMPLETED`, or `FIRST_EXCEPTION` (any future finished with an exception; otherwise as
ALL_COMPLETED). `fs` is any range of `Future<T>` (vector, set, list, ...), a braced list
(`wait({f1, f2})`), or a map keyed by futures (Python's dict of futures: its keys are waited
for).

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
/** Python: `wait([f1, f2])`, written `wait({f1, f2})`. Blocks. Thread-safe. */
template <class T>
DoneAndNotDoneFutures<T> wait(std::initializer_list<Future<T>> fs) {
  return detail::wait_until(detail::unique_futures<T>(fs), pyconc::detail::Deadline::forever(), ALL_COMPLETED);
}
/** Python: `wait([f1, f2], timeout, return_when)`, written `wait({f1, f2}, timeout, return_when)`. */
template <class T>
DoneAndNotDoneFutures<T> wait(std::initializer_list<Future<T>> fs, Timeout timeout,
                              std::string_view return_when = ALL_COMPLETED) {
  const auto deadline = pyconc::detail::Deadline::after(timeout.seconds, pyconc::detail::NanTimeout::now);
  return detail::wait_until(detail::unique_futures<T>(fs), deadline, return_when);
}
/** Python: `wait([f1, f2], return_when=...)`, written `wait({f1, f2}, return_when)`. */
template <class T, class S>
requires(std::is_convertible_v<S, std::string_view> && !std::is_arithmetic_v<std::remove_cvref_t<S>>)
    DoneAndNotDoneFutures<T> wait(std::initializer_list<Future<T>> fs, S&& return_when) {
  return detail::wait_until(detail::unique_futures<T>(fs), pyconc::detail::Deadline::forever(), return_when);
}

template <class T>
class AsCompleted;

}  // namespace futures
}  // namespace concurrent

namespace detail {
template <class T, class R>
concurrent::futures::AsCompleted<T> make_as_completed(R&& fs, std::optional<double> timeout);
}  // namespace detail

namespace concurrent {
namespace futures {

/**
Python: the generator `concurrent.futures.as_completed(fs, timeout=None)` returns. An input
range of `Future<T>`: first the futures already done when iteration starts, then each other
one as it completes (finishes, or is cancelled and notified). Duplicates are yielded once.

Lazy, as CPython's generator: nothing happens until `begin()`, which looks at the futures,
starts the timeout and waits for the first one.

Blocking and timeouts: `begin()` and `++` wait for the next future. With a timeout, counted
from the first `begin()` (CPython's first `next()`), they raise `TimeoutError("2 (of 5)
futures unfinished")` once it has passed.

A common range (`begin()` and `end()` have one type): `std::vector<Future<T>> v(r.begin(),
r.end())` works, and `pyconc::list(r)` (builtins.hpp) is Python's `list(as_completed(fs))`.
`print(r)` prints what CPython prints for the generator, `<generator object as_completed at
0x7f...>`.

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
  /**
  An input iterator over the futures; `*it` is the future just completed. All iterators of one
  range share its position; a default-constructed one, and `end()`, compare equal to any
  iterator at the end.
  */
  class iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = Future<T>;
    using difference_type = std::ptrdiff_t;
    using reference = const Future<T>&;
    using pointer = const Future<T>*;
    iterator() = default;
    const Future<T>& operator*() const { return *impl_->current; }
    const Future<T>* operator->() const { return &*impl_->current; }
    /** Waits for the next future. Blocks. Raises `TimeoutError` past the deadline. */
    iterator& operator++() {
      impl_->advance();
      return *this;
    }
    void operator++(int) { ++*this; }
    friend bool operator==(const iterator& a, const iterator& b) noexcept {
      const bool a_end = a.at_end();
      return a_end == b.at_end() && (a_end || a.impl_ == b.impl_);
    }
    friend bool operator==(const iterator& it, std::default_sentinel_t) noexcept { return it.at_end(); }

   private:
    friend class AsCompleted;
    explicit iterator(Impl* impl) noexcept : impl_(impl) {}
    [[nodiscard]] bool at_end() const noexcept { return !impl_ || !impl_->current; }
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
  /** The end: an iterator equal to any iterator past the last future. Does not block. */
  iterator end() const noexcept { return iterator(); }

  /** Python's `repr()` of the generator: `<generator object as_completed at 0x7f...>`. */
  [[nodiscard]] std::string repr() const {
    char address[2 + 2 * sizeof(void*) + 1];
    std::snprintf(address, sizeof address, "%#lx",
                  static_cast<unsigned long>(reinterpret_cast<std::uintptr_t>(impl_.get())));
    return std::string("<generator object as_completed at ") + address + ">";
  }

 private:
  template <class U, class R>
  friend AsCompleted<U> detail::make_as_completed(R&& fs, std::optional<double> timeout);

  AsCompleted() : impl_(std::make_unique<Impl>()) {}

  std::unique_ptr<Impl> impl_;
};

}  // namespace futures
}  // namespace concurrent

namespace detail {

/** `as_completed()`: keeps each future once; the rest waits for `begin()`. */
template <class T, class R>
concurrent::futures::AsCompleted<T> make_as_completed(R&& fs, std::optional<double> timeout) {
  concurrent::futures::AsCompleted<T> range;
  const std::set<concurrent::futures::Future<T>> unique = unique_futures<T>(fs);
  range.impl_->fs.assign(unique.begin(), unique.end());
  range.impl_->timeout = timeout;
  return range;
}

}  // namespace detail

namespace concurrent {
namespace futures {

/**
Python: `concurrent.futures.as_completed(fs)`. A range over the futures of `fs` (any range of
`Future<T>`) in the order they complete. One thread iterates a range; the futures may
complete in any thread.

```cpp
for (auto& f : futures::as_completed(fs)) print(f.result());
```

`fs` may also be a braced list (`as_completed({f1, f2})`) or a map keyed by futures, whose
keys it yields (Python's `as_completed(future_to_url)`).

Differs from Python: every future in `fs` has the same result type `T` (see `wait()`).
*/
template <detail::future_range R>
AsCompleted<detail::future_range_value_t<R>> as_completed(R&& fs) {
  return detail::make_as_completed<detail::future_range_value_t<R>>(fs, std::nullopt);
}
/** Python: `as_completed([f1, f2])`, written `as_completed({f1, f2})`. */
template <class T>
AsCompleted<T> as_completed(std::initializer_list<Future<T>> fs) {
  return detail::make_as_completed<T>(fs, std::nullopt);
}
/** Python: `as_completed([f1, f2], timeout)`, written `as_completed({f1, f2}, timeout)`. */
template <class T>
AsCompleted<T> as_completed(std::initializer_list<Future<T>> fs, Timeout timeout) {
  return detail::make_as_completed<T>(fs, timeout.seconds);
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
