// SPDX-License-Identifier: MIT
/**
`pyconc/concurrent/futures/thread.hpp` — `concurrent.futures.ThreadPoolExecutor`.

Defines:
- `futures::ThreadPoolExecutor`          an executor running calls on a pool of threads.
- `futures::ThreadPoolExecutorOptions`   its keyword arguments.
- `futures::BrokenThreadPool`            raised once a worker's initializer failed.

Exit semantics, as CPython's `_python_exit`: when the program exits (after `main` returns or
at `std::exit`), every pool stops accepting work, and its workers run everything queued
before they end, even for a pool never shut down or shut down with `wait = false`. This runs
from a `std::atexit` handler installed after the first worker thread started, so it runs
just before pyconc joins the non-daemon threads (the workers among them).
*/
#ifndef PYCONC_CONCURRENT_FUTURES_THREAD_HPP_INCLUDED
#define PYCONC_CONCURRENT_FUTURES_THREAD_HPP_INCLUDED

#include <algorithm>    // std::min
#include <atomic>       // std::atomic
#include <concepts>     // std::invocable
#include <cstdint>      // std::uint32_t
#include <exception>    // std::exception_ptr
#include <functional>   // std::function
#include <memory>       // std::shared_ptr, std::weak_ptr
#include <mutex>        // std::lock_guard, std::unique_lock
#include <optional>     // std::optional
#include <string>       // std::string
#include <tuple>        // std::tuple, std::apply
#include <type_traits>  // std::decay_t
#include <utility>      // std::move, std::forward
#include <vector>       // std::vector

#include <sched.h>  // sched_getaffinity

#include <pyconc/concurrent/futures/executor.hpp>
#include <pyconc/concurrent/futures/future.hpp>
#include <pyconc/detail/fork_gate.hpp>
#include <pyconc/detail/lifecycle.hpp>
#include <pyconc/detail/wait.hpp>
#include <pyconc/detail/wait_word.hpp>
#include <pyconc/errors.hpp>
#include <pyconc/os.hpp>
#include <pyconc/threading/lock.hpp>
#include <pyconc/threading/thread.hpp>

namespace pyconc {
inline namespace v0 {
namespace concurrent {
namespace futures {

/** Python: `concurrent.futures.thread.BrokenThreadPool`. A worker's initializer failed. */
PYCONC_DEFINE_ERROR(BrokenThreadPool, BrokenExecutor, "BrokenThreadPool");

/** Python's keyword arguments of `ThreadPoolExecutor(...)`. */
struct ThreadPoolExecutorOptions {
  std::optional<int> max_workers = {};     ///< unset: min(32, process_cpu_count() + 4)
  std::string thread_name_prefix = {};     ///< empty: "ThreadPoolExecutor-K"
  std::function<void()> initializer = {};  ///< run first in each worker; empty: none. With
                                           ///< `initargs`: the constructor taking a std::tuple
};

}  // namespace futures
}  // namespace concurrent

namespace detail {

/** Python 3.13's `os.process_cpu_count()`: the CPUs this process may run on. */
inline int process_cpu_count() noexcept {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n > 0)
      return n;
  }
  return os::cpu_count();
}

class PoolCore;

/** CPython's module globals `_shutdown`, `_global_shutdown_lock`, `_threads_queues`. */
struct PoolRegistry {
  pyconc::detail::InternalLock lock;
  std::vector<std::weak_ptr<PoolCore>> pools;  // pools with started workers
  std::atomic<bool> exiting{false};            // `_shutdown`: the exit handler has run
  bool handler_installed = false;              // guarded by lock
};

inline PoolRegistry& pool_registry() {
  static PoolRegistry* const instance = new PoolRegistry;  // never deleted: workers may use it during and after exit
  return *instance;
}

void python_exit();

/**
What a `ThreadPoolExecutor` and its workers share: the work queue (an intrusive FIFO of
futures under a futex lock), the idle count, the worker threads, the shutdown and broken flags.
Workers sleep on `signal_` through `detail::wait_on`; a put makes no system call unless a
worker sleeps.
*/
class PoolCore : public std::enable_shared_from_this<PoolCore> {
 public:
  PoolCore(int max_workers, std::string prefix, std::function<void()> initializer)
      : max_workers_(max_workers), prefix_(std::move(prefix)), initializer_(std::move(initializer)) {}
  PoolCore(const PoolCore&) = delete;
  PoolCore& operator=(const PoolCore&) = delete;
  ~PoolCore() {
    // Only reached once no worker is left; a queue still holding work (no worker could be
    // started) lets go of it.
    while (WorkItem* item = pop_locked()) {
      item->discard();
      item->release();
    }
  }

