// SPDX-License-Identifier: MIT
/**
`pyconc/concurrent/futures/process.hpp` — `concurrent.futures.ProcessPoolExecutor`.

Defines:
- `futures::ProcessPoolExecutor`          runs calls in worker processes; its futures are the
                                          same `Future<R>` as a `ThreadPoolExecutor`'s, so
                                          `wait`, `as_completed` and callbacks work unchanged.
- `futures::ProcessPoolExecutorOptions`   its keyword arguments.
- `futures::BrokenProcessPool`            a worker ended unasked: the pool is unusable.

```cpp
int square(int x) { return x * x; }

futures::ProcessPoolExecutor executor(2);              // with ProcessPoolExecutor(2) as executor:
auto f = executor.submit(square, 7);                   //     f = executor.submit(square, 7)
print(f.result());                                     //     print(f.result())
for (int r : executor.map({.chunksize = 100}, square, xs)) print(r);
```

The workers and the thread that runs them are `multiprocessing::Pool`'s (see
`multiprocessing/pool.hpp`): a call crosses to a worker by the address of its function and
its pickled arguments, under every start method, so a call is a function (or captureless
lambda) with picklable arguments and result — anything else fails to compile, as CPython
fails to pickle it. A chunk of `map` crosses as one message.

Worker death, as CPython's: any worker that ends unasked (killed, crashed, `_exit`, an
initializer that raised) breaks the pool at once (the pool's thread watches every worker's
pidfd): every pending and running future fails with `BrokenProcessPool("A process in the
process pool was terminated abruptly while the future was running or pending.")`, the other
workers are terminated, and later `submit`s raise `BrokenProcessPool("A child process
terminated abruptly, the process pool is not usable anymore")`. With
`max_tasks_per_child`, a worker that has run its share ends and is replaced.

Lifecycle: workers start at the first `submit`. `shutdown(wait=True)` (and the destructor,
as leaving Python's `with` block) runs what is queued, then stops and reaps the workers;
`cancel_futures` cancels what no worker has started. At exit, an executor not shut down is
drained the same way, in the exit sequence's `process_executors_drained` phase.

Differs from Python: a call submitted through an `Executor&` (the base class's `submit`)
fails with `TypeError`, as the base cannot see the call's types; call `submit` and `map` on
the `ProcessPoolExecutor` itself. A future is set running (and can no longer be cancelled)
when its call is sent to a worker, and calls are sent ahead as `Pool` sends them (see
`multiprocessing/pool.hpp`): one behind the running one while more calls wait than there are
workers, up to half of a worker's share of a long queue (at most 64); CPython sends
`max_workers + 1` calls ahead.
*/
#ifndef PYCONC_CONCURRENT_FUTURES_PROCESS_HPP_INCLUDED
#define PYCONC_CONCURRENT_FUTURES_PROCESS_HPP_INCLUDED

#include <cstddef>      // std::size_t
#include <exception>    // std::exception_ptr
#include <functional>   // std::function
#include <memory>       // std::make_shared
#include <mutex>        // std::lock_guard
#include <optional>     // std::optional
#include <ranges>       // std::ranges::begin
#include <string>       // std::string
#include <tuple>        // std::tuple
#include <type_traits>  // std::decay_t
#include <utility>      // std::move
#include <vector>       // std::vector

#include <pyconc/concurrent/futures/executor.hpp>
#include <pyconc/concurrent/futures/future.hpp>
#include <pyconc/concurrent/futures/thread.hpp>
#include <pyconc/errors.hpp>
#include <pyconc/multiprocessing/context.hpp>
#include <pyconc/multiprocessing/pool.hpp>
#include <pyconc/pickle.hpp>

