// SPDX-License-Identifier: MIT
/**
`pyconc/multiprocessing/pool.hpp` — Python's `multiprocessing.pool`: `Pool`, `ThreadPool`
and the results they return.

Defines:
- `multiprocessing::Pool`               a pool of worker processes (Python's `Pool(...)`).
- `multiprocessing::pool::ThreadPool`   the same API on threads (also `multiprocessing::dummy::Pool`).
- `multiprocessing::AsyncResult<V>`     what `apply_async` and `map_async` return
                                        (Python's `ApplyResult` and `MapResult`).
- `multiprocessing::IMapIterator<V>`    what `imap` and `imap_unordered` return.
- `multiprocessing::PoolOptions`, `AsyncOptions<V>`   the keyword arguments.
- `multiprocessing::WorkerLostError`, `MaybeEncodingError`.

```cpp
int square(int x) { return x * x; }

multiprocessing::Pool pool(4);                            // with Pool(4) as pool:
auto squares = pool.map(square, std::vector{1, 2, 3});    //     pool.map(square, [1, 2, 3])
auto r = pool.apply_async(square, std::tuple{7});         //     r = pool.apply_async(square, (7,))
print(r.get(1.0));                                        //     print(r.get(timeout=1))
```

How a task reaches a worker process: as a `Process` target under spawn (`process.hpp`), by
its address in the program, whatever the start method, because the workers are started
before the tasks exist. So a task is a function, a static member function or a captureless
lambda, its arguments and its result picklable (`pickle.hpp`); anything else fails to
compile, as CPython fails to pickle a lambda. The initializer runs in the worker as a
`Process` target does: under fork any callable, under spawn and forkserver a function with
picklable `initargs`. A `ThreadPool` runs any callable, as CPython's does.

Inside, a pool has one thread (CPython has three) that owns the workers: it starts them,
sends each task to one worker over that worker's socket pair, reads the results back,
runs the callbacks, and watches every worker's pidfd, so a worker's death is seen at once.
Tasks are sent ahead, so that a worker finds its next task already there: one beyond the
one it runs while more tasks wait than there are workers, and up to half of each worker's
share of a long queue (at most 64). A task sent ahead waits for that worker even if another
becomes idle (CPython's workers take tasks from one shared pipe, one at a time; its `map`
sends chunks instead). Results complete in that thread: a callback runs before `get()`
returns for its result, as in CPython.

Differs from Python:
- A worker that dies while running a task (killed, crashed, `_exit`) is replaced, as in
  CPython, and the result of every task it held fails with `WorkerLostError` naming its pid
  and how it ended; CPython never completes that result. An initializer that raises stops
  the pool from starting more workers: every pending and later result raises the
  initializer's exception (CPython starts new workers forever and no result ever comes).
- A worker ends when the process that owns the pool ends, even when it is killed (a thread
  in the worker watches the owner's pidfd).
- `map` and `starmap` read the iterable at once, as CPython does; so do `imap` and
  `imap_unordered` (CPython reads it as tasks are sent), so an endless range cannot be given.
- `map(..., chunksize=0)` raises `ValueError("Chunksize must be 1+, not 0")`, as `imap` does
  (CPython's `map` returns a list of `None` without running anything).
- An exception raised by a callback is written to stderr (CPython's result thread dies and
  the pool hangs).
*/
#ifndef PYCONC_MULTIPROCESSING_POOL_HPP_INCLUDED
#define PYCONC_MULTIPROCESSING_POOL_HPP_INCLUDED

#include <algorithm>    // std::min
#include <atomic>       // std::atomic
#include <cerrno>       // errno
#include <cstddef>      // std::size_t
#include <cstdint>      // std::uint64_t, std::uint8_t, std::uintptr_t
#include <cstdio>       // std::snprintf
#include <cstring>      // std::memcpy
#include <deque>        // std::deque
#include <exception>    // std::exception_ptr
#include <functional>   // std::function
#include <iterator>     // std::default_sentinel_t
#include <memory>       // std::shared_ptr, std::make_shared
#include <mutex>        // std::lock_guard
#include <optional>     // std::optional
#include <ranges>       // std::ranges::range
#include <string>       // std::string
#include <string_view>  // std::string_view
#include <thread>       // std::thread (the owner watch in a worker)
#include <tuple>        // std::tuple, std::apply
#include <type_traits>  // std::decay_t, std::invoke_result_t
#include <utility>      // std::move
#include <variant>      // std::variant, std::monostate
#include <vector>       // std::vector

#include <fcntl.h>        // fcntl, O_NONBLOCK
#include <poll.h>         // pollfd, poll
#include <signal.h>       // SIGTERM
#include <sys/eventfd.h>  // eventfd
#include <sys/prctl.h>    // prctl, PR_SET_PDEATHSIG
#include <sys/socket.h>   // socketpair, sendmsg
#include <sys/uio.h>      // iovec
#include <unistd.h>       // read, write, _exit

#include <pyconc/builtins.hpp>
#include <pyconc/concurrent/futures/future.hpp>
#include <pyconc/detail/fd.hpp>
#include <pyconc/detail/fork_gate.hpp>
#include <pyconc/detail/lifecycle.hpp>
#include <pyconc/detail/wait.hpp>
#include <pyconc/errors.hpp>
#include <pyconc/multiprocessing/connection.hpp>
#include <pyconc/multiprocessing/context.hpp>
#include <pyconc/multiprocessing/errors.hpp>
#include <pyconc/multiprocessing/process.hpp>
#include <pyconc/pickle.hpp>
#include <pyconc/queue.hpp>
#include <pyconc/threading.hpp>
#include <pyconc/timeout.hpp>

