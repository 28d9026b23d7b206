// SPDX-License-Identifier: MIT
/**
`pyconc/concurrent/futures/future.hpp` — `concurrent.futures.Future` and the module's exceptions.

Defines:
- `futures::Future<T>`          a handle to the result of an asynchronous call (copies share it).
- `futures::CancelledError`, `InvalidStateError`, `BrokenExecutor`, `TimeoutError`.
- `futures::FIRST_COMPLETED`, `FIRST_EXCEPTION`, `ALL_COMPLETED`   `wait()`'s conditions.
*/
#ifndef PYCONC_CONCURRENT_FUTURES_FUTURE_HPP_INCLUDED
#define PYCONC_CONCURRENT_FUTURES_FUTURE_HPP_INCLUDED

#include <algorithm>    // std::find
#include <atomic>       // std::atomic
#include <cstdint>      // std::uint32_t, std::uintptr_t
#include <cstdio>       // std::snprintf
#include <exception>    // std::exception_ptr
#include <functional>   // std::function, std::hash, std::less
#include <mutex>        // std::lock_guard
#include <optional>     // std::optional
#include <string>       // std::string
#include <string_view>  // std::string_view
#include <type_traits>  // std::is_void_v, std::conditional_t
#include <typeinfo>     // typeid
#include <utility>      // std::move, std::exchange
#include <variant>      // std::monostate
#include <vector>       // std::vector

#include <pyconc/detail/fork_gate.hpp>
#include <pyconc/detail/wait.hpp>
#include <pyconc/detail/wait_word.hpp>
#include <pyconc/errors.hpp>
#include <pyconc/threading/lock.hpp>
#include <pyconc/threading/thread.hpp>