  /** `submit()`'s second half: queues `item` (taking its reference) and finds it a worker. */
  void schedule(WorkItem* item) {
    {
      std::unique_lock with(lock_);
      if (!broken_.empty()) {
        std::string message = broken_;
        with.unlock();
        item->release();
        pyconc::detail::raise<concurrent::futures::BrokenThreadPool>(std::move(message));
      }
      if (shutdown_) {
        with.unlock();
        item->release();
        pyconc::detail::raise<RuntimeError>("cannot schedule new futures after shutdown");
      }
      if (closed_ || pool_registry().exiting.load()) {
        with.unlock();
        item->release();
        pyconc::detail::raise<RuntimeError>("cannot schedule new futures after interpreter shutdown");
      }
      push_locked(item);
      try {
        adjust_thread_count();
      } catch (...) {
        with.unlock();
        signal_one();
        throw;  // as CPython: the call stays queued for the workers there are
      }
    }
    signal_one();
  }

  /** Python's `shutdown()` minus the join: returns the threads to join when `wait`. */
  std::vector<threading::Thread> shutdown(bool cancel_futures) {
    WorkItem* drained = nullptr;
    std::vector<threading::Thread> threads;
    {
      std::lock_guard with(lock_);
      shutdown_ = true;
      closed_ = true;
      if (cancel_futures) {
        drained = std::exchange(head_, nullptr);
        tail_ = nullptr;
      }
      threads = threads_;
    }
    signal_all();
    for (WorkItem* item = drained; item != nullptr;) {
      WorkItem* next = std::exchange(item->next_in_queue, nullptr);
      item->discard();
      try {
        // As CPython: cancelled (callbacks run) but never notified, since no worker will
        // see it: wait() and as_completed() keep counting it as not done.
        item->future().cancel();
      } catch (...) {
      }
      item->release();
      item = next;
    }
    return threads;
  }

  /** CPython's `_python_exit` for this pool: no more work; the workers drain the queue and end. */
  std::vector<threading::Thread> close_for_exit() {
    std::vector<threading::Thread> threads;
    {
      std::lock_guard with(lock_);
      closed_ = true;
      threads = threads_;
    }
    signal_all();
    return threads;
  }

  [[nodiscard]] std::vector<threading::Thread> threads() const {
    std::lock_guard with(lock_);
    return threads_;
  }
  [[nodiscard]] int max_workers() const noexcept { return max_workers_; }

 private:
  static void worker(const std::shared_ptr<PoolCore>& core) {
    if (core->initializer_) {
      try {
        core->initializer_();
      } catch (...) {
        pyconc::detail::report_exception("Exception in initializer:\n", std::current_exception());
        core->initializer_failed();
        return;
      }
    }
    while (WorkItem* item = core->get()) {
      item->run(&PoolCore::became_idle, core.get());
      item->release();
    }
  }

  // CPython's `_idle_semaphore.release()`, done just before the call's future completes, so
  // that a submit() made as soon as result() returns finds this worker idle.
  static void became_idle(void* core) noexcept {
    static_cast<PoolCore*>(core)->idle_.fetch_add(1, std::memory_order_release);
  }

  // CPython's `_idle_semaphore.acquire(timeout=0)`.
  bool take_idle() noexcept {
    long long n = idle_.load(std::memory_order_relaxed);
    while (n > 0) {
      if (idle_.compare_exchange_weak(n, n - 1, std::memory_order_acquire, std::memory_order_relaxed))
        return true;
    }
    return false;
  }

  // CPython's `_adjust_thread_count()`; called with lock_ held.
  void adjust_thread_count() {
    if (take_idle())
      return;
    const auto count = threads_.size();
    if (count >= static_cast<std::size_t>(max_workers_))
      return;
    std::weak_ptr<PoolCore> weak = weak_from_this();
    threads_.reserve(count + 1);  // so the running thread is always recorded (and joined)
    threading::Thread t([core = shared_from_this()] { worker(core); },
                        {.name = prefix_ + "_" + std::to_string(count), .daemon = false});
    t.start();
    threads_.push_back(t);
    if (count == 0)
      register_for_exit(std::move(weak));
  }