namespace pyconc {
inline namespace v0 {
namespace multiprocessing {

/**
Not in Python: the worker process running a task ended before it returned the result (it
was killed, crashed or called `_exit`). `pid()` and `exitcode()` tell which worker and how
(a negative exit code is the signal). The pool replaced the worker and goes on.
*/
class WorkerLostError : public ProcessError {
 public:
  explicit WorkerLostError(std::string message, long pid = 0, int exitcode = 0)
      : ProcessError(std::move(message)), pid_(pid), exitcode_(exitcode) {}
  [[nodiscard]] const char* type_name() const noexcept override { return "WorkerLostError"; }
  /** The pid of the worker that ended (0 when the exception crossed a process boundary). */
  [[nodiscard]] long pid() const noexcept { return pid_; }
  /** How it ended: its exit code, or minus the signal that killed it. */
  [[nodiscard]] int exitcode() const noexcept { return exitcode_; }

 private:
  long pid_;
  int exitcode_;
};

/**
Python: `multiprocessing.pool.MaybeEncodingError`: a worker could not pickle a task's result.
The text is CPython's: `Error sending result: '<value>'. Reason: '<exception>'`.
*/
PYCONC_DEFINE_ERROR(MaybeEncodingError, Error, "MaybeEncodingError");

}  // namespace multiprocessing

// The exceptions of pyconc's modules come back from another process as themselves.
PYCONC_PICKLE_EXCEPTION(multiprocessing::WorkerLostError);
PYCONC_PICKLE_EXCEPTION(multiprocessing::MaybeEncodingError);
PYCONC_PICKLE_EXCEPTION(multiprocessing::AuthenticationError);
PYCONC_PICKLE_EXCEPTION(multiprocessing::TimeoutError);
PYCONC_PICKLE_EXCEPTION(multiprocessing::ProcessError);
PYCONC_PICKLE_EXCEPTION(queue::Empty);
PYCONC_PICKLE_EXCEPTION(queue::Full);
PYCONC_PICKLE_EXCEPTION(queue::ShutDown);
PYCONC_PICKLE_EXCEPTION(threading::BrokenBarrierError);
PYCONC_PICKLE_EXCEPTION(concurrent::futures::InvalidStateError);
PYCONC_PICKLE_EXCEPTION(concurrent::futures::CancelledError);
PYCONC_PICKLE_EXCEPTION(concurrent::futures::BrokenExecutor);

namespace detail {

// ---- What crosses between a pool and its workers ----------------------------------------

/** A task as a worker receives it: where its entry point and function are, and its arguments. */
struct PoolTask {
  std::string entry_object;
  std::uint64_t entry_offset = 0;
  bool has_target = false;
  std::string target_object;
  std::uint64_t target_offset = 0;
  std::string args;
};
PYCONC_PICKLE_FIELDS(PoolTask, entry_object, entry_offset, has_target, target_object, target_offset, args);

/**
What a worker sends back, as a frame: the task's id (u64, little-endian), the kind (u8), then
the bytes: for `outcome` the chunk's pickled `PoolOutcome`, else a pickled `std::exception_ptr`.
*/
struct PoolReply {
  enum Kind : std::uint8_t { outcome = 0, initializer_failed = 1, task_failed = 2 };
  std::uint64_t id = 0;
  std::uint8_t kind = outcome;
  std::string_view bytes;
};

/** How a worker process is set up. */
struct PoolWorkerSetup {
  std::int64_t owner_pid = 0;    // the worker ends when this process does
  bool owner_is_parent = true;   // false: forkserver (the server is the parent): watch with a thread
  std::int64_t max_tasks = 0;    // 0: no limit (maxtasksperchild)
  bool has_initializer = false;  // spawnable initializer in `initializer`
  PoolTask initializer;
};
PYCONC_PICKLE_FIELDS(PoolWorkerSetup, owner_pid, owner_is_parent, max_tasks, has_initializer, initializer);

/** A task's entry point in the worker: runs the chunk and returns its outcome's bytes. */
using PoolEntry = std::string (*)(std::uintptr_t target, std::string_view args);
/** An initializer's entry point in the worker: runs it (its exception propagates). */
using PoolInitEntry = void (*)(std::uintptr_t target, std::string_view args);

/** The value a task of `F` on `Tuple` gives: its result, `std::monostate` for `void`. */
template <class F, class Tuple>
using pool_value_t = Stored<std::remove_cvref_t<decltype(std::apply(std::declval<F&>(), std::declval<Tuple>()))>>;

/** What a chunk gives: its values, or the exception the first failing item raised. */
template <class E>
using PoolOutcome = std::variant<std::vector<E>, std::exception_ptr>;

/** Python's `repr()` of a result, for `MaybeEncodingError`, where pyconc has one. */
template <class T>
std::string pool_value_repr(const T& value) {
  if constexpr (std::is_arithmetic_v<T> || string_like<T> || has_repr_member<T> || streamable<T>) {
    return pyconc::repr(value);
  } else if constexpr (std::ranges::range<const T>) {
    std::string out = "[";
    bool first = true;
    for (const auto& item : value) {
      out += (first ? "" : ", ") + pool_value_repr(item);
      first = false;
    }
    return out + "]";
  } else {
    return "<" + class_name(typeid(T)) + " object>";
  }
}

/** Calls `F` (the function at `target`, or a default-constructed stateless callable). */
template <class F, class Tuple>
decltype(auto) pool_call(std::uintptr_t target, Tuple&& args) {
  if constexpr (std::is_pointer_v<F>) {
    return std::apply(reinterpret_cast<F>(target), std::forward<Tuple>(args));
  } else {
    static_cast<void>(target);
    F f{};
    return std::apply(f, std::forward<Tuple>(args));
  }
}

/** The value a task of `F` on one `Item` gives: `Star`, the item is the arguments' tuple; else the one argument. */
template <class F, class Item, bool Star>
using pool_item_value_t = pool_value_t<F, std::conditional_t<Star, Item, std::tuple<Item>>>;

/** Calls `F` on one item (see `pool_item_value_t`). */
template <class F, bool Star, class Item>
decltype(auto) pool_call_item(std::uintptr_t target, Item&& item) {
  if constexpr (Star)
    return pool_call<F>(target, std::forward<Item>(item));
  else
    return pool_call<F>(target, std::forward_as_tuple(std::forward<Item>(item)));
}

/**
The worker's side of a chunk of `F` over items of type `Item` (`Star`: tuples of arguments,
else single arguments, so that a chunk of ints crosses as one block of bytes); `Single`: an
`apply`.
*/
template <class F, class Item, bool Star, bool Single>
std::string pool_chunk_entry(std::uintptr_t target, std::string_view args) {
  using E = pool_item_value_t<F, Item, Star>;
  std::vector<E> values;
  try {
    auto items = pickle::loads<std::vector<Item>>(args);
    values.reserve(items.size());
    for (auto& item : items) {
      if constexpr (std::is_same_v<E, std::monostate>) {
        pool_call_item<F, Star>(target, std::move(item));
        values.emplace_back();
      } else {
        values.push_back(pool_call_item<F, Star>(target, std::move(item)));
      }
    }
  } catch (...) {
    return pickle::dumps(PoolOutcome<E>(std::current_exception()));
  }
  PoolOutcome<E> outcome(std::move(values));
  try {
    return pickle::dumps(outcome);
  } catch (const std::exception& e) {
    const auto& kept = std::get<std::vector<E>>(outcome);
    const std::string shown = Single && kept.size() == 1 ? pool_value_repr(kept.front()) : pool_value_repr(kept);
    return pickle::dumps(PoolOutcome<E>(std::make_exception_ptr(multiprocessing::MaybeEncodingError(
        "Error sending result: '" + shown + "'. Reason: '" + exception_repr(e) + "'"))));
  }
}

/** The worker's side of an initializer `F` with `initargs` of type `Tuple`. */
template <class F, class Tuple>
void pool_init_entry(std::uintptr_t target, std::string_view args) {
  pool_call<F>(target, pickle::loads<Tuple>(args));
}

/** Where `address` is in the program, as a `PoolTask` names it; `PicklingError` when nowhere. */
inline void pool_code_address(const void* address, std::string& object, std::uint64_t& offset) {
  // The same few functions are looked up again and again: the last ones are remembered.
  struct Known {
    const void* address;
    CodeAddress where;
  };
  thread_local std::vector<Known> known;
  for (const auto& k : known) {
    if (k.address == address) {
      object = k.where.object;
      offset = k.where.offset;
      return;
    }
  }
  CodeAddress where;
  if (!code_address_of(address, where))
    raise<pickle::PicklingError>("cannot find the task's function in the program's code");
  if (known.size() >= 16)
    known.erase(known.begin());
  known.push_back({address, where});
  object = where.object;
  offset = where.offset;
}

/** A call the worker can make: `entry` instantiated for `F`, and `f` itself when it is a function. */
template <class F>
PoolTask pool_task(const void* entry, const F& f, std::string args) {
  PoolTask task;
  pool_code_address(entry, task.entry_object, task.entry_offset);
  if constexpr (std::is_pointer_v<F>) {
    task.has_target = true;
    pool_code_address(reinterpret_cast<const void*>(f), task.target_object, task.target_offset);
  } else {
    static_cast<void>(f);
  }
  task.args = std::move(args);
  return task;
}

/* Frames on a pool's sockets: a little-endian u32 size, then that many bytes. */

/** Appends the little-endian bytes of `value` to `out`. */
template <class U>
void pool_put(std::string& out, U value) {
  for (std::size_t i = 0; i < sizeof(U); ++i)
    out.push_back(static_cast<char>((static_cast<std::uint64_t>(value) >> (8 * i)) & 0xff));
}

/** The little-endian `U` at `p`. */
template <class U>
U pool_get(const char* p) noexcept {
  std::uint64_t value = 0;
  for (std::size_t i = sizeof(U); i-- > 0;)
    value = value << 8 | static_cast<unsigned char>(p[i]);
  return static_cast<U>(value);
}

/** Appends a task's frame to `out`: its id (0 tells the worker to stop), then the pickled `PoolTask`. */
inline void pool_task_frame(std::string& out, std::uint64_t id, std::string_view task) {
  pool_put(out, static_cast<std::uint32_t>(8 + task.size()));
  pool_put(out, id);
  out.append(task);
}

/** Appends a reply's frame to `out` (see `PoolReply`). */
inline void pool_reply_frame(std::string& out, std::uint64_t id, std::uint8_t kind, std::string_view bytes) {
  pool_put(out, static_cast<std::uint32_t>(9 + bytes.size()));
  pool_put(out, id);
  out.push_back(static_cast<char>(kind));
  out.append(bytes);
}

/**
A worker's end of its socket: reads frames from a buffer filled by large reads (one system
call brings every frame the pool has sent so far), and writes replies in batches: a reply
waits while another task is already here to run, up to 64 KiB of replies.
*/
class PoolWorkerChannel {
 public:
  explicit PoolWorkerChannel(int fd) noexcept : fd_(fd) {}

  /** The next frame's body (valid until the next call); false at end of file. Blocks. */
  bool next(std::string_view& body) {
    in_.erase(0, consumed_);
    consumed_ = 0;
    while (!whole_frame()) {
      flush();  // about to wait: the pool gets what is done first
      const std::size_t old = in_.size();
      in_.resize(old + 65536);
      const ssize_t n = read_some(fd_, in_.data() + old, 65536);
      in_.resize(old + static_cast<std::size_t>(n > 0 ? n : 0));
      if (n <= 0)
        return false;
    }
    const std::size_t n = frame_size();
    body = std::string_view(in_).substr(4, n);
    consumed_ = 4 + n;
    return true;
  }

  /** Queues a reply; written now unless another whole frame is already buffered. */
  bool reply(std::uint64_t id, std::uint8_t kind, std::string_view bytes) {
    pool_reply_frame(out_, id, kind, bytes);
    if (out_.size() < 65536 && has_next())
      return true;
    return flush();
  }

  bool flush() {
    if (out_.empty())
      return true;
    const bool ok = write_all(fd_, out_.data(), out_.size(), true) == 0;
    out_.clear();
    return ok;
  }

 private:
  [[nodiscard]] std::size_t frame_size() const noexcept {
    const auto* p = reinterpret_cast<const unsigned char*>(in_.data());
    return static_cast<std::size_t>(p[0]) | static_cast<std::size_t>(p[1]) << 8 | static_cast<std::size_t>(p[2]) << 16 |
           static_cast<std::size_t>(p[3]) << 24;
  }
  [[nodiscard]] bool whole_frame() const noexcept { return in_.size() >= 4 && in_.size() - 4 >= frame_size(); }
  // Whether a whole frame follows the one being handled.
  [[nodiscard]] bool has_next() const noexcept {
    if (in_.size() - consumed_ < 4)
      return false;
    const auto* p = reinterpret_cast<const unsigned char*>(in_.data() + consumed_);
    const std::size_t n = static_cast<std::size_t>(p[0]) | static_cast<std::size_t>(p[1]) << 8 |
                          static_cast<std::size_t>(p[2]) << 16 | static_cast<std::size_t>(p[3]) << 24;
    return in_.size() - consumed_ - 4 >= n;
  }

  int fd_;
  std::string in_;
  std::size_t consumed_ = 0;
  std::string out_;
};

/** Resolves a task's code addresses in a worker, remembering each object's base. */
class PoolCodeResolver {
 public:
  std::uintptr_t resolve(const std::string& object, std::uint64_t offset) {
    for (const auto& [name, base] : bases_)
      if (name == object)
        return base == 0 ? 0 : base + static_cast<std::uintptr_t>(offset);
    const std::uintptr_t base = resolve_code_address(CodeAddress{object, 0});
    bases_.emplace_back(object, base);
    return base == 0 ? 0 : base + static_cast<std::uintptr_t>(offset);
  }

 private:
  std::vector<std::pair<std::string, std::uintptr_t>> bases_;
};

/**
Ends this worker process as soon as the pool's owner ends. When the owner is the parent (fork
and spawn: the pool's thread started the worker), the kernel does it: SIGKILL on the death of
that thread (PR_SET_PDEATHSIG), which lives as long as the pool. A forkserver's child has the
server for parent: a thread blocked on the owner's pidfd does it.
*/
inline void pool_watch_owner(std::int64_t owner_pid, bool owner_is_parent) {
  if (owner_is_parent) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (static_cast<std::int64_t>(::getppid()) != owner_pid)
      ::_exit(1);  // the owner ended before the line above
    return;
  }
  const int pidfd = pidfd_open(static_cast<pid_t>(owner_pid));
  if (pidfd < 0)
    ::_exit(1);  // already gone
  // Detached on purpose: it lives as long as the worker, blocked in poll(), and either ends
  // the process when the owner dies or is ended with it.
  std::thread([pidfd] {
    pollfd p{pidfd, POLLIN, 0};
    while (::poll(&p, 1, -1) < 0 && errno == EINTR) {
    }
    ::_exit(1);
  }).detach();
}

/**
A worker's life (CPython's `pool.worker`): runs the initializer, then each task it receives
until told to stop, the pool's end of the socket closes, or it has run `max_tasks`.
*/
inline void pool_worker_run(int fd, const PoolWorkerSetup& setup, const std::function<void()>& initializer) {
  pool_watch_owner(setup.owner_pid, setup.owner_is_parent);
  PoolCodeResolver code;
  PoolWorkerChannel channel(fd);
  try {
    if (initializer) {
      initializer();
    } else if (setup.has_initializer) {
      const auto entry = code.resolve(setup.initializer.entry_object, setup.initializer.entry_offset);
      const auto target = setup.initializer.has_target
                              ? code.resolve(setup.initializer.target_object, setup.initializer.target_offset)
                              : 0;
      if (entry == 0 || (setup.initializer.has_target && target == 0))
        raise<pickle::UnpicklingError>("the pool's initializer is not in this program's code");
      reinterpret_cast<PoolInitEntry>(entry)(target, setup.initializer.args);
    }
  } catch (...) {
    channel.reply(0, PoolReply::initializer_failed, pickle::dumps(std::current_exception()));
    channel.flush();
    throw;  // printed as CPython prints it; exit code 1
  }
  std::int64_t done = 0;
  std::string_view body;
  while (channel.next(body) && body.size() >= 8) {
    const auto id = pool_get<std::uint64_t>(body.data());
    if (id == 0)
      break;
    const auto task = pickle::loads<PoolTask>(body.substr(8));
    const auto entry = code.resolve(task.entry_object, task.entry_offset);
    const auto target = task.has_target ? code.resolve(task.target_object, task.target_offset) : 0;
    bool sent = false;
    if (entry == 0 || (task.has_target && target == 0)) {
      sent = channel.reply(id, PoolReply::task_failed,
                           pickle::dumps(std::make_exception_ptr(
                               pickle::UnpicklingError("the task's function is not in this worker's program code"))));
    } else {
      sent = channel.reply(id, PoolReply::outcome, reinterpret_cast<PoolEntry>(entry)(target, task.args));
    }
    if (!sent)
      return;
    if (setup.max_tasks > 0 && ++done >= setup.max_tasks)
      break;
  }
  channel.flush();
}

/** A worker's `Process` target under every start method. */
inline void pool_worker_main(multiprocessing::Connection conn, PoolWorkerSetup setup) {
  pool_worker_run(conn.fileno(), setup, {});
}

// ---- The results ---------------------------------------------------------------------------

/** Where the outcomes of a job's chunks go (an AsyncResult or an IMapIterator). Thread-safe. */
template <class E>
class ChunkSink {
 public:
  virtual ~ChunkSink() = default;
  /** Chunk `index` gave `values`. */
  virtual void chunk_done(std::size_t index, std::vector<E>&& values) noexcept = 0;
  /** Chunk `index` raised `error`. */
  virtual void chunk_failed(std::size_t index, std::exception_ptr error) noexcept = 0;
};

/** One chunk of work as a pool's backend takes it. */
struct PoolJob {
  std::string task;                                                  // process pools: the pickled PoolTask
  std::function<void()> run;                                         // thread pools: runs it and delivers
  std::function<void(std::uint8_t kind, std::string_view)> deliver;  // process pools: the worker's reply
  std::function<void(std::exception_ptr)> fail;                      // the chunk cannot complete
  std::function<bool()> start = {};   // called as it is sent; false: cancelled, dropped (executors)
  std::function<void()> cancel = {};  // shutdown(cancel_futures=True) (executors)
};

/** Calls `callback`, reporting what it raises (the pool goes on). */
template <class Callback, class... A>
void pool_run_callback(const Callback& callback, A&&... a) noexcept {
  if (!callback)
    return;
  try {
    callback(std::forward<A>(a)...);
  } catch (...) {
    report_exception("Exception in a pool callback:\n", std::current_exception());
  }
}

/** Calls `error_callback` with the exception `error` holds. */
template <class Callback>
void pool_run_error_callback(const Callback& error_callback, const std::exception_ptr& error) noexcept {
  if (!error_callback)
    return;
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    pool_run_callback(error_callback, e);
  } catch (...) {
    pool_run_callback(error_callback, RuntimeError("unknown exception"));
  }
}

}  // namespace detail