namespace pyconc {
inline namespace v0 {
namespace concurrent {
namespace futures {

/** Python: `concurrent.futures.CancelledError`. Raised by `result()`/`exception()` of a cancelled future; empty
 * message. */
PYCONC_DEFINE_ERROR(CancelledError, Error, "CancelledError");
/** Python: `concurrent.futures.InvalidStateError`. `set_result`/`set_exception` on a future that is done. */
PYCONC_DEFINE_ERROR(InvalidStateError, Error, "InvalidStateError");
/** Python: `concurrent.futures.BrokenExecutor`. An executor that failed and can run nothing more. */
PYCONC_DEFINE_ERROR(BrokenExecutor, RuntimeError, "BrokenExecutor");
/** Python: `concurrent.futures.TimeoutError`, which is the builtin `TimeoutError` (3.11+). */
using TimeoutError = pyconc::TimeoutError;

/** Python: `concurrent.futures.FIRST_COMPLETED`: `wait()` returns when any future is done. */
inline constexpr std::string_view FIRST_COMPLETED = "FIRST_COMPLETED";
/** Python: `concurrent.futures.FIRST_EXCEPTION`: when any future raised, else when all are done. */
inline constexpr std::string_view FIRST_EXCEPTION = "FIRST_EXCEPTION";
/** Python: `concurrent.futures.ALL_COMPLETED`: when every future is done. */
inline constexpr std::string_view ALL_COMPLETED = "ALL_COMPLETED";

template <class T>
class Future;

}  // namespace futures
}  // namespace concurrent

namespace detail {

// CPython's future states.
enum : std::uint32_t {
  kPending = 0,
  kRunning = 1,
  kCancelled = 2,
  kCancelledAndNotified = 3,
  kFinished = 4,
  kStateMask = 7,
};

[[nodiscard]] constexpr bool is_done(std::uint32_t state) noexcept {
  return state >= kCancelled;
}

[[nodiscard]] constexpr const char* state_name(std::uint32_t state) noexcept {
  switch (state) {
    case kPending:
      return "PENDING";
    case kRunning:
      return "RUNNING";
    case kCancelled:
      return "CANCELLED";
    case kCancelledAndNotified:
      return "CANCELLED_AND_NOTIFIED";
    default:
      return "FINISHED";
  }
}

[[nodiscard]] constexpr const char* state_description(std::uint32_t state) noexcept {
  switch (state) {
    case kPending:
      return "pending";
    case kRunning:
      return "running";
    case kCancelled:
    case kCancelledAndNotified:
      return "cancelled";
    default:
      return "finished";
  }
}

/** The Python class name of a value of type `T`, for `repr()`: "int", "str", "NoneType", ... */
template <class T>
std::string python_type_name() {
  if constexpr (std::is_void_v<T> || std::is_same_v<T, std::monostate> || std::is_same_v<T, std::nullptr_t>) {
    return "NoneType";
  } else if constexpr (std::is_same_v<T, bool>) {
    return "bool";
  } else if constexpr (std::is_integral_v<T>) {
    return "int";
  } else if constexpr (std::is_floating_point_v<T>) {
    return "float";
  } else if constexpr (std::is_convertible_v<const T&, std::string_view>) {
    return "str";
  } else {
    // The class's own name: no namespace, no template arguments.
    std::string name = pyconc::detail::demangle(typeid(T));
    if (const auto angle = name.find('<'); angle != std::string::npos)
      name.erase(angle);
    if (const auto colon = name.rfind("::"); colon != std::string::npos)
      name.erase(0, colon + 2);
    if (name == "vector" || name == "deque" || name == "list" || name == "array")
      return "list";
    if (name == "map" || name == "unordered_map")
      return "dict";
    if (name == "set" || name == "unordered_set")
      return "set";
    if (name == "tuple" || name == "pair")
      return "tuple";
    return name;
  }
}

class FutureCore;

/**
What `wait()` and `as_completed()` install on each future they wait for (CPython's `_Waiter`).
A future calls it, holding its own lock, when it finishes or its cancellation is notified.
`finished` has room reserved for every future, so adding never allocates.
*/
class Waiter {
 public:
  Waiter() = default;
  Waiter(const Waiter&) = delete;
  Waiter& operator=(const Waiter&) = delete;
  virtual ~Waiter() = default;

  virtual void add_result(FutureCore* f) noexcept = 0;
  virtual void add_exception(FutureCore* f) noexcept = 0;
  virtual void add_cancelled(FutureCore* f) noexcept = 0;

  threading::Event event;
  pyconc::detail::InternalLock lock;  // guards `finished`
  std::vector<FutureCore*> finished;  // futures done since installed; their owner keeps them alive

 protected:
  void append(FutureCore* f) noexcept {
    std::lock_guard with(lock);
    finished.push_back(f);  // capacity reserved by the installer
  }
};

/**
The state every `Future<T>` shares: CPython's `_state`, `_exception`, `_waiters`, with an
intrusive reference count (a future is one allocation). Also the node of an executor's work
queue: a submitted call lives in the same allocation (see `TaskState`).

All transitions but PENDING -> RUNNING happen under `lock_`, which is a futex lock (atomics
only when uncontended); `word_` is read without it.
*/
class FutureCore {
 public:
  FutureCore() = default;
  FutureCore(const FutureCore&) = delete;
  FutureCore& operator=(const FutureCore&) = delete;
  virtual ~FutureCore() = default;

  void add_ref() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
  void release() noexcept {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) != 1)
      return;
    // While the program exits, the last handle may be a static destroyed under a daemon
    // thread still blocked in its result(): the state is then left for the process's end.
    if (pyconc::detail::exiting())
      return;
    delete this;
  }

  [[nodiscard]] std::uint32_t state() const noexcept {
    return word_.word().load(std::memory_order_acquire) & kStateMask;
  }

  /** Python: `Future.cancel()`. */
  bool cancel() {
    std::uint32_t old = 0;
    {
      std::lock_guard with(lock_);
      old = word_.word().load(std::memory_order_acquire);
      for (;;) {
        const std::uint32_t s = old & kStateMask;
        if (s == kRunning || s == kFinished)
          return false;
        if (s == kCancelled || s == kCancelledAndNotified)
          return true;
        if (word_.word().compare_exchange_weak(old, kCancelled, std::memory_order_seq_cst, std::memory_order_acquire))
          break;
      }
    }
    word_.wake_all();
    if (has_callbacks_)
      invoke_callbacks();
    return true;
  }

  enum class Start { running, cancelled, unexpected };

  /** Python's `set_running_or_notify_cancel()`, without the report and the exception. */
  Start start_or_notify_cancel() noexcept {
    std::uint32_t w = word_.word().load(std::memory_order_acquire);
    while ((w & kStateMask) == kPending) {
      if (word_.word().compare_exchange_weak(w, kRunning, std::memory_order_seq_cst, std::memory_order_acquire)) {
        return Start::running;
      }
    }
    std::lock_guard with(lock_);
    w = word_.word().load(std::memory_order_acquire);
    if ((w & kStateMask) != kCancelled)
      return Start::unexpected;
    word_.word().store(kCancelledAndNotified,
                       std::memory_order_seq_cst);  // done since cancel(), which woke the sleepers
    for (Waiter* waiter : waiters_)
      waiter->add_cancelled(this);
    return Start::cancelled;
  }

  /** Python: `Future.set_running_or_notify_cancel()`. */
  bool set_running_or_notify_cancel() {
    switch (start_or_notify_cancel()) {
      case Start::running:
        return true;
      case Start::cancelled:
        return false;
      case Start::unexpected:
        break;
    }
    pyconc::detail::write_stderr("Future " + std::to_string(reinterpret_cast<std::uintptr_t>(this)) +
                                 " in unexpected state: " + state_name(state()) + "\n");
    pyconc::detail::raise<RuntimeError>("Future in unexpected state");
  }

  /** Sets the exception unless the future is done; returns whether it did. */
  bool try_set_exception(std::exception_ptr error) {
    {
      std::lock_guard with(lock_);
      if (is_done(word_.word().load(std::memory_order_acquire) & kStateMask))
        return false;
      exception_ = std::move(error);
      word_.word().store(kFinished, std::memory_order_seq_cst);
      for (Waiter* waiter : waiters_)
        waiter->add_exception(this);
    }
    word_.wake_all();
    if (has_callbacks_)
      invoke_callbacks();
    return true;
  }

  /** Python: `Future.set_exception(exception)`. */
  void set_exception(std::exception_ptr error) {
    if (!error)
      pyconc::detail::raise<TypeError>("set_exception() needs an exception, not nullptr");
    if (!try_set_exception(std::move(error)))
      raise_invalid_state();
  }

  /**
  Waits until the future is done or `deadline` passes; returns whether it is done. Sleeps on
  the state word, on the waiter protocol of `detail/wait_word.hpp`: a past deadline (timeout
  0 or negative) makes no system call. No spinning first: measured on a loaded 2-CPU
  machine, a spin of a few microseconds made submit().result() round trips several times
  slower (the spinner kept the CPU the call needed), and it would keep an opt-in GIL from
  others.
  */
  bool wait_done(const pyconc::detail::Deadline& deadline) {
    return word_.wait([](std::uint32_t w) { return is_done(w & kStateMask); }, deadline);
  }

  /** CPython's `__repr__`: `<Future at 0x7f... state=finished returned int>`. */
  [[nodiscard]] std::string repr() const {
    char address[2 + 2 * sizeof(void*) + 1];
    std::snprintf(address, sizeof address, "%#lx", static_cast<unsigned long>(reinterpret_cast<std::uintptr_t>(this)));
    const std::uint32_t s = state();
    std::string text = std::string("<Future at ") + address + " state=" + state_description(s);
    if (s == kFinished) {
      text += exception_ ? " raised " + pyconc::detail::exception_type_name(exception_) : " returned " + result_class();
    }
    return text + ">";
  }

  /** The stored exception of a finished future; nullptr after success. Read only once done. */
  [[nodiscard]] const std::exception_ptr& stored_exception() const noexcept { return exception_; }

  // ---- for wait() and as_completed(): call with lock_ held ----
  pyconc::detail::InternalLock& lock() noexcept { return lock_; }
  void install(Waiter* waiter) { waiters_.push_back(waiter); }
  void uninstall(Waiter* waiter) noexcept {
    if (auto it = std::find(waiters_.begin(), waiters_.end(), waiter); it != waiters_.end())
      waiters_.erase(it);
  }

 protected:
  [[noreturn]] void raise_invalid_state() const {
    pyconc::detail::raise<concurrent::futures::InvalidStateError>(std::string(state_name(state())) + ": " + repr());
  }
  /** Runs the done-callbacks; called once the future is done and `has_callbacks_`. */
  virtual void invoke_callbacks() noexcept = 0;
  /** Python's class name of the result, for `repr()`. */
  [[nodiscard]] virtual std::string result_class() const = 0;

  /** Reports an exception escaping a done-callback, as CPython's LOGGER.exception does. */
  void report_callback_error(std::exception_ptr error) const noexcept {
    try {
      pyconc::detail::report_exception("exception calling callback for " + repr() + "\n", error);
    } catch (...) {
    }
  }

  std::atomic<std::uint32_t> refs_{1};
  pyconc::detail::WaitWord<> word_{kPending};  // the state; threads in result() sleep on it
  pyconc::detail::InternalLock lock_;
  bool has_callbacks_ = false;    // guarded by lock_; never changes once done
  std::vector<Waiter*> waiters_;  // guarded by lock_
  std::exception_ptr exception_;  // written under lock_ before FINISHED, then read-only
};

/** What a `Future<T>` stores: `T`, or `std::monostate` for `Future<void>`. */
template <class T>
using Stored = std::conditional_t<std::is_void_v<T>, std::monostate, T>;

template <class T>
class FutureState : public FutureCore {
 public:
  using Callback = std::function<void(concurrent::futures::Future<T>)>;

