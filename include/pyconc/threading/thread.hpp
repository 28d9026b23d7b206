// SPDX-License-Identifier: MIT
/**
`pyconc/threading/thread.hpp` — `threading.Thread` and the module's thread functions.

Defines:
- `threading::Thread`            a handle to a thread of control (copies share the thread).
- `threading::ExceptHookArgs`, `threading::excepthook`, `threading::default_excepthook`
                                 how an exception escaping a thread is reported.
- `threading::current_thread`, `main_thread`, `active_count`, `enumerate`, `get_native_id`,
  `stack_size`.

Exit semantics, as Python's: when `main` returns (or `std::exit` is called), pyconc joins
every non-daemon thread before the program's static objects are destroyed; daemon threads
are not waited for. This runs from a `std::atexit` handler installed by the first
`Thread::start()`, so it runs before the destructors of static objects built before that.
*/
#ifndef PYCONC_THREADING_THREAD_HPP_INCLUDED
#define PYCONC_THREADING_THREAD_HPP_INCLUDED

#include <concepts>     // std::invocable
#include <cstdio>       // std::fwrite, stderr
#include <exception>    // std::exception_ptr
#include <functional>   // std::function
#include <iosfwd>       // std::ostream (operator<< needs only its declaration)
#include <memory>       // std::shared_ptr, std::enable_shared_from_this
#include <mutex>        // std::lock_guard
#include <optional>     // std::optional
#include <string>       // std::string
#include <tuple>        // std::tuple, std::apply
#include <type_traits>  // std::remove_cvref_t
#include <typeinfo>     // typeid
#include <utility>      // std::move
#include <vector>       // std::vector

#include <pthread.h>  // pthread_create

#include <pyconc/detail/exception_text.hpp>
#include <pyconc/detail/gil_state.hpp>
#include <pyconc/detail/lifecycle.hpp>
#include <pyconc/detail/thread_state.hpp>
#include <pyconc/detail/wait.hpp>
#include <pyconc/errors.hpp>
#include <pyconc/threading/event.hpp>
#include <pyconc/threading/local.hpp>
#include <pyconc/threading/lock.hpp>