namespace multiprocessing {

template <class V>
class AsyncResult;
template <class Backend>
class BasicPool;

/**
Python's `callback=` and `error_callback=` of `apply_async`, `map_async` and `starmap_async`:
`pool.apply_async(f, std::tuple{1}, {.callback = [](int v) { ... }})`. Both run in the pool's
thread, before the result is ready.
*/
template <class V>
struct AsyncOptions {
  std::function<void(const V&)> callback = {};                     ///< with the result, on success
  std::function<void(const std::exception&)> error_callback = {};  ///< with the exception, on failure
};

}  // namespace multiprocessing

namespace detail {

/**
The state of an `AsyncResult<V>`, whatever the chunks' values: completed once, by the pool's
thread (callback first, then ready).
*/
template <class V>
class AsyncResultCore {
 public:
  AsyncResultCore(multiprocessing::AsyncOptions<V> options, bool map) : options_(std::move(options)), map_(map) {}
  AsyncResultCore(const AsyncResultCore&) = delete;
  AsyncResultCore& operator=(const AsyncResultCore&) = delete;
  virtual ~AsyncResultCore() = default;

  void wait(const Deadline& deadline) { ready_.wait(deadline); }
  [[nodiscard]] bool ready() const noexcept { return ready_.is_set(); }
  [[nodiscard]] bool successful() const noexcept { return success_; }  // after ready()
  [[nodiscard]] const std::exception_ptr& error() const noexcept { return error_; }
  [[nodiscard]] const V& value() const noexcept { return value_; }
  [[nodiscard]] V take_value() noexcept { return std::move(value_); }
  [[nodiscard]] bool is_map() const noexcept { return map_; }

 protected:
  // Runs the callback, then makes the result ready. Once; not under lock_.
  void finish() noexcept {
    if (success_)
      pool_run_callback(options_.callback, value_);
    else
      pool_run_error_callback(options_.error_callback, error_);
    options_ = {};  // what the callbacks captured is released, as CPython drops the job
    ready_.set();
  }

  InternalLock lock_;
  multiprocessing::AsyncOptions<V> options_;
  bool map_;
  bool success_ = false;
  V value_{};
  std::exception_ptr error_;
  EventCore<> ready_;
};

/** An `AsyncResultCore<V>` fed by chunks of `E`: one chunk (`apply`, V = E) or many (`map`, V = vector of E). */
template <class V, class E>
class AsyncResultState final : public AsyncResultCore<V>, public ChunkSink<E> {
 public:
  AsyncResultState(std::size_t length, std::size_t chunksize, multiprocessing::AsyncOptions<V> options, bool map)
      : AsyncResultCore<V>(std::move(options), map),
        chunks_left_(chunksize == 0 ? 0 : (length + chunksize - 1) / chunksize),
        chunksize_(chunksize) {
    if constexpr (!std::is_same_v<V, E>)
      this->value_.resize(length);
    if (chunks_left_ == 0) {
      this->success_ = true;
      this->ready_.set();  // CPython: an empty map is ready at once, without its callback
    }
  }

  void chunk_done(std::size_t index, std::vector<E>&& values) noexcept override {
    {
      std::lock_guard hold(this->lock_);
      if (chunks_left_ == 0)
        return;
      try {
        store(index, std::move(values));
      } catch (...) {
        this->error_ = std::current_exception();
        chunks_left_ = 1;
      }
      if (--chunks_left_ > 0)
        return;
      this->success_ = this->error_ == nullptr;
    }
    this->finish();
  }

  void chunk_failed(std::size_t, std::exception_ptr error) noexcept override {
    {
      std::lock_guard hold(this->lock_);
      if (chunks_left_ == 0)
        return;
      chunks_left_ = 0;  // CPython: the first failing chunk completes the result
      this->error_ = std::move(error);
      this->success_ = false;
    }
    this->finish();
  }

 private:
  void store(std::size_t index, std::vector<E>&& values) {
    if (!this->map_) {
      if (values.size() != 1)
        raise<pickle::UnpicklingError>("a worker returned " + std::to_string(values.size()) + " results for a task");
      if constexpr (std::is_same_v<V, E>)
        this->value_ = std::move(values.front());
      return;
    }
    if constexpr (!std::is_same_v<V, E>) {
      const std::size_t first = index * chunksize_;
      if (first + values.size() > this->value_.size())
        raise<pickle::UnpicklingError>("a worker returned more results than the chunk had items");
      std::move(values.begin(), values.end(), this->value_.begin() + static_cast<std::ptrdiff_t>(first));
    }
  }

  std::size_t chunks_left_;
  std::size_t chunksize_;
};

/** The state of an `IMapIterator<E>`: chunks as they come, in order or as completed. */
template <class E>
class IMapState final : public ChunkSink<E> {
 public:
  IMapState(std::size_t chunks, bool ordered) : slots_(ordered ? chunks : 0), chunks_(chunks), ordered_(ordered) {}

  void chunk_done(std::size_t index, std::vector<E>&& values) noexcept override {
    {
      std::lock_guard hold(lock_);
      if (ordered_) {
        slots_[index].emplace(std::move(values));
      } else {
        for (auto& v : values)
          arrived_.emplace_back(std::move(v));
        ++chunks_arrived_;
      }
    }
    changed();
  }

  void chunk_failed(std::size_t index, std::exception_ptr error) noexcept override {
    {
      std::lock_guard hold(lock_);
      if (ordered_) {
        slots_[index].emplace(std::move(error));
      } else {
        arrived_.emplace_back(std::move(error));
        ++chunks_arrived_;
      }
    }
    changed();
  }

  /** The next item, waiting until `deadline`; `StopIteration` at the end. */
  E next(const Deadline& deadline) {
    for (;;) {
      const std::uint32_t seen = changes_.load(std::memory_order_acquire);
      {
        std::lock_guard hold(lock_);
        if (auto item = take()) {
          if (std::holds_alternative<std::exception_ptr>(*item))
            std::rethrow_exception(std::get<std::exception_ptr>(*item));
          return std::move(std::get<E>(*item));
        }
        if (finished_)
          raise<StopIteration>("");
      }
      if (!wait_on(changes_, seen, deadline))
        raise<multiprocessing::TimeoutError>("");
    }
  }