  static void register_for_exit(std::weak_ptr<PoolCore> core) {
    auto& r = pool_registry();
    std::lock_guard with(r.lock);
    std::erase_if(r.pools, [](const auto& p) { return p.expired(); });
    r.pools.push_back(std::move(core));
    if (!r.handler_installed) {
      // After the first Thread::start(), so it runs before pyconc joins non-daemon threads.
      r.handler_installed = true;
      pyconc::detail::on_exit(pyconc::detail::ExitPhase::executors_drained, &python_exit);
    }
  }

  // CPython's `_initializer_failed()`.
  void initializer_failed() {
    const std::string message = "A thread initializer failed, the thread pool is not usable anymore";
    WorkItem* drained = nullptr;
    {
      std::lock_guard with(lock_);
      if (broken_.empty())
        broken_ = message;
      drained = std::exchange(head_, nullptr);
      tail_ = nullptr;
    }
    for (WorkItem* item = drained; item != nullptr;) {
      WorkItem* next = std::exchange(item->next_in_queue, nullptr);
      item->discard();
      if (item->future().start_or_notify_cancel() == FutureCore::Start::running) {
        try {
          item->future().try_set_exception(std::make_exception_ptr(concurrent::futures::BrokenThreadPool(message)));
        } catch (...) {
        }
      }
      item->release();
      item = next;
    }
  }

  void push_locked(WorkItem* item) noexcept {
    item->next_in_queue = nullptr;
    (tail_ ? tail_->next_in_queue : head_) = item;
    tail_ = item;
  }
  WorkItem* pop_locked() noexcept {
    WorkItem* item = head_;
    if (item) {
      head_ = std::exchange(item->next_in_queue, nullptr);
      if (!head_)
        tail_ = nullptr;
    }
    return item;
  }

  // Wakes one sleeping worker, if any: the waiter protocol of detail/wait_word.hpp, with
  // signal_ as the state (N1) and the waker taking a sleeper's place in the count (N2), so
  // there is one FUTEX_WAKE per sleeper, not one per submit while a woken worker has yet to run.
  void signal_one() noexcept {
    signal_.fetch_add(1, std::memory_order_seq_cst);
    if (sleepers_.take_one())
      pyconc::detail::wake_one(signal_);
  }
  void signal_all() noexcept {
    signal_.fetch_add(1, std::memory_order_seq_cst);
    pyconc::detail::wake_all(signal_);  // rare (shutdown, exit): no need to count sleepers
  }

  // A worker's `work_queue.get(block=True)`: the next item, or nullptr once the queue is
  // closed and empty (the None sentinel: queued work always runs first).
  WorkItem* get() {
    for (;;) {
      std::uint32_t seen = 0;
      {
        std::lock_guard with(lock_);
        if (WorkItem* item = pop_locked())
          return item;
        if (closed_)
          return nullptr;
        seen = signal_.load(std::memory_order_relaxed);
      }
      sleepers_.enter();
      if (signal_.load(std::memory_order_seq_cst) == seen) {
        pyconc::detail::wait_on(signal_, seen, pyconc::detail::Deadline::forever());
      }
      // No fetch_sub: the waker took this token; if nobody did (signal_ moved before we
      // slept), a later signal_one() spends it on one FUTEX_WAKE that finds nobody.
    }
  }