  /** Sets the result unless the future is done; returns whether it did. */
  bool try_set_result(Stored<T>&& value) {
    {
      std::lock_guard with(lock_);
      if (is_done(word_.word().load(std::memory_order_acquire) & kStateMask))
        return false;
      value_.emplace(std::move(value));
      word_.word().store(kFinished, std::memory_order_seq_cst);
      for (Waiter* waiter : waiters_)
        waiter->add_result(this);
    }
    word_.wake_all();
    if (has_callbacks_)
      invoke_callbacks();
    return true;
  }

  void set_result(Stored<T>&& value) {
    if (!try_set_result(std::move(value)))
      raise_invalid_state();
  }

  /** Python: `Future.add_done_callback(fn)`. */
  void add_done_callback(Callback fn) {
    {
      std::lock_guard with(lock_);
      if (!is_done(word_.word().load(std::memory_order_acquire) & kStateMask)) {
        callbacks_.push_back(std::move(fn));
        has_callbacks_ = true;
        return;
      }
    }
    call(fn);
  }

  /** The stored value of a finished future that did not raise. */
  Stored<T>& value() noexcept { return *value_; }

 protected:
  void invoke_callbacks() noexcept override {
    // Done, so no callback can be added any more: the list is ours without the lock.
    std::vector<Callback> callbacks = std::move(callbacks_);
    for (auto& fn : callbacks)
      call(fn);
  }