 private:
  using Item = std::variant<E, std::exception_ptr>;

  // Under lock_: the next item if it has arrived; sets finished_ at the end.
  std::optional<Item> take() {
    if (ordered_) {
      while (next_chunk_ < chunks_ && slots_[next_chunk_]) {
        auto& slot = *slots_[next_chunk_];
        if (std::holds_alternative<std::exception_ptr>(slot)) {
          // CPython: a failed chunk of several items ends the iteration after its exception;
          // with chunks of one, the iteration goes on.
          auto error = std::get<std::exception_ptr>(slot);
          slots_[next_chunk_].reset();
          ++next_chunk_;
          if (!single_items_)
            next_chunk_ = chunks_;
          return Item(std::move(error));
        }
        auto& values = std::get<std::vector<E>>(slot);
        if (next_item_ < values.size())
          return Item(std::move(values[next_item_++]));
        slots_[next_chunk_].reset();
        ++next_chunk_;
        next_item_ = 0;
      }
      finished_ = next_chunk_ >= chunks_;
      return std::nullopt;
    }
    if (!arrived_.empty()) {
      Item item = std::move(arrived_.front());
      arrived_.pop_front();
      return item;
    }
    finished_ = chunks_arrived_ >= chunks_;
    return std::nullopt;
  }

  void changed() noexcept {
    changes_.fetch_add(1, std::memory_order_release);
    wake_all(changes_);
  }

 public:
  bool single_items_ = true;  // chunks of one item (set before the first chunk is sent)

 private:
  InternalLock lock_;
  std::vector<std::optional<std::variant<std::vector<E>, std::exception_ptr>>> slots_;  // ordered
  std::deque<Item> arrived_;                                                            // unordered
  std::size_t chunks_;
  std::size_t chunks_arrived_ = 0;
  std::size_t next_chunk_ = 0;
  std::size_t next_item_ = 0;
  bool ordered_;
  bool finished_ = false;
  std::atomic<std::uint32_t> changes_{0};
};

/** The work a pool does, behind its Python API: the worker processes, or the threads. */
class PoolBackend {
 public:
  virtual ~PoolBackend() = default;
  /** Queues `jobs`; `ValueError("Pool not running")` unless running. */
  virtual void submit(std::vector<PoolJob> jobs) = 0;
  /** No more jobs; the queued ones still run. */
  virtual void close() = 0;
  /** Stops the workers now; queued jobs never run. Waits for them to end. */
  virtual void terminate() noexcept = 0;
  /** Waits until the workers have ended (after close() or terminate()). */
  virtual void join() = 0;
  /** "RUN", "CLOSE" or "TERMINATE". */
  [[nodiscard]] virtual const char* state() const noexcept = 0;
};

}  // namespace detail

namespace multiprocessing {

/**
Python: `multiprocessing.pool.ApplyResult` and `MapResult`: the result of `apply_async`
(V: the function's result, `std::monostate` for `void`) or of `map_async` (V:
`std::vector` of those). Copies share the result.

`get()` waits and returns the value, or raises the task's exception (its type and message
are kept across the process boundary); `get(t)` waits at most `t` seconds, then raises
`multiprocessing::TimeoutError`. `wait()` / `wait(t)` wait without raising; `ready()` tells
whether it is complete; `successful()` whether it completed without an exception, and raises
`ValueError("<multiprocessing.pool.ApplyResult object at 0x…> not ready")` before.
*/
template <class V>
class AsyncResult {
 public:
  /** Python: `get(timeout=None)`. Blocks (the GIL is released). */
  V get() const {
    wait();
    return value();
  }
  /** Python: `get(timeout)`: `multiprocessing::TimeoutError` when not ready in `timeout` seconds. */
  V get(Timeout timeout) const {
    wait(timeout);
    if (!ready())
      pyconc::detail::raise<TimeoutError>("");
    return value();
  }
  /** Python: `wait(timeout=None)`. Blocks. */
  void wait() const { state_->wait(pyconc::detail::Deadline::forever()); }
  /** Python: `wait(timeout)`. Blocks at most `timeout` seconds. */
  void wait(Timeout timeout) const { state_->wait(pyconc::detail::Deadline::after(timeout.seconds)); }
  /** Python: `ready()`. */
  [[nodiscard]] bool ready() const noexcept { return state_->ready(); }
  /** Python: `successful()`; `ValueError("<... object at 0x...> not ready")` before `ready()`. */
  [[nodiscard]] bool successful() const {
    if (!ready())
      pyconc::detail::raise<ValueError>(repr() + " not ready");
    return state_->successful();
  }
  /** Python's `repr()`: `<multiprocessing.pool.ApplyResult object at 0x...>` (`MapResult` for a map). */
  [[nodiscard]] std::string repr() const {
    char address[32];
    std::snprintf(address, sizeof address, "%p", static_cast<const void*>(state_.get()));
    return std::string("<multiprocessing.pool.") + (state_->is_map() ? "MapResult" : "ApplyResult") + " object at " +
           address + ">";
  }

 private:
  template <class>
  friend class BasicPool;

  explicit AsyncResult(std::shared_ptr<pyconc::detail::AsyncResultCore<V>> state) : state_(std::move(state)) {}

  V value() const {
    if (!state_->successful())
      std::rethrow_exception(state_->error());
    return state_->value();
  }
  V take() {
    wait();
    if (!state_->successful())
      std::rethrow_exception(state_->error());
    return state_.use_count() == 1 ? state_->take_value() : state_->value();
  }

  std::shared_ptr<pyconc::detail::AsyncResultCore<V>> state_;
};

/**
Python: `multiprocessing.pool.IMapIterator` (and `IMapUnorderedIterator`): the items of an
`imap` as they come. `next()` waits for the next one (`next(t)` at most `t` seconds, then
`multiprocessing::TimeoutError`) and raises `StopIteration` after the last; a task's
exception is raised by the `next()` that reaches its item. A range: `for (int v : it)`.
Copies share the iteration.
*/
template <class E>
class IMapIterator {
 public:
  /** Python: `next(it)`. Blocks. */
  E next() { return state_->next(pyconc::detail::Deadline::forever()); }
  /** Python: `it.next(timeout)`. Blocks at most `timeout` seconds. */
  E next(Timeout timeout) { return state_->next(pyconc::detail::Deadline::after(timeout.seconds)); }

  class iterator {
   public:
    using value_type = E;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    const E& operator*() const { return *current_; }
    iterator& operator++() {
      advance();
      return *this;
    }
    void operator++(int) { advance(); }
    friend bool operator==(const iterator& it, std::default_sentinel_t) noexcept { return !it.current_; }

   private:
    friend class IMapIterator;
    explicit iterator(IMapIterator* owner) : owner_(owner) { advance(); }
    void advance() {
      try {
        current_.emplace(owner_->next());
      } catch (const StopIteration&) {
        current_.reset();
      }
    }
    IMapIterator* owner_ = nullptr;
    std::optional<E> current_;
  };
  /** The items from here on (each taken once). */
  iterator begin() { return iterator(this); }
  std::default_sentinel_t end() const noexcept { return {}; }

 private:
  template <class>
  friend class BasicPool;
  explicit IMapIterator(std::shared_ptr<pyconc::detail::IMapState<E>> state) : state_(std::move(state)) {}
  std::shared_ptr<pyconc::detail::IMapState<E>> state_;
};

/**
Python's keyword arguments of `Pool(...)`: `Pool({.processes = 4, .maxtasksperchild = 10})`.
*/
struct PoolOptions {
  std::optional<int> processes = {};          ///< unset: `cpu_count()`
  std::optional<long> maxtasksperchild = {};  ///< unset: workers live as long as the pool
  std::optional<Context> context = {};        ///< unset: the default context (`get_context()`)
};

}  // namespace multiprocessing

namespace detail {

/** The items of `iterable`, read at once (CPython's `list(iterable)`). */
template <bool Star, class R>
auto pool_items(R&& iterable) {
  using Item = std::ranges::range_value_t<R>;
  std::vector<std::decay_t<Item>> items;
  if constexpr (std::ranges::sized_range<R>)
    items.reserve(static_cast<std::size_t>(std::ranges::size(iterable)));
  for (auto&& item : iterable) {
    if constexpr (Star)
      items.emplace_back(std::forward<decltype(item)>(item));
    else
      items.emplace_back(std::forward<decltype(item)>(item));
  }
  return items;
}

}  // namespace detail

namespace multiprocessing {

/**
The API of `Pool` and `ThreadPool` (Python's `multiprocessing.pool.Pool`), over a backend:
`InProcess` false, worker processes; true, threads.
*/
template <class Backend>
class BasicPool {
  static constexpr bool in_process = Backend::in_process;

 public:
  BasicPool(const BasicPool&) = delete;
  BasicPool& operator=(const BasicPool&) = delete;

  /** Leaving the scope terminates the pool, as Python's `with Pool() as p:` does (waits for its workers to end). */
  ~BasicPool() {
    if (backend_)
      backend_->terminate();
  }

  /** Python: `apply(func, args)`: runs `f(args...)` in a worker and returns its result. Blocks. */
  template <class F, class... Args>
  auto apply(F&& f, std::tuple<Args...> args = {}) {
    auto r = apply_async(std::forward<F>(f), std::move(args));
    if constexpr (std::is_same_v<decltype(r.get()), std::monostate>)
      r.get();
    else
      return r.take();
  }

  /** Python: `apply_async(func, args, callback=..., error_callback=...)`. */
  template <class F, class... Args,
            class V = pyconc::detail::pool_value_t<std::decay_t<F>, std::tuple<std::decay_t<Args>...>>>
  AsyncResult<V> apply_async(F&& f, std::tuple<Args...> args = {}, AsyncOptions<V> options = {}) {
    using Tuple = std::tuple<std::decay_t<Args>...>;
    std::vector<Tuple> items;
    items.emplace_back(std::move(args));
    auto state = std::make_shared<pyconc::detail::AsyncResultState<V, V>>(1, 1, std::move(options), false);
    std::vector<pyconc::detail::PoolJob> jobs;
    jobs.push_back(make_job<std::decay_t<F>, Tuple, true, true, V>(f, std::move(items), state, 0));
    backend_->submit(std::move(jobs));
    return AsyncResult<V>(std::move(state));
  }