  // CPython's _shutdown_lock and the queue's lock in one: threading's futex lock (atomics only
  // when uncontended). Held for a few pointer moves, and while a new worker starts.
  mutable pyconc::detail::InternalLock lock_;
  WorkItem* head_ = nullptr;                // guarded by lock_
  WorkItem* tail_ = nullptr;                // guarded by lock_
  std::atomic<std::uint32_t> signal_{0};    // bumped by each put and by closing
  pyconc::detail::SleeperCount sleepers_;   // workers asleep (or about to be) on signal_
  std::atomic<long long> idle_{0};          // CPython's _idle_semaphore
  std::vector<threading::Thread> threads_;  // guarded by lock_
  std::string broken_;                      // guarded by lock_; non-empty once broken
  bool shutdown_ = false;                   // guarded by lock_: shutdown() was called
  bool closed_ = false;                     // guarded by lock_: workers end once the queue is empty
  const int max_workers_;
  const std::string prefix_;
  const std::function<void()> initializer_;
};

/** CPython's `_python_exit()`: every pool refuses new work and drains; then the workers are joined. */
inline void python_exit() {
  auto& r = pool_registry();
  std::vector<std::shared_ptr<PoolCore>> pools;
  {
    std::lock_guard with(r.lock);
    r.exiting.store(true);
    for (const auto& weak : r.pools) {
      if (auto core = weak.lock())
        pools.push_back(std::move(core));
    }
  }
  std::vector<threading::Thread> workers;
  for (const auto& core : pools) {
    auto threads = core->close_for_exit();
    workers.insert(workers.end(), threads.begin(), threads.end());
  }
  pools.clear();
  const auto me = threading::current_thread();
  for (const auto& t : workers) {
    if (!(t == me))
      t.join();
  }
}

inline std::atomic<unsigned long> pool_counter{0};  // CPython's ThreadPoolExecutor._counter

}  // namespace detail

namespace concurrent {
namespace futures {

/**
Python: `concurrent.futures.ThreadPoolExecutor(max_workers=None, thread_name_prefix='',
initializer=None, initargs=())`. Runs submitted calls on up to `max_workers` threads.

Threads: started lazily, one per `submit()` until `max_workers`, unless a worker is idle
(CPython's idle semaphore: `submit(f).result()` in a loop uses a single thread). They are
non-daemon `threading::Thread`s named `{prefix}_{i}`; the default prefix is
`ThreadPoolExecutor-K`, K counting such pools from 0. Workers sleep on a futex while the queue
is empty; a submit that finds a worker awake makes no system call.

Blocking and timeouts: `submit()` never blocks (the queue is unbounded). `shutdown(true)`
waits until every queued call has run and the workers have ended.

Errors: `submit()` after `shutdown()` raises `RuntimeError("cannot schedule new futures after
shutdown")`, after program exit began `RuntimeError("cannot schedule new futures after
interpreter shutdown")`. If the `initializer` throws in a worker, "Exception in initializer:"
and the exception are written to stderr, every queued future fails with `BrokenThreadPool("A
thread initializer failed, the thread pool is not usable anymore")`, and so do later submits.

Cancelling: `shutdown(cancel_futures = true)` cancels every call not yet started (their
callbacks run) but, as in CPython, never notifies them: `wait()` keeps them in `not_done` and
`as_completed()` does not yield them, so wait for such futures with a timeout, or test
`cancelled()`. A future cancelled with `cancel()` while queued is notified when a worker
reaches it.

Memory ordering: everything before `submit()` happens-before the call runs; the call
happens-before its future is seen done.

Lifetime: the destructor calls `shutdown(true)`, as leaving Python's `with` block does: queued
work still runs and the destructor waits for it, also after `shutdown(false)`. Futures
outlive the pool. At program exit queued work runs too, even for a pool never destroyed (see
the file comment). A call may submit to its own pool, and may wait on another call's future
(with enough workers); a call that destroys its own pool, or calls `shutdown()`, waits for
the other workers only.

```cpp
futures::ThreadPoolExecutor executor(4);            // with ThreadPoolExecutor(4) as executor:
auto f = executor.submit([](int x) { return x * x; }, 7);
print(f.result());                                  // 49
for (int r : executor.map([](int x) { return 2 * x; }, std::vector{1, 2, 3})) print(r);
futures::ThreadPoolExecutor pool({.max_workers = 2}, init, std::tuple{1, "a"});  // initargs=(1, 'a')
```

Differs from Python: `initargs` comes as a `std::tuple` after the options (see the
constructor); `max_workers()` and `threads()` expose what CPython keeps in `_max_workers` and
`_threads`.
*/
class ThreadPoolExecutor : public Executor {
 public:
  /** Python's keyword arguments: `ThreadPoolExecutor({.max_workers = 4, .thread_name_prefix = "io"})`. */
  using Options = ThreadPoolExecutorOptions;

