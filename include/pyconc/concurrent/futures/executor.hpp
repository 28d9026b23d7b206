// SPDX-License-Identifier: MIT
/**
`pyconc/concurrent/futures/executor.hpp` — `concurrent.futures.Executor`.

Defines:
- `futures::Executor`     the base of executors: `submit`, `map`, `shutdown`.
- `detail::WorkItem`      what an executor receives: a call and the future it completes, to
                          run in place or to send elsewhere as bytes.
- `detail::CallCodec`, `detail::OutcomeCodec`   how a call and its outcome become bytes (for
                          executors in other processes; `pickle.hpp` provides them).
- `futures::MapOptions`   `map()`'s keyword arguments (`timeout`, `chunksize`).
- `futures::MapResults`   the range `map()` returns.
*/
#ifndef PYCONC_CONCURRENT_FUTURES_EXECUTOR_HPP_INCLUDED
#define PYCONC_CONCURRENT_FUTURES_EXECUTOR_HPP_INCLUDED

#include <concepts>     // std::invocable
#include <cstddef>      // std::size_t, std::ptrdiff_t
#include <cstdint>      // std::uintptr_t
#include <cstdio>       // std::snprintf
#include <exception>    // std::current_exception
#include <functional>   // std::invoke
#include <iterator>     // std::default_sentinel_t, std::input_iterator_tag, std::ranges::begin
#include <memory>       // std::unique_ptr
#include <optional>     // std::optional
#include <string>       // std::string
#include <string_view>  // std::string_view
#include <tuple>        // std::tuple, std::apply
#include <type_traits>  // std::decay_t, std::invoke_result_t
#include <utility>      // std::move, std::forward
#include <variant>      // std::monostate
#include <vector>       // std::vector

#include <pyconc/concurrent/futures/future.hpp>
#include <pyconc/detail/wait.hpp>
#include <pyconc/errors.hpp>