namespace pyconc {
inline namespace v0 {
namespace threading {

class Thread;
Thread current_thread();

/** Python's keyword arguments of `Thread(...)`, as `Thread::Options`. */
struct ThreadOptions {
  std::function<void()> target = {};  ///< what `run()` calls; may be empty
  std::string name = {};              ///< empty: `Thread-N`
  std::optional<bool> daemon = {};    ///< unset: the creating thread's daemon flag
};

/**
Python: `threading.Thread(target=None, name=None, args=(), *, daemon=None)`.

A handle to a thread of control. Copies refer to the same thread, as Python references do:
dropping every handle to a running thread neither blocks nor stops it.

```cpp
threading::Thread t(loop, {.name = "LoopThread"});            // Thread(target=loop, name='LoopThread')
threading::Thread w(worker, std::tuple{1, "a"}, {.daemon = true});  // Thread(target=worker, args=(1, 'a'), daemon=True)
t.start();
t.join();
```

Lifecycle: `start()` at most once (`RuntimeError("threads can only be started once")`);
`is_alive()` from `start()` until `run()` returns; `join()` waits for that, `join(t)` at most `t`
seconds (negative: not at all) and tells nothing: check `is_alive()`. An exception escaping
`run()` goes to `threading::excepthook`, and the program goes on.

Names: `Options::name`, or `Thread-N` from a counter shared by all unnamed threads. The first
15 bytes of the name are given to the OS (`top -H`, gdb and perf show it).

Daemon: inherited from the creating thread unless `Options::daemon` says otherwise. Non-daemon
threads are joined when `main` returns; daemon threads are not.

Subclassing: override `run()`. A subclass must be owned by a `std::shared_ptr` when started
(`std::make_shared<MyThread>()`), which keeps it alive until `run()` returns; `start()` on a
subclass object not owned that way raises `RuntimeError`.

Differs from Python: unnamed threads with a target are `Thread-N`, not `Thread-N (target)`
(C++ cannot name a callable); `args` are copied into the thread (pass `std::ref` to share);
`current_thread()` returns a `Thread` handle, not your subclass object.
*/
class Thread : public std::enable_shared_from_this<Thread> {
 public:
  /** Python's keyword arguments of `Thread(...)`: `{.target = f, .name = "x", .daemon = true}`. */
  using Options = ThreadOptions;

  /** A thread that runs `options.target` (if any) when started. */
  explicit Thread(Options options = {}) : state_(make_state(std::move(options))) {}

  /** Python: `Thread(target=target, ...)`. */
  template <class F>
  requires(std::invocable<F&> && !std::same_as<std::remove_cvref_t<F>, Options> &&
           !std::derived_from<std::remove_cvref_t<F>, Thread>) explicit Thread(F&& target, Options options = {})
      : Thread(with_target(std::move(options), std::function<void()>(std::forward<F>(target)))) {}

  /** Python: `Thread(target=target, args=(...), ...)`; `args` must suit `target` (checked at compile time). */
  template <class F, class... Args>
  requires std::invocable<F&, Args&...> Thread(F&& target, std::tuple<Args...> args, Options options = {})
      : Thread(with_target(std::move(options),
                           [f = std::forward<F>(target), a = std::move(args)]() mutable { std::apply(f, a); })) {}

  Thread(const Thread&) = default;
  Thread& operator=(const Thread&) = default;
  Thread(Thread&&) noexcept = default;
  Thread& operator=(Thread&&) noexcept = default;
  virtual ~Thread() = default;

  /**
  Starts the thread: `run()` will be called in it. Returns at once; `ident()` is known.
  Raises `RuntimeError("threads can only be started once")` on a second call, and
  `RuntimeError("can't start new thread")` when the OS refuses.
  */
  void start();

  /** What the thread does: calls the target. Override it in a subclass. */
  virtual void run() {
    if (state_->target)
      state_->target();
  }

  /**
  Waits until the thread ends. Blocks. Thread-safe. Raises `RuntimeError` before `start()`
  ("cannot join thread before it is started") or on the calling thread itself ("cannot
  join current thread").
  */
  void join() const { join_until(pyconc::detail::Deadline::forever()); }
  /** Waits at most `timeout` seconds (negative: none). Blocks. Thread-safe. Raises as `join()`. */
  void join(Timeout timeout) const { join_until(pyconc::detail::Deadline::after(timeout.seconds)); }

  /** Whether the thread has started and `run()` has not returned. Thread-safe. */
  [[nodiscard]] bool is_alive() const noexcept {
    return state_->status.load(std::memory_order_acquire) == pyconc::detail::ThreadState::started &&
           !state_->finished.is_set();
  }

  /** The thread's name. Thread-safe. */
  [[nodiscard]] std::string name() const { return state_->get_name(); }
  /** Renames the thread (the OS name is set once, at start). Thread-safe. */
  void name(std::string new_name) { state_->set_name(std::move(new_name)); }

  /** Python: `Thread.ident`: `std::nullopt` before `start()`, then `get_ident()` of the thread. */
  [[nodiscard]] std::optional<unsigned long> ident() const noexcept {
    const unsigned long id = state_->ident.load(std::memory_order_acquire);
    if (id == 0)
      return std::nullopt;
    return id;
  }
  /** Python: `Thread.native_id`: the kernel's thread id, `std::nullopt` before `start()`. */
  [[nodiscard]] std::optional<long> native_id() const {
    if (state_->status.load(std::memory_order_acquire) == pyconc::detail::ThreadState::initial)
      return std::nullopt;
    state_->native_ready.wait(pyconc::detail::Deadline::forever());
    return state_->native_id.load(std::memory_order_relaxed);
  }

  /** Whether this is a daemon thread. */
  [[nodiscard]] bool daemon() const noexcept { return state_->daemon.load(std::memory_order_relaxed); }
  /** Sets the daemon flag; raises `RuntimeError("cannot set daemon status of active thread")` after `start()`. */
  void daemon(bool value) {
    if (state_->status.load(std::memory_order_acquire) != pyconc::detail::ThreadState::initial) {
      pyconc::detail::raise<RuntimeError>("cannot set daemon status of active thread");
    }
    state_->daemon.store(value, std::memory_order_relaxed);
  }

  /** Python's `repr(thread)`: `<Thread(name, started daemon 1234)>`, with the class's name. */
  [[nodiscard]] std::string repr() const {
    const auto status = state_->status.load(std::memory_order_acquire);
    std::string cls;
    switch (state_->kind) {
      case pyconc::detail::ThreadState::Kind::main:
        cls = "_MainThread";
        break;
      case pyconc::detail::ThreadState::Kind::dummy:
        cls = "_DummyThread";
        break;
      case pyconc::detail::ThreadState::Kind::normal: {
        const std::type_info* started_as = state_->type.load(std::memory_order_acquire);
        cls = detail::class_name(started_as ? *started_as : typeid(*this));
      }
    }
    std::string s = "<" + cls + "(" + name() + ", ";
    if (status == pyconc::detail::ThreadState::initial) {
      s += "initial";
    } else {
      s += is_alive() ? "started" : "stopped";
    }
    if (daemon())
      s += " daemon";
    if (auto id = ident())
      s += " " + std::to_string(*id);
    return s + ")>";
  }

  /** Whether two handles refer to the same thread (Python's `is`). */
  friend bool operator==(const Thread& a, const Thread& b) noexcept { return a.state_ == b.state_; }
  friend std::ostream& operator<<(std::ostream& os, const Thread& t) { return os << t.repr(); }

 protected:
  /** For classes like `Timer` whose behaviour is the target itself: start() never calls run(). */
  struct TargetOnly {};
  Thread(Options options, TargetOnly) : Thread(std::move(options)) { state_->target_only = true; }

 private:
  friend Thread current_thread();
  friend Thread main_thread();
  friend std::vector<Thread> enumerate();
  friend class ThreadBootstrap;

  explicit Thread(std::shared_ptr<pyconc::detail::ThreadState> state) : state_(std::move(state)) {}

  static Options with_target(Options options, std::function<void()> target) {
    options.target = std::move(target);
    return options;
  }

  static std::shared_ptr<pyconc::detail::ThreadState> make_state(Options options) {
    auto& r = pyconc::detail::registry();
    std::string name = options.name.empty() ? "Thread-" + std::to_string(++r.thread_counter) : std::move(options.name);
    auto state = std::make_shared<pyconc::detail::ThreadState>(std::move(name));
    state->daemon.store(options.daemon ? *options.daemon
                                       : pyconc::detail::current_state()->daemon.load(std::memory_order_relaxed));
    state->target = std::move(options.target);
    return state;
  }

  void join_until(const pyconc::detail::Deadline& deadline) const {
    const auto& st = *state_;
    if (st.kind == pyconc::detail::ThreadState::Kind::dummy)
      pyconc::detail::raise<RuntimeError>("cannot join a dummy thread");
    if (st.status.load(std::memory_order_acquire) == pyconc::detail::ThreadState::initial) {
      pyconc::detail::raise<RuntimeError>("cannot join thread before it is started");
    }
    if (state_ == pyconc::detail::current_state())
      pyconc::detail::raise<RuntimeError>("cannot join current thread");
    state_->finished.wait(deadline);
  }

  std::shared_ptr<pyconc::detail::ThreadState> state_;
};

/**
Python: `threading.ExceptHookArgs`: what `excepthook` receives about an exception that
escaped a thread's `run()`.

Differs from Python: `exc_type` is the exception's name (Python's class name for pyconc
exceptions, the C++ type otherwise); there is no traceback.
*/
struct ExceptHookArgs {
  std::string exc_type;          ///< e.g. "ValueError", "std::runtime_error"
  std::exception_ptr exc_value;  ///< the exception itself
  std::optional<Thread> thread;  ///< the thread it escaped from

  /** `str(exc_value)`: the exception's `what()`, or empty when it is not a `std::exception`. */
  [[nodiscard]] std::string message() const { return detail::exception_message(exc_value); }
};

/**
Python: `threading.__excepthook__`, the original `threading.excepthook`. Writes to stderr
```
Exception in thread NAME:
ValueError: message
```
and ignores `SystemExit`. Never throws.
*/
inline void default_excepthook(const ExceptHookArgs& args) {
  try {
    if (args.exc_value)
      std::rethrow_exception(args.exc_value);
  } catch (const SystemExit&) {
    return;
  } catch (...) {
  }
  const std::string who = args.thread ? args.thread->name() : std::to_string(get_ident());
  detail::write_stderr("Exception in thread " + who + ":\n" +
                       detail::format_exception_only(args.exc_type, args.message()));
}

}  // namespace threading

namespace detail {

/** The slot behind `threading::excepthook`: assignable and callable, like Python's attribute. */
class ExceptHookSlot {
 public:
  using Hook = std::function<void(const threading::ExceptHookArgs&)>;

  /** `threading::excepthook = hook;` (an empty hook restores the default). Thread-safe. */
  ExceptHookSlot& operator=(Hook hook) {
    auto& s = shared();
    std::lock_guard with(s.lock);
    s.hook = hook ? std::move(hook) : Hook(threading::default_excepthook);
    return *this;
  }
  /** Calls the current hook. */
  void operator()(const threading::ExceptHookArgs& args) const { get()(args); }
  /** The current hook. Thread-safe. */
  [[nodiscard]] Hook get() const {
    auto& s = shared();
    std::lock_guard with(s.lock);
    return s.hook;
  }

 private:
  struct Shared {
    InternalLock lock;  // never held across fork(), so a child can always report
    Hook hook = threading::default_excepthook;
  };
  static Shared& shared() {
    static Shared* const s = new Shared;  // never deleted: daemon threads may report at exit
    return *s;
  }
};

}  // namespace detail

namespace threading {

/**
Python: `threading.excepthook`. Called in a thread whose `run()` let an exception escape.
Assign your own: `threading::excepthook = [](const threading::ExceptHookArgs& a) { ... };`.
If your hook throws, "Exception in threading.excepthook:" and that exception are written to
stderr. The original stays available as `threading::default_excepthook`.
*/
inline detail::ExceptHookSlot excepthook;

}  // namespace threading

namespace detail {

inline void report_thread_exception(std::exception_ptr ep, std::optional<threading::Thread> thread) noexcept {
  try {
    threading::ExceptHookArgs args{exception_type_name(ep), ep, std::move(thread)};
    try {
      threading::excepthook(args);
    } catch (...) {
      report_exception("Exception in threading.excepthook:\n", std::current_exception());
    }
  } catch (...) {
    // Out of memory while reporting: nothing more can be said.
  }
}

// Joins every non-daemon thread; what CPython's threading._shutdown() does after main ends.
inline void join_non_daemon_threads() {
  auto& r = registry();
  r.finalizing.store(true);
  std::shared_ptr<ThreadState> main;
  {
    std::lock_guard with(r.lock);
    main = r.main;
  }
  if (current_state() == main) {  // main_thread().join() in other threads returns now
    r.remove(main.get());
    main->finish();
  }
  for (;;) {
    std::vector<std::shared_ptr<ThreadState>> pending;
    {
      std::lock_guard with(r.lock);
      for (const auto& s : r.active) {
        if (s->kind == ThreadState::Kind::normal && !s->daemon.load() && s != current_state())
          pending.push_back(s);
      }
    }
    if (pending.empty())
      return;
    for (const auto& s : pending) {
      s->finished.wait(Deadline::forever());
    }
  }
}

inline void set_os_thread_name(const std::string& name) noexcept {
  ::pthread_setname_np(::pthread_self(), name.substr(0, 15).c_str());
}

}  // namespace detail

namespace threading {

/** What a new OS thread runs: bookkeeping around `run()`. */
class ThreadBootstrap {
 public:
  std::shared_ptr<pyconc::detail::ThreadState> state;
  std::shared_ptr<Thread> self;  // a subclass object, kept alive until run() returns

  static void* main(void* arg) noexcept {
    std::unique_ptr<ThreadBootstrap> boot(static_cast<ThreadBootstrap*>(arg));
    auto& st = *boot->state;
    st.ident.store(static_cast<unsigned long>(::pthread_self()), std::memory_order_release);
    st.native_id.store(pyconc::detail::native_thread_id(), std::memory_order_relaxed);
    st.native_ready.set();
    pyconc::detail::tls_current = boot->state.get();
    detail::set_os_thread_name(st.get_name());
    pyconc::detail::gil_thread_begin();  // with the GIL on, the target runs holding it
    try {
      if (boot->self) {
        boot->self->run();
      } else if (st.target) {
        st.target();
      }
    } catch (...) {
      detail::report_thread_exception(std::current_exception(), Thread(boot->state));
    }
    // As CPython's run() deletes its target: captured objects die in this thread, now.
    try {
      st.target = nullptr;
      boot->self.reset();
      detail::local_cache().clear();
    } catch (...) {
      detail::report_thread_exception(std::current_exception(), Thread(boot->state));
    }
    pyconc::detail::gil_thread_end();
    pyconc::detail::registry().remove(&st);
    pyconc::detail::tls_current = nullptr;
    st.finish();
    return nullptr;
  }
};

inline void Thread::start() {
  auto& st = *state_;
  std::uint32_t expected = pyconc::detail::ThreadState::initial;
  if (st.kind != pyconc::detail::ThreadState::Kind::normal ||
      !st.status.compare_exchange_strong(expected, pyconc::detail::ThreadState::started)) {
    pyconc::detail::raise<RuntimeError>("threads can only be started once");
  }
  st.type.store(&typeid(*this), std::memory_order_release);
  auto boot = std::make_unique<ThreadBootstrap>();
  boot->state = state_;
  if (!st.target_only && typeid(*this) != typeid(Thread)) {
    boot->self = weak_from_this().lock();
    if (!boot->self) {
      st.status.store(pyconc::detail::ThreadState::initial);
      pyconc::detail::raise<RuntimeError>(
          "a Thread subclass must be owned by a std::shared_ptr to be started "
          "(create it with std::make_shared)");
    }
  }
  auto& r = pyconc::detail::registry();
  if (!r.exit_handler_installed.exchange(true)) {
    pyconc::detail::on_exit(pyconc::detail::ExitPhase::threads_joined, [] { detail::join_non_daemon_threads(); });
  }
  r.add(state_);

  pthread_attr_t attr;
  ::pthread_attr_init(&attr);
  // Detached: the thread's lifetime is tracked by its shared state, so dropping every
  // handle never terminates or leaks it, and join() waits on `finished`, not on the OS.
  ::pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  if (const std::size_t size = r.stack_size.load())
    ::pthread_attr_setstacksize(&attr, size);
  pthread_t handle{};
  ThreadBootstrap* raw = boot.get();
  const int rc = ::pthread_create(&handle, &attr, &ThreadBootstrap::main, raw);
  ::pthread_attr_destroy(&attr);
  if (rc != 0) {
    r.remove(&st);
    st.status.store(pyconc::detail::ThreadState::initial);
    pyconc::detail::raise<RuntimeError>("can't start new thread");
  }
  boot.release();  // now owned by the new thread
  st.ident.store(static_cast<unsigned long>(handle), std::memory_order_release);
}

/**
Python: `threading.current_thread()`. The calling thread's handle; in a thread pyconc did not
start, a `Dummy-N` daemon thread that cannot be joined. Thread-safe.
*/
[[nodiscard]] inline Thread current_thread() {
  return Thread(pyconc::detail::current_state());
}

/** Python: `threading.main_thread()`. The thread `main` runs in (after a fork: the forking one). */
[[nodiscard]] inline Thread main_thread() {
  auto& r = pyconc::detail::registry();
  std::lock_guard with(r.lock);
  return Thread(r.main);
}

/** Python: `threading.enumerate()`. Every alive thread: main, started threads, known dummies. */
[[nodiscard]] inline std::vector<Thread> enumerate() {
  auto& r = pyconc::detail::registry();
  std::lock_guard with(r.lock);
  std::vector<Thread> threads;
  threads.reserve(r.active.size());
  for (const auto& s : r.active)
    threads.push_back(Thread(s));
  return threads;
}

/** Python: `threading.active_count()`, which is `len(enumerate())`. */
[[nodiscard]] inline std::size_t active_count() {
  auto& r = pyconc::detail::registry();
  std::lock_guard with(r.lock);
  return r.active.size();
}

/** Python: `threading.get_native_id()`. The kernel's id of the calling thread. */
[[nodiscard]] inline long get_native_id() noexcept {
  return pyconc::detail::native_thread_id();
}

/** Python: `threading.stack_size()`. The stack size for new threads; 0 is the OS default. */
[[nodiscard]] inline std::size_t stack_size() noexcept {
  return pyconc::detail::registry().stack_size.load();
}

/**
Python: `threading.stack_size(size)`. Sets the stack size of threads started from now on and
returns the previous one. `size` is 0 (the OS default) or at least 32768 bytes; otherwise
raises `ValueError` ("size must be 0 or a positive value", "size not valid: N bytes").
*/
inline std::size_t stack_size(long long size) {
  if (size < 0)
    pyconc::detail::raise<ValueError>("size must be 0 or a positive value");
  if (size != 0 && size < 32768)
    pyconc::detail::raise<ValueError>("size not valid: " + std::to_string(size) + " bytes");
  return pyconc::detail::registry().stack_size.exchange(static_cast<std::size_t>(size));
}

/** Python: `threading.ThreadError`, which is `RuntimeError`. */
using ThreadError = RuntimeError;

}  // namespace threading
}  // namespace v0
}  // namespace pyconc

#endif  // PYCONC_THREADING_THREAD_HPP_INCLUDED