  /**
  Python: `ThreadPoolExecutor(max_workers=None, thread_name_prefix='', initializer=None)`.
  Raises `ValueError("max_workers must be greater than 0")` when `max_workers <= 0`.
  */
  explicit ThreadPoolExecutor(Options options = {}) : core_(make_core(std::move(options))) {}
  /** Python: `ThreadPoolExecutor(max_workers)`. */
  explicit ThreadPoolExecutor(int max_workers) : ThreadPoolExecutor(Options{.max_workers = max_workers}) {}
  /**
  Python: `ThreadPoolExecutor(..., initializer=fn, initargs=(a, b))`, written
  `ThreadPoolExecutor({.max_workers = 4}, fn, std::tuple{a, b})`. Each worker first calls
  `fn(a, b)`. The arguments are copied into the pool once and every worker's call gets them as
  `const` lvalues (pass `std::ref(x)` to share `x`); whether they suit `fn` is checked at
  compile time. Raises `TypeError("ThreadPoolExecutor.__init__() got multiple values for
  argument 'initializer'")` if `options.initializer` is set as well, and as the other constructors.
  */
  template <class F, class... Args>
  requires std::invocable < const std::decay_t<F>
  &, const Args&... > ThreadPoolExecutor(Options options, F&& initializer, std::tuple<Args...> initargs)
      : ThreadPoolExecutor(with_initializer(std::move(options), std::forward<F>(initializer), std::move(initargs))) {}

  /** Python's `with` exit: `shutdown(true)`. Never throws. */
  ~ThreadPoolExecutor() override {
    try {
      shutdown_impl(true, false, false);
    } catch (...) {
    }
  }

  /**
  Python: `shutdown(wait=True, *, cancel_futures=False)`. No more submits; queued calls still
  run unless `cancel_futures`, which cancels every call not yet started. With `wait`, blocks
  until the workers have ended. Idempotent. Thread-safe. Called from one of the pool's own
  workers with `wait`, it waits for the other workers and then raises
  `RuntimeError("cannot join current thread")`, as CPython's does.
  */
  void shutdown(bool wait = true, bool cancel_futures = false) override { shutdown_impl(wait, cancel_futures, true); }

  /** CPython's `_max_workers`. */
  [[nodiscard]] int max_workers() const noexcept { return core_->max_workers(); }
  /** CPython's `_threads`: the workers started so far. Thread-safe. */
  [[nodiscard]] std::vector<threading::Thread> threads() const { return core_->threads(); }

 protected:
  void schedule(detail::WorkItem* item) override { core_->schedule(item); }

 private:
  static std::shared_ptr<detail::PoolCore> make_core(Options options) {
    const int max_workers = options.max_workers ? *options.max_workers : std::min(32, detail::process_cpu_count() + 4);
    if (max_workers <= 0)
      pyconc::detail::raise<ValueError>("max_workers must be greater than 0");
    std::string prefix = options.thread_name_prefix.empty()
                             ? "ThreadPoolExecutor-" + std::to_string(detail::pool_counter.fetch_add(1))
                             : std::move(options.thread_name_prefix);
    return std::make_shared<detail::PoolCore>(max_workers, std::move(prefix), std::move(options.initializer));
  }

  template <class F, class... Args>
  static Options with_initializer(Options options, F&& initializer, std::tuple<Args...> initargs) {
    if (options.initializer) {
      pyconc::detail::raise<TypeError>("ThreadPoolExecutor.__init__() got multiple values for argument 'initializer'");
    }
    // Not mutable: the workers call it at the same time, each with the same arguments.
    options.initializer = [fn = std::decay_t<F>(std::forward<F>(initializer)), args = std::move(initargs)] {
      std::apply(fn, args);
    };
    return options;
  }

  void shutdown_impl(bool wait, bool cancel_futures, bool raise_on_self) {
    const auto threads = core_->shutdown(cancel_futures);
    if (!wait)
      return;
    bool self = false;
    const auto me = threading::current_thread();
    for (const auto& t : threads) {
      if (t == me) {
        self = true;
      } else {
        t.join();
      }
    }
    if (self && raise_on_self)
      pyconc::detail::raise<RuntimeError>("cannot join current thread");
  }

  std::shared_ptr<detail::PoolCore> core_;
};

}  // namespace futures
}  // namespace concurrent
}  // namespace v0
}  // namespace pyconc

#endif  // PYCONC_CONCURRENT_FUTURES_THREAD_HPP_INCLUDED