  /** Python: `map(func, iterable, chunksize=None)`: `f` on each item, in order. Blocks. */
  template <class F, std::ranges::range R>
  auto map(F&& f, R&& iterable, std::optional<std::size_t> chunksize = std::nullopt) {
    return map_async(std::forward<F>(f), std::forward<R>(iterable), chunksize).take();
  }

  /** Python: `map_async(func, iterable, chunksize, callback=..., error_callback=...)`. */
  template <class F, std::ranges::range R>
  auto map_async(
      F&& f, R&& iterable, std::optional<std::size_t> chunksize = std::nullopt,
      AsyncOptions<std::vector<
          pyconc::detail::pool_value_t<std::decay_t<F>, std::tuple<std::decay_t<std::ranges::range_value_t<R>>>>>>
          options = {}) {
    if constexpr (std::ranges::random_access_range<R> && std::ranges::sized_range<R>)
      return map_chunks<false>(std::forward<F>(f), std::forward<R>(iterable), chunksize, std::move(options));
    else
      return map_chunks<false>(std::forward<F>(f), pyconc::detail::pool_items<false>(std::forward<R>(iterable)),
                               chunksize, std::move(options));
  }

  /** Python: `starmap(func, iterable, chunksize=None)`: `f(args...)` for each tuple. Blocks. */
  template <class F, std::ranges::range R>
  auto starmap(F&& f, R&& iterable, std::optional<std::size_t> chunksize = std::nullopt) {
    return starmap_async(std::forward<F>(f), std::forward<R>(iterable), chunksize).take();
  }

  /** Python: `starmap_async(func, iterable, chunksize, callback=..., error_callback=...)`. */
  template <class F, std::ranges::range R>
  auto starmap_async(
      F&& f, R&& iterable, std::optional<std::size_t> chunksize = std::nullopt,
      AsyncOptions<
          std::vector<pyconc::detail::pool_value_t<std::decay_t<F>, std::decay_t<std::ranges::range_value_t<R>>>>>
          options = {}) {
    return map_chunks<true>(std::forward<F>(f), pyconc::detail::pool_items<true>(std::forward<R>(iterable)), chunksize,
                            std::move(options));
  }

  /** Python: `imap(func, iterable, chunksize=1)`: the results in order, as they come. */
  template <class F, std::ranges::range R>
  auto imap(F&& f, R&& iterable, std::size_t chunksize = 1) {
    return imap_chunks(std::forward<F>(f), pyconc::detail::pool_items<false>(std::forward<R>(iterable)), chunksize,
                       true);
  }

  /** Python: `imap_unordered(func, iterable, chunksize=1)`: the results as they complete. */
  template <class F, std::ranges::range R>
  auto imap_unordered(F&& f, R&& iterable, std::size_t chunksize = 1) {
    return imap_chunks(std::forward<F>(f), pyconc::detail::pool_items<false>(std::forward<R>(iterable)), chunksize,
                       false);
  }

  /** Python: `close()`: no more tasks; the queued ones still run. */
  void close() { backend_->close(); }
  /** Python: `terminate()`: stops the workers now; queued tasks never run. Waits for the workers. */
  void terminate() { backend_->terminate(); }
  /** Python: `join()`: waits for the workers to end; `ValueError("Pool is still running")` before close/terminate. */
  void join() {
    if (std::string_view(backend_->state()) == "RUN")
      pyconc::detail::raise<ValueError>("Pool is still running");
    backend_->join();
  }

  /** Python's `repr()`: `<multiprocessing.pool.Pool state=RUN pool_size=4>`. */
  [[nodiscard]] std::string repr() const {
    return std::string("<multiprocessing.pool.") + (in_process ? "ThreadPool" : "Pool") +
           " state=" + backend_->state() + " pool_size=" + std::to_string(processes_) + ">";
  }
  friend std::ostream& operator<<(std::ostream& os, const BasicPool& p) { return os << p.repr(); }

  /** The number of workers (Python's `_processes`). */
  [[nodiscard]] int processes() const noexcept { return processes_; }

 protected:
  BasicPool(std::unique_ptr<Backend> backend, int processes) : backend_(std::move(backend)), processes_(processes) {}

  static int check_processes(std::optional<int> processes) {
    const int n = processes.value_or(cpu_count());
    if (n < 1)
      pyconc::detail::raise<ValueError>("Number of processes must be at least 1");
    return n;
  }

  std::unique_ptr<Backend> backend_;
  int processes_;

 private:
  // Items are tuples of arguments (`Star`) or single arguments.
  template <bool Star, class F, class Items, class V>
  auto map_chunks(F&& f, Items&& items, std::optional<std::size_t> chunksize, AsyncOptions<V> options) {
    using Fn = std::decay_t<F>;
    using Item = std::decay_t<std::ranges::range_value_t<Items>>;
    using E = typename V::value_type;
    if (chunksize && *chunksize == 0)
      pyconc::detail::raise<ValueError>("Chunksize must be 1+, not 0");
    const auto n = static_cast<std::size_t>(std::ranges::size(items));
    const std::size_t size = n == 0 ? 0
                                    : chunksize.value_or((n + 4 * static_cast<std::size_t>(processes_) - 1) /
                                                         (4 * static_cast<std::size_t>(processes_)));
    auto state = std::make_shared<pyconc::detail::AsyncResultState<V, E>>(n, size, std::move(options), true);
    if (n > 0)
      backend_->submit(chunk_jobs<Fn, Item, Star, E>(f, std::forward<Items>(items), size, state));
    return AsyncResult<V>(std::move(state));
  }

  template <class F, class Item>
  auto imap_chunks(F&& f, std::vector<Item> items, std::size_t chunksize, bool ordered) {
    using Fn = std::decay_t<F>;
    using E = pyconc::detail::pool_item_value_t<Fn, Item, false>;
    if (chunksize < 1)
      pyconc::detail::raise<ValueError>("Chunksize must be 1+, not " + std::to_string(chunksize));
    const std::size_t n = items.size();
    auto state = std::make_shared<pyconc::detail::IMapState<E>>((n + chunksize - 1) / chunksize, ordered);
    state->single_items_ = chunksize == 1;
    if (n > 0)
      backend_->submit(chunk_jobs<Fn, Item, false, E>(f, std::move(items), chunksize, state));
    return IMapIterator<E>(std::move(state));
  }

  // The chunks of `items` (a random-access range: moved from when it is a vector of ours) as jobs.
  template <class Fn, class Item, bool Star, class E, class F, class Items>
  std::vector<pyconc::detail::PoolJob> chunk_jobs(F& f, Items&& items, std::size_t size,
                                                  const std::shared_ptr<pyconc::detail::ChunkSink<E>>& sink) {
    const auto n = static_cast<std::size_t>(std::ranges::size(items));
    const auto begin = std::ranges::begin(items);
    std::vector<pyconc::detail::PoolJob> jobs;
    jobs.reserve((n + size - 1) / size);
    for (std::size_t first = 0, index = 0; first < n; first += size, ++index) {
      const std::size_t last = std::min(n, first + size);
      const auto from = begin + static_cast<std::ptrdiff_t>(first);
      const auto to = begin + static_cast<std::ptrdiff_t>(last);
      std::vector<Item> chunk;
      if constexpr (std::is_same_v<std::remove_cvref_t<Items>, std::vector<Item>> && !std::is_lvalue_reference_v<Items>)
        chunk.assign(std::make_move_iterator(from), std::make_move_iterator(to));
      else
        chunk.assign(from, to);
      jobs.push_back(make_job<Fn, Item, Star, false, E>(f, std::move(chunk), sink, index));
    }
    return jobs;
  }

  template <class Fn, class Item, bool Star, bool Single, class E, class F>
  pyconc::detail::PoolJob make_job(F& f, std::vector<Item> items, std::shared_ptr<pyconc::detail::ChunkSink<E>> sink,
                                   std::size_t index) {
    pyconc::detail::PoolJob job;
    if constexpr (in_process) {
      job.run = [fn = Fn(f), items = std::move(items), sink, index]() mutable {
        const auto call = [&fn](Item& item) -> decltype(auto) {
          if constexpr (Star)
            return std::apply(fn, std::move(item));
          else
            return fn(std::move(item));
        };
        std::vector<E> values;
        try {
          values.reserve(items.size());
          for (auto& item : items) {
            if constexpr (std::is_same_v<E, std::monostate>) {
              call(item);
              values.emplace_back();
            } else {
              values.push_back(call(item));
            }
          }
        } catch (...) {
          sink->chunk_failed(index, std::current_exception());
          return;
        }
        sink->chunk_done(index, std::move(values));
      };
    } else {
      pyconc::detail::check_spawnable<Fn, Item>();
      static_assert(pickle::picklable<E>,
                    "pyconc::multiprocessing::Pool: a task's result must be picklable (see pyconc/pickle.hpp)");
      const Fn fn(f);
      job.task = pickle::dumps(pyconc::detail::pool_task(
          reinterpret_cast<const void*>(&pyconc::detail::pool_chunk_entry<Fn, Item, Star, Single>), fn,
          pickle::dumps(items)));
      job.deliver = [sink, index](std::uint8_t kind, std::string_view bytes) {
        try {
          if (kind == pyconc::detail::PoolReply::outcome) {
            auto outcome = pickle::loads<pyconc::detail::PoolOutcome<E>>(bytes);
            if (auto* values = std::get_if<std::vector<E>>(&outcome))
              sink->chunk_done(index, std::move(*values));
            else
              sink->chunk_failed(index, std::get<std::exception_ptr>(outcome));
          } else {
            sink->chunk_failed(index, pickle::loads<std::exception_ptr>(bytes));
          }
        } catch (...) {
          sink->chunk_failed(index, std::current_exception());  // hostile bytes: this chunk only
        }
      };
    }
    job.fail = [sink, index](std::exception_ptr error) { sink->chunk_failed(index, std::move(error)); };
    return job;
  }
};

}  // namespace multiprocessing

namespace detail {

/**
What both pool engines keep under one lock: the pool's state (Python's RUN, CLOSE,
TERMINATE), the jobs not yet started, and the exception of an initializer that failed.
*/
class PoolQueue {
 public:
  /** "RUN", "CLOSE" or "TERMINATE", as Python's `repr(pool)` shows it. */
  [[nodiscard]] const char* state() const noexcept {
    std::lock_guard hold(lock_);
    return state_ == State::run ? "RUN" : state_ == State::close ? "CLOSE" : "TERMINATE";
  }