  [[nodiscard]] std::string result_class() const override { return python_type_name<T>(); }

 private:
  void call(Callback& fn) noexcept;

  std::optional<Stored<T>> value_;   // written under lock_ before FINISHED, then read-only
  std::vector<Callback> callbacks_;  // guarded by lock_ until done
};

/** What `Future<T>::result()` returns: a copy of the value, or a reference if `T` cannot be copied. */
template <class T>
struct ResultType {
  using type = std::conditional_t<std::is_copy_constructible_v<T>, T, T&>;
};
template <>
struct ResultType<void> {
  using type = void;
};

/** Lets the library build `Future<T>` handles from states. */
struct FutureAccess {
  template <class T>
  static concurrent::futures::Future<T> adopt(FutureState<T>* state) noexcept {
    return concurrent::futures::Future<T>(state);
  }
  template <class T>
  static concurrent::futures::Future<T> share(FutureState<T>* state) noexcept {
    state->add_ref();
    return concurrent::futures::Future<T>(state);
  }
  template <class T>
  static FutureState<T>* state(const concurrent::futures::Future<T>& f) noexcept {
    return f.state_;
  }
};

template <class T>
void FutureState<T>::call(Callback& fn) noexcept {
  try {
    fn(FutureAccess::share(this));
  } catch (...) {
    report_callback_error(std::current_exception());
  }
}

}  // namespace detail