namespace pyconc {
inline namespace v0 {
namespace concurrent {
namespace futures {

/** Python: `concurrent.futures.process.BrokenProcessPool`, a `BrokenExecutor`. */
PYCONC_DEFINE_ERROR(BrokenProcessPool, BrokenExecutor, "BrokenProcessPool");

/** Python's keyword arguments of `ProcessPoolExecutor(...)`. */
struct ProcessPoolExecutorOptions {
  std::optional<int> max_workers = {};                      ///< unset: the CPUs this process may use
  std::optional<multiprocessing::Context> mp_context = {};  ///< unset: `get_context()` (spawn with max_tasks_per_child)
  std::function<void()> initializer = {};        ///< fork only (a function for spawn: the constructor with initargs)
  std::optional<long> max_tasks_per_child = {};  ///< unset: workers live as long as the pool
};

}  // namespace futures
}  // namespace concurrent

PYCONC_PICKLE_EXCEPTION(concurrent::futures::BrokenProcessPool);
PYCONC_PICKLE_EXCEPTION(concurrent::futures::BrokenThreadPool);

namespace concurrent {
namespace futures {

/**
What `ProcessPoolExecutor::map` returns: the results in input order, as an input range of
`T` (`std::monostate` for `void`), however the chunks finish. The chunks are futures, one per
`chunksize` calls (CPython's `_chain_from_iterable_of_lists`): a chunk's exception is raised
when the iteration reaches the chunk, and ends it; the timeout counts from the `map()` call
and raises `TimeoutError`; destroying the range cancels the chunks not yet started.
*/
template <class T>
class ProcessMapResults {
  using Value = pyconc::detail::Stored<T>;
  using Chunks = MapResults<std::vector<Value>>;
  struct Impl;

 public:
  explicit ProcessMapResults(Chunks chunks) : impl_(std::make_unique<Impl>(std::move(chunks))) {}

  class iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = Value;
    using difference_type = std::ptrdiff_t;
    using reference = typename std::vector<Value>::reference;  // a proxy for bool
    iterator() = default;
    /** The current result. Blocks until its chunk is done; rethrows the chunk's exception. */
    reference operator*() const { return impl_->current(); }
    iterator& operator++() {
      impl_->advance();
      return *this;
    }
    void operator++(int) { ++*this; }
    // Not noexcept: knowing whether the end is reached waits for the current chunk, which may
    // raise (its exception, or TimeoutError), as Python's next() does.
    friend bool operator==(const iterator& it, std::default_sentinel_t) { return !it.impl_ || it.impl_->at_end(); }

   private:
    friend class ProcessMapResults;
    explicit iterator(Impl* impl) noexcept : impl_(impl) {}
    Impl* impl_ = nullptr;
  };

  /** The results from here on (all iterators share the position). */
  iterator begin() { return iterator(impl_.get()); }
  std::default_sentinel_t end() const noexcept { return {}; }

 private:
  struct Impl {
    explicit Impl(Chunks c) : chunks(std::move(c)), it(chunks.begin()) {}
    Chunks chunks;
    typename Chunks::iterator it;
    std::size_t index = 0;  // within *it

    bool at_end() {
      while (it != std::default_sentinel && index >= (*it).size()) {  // waits for the chunk
        ++it;
        index = 0;
      }
      return it == std::default_sentinel;
    }
    typename std::vector<Value>::reference current() {
      at_end();
      return (*it)[index];
    }
    void advance() {
      at_end();
      ++index;
    }
  };

  std::unique_ptr<Impl> impl_;
};

/**
Python: `concurrent.futures.ProcessPoolExecutor(max_workers=None, mp_context=None,
initializer=None, initargs=(), *, max_tasks_per_child=None)`. See the file comment.

```cpp
futures::ProcessPoolExecutor executor({.max_workers = 4, .mp_context = multiprocessing::get_context("spawn")});
futures::ProcessPoolExecutor executor({.max_workers = 2}, init, std::tuple{"db"});   // initargs=('db',)
```

Errors, as CPython's: `ValueError("max_workers must be greater than 0")`,
`ValueError("max_tasks_per_child must be >= 1")`, `ValueError("max_tasks_per_child is
incompatible with the 'fork' multiprocessing start method; supply a different
mp_context.")`, `RuntimeError("cannot schedule new futures after shutdown")` (or `after
interpreter shutdown`), `ValueError("chunksize must be >= 1.")`, and `BrokenProcessPool` as
above. A call's exception comes back with its type and message.
*/
class ProcessPoolExecutor : public Executor {
 public:
  using Options = ProcessPoolExecutorOptions;

  /** Python: `ProcessPoolExecutor(max_workers=None, mp_context=None, ...)`. */
  explicit ProcessPoolExecutor(Options options = {}) {
    init(std::move(options), pyconc::detail::PoolSetup{}, [] { return std::function<void()>{}; });
  }
  /** Python: `ProcessPoolExecutor(max_workers)`. */
  explicit ProcessPoolExecutor(int max_workers) : ProcessPoolExecutor(Options{.max_workers = max_workers}) {}
  /**
  Python: `ProcessPoolExecutor(..., initializer=fn, initargs=(a, b))`: each worker first calls
  `fn(a, b)`. Under spawn and forkserver `fn` is a function and the arguments picklable.
  */
  template <class F, class... Args>
  requires std::invocable < std::decay_t<F>
  &, Args&... > ProcessPoolExecutor(Options options, F&& initializer, std::tuple<Args...> initargs = {}) {
    if (options.initializer)
      pyconc::detail::raise<TypeError>("ProcessPoolExecutor.__init__() got multiple values for argument 'initializer'");
    auto setup = pyconc::detail::pool_setup(initializer, initargs);
    init(std::move(options), std::move(setup),
         [&] { return pyconc::detail::pool_initializer(std::forward<F>(initializer), std::move(initargs)); });
  }

  /** Python's `with` exit: `shutdown(true)`. Never throws. */
  ~ProcessPoolExecutor() override {
    try {
      shutdown(true, false);
    } catch (...) {
    }
  }

  /**
  Python: `submit(fn, /, *args)`: runs `fn(args...)` in a worker process; returns its future.
  `fn` a function (or captureless lambda), the arguments and result picklable (checked at
  compile time). Thread-safe.
  */
  template <class F, class... Args>
  requires std::invocable < std::decay_t<F>
  &, std::decay_t<Args>&... > auto submit(F&& fn, Args&&... args) {
    using Fn = std::decay_t<F>;
    using Tuple = std::tuple<std::decay_t<Args>...>;
    using E = pyconc::detail::pool_value_t<Fn, Tuple>;
    using T = std::conditional_t<std::is_same_v<E, std::monostate>, void, E>;
    std::vector<Tuple> items;
    items.emplace_back(std::forward<Args>(args)...);
    Future<T> future;
    pyconc::detail::PoolJob job = job_for<Fn, Tuple, true, true>(fn, items);
    job.start = [future] { return future.set_running_or_notify_cancel(); };
    job.cancel = [future] { future.cancel(); };
    job.fail = [future](std::exception_ptr error) {
      pyconc::detail::FutureAccess::state(future)->try_set_exception(std::move(error));
    };
    job.deliver = [future](std::uint8_t kind, std::string_view bytes) {
      complete<E>(std::vector<Future<T>>{future}, kind, bytes);
    };
    std::vector<pyconc::detail::PoolJob> jobs;
    jobs.push_back(std::move(job));
    schedule_jobs(std::move(jobs));
    return future;
  }

  /**
  Python: `map(fn, *iterables, timeout=None, chunksize=1)`: `fn` on the items of the ranges
  taken together (as `zip`), `chunksize` of them per message; the results in order, as a
  `MapResults` range (the timeout counts from this call). `ValueError("chunksize must be >=
  1.")` for a chunksize below 1.
  */
  template <class F, class... Ranges>
  requires(!std::is_same_v<std::remove_cvref_t<F>, MapOptions> &&
           sizeof...(Ranges) > 0) auto map(F&& fn, Ranges&&... iterables) {
    return map(MapOptions{}, std::forward<F>(fn), std::forward<Ranges>(iterables)...);
  }
  template <class F, class... Ranges>
  requires(sizeof...(Ranges) > 0) auto map(MapOptions options, F&& fn, Ranges&&... iterables) {
    using Fn = std::decay_t<F>;
    using Tuple = std::tuple<std::decay_t<std::ranges::range_reference_t<Ranges>>...>;
    // One range: its items cross as they are (a chunk of ints is one block of bytes); several: as tuples.
    constexpr bool star = sizeof...(Ranges) > 1;
    using Item = std::conditional_t<star, Tuple, std::tuple_element_t<0, Tuple>>;
    using E = pyconc::detail::pool_value_t<Fn, Tuple>;
    using T = std::conditional_t<std::is_same_v<E, std::monostate>, void, E>;
    if (options.chunksize < 1)
      pyconc::detail::raise<ValueError>("chunksize must be >= 1.");
    std::optional<pyconc::detail::Deadline> deadline;
    if (options.timeout)
      deadline = pyconc::detail::Deadline::after(options.timeout->seconds, pyconc::detail::NanTimeout::now);
    std::vector<Item> items;
    auto its = std::tuple(std::ranges::begin(iterables)...);
    const auto ends = std::tuple(std::ranges::end(iterables)...);
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      while (!((std::get<I>(its) == std::get<I>(ends)) || ...)) {
        items.emplace_back(*std::get<I>(its)...);
        (++std::get<I>(its), ...);
      }
    }
    (std::index_sequence_for<Ranges...>{});
    const auto chunk = static_cast<std::size_t>(options.chunksize);
    std::vector<Future<std::vector<E>>> fs;  // one per chunk, as CPython's
    std::vector<pyconc::detail::PoolJob> jobs;
    for (std::size_t first = 0; first < items.size(); first += chunk) {
      const std::size_t last = std::min(items.size(), first + chunk);
      std::vector<Item> part(std::make_move_iterator(items.begin() + static_cast<std::ptrdiff_t>(first)),
                             std::make_move_iterator(items.begin() + static_cast<std::ptrdiff_t>(last)));
      Future<std::vector<E>> f;
      pyconc::detail::PoolJob job = job_for<Fn, Item, star, false>(fn, part);
      job.start = [f] { return f.set_running_or_notify_cancel(); };
      job.cancel = [f] { f.cancel(); };
      job.fail = [f](std::exception_ptr error) {
        pyconc::detail::FutureAccess::state(f)->try_set_exception(std::move(error));
      };
      job.deliver = [f, n = last - first](std::uint8_t kind, std::string_view bytes) {
        complete_chunk<E>(f, n, kind, bytes);
      };
      jobs.push_back(std::move(job));
      fs.push_back(std::move(f));
    }
    if (!jobs.empty())
      schedule_jobs(std::move(jobs));
    return ProcessMapResults<T>(MapResults<std::vector<E>>(std::move(fs), deadline));
  }

  /**
  Python: `shutdown(wait=True, *, cancel_futures=False)`: no more submits; what is queued
  still runs unless `cancel_futures`; with `wait`, blocks until the workers have ended.
  Idempotent. Thread-safe.
  */
  void shutdown(bool wait = true, bool cancel_futures = false) override {
    {
      std::lock_guard hold(lock_);
      shutdown_ = true;
    }
    {
      std::lock_guard starting(start_lock_);  // a first submit still starting the workers finishes first
      if (!engine_->started())
        return;
    }
    if (cancel_futures)
      engine_->cancel_pending();
    engine_->close();
    if (wait)
      engine_->join();
  }

  /** CPython's `_max_workers`. */
  [[nodiscard]] int max_workers() const noexcept { return max_workers_; }
  /** The workers' pids now (CPython's `_processes` keys); empty before the first submit. */
  [[nodiscard]] std::vector<long> worker_pids() const { return engine_->worker_pids(); }

 protected:
  /** Calls submitted through the base class cannot be sent to a worker: the future fails with `TypeError`. */
  void schedule(pyconc::detail::WorkItem* item) override {
    try {
      static_cast<void>(item->call_bytes());
    } catch (...) {
      auto& future = item->future();
      if (future.start_or_notify_cancel() == pyconc::detail::FutureCore::Start::running)
        future.try_set_exception(std::current_exception());
      item->discard();
      item->release();
    }
  }

 private:
  template <class MakeInitializer>
  void init(Options options, pyconc::detail::PoolSetup setup, MakeInitializer make_fork_initializer) {
    max_workers_ = options.max_workers.value_or(detail::process_cpu_count());
    if (max_workers_ <= 0)
      pyconc::detail::raise<ValueError>("max_workers must be greater than 0");
    if (options.max_tasks_per_child) {
      if (*options.max_tasks_per_child < 1)
        pyconc::detail::raise<ValueError>("max_tasks_per_child must be >= 1");
      if (!options.mp_context)
        options.mp_context = multiprocessing::get_context("spawn");
      else if (options.mp_context->start_method() == multiprocessing::StartMethod::fork)
        pyconc::detail::raise<ValueError>(
            "max_tasks_per_child is incompatible with the 'fork' multiprocessing start method; supply a different "
            "mp_context.");
    }
    const multiprocessing::Context context = options.mp_context.value_or(multiprocessing::get_context());
    std::function<void()> fork_initializer = std::move(options.initializer);
    if (!setup.spawnable)
      fork_initializer = make_fork_initializer();
    if (fork_initializer && context.start_method() != multiprocessing::StartMethod::fork)
      pyconc::detail::raise<pickle::PicklingError>(
          "a process pool started by spawn or forkserver cannot run this initializer in its workers (a lambda with "
          "captures, a std::function or an object with state, or initargs that cannot be pickled): use a function "
          "and pass captured values as initargs");
    pyconc::detail::PoolPolicy policy;
    policy.break_on_worker_death = true;
    policy.drain_at_exit = true;
    policy.rename_workers = false;
    policy.broken_pending = std::make_exception_ptr(BrokenProcessPool(
        "A process in the process pool was terminated abruptly while the future was running or pending."));
    policy.broken_submit = std::make_exception_ptr(
        BrokenProcessPool("A child process terminated abruptly, the process pool is not usable anymore"));
    engine_ = std::make_shared<pyconc::detail::ProcessPoolEngine>(max_workers_, options.max_tasks_per_child.value_or(0),
                                                                  context, std::move(setup.setup),
                                                                  std::move(fork_initializer), std::move(policy));
  }

  // A chunk's job: `Star`, the items are tuples of arguments; else single arguments.
  template <class Fn, class Item, bool Star, bool Single, class F>
  static pyconc::detail::PoolJob job_for(const F& fn, const std::vector<Item>& items) {
    pyconc::detail::check_spawnable<Fn, Item>();
    static_assert(pickle::picklable<pyconc::detail::pool_item_value_t<Fn, Item, Star>>,
                  "pyconc::concurrent::futures::ProcessPoolExecutor: a call's result must be picklable (see "
                  "pyconc/pickle.hpp)");
    pyconc::detail::PoolJob job;
    job.task = pickle::dumps(pyconc::detail::pool_task(
        reinterpret_cast<const void*>(&pyconc::detail::pool_chunk_entry<Fn, Item, Star, Single>), Fn(fn),
        pickle::dumps(items)));
    return job;
  }

  // Completes a chunk's future from a worker's reply: its `n` values, or the exception.
  template <class E>
  static void complete_chunk(const Future<std::vector<E>>& future, std::size_t n, std::uint8_t kind,
                             std::string_view bytes) noexcept {
    auto* state = pyconc::detail::FutureAccess::state(future);
    try {
      if (kind == pyconc::detail::PoolReply::outcome) {
        auto outcome = pickle::loads<pyconc::detail::PoolOutcome<E>>(bytes);
        if (auto* values = std::get_if<std::vector<E>>(&outcome)) {
          if (values->size() != n)
            pyconc::detail::raise<pickle::UnpicklingError>("a worker returned " + std::to_string(values->size()) +
                                                           " results for " + std::to_string(n) + " calls");
          state->try_set_result(std::move(*values));
        } else {
          state->try_set_exception(std::get<std::exception_ptr>(outcome));
        }
      } else {
        state->try_set_exception(pickle::loads<std::exception_ptr>(bytes));
      }
    } catch (...) {
      state->try_set_exception(std::current_exception());  // hostile bytes: this chunk only
    }
  }

  // Completes `futures` from a worker's reply (values in order, or one exception for all).
  template <class E, class T>
  static void complete(const std::vector<Future<T>>& futures, std::uint8_t kind, std::string_view bytes) noexcept {
    std::exception_ptr error;
    try {
      if (kind == pyconc::detail::PoolReply::outcome) {
        auto outcome = pickle::loads<pyconc::detail::PoolOutcome<E>>(bytes);
        if (auto* values = std::get_if<std::vector<E>>(&outcome)) {
          if (values->size() != futures.size())
            pyconc::detail::raise<pickle::UnpicklingError>("a worker returned " + std::to_string(values->size()) +
                                                           " results for " + std::to_string(futures.size()) + " calls");
          for (std::size_t i = 0; i < futures.size(); ++i)
            pyconc::detail::FutureAccess::state(futures[i])->try_set_result(std::move((*values)[i]));
          return;
        }
        error = std::get<std::exception_ptr>(outcome);
      } else {
        error = pickle::loads<std::exception_ptr>(bytes);
      }
    } catch (...) {
      error = std::current_exception();  // hostile bytes: these calls only
    }
    for (const auto& f : futures)
      pyconc::detail::FutureAccess::state(f)->try_set_exception(error);
  }

  void schedule_jobs(std::vector<pyconc::detail::PoolJob> jobs) {
    {
      std::lock_guard hold(lock_);
      if (engine_->broken())
        std::rethrow_exception(std::make_exception_ptr(
            BrokenProcessPool("A child process terminated abruptly, the process pool is not usable anymore")));
      if (shutdown_)
        pyconc::detail::raise<RuntimeError>("cannot schedule new futures after shutdown");
      if (pyconc::detail::exiting())
        pyconc::detail::raise<RuntimeError>("cannot schedule new futures after interpreter shutdown");
    }
    {
      // Not an InternalLock: the workers are forked while this is held, and a fork waits for
      // every InternalLock to be free.
      std::lock_guard starting(start_lock_);
      if (!engine_->started())
        engine_->start();
    }
    try {
      engine_->submit(std::move(jobs));
    } catch (const ValueError&) {  // shut down meanwhile: the engine is no longer running
      pyconc::detail::raise<RuntimeError>("cannot schedule new futures after shutdown");
    }
  }

  std::mutex start_lock_;  // serialises the first submits' start of the workers
  mutable pyconc::detail::InternalLock lock_;
  bool shutdown_ = false;  // guarded by lock_
  int max_workers_ = 0;
  std::shared_ptr<pyconc::detail::ProcessPoolEngine> engine_;
};

}  // namespace futures
}  // namespace concurrent
}  // namespace v0
}  // namespace pyconc

#endif  // PYCONC_CONCURRENT_FUTURES_PROCESS_HPP_INCLUDED