 protected:
  enum class State { run, close, terminate };

  PoolQueue() = default;
  PoolQueue(const PoolQueue&) = delete;
  PoolQueue& operator=(const PoolQueue&) = delete;
  ~PoolQueue() = default;

  /**
  Queues `jobs`; returns whether it did. After an initializer failed, fails them with its
  exception instead. `ValueError("Pool not running")` after close() or terminate().
  */
  bool enqueue(std::vector<PoolJob>& jobs) {
    std::exception_ptr failed;
    {
      std::lock_guard hold(lock_);
      if (state_ != State::run)
        raise<ValueError>("Pool not running");
      failed = initializer_error_;
      if (!failed)
        for (auto& job : jobs)
          queue_.push_back(std::move(job));
    }
    if (!failed)
      return true;
    for (auto& job : jobs)
      job.fail(failed);
    return false;
  }

  /** RUN becomes CLOSE. */
  void close_queue() {
    std::lock_guard hold(lock_);
    if (state_ == State::run)
      state_ = State::close;
  }

  mutable InternalLock lock_;  // guards what follows (and what subclasses say it guards)
  State state_ = State::run;
  std::deque<PoolJob> queue_;  // not yet started
  std::exception_ptr initializer_error_;
};

class ProcessPoolEngine;

/** The process pools of this process: terminated at exit, forgotten in a fork child. */
struct ProcessPoolRegistry {
  InternalLock lock;
  std::vector<std::weak_ptr<ProcessPoolEngine>> pools;
};

inline ProcessPoolRegistry& process_pool_registry() {
  static ProcessPoolRegistry* const registry = new ProcessPoolRegistry;  // never deleted: used by the exit sequence
  return *registry;
}

inline void terminate_pools_at_exit();
inline void drain_executors_at_exit();
inline void forget_pools_in_child() noexcept;

/**
How a `ProcessPoolEngine` treats a worker that ends unasked: a `Pool` replaces it and fails
what it held with `WorkerLostError`; a `ProcessPoolExecutor` breaks (`break_on_worker_death`):
everything pending fails with `broken_pending`, later submits raise `broken_submit`.
*/
struct PoolPolicy {
  bool break_on_worker_death = false;
  std::exception_ptr broken_pending;
  std::exception_ptr broken_submit;
  bool drain_at_exit = false;  // at exit: run what is queued (executors), else terminate (pools)
  bool rename_workers = true;  // "ForkPoolWorker-3" (pools), else the process's name (executors)
};

/**
The worker processes of a `Pool` or a `ProcessPoolExecutor` and the thread that owns them
(see the file comment). The workers belong to that thread; other threads queue work under
`lock_` and wake it through an eventfd.
*/
class ProcessPoolEngine : public PoolQueue, public std::enable_shared_from_this<ProcessPoolEngine> {
 public:
  static constexpr bool in_process = false;

  ProcessPoolEngine(int processes, long max_tasks, multiprocessing::Context context, PoolWorkerSetup setup,
                    std::function<void()> fork_initializer, PoolPolicy policy = {})
      : processes_(processes),
        context_(context),
        setup_(std::move(setup)),
        fork_initializer_(std::move(fork_initializer)),
        policy_(std::move(policy)),
        owner_pid_(static_cast<long>(::getpid())) {
    setup_.max_tasks = max_tasks;
    setup_.owner_pid = owner_pid_;
    setup_.owner_is_parent = context_.start_method() != multiprocessing::StartMethod::forkserver;
    wake_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!wake_)
      raise_errno(errno);
  }

  ProcessPoolEngine(const ProcessPoolEngine&) = delete;
  ProcessPoolEngine& operator=(const ProcessPoolEngine&) = delete;

  ~ProcessPoolEngine() { terminate(); }

  /**
  Starts the pool's thread, which starts the workers (so that each worker's parent is that
  thread: see `pool_watch_owner`); waits for them, and raises what starting one raised.
  */
  void start() {
    started_.store(true);
    {
      auto& r = process_pool_registry();
      std::lock_guard hold(r.lock);
      std::erase_if(r.pools, [](const std::weak_ptr<ProcessPoolEngine>& p) { return p.expired(); });
      r.pools.push_back(weak_from_this());
    }
    on_exit(ExitPhase::process_executors_drained, &drain_executors_at_exit);
    on_exit(ExitPhase::pools_terminated, &terminate_pools_at_exit);
    on_fork(ForkPhase::pools, {.child = &forget_pools_in_child});
    handler_.emplace(threading::Thread::Options{.target = [this] { run(); }, .daemon = true});
    handler_->start();
    workers_started_.wait(Deadline::forever());
    if (start_error_) {
      join_thread();
      std::rethrow_exception(start_error_);
    }
  }

  [[nodiscard]] bool started() const noexcept { return started_.load(); }

  void submit(std::vector<PoolJob> jobs) {
    {
      std::lock_guard hold(lock_);
      if (broken_)
        std::rethrow_exception(policy_.broken_submit);
    }
    if (enqueue(jobs))
      wake();
  }

  void close() {
    close_queue();
    wake();
  }

  /** Cancels every job not yet sent to a worker (`shutdown(cancel_futures=True)`). */
  void cancel_pending() {
    std::deque<PoolJob> cancelled;
    {
      std::lock_guard hold(lock_);
      cancelled.swap(queue_);
    }
    for (auto& job : cancelled)
      if (job.cancel)
        job.cancel();
  }

  void terminate() noexcept {
    if (owner_pid_ != static_cast<long>(::getpid()))
      return;  // a fork child's copy: the workers and the thread are the parent's
    {
      std::lock_guard hold(lock_);
      state_ = State::terminate;
    }
    if (!handler_)
      return;  // never started: no worker
    wake();
    join_thread();
  }

  void join() { join_thread(); }

  [[nodiscard]] bool broken() const noexcept {
    std::lock_guard hold(lock_);
    return broken_;
  }

  [[nodiscard]] bool drains_at_exit() const noexcept { return policy_.drain_at_exit; }

  /** The workers' pids (for tests and tools). */
  [[nodiscard]] std::vector<long> worker_pids() const {
    std::lock_guard hold(lock_);
    return pids_;
  }

 private:
  struct Worker {
    multiprocessing::Process process;
    Fd fd;                        // the pool's end of the worker's socket pair (non-blocking)
    std::deque<std::string> out;  // pieces of frames not yet written (a task's bytes are not copied)
    std::size_t out_done = 0;     // of out.front()
    std::string in;               // bytes read, not yet a whole frame
    std::deque<std::pair<std::uint64_t, PoolJob>> held;  // sent, no reply yet (in order)
    std::int64_t sent = 0;
    bool stopping = false;  // told to stop: not replaced when it ends
    bool retired = false;   // sent something that is not a reply: killed, given nothing more, replaced
  };

  void wake() noexcept {
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto n = ::write(wake_.get(), &one, sizeof one);
  }

  void join_thread() noexcept {
    std::lock_guard hold(join_lock_);
    if (!handler_ || handler_->ident() == threading::current_thread().ident())
      return;  // not started, or a callback ending its own pool: the thread ends by itself
    try {
      handler_->join();
    } catch (...) {
    }
  }