namespace pyconc {
inline namespace v0 {

namespace detail {

/** The result type of `submit(fn, args...)`: what `fn(args...)` returns, without references. */
template <class F, class... Args>
using submit_result_t = std::remove_cvref_t<std::invoke_result_t<std::decay_t<F>, std::decay_t<Args>...>>;

/**
How a call (`std::tuple<F, Args...>`) becomes bytes for an executor that runs it elsewhere,
and back. Not available unless specialised: `pickle.hpp` specialises it for the calls it can
serialize. A specialisation has `static constexpr bool available = true;`,
`static std::string encode(const Call&)` and `static Call decode(std::string_view)`.
*/
template <class Call>
struct CallCodec {
  static constexpr bool available = false;
};

/**
How the outcome of a call returning `T` (its value, or the exception it raised) becomes
bytes, and back into a future. Not available unless specialised; a specialisation has
`static constexpr bool available = true;` and
`static void complete(FutureState<T>& future, std::string_view outcome)`, which sets the
future's result or exception.
*/
template <class T>
struct OutcomeCodec {
  static constexpr bool available = false;
};

/**
CPython's `_WorkItem`: what an executor's `schedule()` receives from `submit()` — a call and
the future it completes. An executor carries it out one of two ways:
- in place: `run(before_done, context)` runs the call in the calling thread and completes the
  future (a thread pool's worker does this);
- elsewhere: `call_bytes()` is the call serialized, to send to another process; the outcome
  that comes back as bytes completes the future through `complete(outcome)` (a process pool,
  or an executor over MPI, does this).
`discard()` drops the call unrun (a cancelled or refused item). The item holds one reference
to its future; `release()` gives it up. Executors chain queued items through `next_in_queue`.
*/
class WorkItem {
 public:
  WorkItem() = default;
  WorkItem(const WorkItem&) = delete;
  WorkItem& operator=(const WorkItem&) = delete;

  /** The future the call completes. */
  virtual FutureCore& future() noexcept = 0;
  /** Runs the call here, if not cancelled; `before_done(context)` runs just before the future completes. */
  virtual void run(void (*before_done)(void*) noexcept, void* context) noexcept = 0;
  /** Destroys the call without running it. */
  virtual void discard() noexcept = 0;
  /** The call as bytes (`CallCodec`). Raises `TypeError` when it cannot be serialized. */
  [[nodiscard]] virtual std::string call_bytes() const = 0;
  /** Completes the future from the call's outcome as bytes (`OutcomeCodec`). Raises `TypeError` when it cannot. */
  virtual void complete(std::string_view outcome) = 0;
  /** Gives up the item's reference to its future (and the item with it). */
  void release() noexcept { future().release(); }

  WorkItem* next_in_queue = nullptr;  // the executor's queue link

 protected:
  ~WorkItem() = default;  // destroyed with its future: see TaskState
};

/**
A submitted call and its future in one allocation (CPython's `_WorkItem` plus `Future`). The
executor's queue holds one reference, each `Future` handle another. The call (and what it
captured) is destroyed as soon as it has run, before the future completes.
*/
template <class T, class Call>
class TaskState final : public FutureState<T>, public WorkItem {
 public:
  explicit TaskState(Call&& call) : call_(std::move(call)) {}

  FutureCore& future() noexcept override { return *this; }

  [[nodiscard]] std::string call_bytes() const override {
    if constexpr (CallCodec<Call>::available) {
      return CallCodec<Call>::encode(*call_);
    } else {
      raise<TypeError>("cannot serialize the call of " + class_name(typeid(std::get<0>(*call_))) +
                       " to run it in another process");
    }
  }

  void complete(std::string_view outcome) override {
    if constexpr (OutcomeCodec<T>::available) {
      call_.reset();
      OutcomeCodec<T>::complete(*this, outcome);
    } else {
      static_cast<void>(outcome);
      raise<TypeError>("cannot deserialize a result of type " + python_type_name<T>());
    }
  }

  void run(void (*before_done)(void*) noexcept, void* context) noexcept override {
    if (this->start_or_notify_cancel() != FutureCore::Start::running) {
      // Cancelled (now notified), or completed by someone else meanwhile: nothing to run.
      finish_call(before_done, context);
      return;
    }
    try {
      if constexpr (std::is_void_v<T>) {
        std::apply([](auto&&... a) { std::invoke(std::move(a)...); }, std::move(*call_));
        finish_call(before_done, context);
        this->try_set_result(std::monostate{});
      } else {
        T value = std::apply([](auto&&... a) -> T { return std::invoke(std::move(a)...); }, std::move(*call_));
        finish_call(before_done, context);
        this->try_set_result(std::move(value));  // may throw: T's move constructor
      }
    } catch (...) {
      finish_call(before_done, context);  // unless done above
      try {
        this->try_set_exception(std::current_exception());
      } catch (...) {
      }
    }
  }

  void discard() noexcept override { call_.reset(); }

 private:
  // Destroys the call and tells the executor, once: before the future completes.
  void finish_call(void (*before_done)(void*) noexcept, void* context) noexcept {
    if (!call_)
      return;
    call_.reset();
    before_done(context);
  }

  std::optional<Call> call_;  // the callable and its arguments, until run
};

/** CPython's `_result_or_cancel(fut, timeout)`: the result, and the future cancelled either way. */
template <class T>
Stored<T> result_or_cancel(concurrent::futures::Future<T>& f, const std::optional<pyconc::detail::Deadline>& deadline) {
  struct CancelOnExit {
    concurrent::futures::Future<T>& f;
    ~CancelOnExit() {
      try {
        f.cancel();
      } catch (...) {
      }
    }
  } cancel_on_exit{f};
  if constexpr (std::is_void_v<T>) {
    deadline ? f.result(deadline->remaining()) : f.result();
    return std::monostate{};
  } else {
    return deadline ? f.result(deadline->remaining()) : f.result();
  }
}

}  // namespace detail

namespace concurrent {
namespace futures {

/**
Python's keyword arguments of `Executor.map(...)`: `{.timeout = 2.0, .chunksize = 1}`.
`chunksize` is accepted and ignored, as CPython's `Executor.map` (and so `ThreadPoolExecutor`)
ignores it: any value, even 0 or negative, is allowed; only a process pool would use it.
*/
struct MapOptions {
  std::optional<Timeout> timeout = {};  ///< unset: no limit; counted from the map() call
  int chunksize = 1;                    ///< calls per message to a worker process; ignored by thread pools
};

/**
Python: the iterator `Executor.map()` returns. An input range of the results (`std::monostate`
for a function returning `void`), in the order of the inputs, however the calls finish.

Blocking and timeouts: `*it` waits for the current call's result (and rethrows its exception);
with `MapOptions::timeout` it raises `TimeoutError()` once the time, counted from the `map()`
call, has passed. An exception or a timeout ends the iteration and cancels every call not yet
started, as does destroying the range before the end (CPython's generator `close()`).

A common range (`begin()` and `end()` have one type), so the iterator-pair constructors and
algorithms work: `std::vector<int> v(r.begin(), r.end())`. `pyconc::list(r)` (builtins.hpp)
is Python's `list(r)`, moving each result out. `print(r)` prints what CPython prints for the
generator, `<generator object Executor.map.<locals>.result_iterator at 0x7f...>`, not the
results: print `list(r)` for those, as in Python.

Lifetime: movable, not copyable; iterators stay valid when the range is moved.
*/
template <class T>
class MapResults {
  using Value = detail::Stored<T>;

  struct Impl {
    std::vector<Future<T>> fs;
    std::size_t next = 0;  // the index of the current future
    std::optional<pyconc::detail::Deadline> deadline;
    std::optional<Value> current;
    bool fetched = false;

    Impl() = default;
    Impl(const Impl&) = delete;
    Impl& operator=(const Impl&) = delete;
    ~Impl() { cancel_from(next); }

    void cancel_from(std::size_t i) noexcept {
      for (; i < fs.size(); ++i) {
        try {
          fs[i].cancel();
        } catch (...) {
        }
      }
    }
    [[nodiscard]] bool at_end() const noexcept { return next >= fs.size(); }
    Value& fetch() {
      if (!fetched) {
        try {
          current.emplace(detail::result_or_cancel(fs[next], deadline));
        } catch (...) {
          cancel_from(next + 1);  // the generator is closed by the exception
          next = fs.size();
          throw;
        }
        fetched = true;
      }
      return *current;
    }
    void advance() {
      fetch();  // as Python's next(): a skipped result is still waited for
      current.reset();
      fetched = false;
      ++next;
    }
  };

 public:
  /**
  An input iterator over the results. All iterators of one range share its position; a
  default-constructed one, and `end()`, compare equal to any iterator at the end.
  */
  class iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = Value;
    using difference_type = std::ptrdiff_t;
    using reference = Value&;
    using pointer = Value*;
    iterator() = default;
    /** The current result. Blocks until it is known. Rethrows the call's exception; raises `TimeoutError`. */
    Value& operator*() const { return impl_->fetch(); }
    Value* operator->() const { return &impl_->fetch(); }
    /** Moves to the next result, waiting for the current one first (as Python's `next()`). */
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
    friend class MapResults;
    explicit iterator(Impl* impl) noexcept : impl_(impl) {}
    [[nodiscard]] bool at_end() const noexcept { return !impl_ || impl_->at_end(); }
    Impl* impl_ = nullptr;
  };

  MapResults(std::vector<Future<T>> fs, std::optional<pyconc::detail::Deadline> deadline)
      : impl_(std::make_unique<Impl>()) {
    impl_->fs = std::move(fs);
    impl_->deadline = deadline;
  }
  MapResults(MapResults&&) noexcept = default;
  MapResults& operator=(MapResults&&) noexcept = default;

  /** An iterator at the current result (the first, before any `++`). Does not block. */
  iterator begin() noexcept { return iterator(impl_.get()); }
  /** The end: an iterator equal to any iterator past the last result. */
  iterator end() const noexcept { return iterator(); }

  /** The futures of the calls, in input order (for inspection). */
  [[nodiscard]] const std::vector<Future<T>>& futures() const noexcept { return impl_->fs; }

  /** Python's `repr()` of the generator: `<generator object Executor.map.<locals>.result_iterator at 0x7f...>`. */
  [[nodiscard]] std::string repr() const {
    char address[2 + 2 * sizeof(void*) + 1];
    std::snprintf(address, sizeof address, "%#lx",
                  static_cast<unsigned long>(reinterpret_cast<std::uintptr_t>(impl_.get())));
    return std::string("<generator object Executor.map.<locals>.result_iterator at ") + address + ">";
  }

 private:
  std::unique_ptr<Impl> impl_;
};

/**
Python: `concurrent.futures.Executor`. The base of executors: `submit()` schedules a call and
returns its `Future`, `map()` runs a function over ranges, `shutdown()` stops the executor.

Implementing one: override `schedule(item)`, which receives a `detail::WorkItem` holding one
reference: run it in place with `item->run(before_done, context)`, or send
`item->call_bytes()` elsewhere and `item->complete(outcome)` when the outcome comes back; then
`item->release()`. When refusing, `item->release()` and raise. Override `shutdown()` too.
`submit()`, `map()` and its futures, `wait()` and `as_completed()` work unchanged for any
such executor.

Lifetime: destroying an Executor does nothing by itself; `ThreadPoolExecutor`'s destructor
waits for its work (Python's `with` block exit).

Differs from Python: `submit` takes the function's arguments by value (copied or moved into
the call, as `std::thread` does; pass `std::ref` to share); a reference result is copied.
*/
class Executor {
 public:
  Executor() = default;
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;
  virtual ~Executor() = default;

  /**
  Python: `submit(fn, /, *args)`. Schedules `fn(args...)` and returns its future. Thread-safe.
  Raises what the executor raises when it cannot accept work (see `ThreadPoolExecutor`).
  */
  template <class F, class... Args>
  requires std::invocable<std::decay_t<F>, std::decay_t<Args>...> Future<detail::submit_result_t<F, Args...>> submit(
      F&& fn, Args&&... args) {
    using T = detail::submit_result_t<F, Args...>;
    using Call = std::tuple<std::decay_t<F>, std::decay_t<Args>...>;
    auto* task = new detail::TaskState<T, Call>(Call(std::forward<F>(fn), std::forward<Args>(args)...));
    Future<T> future = detail::FutureAccess::share<T>(task);  // the handle's reference
    schedule(task);                                           // the queue's reference
    return future;
  }

  /**
  Python: `map(fn, *iterables)`. Submits `fn(a, b, ...)` for each element of the ranges taken
  together (stopping at the shortest, as `zip`), all before returning, and returns the results
  as a `MapResults` range that yields them lazily, in input order. Raises as `submit()`.
  `fn` is copied into each call, as `submit()` does.
  */
  template <class F, class... Ranges>
  requires(!std::is_same_v<std::remove_cvref_t<F>, MapOptions> &&
           sizeof...(Ranges) > 0) auto map(F&& fn, Ranges&&... iterables) {
    return map(MapOptions{}, std::forward<F>(fn), std::forward<Ranges>(iterables)...);
  }
  /**
  Python: `map(fn, *iterables, timeout=..., chunksize=...)`: `map({.timeout = 2.0}, fn, xs)`.
  The timeout counts from this call; `chunksize` is ignored, as by CPython's thread pool.
  */
  template <class F, class... Ranges>
  requires(sizeof...(Ranges) > 0) auto map(MapOptions options, F&& fn, Ranges&&... iterables) {
    std::optional<pyconc::detail::Deadline> deadline;
    if (options.timeout)
      deadline = pyconc::detail::Deadline::after(options.timeout->seconds, pyconc::detail::NanTimeout::now);
    using T = detail::submit_result_t<F&, std::ranges::range_reference_t<Ranges>...>;
    std::vector<Future<T>> fs;
    auto its = std::tuple(std::ranges::begin(iterables)...);
    const auto ends = std::tuple(std::ranges::end(iterables)...);
    const auto any_at_end = [&]<std::size_t... I>(std::index_sequence<I...>) {
      return ((std::get<I>(its) == std::get<I>(ends)) || ...);
    };
    const auto seq = std::index_sequence_for<Ranges...>{};
    while (!any_at_end(seq)) {
      [&]<std::size_t... I>(std::index_sequence<I...>) {
        fs.push_back(submit(fn, *std::get<I>(its)...));
        (++std::get<I>(its), ...);
      }
      (seq);
    }
    return MapResults<T>(std::move(fs), deadline);
  }

  /**
  Python: `shutdown(wait=True, *, cancel_futures=False)`. Frees the executor's resources; no
  more calls may be submitted. Idempotent. The base does nothing.
  */
  virtual void shutdown(bool wait = true, bool cancel_futures = false) {
    static_cast<void>(wait);
    static_cast<void>(cancel_futures);
  }

 protected:
  /** Takes `item` (one reference) to carry it out later; releases it and raises when it cannot. */
  virtual void schedule(detail::WorkItem* item) = 0;
};

}  // namespace futures
}  // namespace concurrent
}  // namespace v0
}  // namespace pyconc

#endif  // PYCONC_CONCURRENT_FUTURES_EXECUTOR_HPP_INCLUDED