namespace concurrent {
namespace futures {

/**
Python: `concurrent.futures.Future`. The result of an asynchronous call: pending, then
running, then finished with a value or an exception; or cancelled before it ran.

A cheap copyable handle: copies refer to the same future, as Python references do, and the
state lives as long as any handle (or the executor running it) does. Compare handles with
`==` (Python's `is`); they order and hash by identity, so `std::set<Future<T>>` works.

Blocking and timeouts: `result()` and `exception()` wait until the future is done;
`result(t)`/`exception(t)` wait at most `t` seconds (a `double` or a `std::chrono::duration`;
negative: not at all) and then raise `TimeoutError` (empty message). A cancelled future
raises `CancelledError` (empty message).

Callbacks: `add_done_callback(fn)` runs `fn(future)` in the thread that finishes or cancels
the future, in the order they were added; on an already done future it runs `fn` at once in
the caller's thread. An exception escaping a callback is written to stderr as
"exception calling callback for <Future ...>" and the next callbacks still run.

Memory ordering: everything the task (or whoever calls `set_result`/`set_exception`) did
before completing the future happens-before every `result()`, `exception()`, `done()` or
callback that sees it done.

Cost: `done()`, `running()`, `cancelled()` are one atomic load; completing a future nobody
waits for makes no system call; a waiter sleeps at once (no spinning), `result()` on a done
future makes no system call.

| state \ call | cancel()        | set_running_or_notify_cancel() | set_result()/set_exception() |
|--------------|-----------------|--------------------------------|------------------------------|
| pending      | cancelled, true | running, true                  | finished                     |
| running      | false           | raises RuntimeError            | finished                     |
| cancelled    | true            | notified, false                | raises InvalidStateError     |
| finished     | false           | raises RuntimeError            | raises InvalidStateError     |

```cpp
futures::Future<int> f;                       // f = Future()
f.add_done_callback([](futures::Future<int> g) { print(g.result()); });
f.set_result(42);                             // prints 42
```

Differs from Python: `result()` returns a copy of the value (a reference when `T` cannot be
copied); `set_exception(nullptr)` raises `TypeError` (C++ has no `None` result to fall back
to); a moved-from handle may only be assigned to or destroyed.
*/
template <class T>
class Future {
 public:
  using value_type = T;
  /** What `result()` returns: a copy of the value, or a reference if `T` cannot be copied. */
  using result_type = typename detail::ResultType<T>::type;

  /** Python: `Future()`. A new pending future, for executor authors and tests. */
  Future() : state_(new detail::FutureState<T>) {}
  Future(const Future& other) noexcept : state_(other.state_) {
    if (state_)
      state_->add_ref();
  }
  Future(Future&& other) noexcept : state_(std::exchange(other.state_, nullptr)) {}
  Future& operator=(const Future& other) noexcept {
    Future(other).swap(*this);
    return *this;
  }
  Future& operator=(Future&& other) noexcept {
    Future(std::move(other)).swap(*this);
    return *this;
  }
  ~Future() {
    if (state_)
      state_->release();
  }
  void swap(Future& other) noexcept { std::swap(state_, other.state_); }

  /**
  Waits until done and returns the value, or rethrows the call's exception. Blocks.
  Thread-safe. Raises `CancelledError` if cancelled.
  */
  result_type result() const { return result_until(pyconc::detail::Deadline::forever()); }
  /**
  As `result()`, waiting at most `timeout` seconds (negative or NaN: not at all, as CPython);
  then raises `TimeoutError`.
  */
  result_type result(Timeout timeout) const {
    return result_until(pyconc::detail::Deadline::after(timeout.seconds, pyconc::detail::NanTimeout::now));
  }

  /**
  Waits until done and returns the call's exception, `nullptr` if it returned. Blocks.
  Thread-safe. Raises `CancelledError` if cancelled.
  */
  std::exception_ptr exception() const { return exception_until(pyconc::detail::Deadline::forever()); }
  /**
  As `exception()`, waiting at most `timeout` seconds (negative or NaN: not at all, as CPython);
  then raises `TimeoutError`.
  */
  std::exception_ptr exception(Timeout timeout) const {
    return exception_until(pyconc::detail::Deadline::after(timeout.seconds, pyconc::detail::NanTimeout::now));
  }

  /** Whether the future finished or was cancelled. Never blocks. Thread-safe. */
  [[nodiscard]] bool done() const noexcept { return detail::is_done(state_->state()); }
  /** Whether the call is running now. Never blocks. Thread-safe. */
  [[nodiscard]] bool running() const noexcept { return state_->state() == detail::kRunning; }
  /** Whether the future was cancelled. Never blocks. Thread-safe. */
  [[nodiscard]] bool cancelled() const noexcept {
    const auto s = state_->state();
    return s == detail::kCancelled || s == detail::kCancelledAndNotified;
  }