  void start_worker() {
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0)
      raise_errno(errno);
    auto worker = std::make_unique<Worker>();
    worker->fd.reset(pair[0]);
    multiprocessing::Connection theirs(pair[1]);
    multiprocessing::Process process =
        fork_initializer_
            ? context_.Process([conn = theirs, setup = setup_,
                                init = fork_initializer_]() { pool_worker_run(conn.fileno(), setup, init); },
                               {.daemon = true})
            : context_.Process(&pool_worker_main, std::tuple{theirs, setup_}, {.daemon = true});
    // CPython: the worker's name is its process's, "ForkProcess-3", with "Process" made "PoolWorker".
    if (policy_.rename_workers) {
      std::string name = process.name();
      if (const auto at = name.find("Process"); at != std::string::npos)
        name.replace(at, 7, "PoolWorker");
      process.name(std::move(name));
    }
    process.start();
    theirs.close();
    ::fcntl(worker->fd.get(), F_SETFL, ::fcntl(worker->fd.get(), F_GETFL) | O_NONBLOCK);
    worker->process = std::move(process);
    {
      std::lock_guard hold(lock_);
      pids_.push_back(*worker->process.pid());
    }
    workers_.push_back(std::move(worker));
  }

  // The pool's thread.
  void run() {
    try {
      for (int i = 0; i < processes_; ++i)
        start_worker();
    } catch (...) {
      start_error_ = std::current_exception();
      terminate_workers();
      workers_started_.set();
      return;
    }
    workers_started_.set();
    for (;;) {
      State state;
      bool idle;
      {
        std::lock_guard hold(lock_);
        state = state_;
        idle = queue_.empty();
      }
      if (state == State::terminate) {
        terminate_workers();
        return;
      }
      if (broken()) {
        terminate_workers();
        return;
      }
      if (initializer_error_ != nullptr)
        fail_queue(initializer_error_);
      dispatch();
      if (state == State::close && idle && nothing_held()) {
        if (workers_.empty())
          return;
        for (auto& w : workers_)
          if (!w->stopping) {
            w->stopping = true;
            w->out.emplace_back();
            pool_task_frame(w->out.back(), 0, {});
            flush(*w);
          }
      }
      wait_and_handle();
    }
  }

  [[nodiscard]] bool nothing_held() const noexcept {
    return std::all_of(workers_.begin(), workers_.end(), [](const auto& w) { return w->held.empty(); });
  }

  // The next queued job, if any (how many remain after it in `left`).
  std::optional<PoolJob> next_job(std::size_t& left) {
    std::lock_guard hold(lock_);
    if (queue_.empty())
      return std::nullopt;
    PoolJob job = std::move(queue_.front());
    queue_.pop_front();
    left = queue_.size();
    return job;
  }

  [[nodiscard]] std::size_t queued() const {
    std::lock_guard hold(lock_);
    return queue_.size();
  }

  // Sends queued chunks, round by round: first one to each idle worker; then, while more wait
  // than there are workers, a second to each; and while many more wait (a long queue of small
  // tasks), up to half of each worker's share of the queue (at most kDeepQueue), so that a
  // worker finds its next tasks already there instead of waiting for a message each time.
  void dispatch() {
    static constexpr std::size_t kDeepQueue = 64;
    const std::size_t waiting = queued();
    const std::size_t half_share = waiting / (2 * std::max<std::size_t>(1, workers_.size()));
    const std::size_t limit =
        std::max<std::size_t>(waiting >= workers_.size() ? 2 : 1, std::min(kDeepQueue, half_share));
    for (std::size_t depth = 1; depth <= limit; ++depth) {
      if (queued() == 0)
        break;
      for (auto& w : workers_) {
        if (w->stopping || w->retired || w->held.size() >= depth ||
            (setup_.max_tasks > 0 && w->sent >= setup_.max_tasks))
          continue;
        std::optional<PoolJob> job;
        for (std::size_t left = 0;;) {
          job = next_job(left);
          if (!job || !job->start || job->start())
            break;  // a job whose future was cancelled meanwhile is dropped
        }
        if (!job)
          break;
        const std::uint64_t id = next_id_++;
        std::string head;
        pool_put(head, static_cast<std::uint32_t>(8 + job->task.size()));
        pool_put(head, id);
        w->out.push_back(std::move(head));
        w->out.push_back(std::move(job->task));
        job->task = {};
        w->held.emplace_back(id, std::move(*job));
        ++w->sent;
      }
    }
    for (auto& w : workers_)
      flush(*w);
  }

  // Writes what the socket takes now, many pieces per system call.
  void flush(Worker& w) noexcept {
    while (!w.out.empty()) {
      iovec pieces[64];
      int count = 0;
      for (auto it = w.out.begin(); it != w.out.end() && count < 64; ++it, ++count) {
        const std::size_t skip = count == 0 ? w.out_done : 0;
        pieces[count].iov_base = it->data() + skip;
        pieces[count].iov_len = it->size() - skip;
      }
      msghdr message{};
      message.msg_iov = pieces;
      message.msg_iovlen = static_cast<std::size_t>(count);
      ssize_t n = ::sendmsg(w.fd.get(), &message, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0) {
        if (errno != EAGAIN)
          w.out.clear();  // the worker is gone: its sentinel tells the rest
        break;
      }
      while (n > 0 && !w.out.empty()) {
        const std::size_t left = w.out.front().size() - w.out_done;
        if (static_cast<std::size_t>(n) >= left) {
          n -= static_cast<ssize_t>(left);
          w.out.pop_front();
          w.out_done = 0;
        } else {
          w.out_done += static_cast<std::size_t>(n);
          n = 0;
        }
      }
    }
    if (w.out.empty())
      w.out_done = 0;
  }

  void wait_and_handle() {
    std::vector<pollfd> fds;
    fds.reserve(1 + 2 * workers_.size());
    fds.push_back({wake_.get(), POLLIN, 0});
    for (const auto& w : workers_) {
      fds.push_back({w->fd.get(), static_cast<short>(POLLIN | (w->out.empty() ? 0 : POLLOUT)), 0});
      fds.push_back({w->process.sentinel(), POLLIN, 0});
    }
    if (wait_fd(fds.data(), fds.size(), Deadline::forever()) <= 0)
      return;
    if (fds[0].revents != 0) {
      std::uint64_t count = 0;
      [[maybe_unused]] const auto n = ::read(wake_.get(), &count, sizeof count);
    }
    std::vector<Worker*> ended;
    for (std::size_t i = 0; i < workers_.size(); ++i) {
      Worker& w = *workers_[i];
      const short io = fds[1 + 2 * i].revents;
      if (io & POLLOUT)
        flush(w);
      if (io & (POLLIN | POLLHUP | POLLERR))
        receive(w);
      if (fds[2 + 2 * i].revents != 0)
        ended.push_back(&w);
    }
    for (Worker* w : ended) {
      worker_ended(*w);
      if (broken())
        return;
    }
  }

  // Reads what the worker sent and completes the chunks it finished.
  void receive(Worker& w) {
    char buffer[65536];
    for (;;) {
      const ssize_t n = ::read(w.fd.get(), buffer, sizeof buffer);
      if (n > 0) {
        w.in.append(buffer, static_cast<std::size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR)
        continue;
      break;  // EAGAIN, end of file or an error: the sentinel tells whether it ended
    }
    std::size_t at = 0;
    while (w.in.size() - at >= 4) {
      const auto* p = reinterpret_cast<const unsigned char*>(w.in.data() + at);
      const std::size_t n = static_cast<std::size_t>(p[0]) | static_cast<std::size_t>(p[1]) << 8 |
                            static_cast<std::size_t>(p[2]) << 16 | static_cast<std::size_t>(p[3]) << 24;
      if (w.in.size() - at - 4 < n)
        break;
      handle_reply(w, std::string_view(w.in).substr(at + 4, n));
      at += 4 + n;
    }
    w.in.erase(0, at);
  }

  void handle_reply(Worker& w, std::string_view body) {
    if (body.size() < 9 || static_cast<std::uint8_t>(body[8]) > PoolReply::task_failed) {
      // Not a reply: nothing more from this worker can be trusted. Its chunks fail; it is replaced.
      const auto error = std::make_exception_ptr(
          pickle::UnpicklingError("the pool's worker " + w.process.name() + " sent bytes that are not a reply"));
      for (auto& [id, job] : w.held)
        job.fail(error);
      w.held.clear();
      w.retired = true;
      w.process.kill();
      return;
    }
    const PoolReply reply{pool_get<std::uint64_t>(body.data()), static_cast<std::uint8_t>(body[8]), body.substr(9)};
    if (reply.kind == PoolReply::initializer_failed) {
      if (policy_.break_on_worker_death)
        return;  // the worker ends, which breaks the pool
      std::exception_ptr error;
      try {
        error = pickle::loads<std::exception_ptr>(reply.bytes);
      } catch (...) {
        error = std::current_exception();
      }
      std::lock_guard hold(lock_);
      if (!initializer_error_)
        initializer_error_ = error;
      return;
    }
    for (auto it = w.held.begin(); it != w.held.end(); ++it) {
      if (it->first == reply.id) {
        PoolJob job = std::move(it->second);
        w.held.erase(it);
        job.deliver(reply.kind, reply.bytes);
        return;
      }
    }
  }

  // A worker's process ended: its unfinished chunks fail, and it is replaced while work remains.
  void worker_ended(Worker& w) {
    receive(w);  // what it sent before it ended
    w.process.join();
    const int code = w.process.exitcode().value_or(0);
    const long pid = w.process.pid().value_or(0);
    const bool retiring = setup_.max_tasks > 0 && w.sent >= setup_.max_tasks && w.held.empty() && code == 0;
    if (policy_.break_on_worker_death && !w.stopping && !retiring) {
      break_pool();
      return;
    }
    if (!w.held.empty()) {
      std::exception_ptr error = initializer_error_;
      if (!error) {
        const std::string how = code < 0
                                    ? "was killed by signal " + std::to_string(-code) + " (" + exitcode_text(code) + ")"
                                    : "exited with code " + std::to_string(code);
        error = std::make_exception_ptr(
            multiprocessing::WorkerLostError("the pool's worker " + w.process.name() + " (pid " + std::to_string(pid) +
                                                 ") " + how + " before returning the task's result",
                                             pid, code));
      }
      for (auto& [id, job] : w.held)
        job.fail(error);
      w.held.clear();
    }
    const bool stopping = w.stopping;
    w.process.close();
    std::erase_if(workers_, [&w](const std::unique_ptr<Worker>& x) { return x.get() == &w; });
    State state;
    {
      std::lock_guard hold(lock_);
      std::erase(pids_, pid);
      state = state_;
    }
    if (stopping || state == State::terminate || initializer_error_ != nullptr)
      return;
    if (state == State::close && queued() == 0)
      return;
    try {
      start_worker();
    } catch (...) {
      report_exception("A pool could not start a worker:\n", std::current_exception());
      if (workers_.empty())
        fail_queue(std::current_exception());
    }
  }

  // CPython's executor, when a worker ends unasked: every future pending or running fails, the
  // other workers are terminated, and later submits raise.
  void break_pool() {
    std::deque<PoolJob> pending;
    {
      std::lock_guard hold(lock_);
      broken_ = true;
      pending.swap(queue_);
    }
    for (auto& w : workers_)
      for (auto& [id, job] : w->held)
        pending.push_back(std::move(job));
    terminate_workers();  // before the futures fail: whoever sees one fail finds the workers gone
    for (auto& job : pending)
      job.fail(policy_.broken_pending);
  }

  void fail_queue(const std::exception_ptr& error) {
    std::deque<PoolJob> failed;
    {
      std::lock_guard hold(lock_);
      failed.swap(queue_);
    }
    for (auto& job : failed)
      job.fail(error);
  }

  // Python's terminate(): SIGTERM to every worker, then each is reaped. What they held never completes.
  void terminate_workers() {
    for (auto& w : workers_)
      if (w->process.exitcode() == std::nullopt)
        w->process.terminate();
    for (auto& w : workers_)
      w->process.join();
    for (auto& w : workers_)
      w->process.close();
    workers_.clear();
    std::lock_guard hold(lock_);
    pids_.clear();
  }

  const int processes_;
  const multiprocessing::Context context_;
  PoolWorkerSetup setup_;
  const std::function<void()> fork_initializer_;
  const PoolPolicy policy_;
  const long owner_pid_;
  Fd wake_;

  bool broken_ = false;     // guarded by lock_
  std::vector<long> pids_;  // guarded by lock_

  // Not an InternalLock: held while joining the pool's thread, which forks workers, and a
  // fork waits for every InternalLock to be free.
  std::mutex join_lock_;
  std::optional<threading::Thread> handler_;
  std::atomic<bool> started_{false};
  EventCore<> workers_started_;     // set by the pool's thread once the first workers are up
  std::exception_ptr start_error_;  // written before workers_started_ is set

  // The pool's thread only (and start()).
  std::vector<std::unique_ptr<Worker>> workers_;
  std::uint64_t next_id_ = 1;
};

// The live engines that do (`drain`) or do not drain at exit.
inline std::vector<std::shared_ptr<ProcessPoolEngine>> live_pools(bool drain) {
  std::vector<std::shared_ptr<ProcessPoolEngine>> pools;
  auto& r = process_pool_registry();
  std::lock_guard hold(r.lock);
  for (auto& weak : r.pools)
    if (auto pool = weak.lock(); pool && pool->drains_at_exit() == drain)
      pools.push_back(std::move(pool));
  return pools;
}

inline void terminate_pools_at_exit() {
  for (auto& pool : live_pools(false))
    pool->terminate();
}

inline void drain_executors_at_exit() {
  const auto pools = live_pools(true);
  for (const auto& pool : pools)
    pool->close();
  for (const auto& pool : pools)
    pool->join();
}

inline void forget_pools_in_child() noexcept {
  // The registry's lock is free here (the fork gate); the engines stay the parent's.
  auto& r = process_pool_registry();
  r.pools.clear();
}

/** The threads of a `ThreadPool`: a queue of chunks and the threads that run them. */
class ThreadPoolEngine : public PoolQueue {
 public:
  static constexpr bool in_process = true;

  ThreadPoolEngine(int threads, std::function<void()> initializer)
      : threads_(threads), initializer_(std::move(initializer)) {}
  ThreadPoolEngine(const ThreadPoolEngine&) = delete;
  ThreadPoolEngine& operator=(const ThreadPoolEngine&) = delete;
  ~ThreadPoolEngine() { terminate(); }

  void start() {
    for (int i = 0; i < threads_; ++i) {
      workers_.emplace_back(threading::Thread::Options{.target = [this] { work(); }, .daemon = true});
      workers_.back().start();
    }
  }

  void submit(std::vector<PoolJob> jobs) {
    if (enqueue(jobs))
      changed();
  }

  void close() {
    close_queue();
    changed();
  }

  void terminate() noexcept {
    {
      std::lock_guard hold(lock_);
      state_ = State::terminate;
      queue_.clear();  // never run, as CPython's terminate()
    }
    changed();
    join();
  }

  void join() noexcept {
    std::lock_guard hold(join_lock_);
    const auto me = threading::current_thread().ident();
    for (auto& t : workers_) {
      if (t.ident() == me)
        continue;
      try {
        t.join();
      } catch (...) {
      }
    }
  }

 private:
  void changed() noexcept {
    changes_.fetch_add(1, std::memory_order_release);
    wake_all(changes_);
  }

  void work() {
    if (initializer_) {
      try {
        initializer_();
      } catch (...) {
        const auto error = std::current_exception();
        report_exception("Exception in a ThreadPool initializer:\n", error);
        std::deque<PoolJob> failed;
        {
          std::lock_guard hold(lock_);
          if (!initializer_error_)
            initializer_error_ = error;
          failed.swap(queue_);
        }
        for (auto& job : failed)
          job.fail(error);
        return;
      }
    }
    for (;;) {
      const std::uint32_t seen = changes_.load(std::memory_order_acquire);
      std::optional<PoolJob> job;
      {
        std::lock_guard hold(lock_);
        if (state_ == State::terminate)
          return;
        if (!queue_.empty()) {
          job.emplace(std::move(queue_.front()));
          queue_.pop_front();
        } else if (state_ == State::close) {
          return;
        }
      }
      if (job) {
        job->run();
        continue;
      }
      wait_on(changes_, seen, Deadline::forever());
    }
  }

  const int threads_;
  const std::function<void()> initializer_;
  std::atomic<std::uint32_t> changes_{0};
  std::mutex join_lock_;  // not an InternalLock: held while joining workers, whose tasks may fork
  std::vector<threading::Thread> workers_;
};

/** A pool's initializer as its workers receive it: by address when it can be (`spawnable`), else only under fork. */
struct PoolSetup {
  PoolWorkerSetup setup;
  bool spawnable = true;
};

template <class F, class... Args>
PoolSetup pool_setup(const F& initializer, const std::tuple<Args...>& initargs) {
  using Fn = std::decay_t<F>;
  using Tuple = std::tuple<std::decay_t<Args>...>;
  PoolSetup s;
  if constexpr (spawnable_target<Fn> && pickle::picklable<Tuple>) {
    s.setup.has_initializer = true;
    s.setup.initializer = pool_task(reinterpret_cast<const void*>(&pool_init_entry<Fn, Tuple>), Fn(initializer),
                                    pickle::dumps(Tuple(initargs)));
  } else {
    static_cast<void>(initializer);
    static_cast<void>(initargs);
    s.spawnable = false;
  }
  return s;
}

/** The initializer of a pool as the workers run it under fork (any callable), or none. */
template <class F, class... Args>
std::function<void()> pool_initializer(F&& f, std::tuple<Args...> args) {
  return [f = std::forward<F>(f), args = std::move(args)]() mutable { std::apply(f, args); };
}

}  // namespace detail

namespace multiprocessing {

/**
Python: `multiprocessing.Pool(processes=None, initializer=None, initargs=(),
maxtasksperchild=None, context=None)`: `processes` worker processes (default `cpu_count()`),
each running `initializer(initargs...)` first and ending after `maxtasksperchild` tasks (then
replaced). Workers are daemonic processes named `ForkPoolWorker-N` (`SpawnPoolWorker-N`,
`ForkServerPoolWorker-N`).

```cpp
multiprocessing::Pool pool(4);                                    // Pool(4)
multiprocessing::Pool pool({.processes = 2, .maxtasksperchild = 10});
multiprocessing::Pool pool({.processes = 2}, init, std::tuple{"db"});   // initializer=init, initargs=('db',)
```

The tasks (`apply`, `map`, `imap`, `starmap` and their `_async` forms) are described with
`BasicPool`; what may be a task, in the file comment. Lifecycle, as CPython's: `close()` then
`join()` waits for the queued tasks; `terminate()` (and leaving the scope, as Python's
`with`) stops the workers at once, and results not yet complete never complete. Errors:
`ValueError("Number of processes must be at least 1")`, `ValueError("maxtasksperchild must be
a positive int or None")`, `ValueError("Pool not running")` for a task after `close()` or
`terminate()`, `ValueError("Pool is still running")` for `join()` before them. At exit, a
pool still running is terminated (before the exit sequence handles child processes).
*/
class Pool : public BasicPool<pyconc::detail::ProcessPoolEngine> {
 public:
  using Options = PoolOptions;

  /** Python: `Pool()`: one worker per CPU. */
  Pool() : Pool(Options{}) {}
  /** Python: `Pool(processes)`. */
  explicit Pool(int processes) : Pool(Options{.processes = processes}) {}
  /** Python: `Pool(processes=..., maxtasksperchild=..., context=...)`. */
  explicit Pool(Options options) : BasicPool(nullptr, check_processes(options.processes)) {
    start(std::move(options), {}, [] { return std::function<void()>{}; });
  }

  /**
  Python: `Pool(..., initializer=f, initargs=(...))`. Under fork, `f` may be any callable; under
  spawn and forkserver it must be a function (or a captureless lambda) with picklable `initargs`.
  */
  template <class F, class... Args>
  requires std::invocable < std::decay_t<F>
  &, Args&... > Pool(Options options, F&& initializer, std::tuple<Args...> initargs = {})
      : BasicPool(nullptr, check_processes(options.processes)) {
    auto setup = pyconc::detail::pool_setup(initializer, initargs);
    start(std::move(options), std::move(setup),
          [&] { return pyconc::detail::pool_initializer(std::forward<F>(initializer), std::move(initargs)); });
  }

  /** The workers' pids now (Python's `[w.pid for w in pool._pool]`). */
  [[nodiscard]] std::vector<long> worker_pids() const { return backend_->worker_pids(); }

 private:
  template <class MakeInitializer>
  void start(Options options, pyconc::detail::PoolSetup setup, MakeInitializer make_fork_initializer) {
    if (options.maxtasksperchild && *options.maxtasksperchild <= 0)
      pyconc::detail::raise<ValueError>("maxtasksperchild must be a positive int or None");
    const Context context = options.context.value_or(get_context());
    std::function<void()> fork_initializer;
    if (!setup.spawnable) {
      if (context.start_method() != StartMethod::fork)
        pyconc::detail::raise<pickle::PicklingError>(
            "a pool started by spawn or forkserver cannot run this initializer in its workers (a lambda with captures, "
            "a std::function or an object with state, or initargs that cannot be pickled): use a function and pass "
            "captured values as initargs");
      fork_initializer = make_fork_initializer();
    }
    backend_ =
        std::make_unique<pyconc::detail::ProcessPoolEngine>(processes(), options.maxtasksperchild.value_or(0), context,
                                                            std::move(setup.setup), std::move(fork_initializer));
    backend_->start();
  }
};

namespace pool {

/**
Python: `multiprocessing.pool.ThreadPool(processes=None, initializer=None, initargs=())`: the
`Pool` API on `processes` daemon threads (default `cpu_count()`). A task may be any callable
and capture anything; its result and arguments need not be picklable. With the GIL on, the
threads take turns, as CPython's do.
*/
class ThreadPool : public BasicPool<pyconc::detail::ThreadPoolEngine> {
 public:
  /** Python: `ThreadPool()`. */
  ThreadPool() : ThreadPool(std::nullopt) {}
  /** Python: `ThreadPool(processes)`. */
  explicit ThreadPool(std::optional<int> processes) : ThreadPool(processes, std::function<void()>{}) {}
  /** Python: `ThreadPool(processes, initializer, initargs)`. */
  template <class F, class... Args>
  requires std::invocable < std::decay_t<F>
  &, Args&... > ThreadPool(std::optional<int> processes, F&& initializer, std::tuple<Args...> initargs = {})
      : BasicPool(nullptr, check_processes(processes)) {
    std::function<void()> init;
    if constexpr (std::is_same_v<std::decay_t<F>, std::function<void()>>) {
      init = std::forward<F>(initializer);
    } else {
      init = pyconc::detail::pool_initializer(std::forward<F>(initializer), std::move(initargs));
    }
    backend_ = std::make_unique<pyconc::detail::ThreadPoolEngine>(this->processes(), std::move(init));
    backend_->start();
  }
};

}  // namespace pool

/** Python: `multiprocessing.dummy`: the `multiprocessing` API on threads. */
namespace dummy {
using Pool = pool::ThreadPool;
}  // namespace dummy

}  // namespace multiprocessing
}  // namespace v0
}  // namespace pyconc

#endif  // PYCONC_MULTIPROCESSING_POOL_HPP_INCLUDED