  /**
  Cancels the future unless it is running or finished; returns whether it is cancelled.
  Runs the callbacks (in the caller's thread) when it cancels. Never blocks. Thread-safe.
  */
  bool cancel() const { return state_->cancel(); }

  /**
  Calls `fn(future)` once the future is done; at once if it already is. Thread-safe.
  Exceptions escaping `fn` are reported to stderr, never propagated.
  */
  void add_done_callback(std::function<void(Future<T>)> fn) const { state_->add_done_callback(std::move(fn)); }

  /**
  Python: `Future.set_result(result)`; for executor authors and tests. Completes the future
  and runs its callbacks. Raises `InvalidStateError("FINISHED: <Future ...>")` (or
  `"CANCELLED: ..."`) if it is done already. Thread-safe.
  */
  void set_result(detail::Stored<T> value) const requires(!std::is_void_v<T>) { state_->set_result(std::move(value)); }
  /** Python: `Future.set_result(None)` for `Future<void>`. Thread-safe. Raises as the other overload. */
  void set_result() const requires std::is_void_v<T> { state_->set_result(std::monostate{}); }

  /** Python: `Future.set_exception(exception)`. Thread-safe. Raises `InvalidStateError` if done already. */
  void set_exception(std::exception_ptr error) const { state_->set_exception(std::move(error)); }
  /** Stores `error` (any exception object) as the future's exception. Thread-safe. Raises as above. */
  template <class E>
  requires(!std::is_same_v<std::remove_cvref_t<E>, std::exception_ptr>) void set_exception(E&& error) const {
    set_exception(std::make_exception_ptr(std::forward<E>(error)));
  }

  /**
  Python: `Future.set_running_or_notify_cancel()`; for executor authors. Marks a pending
  future running and returns `true`; for a cancelled one, notifies `wait()`/`as_completed()`
  and returns `false`. Otherwise writes "Future N in unexpected state: RUNNING" to stderr and
  raises `RuntimeError("Future in unexpected state")`. Never blocks. Thread-safe.
  */
  bool set_running_or_notify_cancel() const { return state_->set_running_or_notify_cancel(); }

  /** Python's `repr(future)`: `<Future at 0x7f... state=finished returned int>`. Thread-safe. */
  [[nodiscard]] std::string repr() const { return state_->repr(); }

  friend bool operator==(const Future& a, const Future& b) noexcept { return a.state_ == b.state_; }
  friend bool operator<(const Future& a, const Future& b) noexcept {
    return std::less<const void*>{}(a.state_, b.state_);
  }

 private:
  friend struct detail::FutureAccess;
  explicit Future(detail::FutureState<T>* adopted) noexcept : state_(adopted) {}

  result_type result_until(const pyconc::detail::Deadline& deadline) const {
    wait_or_raise(deadline);
    if (const auto& error = state_->stored_exception())
      std::rethrow_exception(error);
    if constexpr (!std::is_void_v<T>)
      return state_->value();
  }

  std::exception_ptr exception_until(const pyconc::detail::Deadline& deadline) const {
    wait_or_raise(deadline);
    return state_->stored_exception();
  }

  void wait_or_raise(const pyconc::detail::Deadline& deadline) const {
    if (!state_->wait_done(deadline))
      pyconc::detail::raise<TimeoutError>();
    if (cancelled())
      pyconc::detail::raise<CancelledError>();
  }

  detail::FutureState<T>* state_;
};

}  // namespace futures
}  // namespace concurrent
}  // namespace v0
}  // namespace pyconc

namespace std {
/** Futures hash by identity, so `std::unordered_set<Future<T>>` works. */
template <class T>
struct hash<pyconc::concurrent::futures::Future<T>> {
  std::size_t operator()(const pyconc::concurrent::futures::Future<T>& f) const noexcept {
    return std::hash<const void*>{}(pyconc::detail::FutureAccess::state(f));
  }
};
}  // namespace std

#endif  // PYCONC_CONCURRENT_FUTURES_FUTURE_HPP_INCLUDED
