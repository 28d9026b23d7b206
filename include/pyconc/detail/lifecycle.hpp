// SPDX-License-Identifier: MIT
/**
`pyconc/detail/lifecycle.hpp` — what pyconc does at `fork()` and at exit, in one order.

Defines:
- `detail::ForkPhase`, `detail::on_fork`    the ordered at-fork sequence.
- `detail::ExitPhase`, `detail::on_exit`, `detail::run_exit_sequence`   the ordered exit sequence.

## At fork

One `pthread_atfork` registration runs every module's handlers in the order of `ForkPhase`:
the prepare handlers from the first phase to the last, then (in the parent and in the child)
the parent or child handlers from the last phase back to the first, as a lock taken first is
released last. The first phase closes the fork gate, so that no other thread holds a pyconc-internal lock
at the moment of fork and the child finds every pyconc object consistent; later phases make
module state fit a process of one thread. A user's `threading::Lock` is left as CPython leaves
it: held in the child if it was held at the fork.

    phase              prepare                              child
    internal_sections  waits until no other thread holds    every internal lock is free, every
                       a pyconc-internal lock (the fork     object's state whole (detail/fork_gate.hpp)
                       gate: queues, futures, pools,
                       registries, locals, excepthook)
    threads            -                                    only the forking thread survives; it
                                                            becomes the main thread
    gil                takes the GIL's control and          the GIL is held by the forking thread
                       timeline locks (raw locks)           if it held it, free otherwise
    processes          -                                    the forkserver connection is not the child's
    identity           -                                    the process identity of locks shared between
                                                            processes is computed again (detail/process_identity.hpp)
    queues             -                                    a multiprocessing queue's buffered items and
                                                            feeder thread stay the parent's
    pools              -                                    a multiprocessing pool's workers and thread
                                                            stay the parent's

## At exit

When the program exits (`main` returns, or `std::exit`), one `std::atexit` handler runs the
phases of `ExitPhase` in order, each at most once:

    executors_drained   every ThreadPoolExecutor refuses new work and runs what is queued
    process_executors_drained   every ProcessPoolExecutor refuses new work, runs what is
                        queued and stops its workers
    threads_joined      every non-daemon thread is joined (CPython's threading._shutdown)
    queues_flushed      every multiprocessing queue's buffered items are written to its channel,
                        unless cancel_join_thread() (CPython's Queue._finalize_join)
    pools_terminated    every multiprocessing Pool still running is terminated (CPython's
                        finalizer of a Pool), its workers ended
    children_handled    non-daemon child processes are joined, daemonic ones terminated
    streams_flushed     C stdio (and so std::cout, synchronised with it) is flushed

The handler is installed by the first `on_exit` call, which `Thread::start()` makes on the
first start: static objects built before that are destroyed after the sequence has run (so
threads still running may use them); objects built later are destroyed before it, and
`detail::exiting()` tells such objects to keep what a daemon thread may still touch.

A forked child that ends without returning from `main` (multiprocessing's processes) calls
`run_exit_sequence()` itself before `_exit`: its own threads are joined and its streams
flushed, and none of the parent's static destructors run.
*/
#ifndef PYCONC_DETAIL_LIFECYCLE_HPP_INCLUDED
#define PYCONC_DETAIL_LIFECYCLE_HPP_INCLUDED

#include <array>    // std::array
#include <atomic>   // std::atomic
#include <cstddef>  // std::size_t
#include <cstdio>   // std::fflush
#include <cstdlib>  // std::atexit

#include <pthread.h>  // pthread_atfork

namespace pyconc {
inline namespace v0 {
namespace detail {

/** The phases of the at-fork sequence; prepare handlers run in this order. */
enum class ForkPhase : std::size_t { internal_sections, threads, gil, processes, identity, queues, pools, count };

/** One phase's handlers; any may be null. They run with other threads possibly blocked in pyconc. */
struct ForkHandlers {
  void (*prepare)() noexcept = nullptr;
  void (*parent)() noexcept = nullptr;
  void (*child)() noexcept = nullptr;
};

/** The phases of the exit sequence, in the order they run. */
enum class ExitPhase : std::size_t {
  executors_drained,
  process_executors_drained,
  threads_joined,
  queues_flushed,
  pools_terminated,
  children_handled,
  streams_flushed,
  count
};

struct Lifecycle {
  // Constant-initialised, never destroyed: usable from any static initialiser or destructor.
  std::array<std::atomic<void (*)() noexcept>, static_cast<std::size_t>(ForkPhase::count)> prepare{};
  std::array<std::atomic<void (*)() noexcept>, static_cast<std::size_t>(ForkPhase::count)> parent{};
  std::array<std::atomic<void (*)() noexcept>, static_cast<std::size_t>(ForkPhase::count)> child{};
  std::array<std::atomic<void (*)()>, static_cast<std::size_t>(ExitPhase::count)> exit{};
  std::array<std::atomic<bool>, static_cast<std::size_t>(ExitPhase::count)> exit_done{};
  std::atomic<bool> fork_installed{false};
  std::atomic<bool> exit_installed{false};
};

inline constinit Lifecycle lifecycle_g{};

inline void run_fork_prepare() noexcept {
  for (auto& handler : lifecycle_g.prepare) {
    if (auto* f = handler.load(std::memory_order_acquire))
      f();
  }
}
inline void run_fork_parent() noexcept {
  for (auto it = lifecycle_g.parent.rbegin(); it != lifecycle_g.parent.rend(); ++it) {
    if (auto* f = it->load(std::memory_order_acquire))
      f();
  }
}
inline void reset_exit_sequence_in_child() noexcept;

inline void run_fork_child() noexcept {
  reset_exit_sequence_in_child();
  for (auto it = lifecycle_g.child.rbegin(); it != lifecycle_g.child.rend(); ++it) {
    if (auto* f = it->load(std::memory_order_acquire))
      f();
  }
}

/**
Sets the handlers of `phase` (replacing earlier ones: each phase belongs to one module) and
makes sure the one `pthread_atfork` registration exists. Thread-safe.
*/
inline void on_fork(ForkPhase phase, ForkHandlers handlers) noexcept {
  const auto i = static_cast<std::size_t>(phase);
  lifecycle_g.prepare[i].store(handlers.prepare, std::memory_order_release);
  lifecycle_g.parent[i].store(handlers.parent, std::memory_order_release);
  lifecycle_g.child[i].store(handlers.child, std::memory_order_release);
  if (!lifecycle_g.fork_installed.exchange(true)) {
    ::pthread_atfork(&run_fork_prepare, &run_fork_parent, &run_fork_child);
  }
}

/**
Runs the exit sequence: every phase that has a handler and has not run yet, in order, then
flushes C stdio. Called by the `std::atexit` handler, and by a forked child before `_exit`.
A phase's exception is not propagated (exit cannot report it): the next phase still runs.
*/
inline void run_exit_sequence() noexcept {
  for (std::size_t i = 0; i < lifecycle_g.exit.size(); ++i) {
    if (lifecycle_g.exit_done[i].exchange(true))
      continue;
    if (auto* f = lifecycle_g.exit[i].load(std::memory_order_acquire)) {
      try {
        f();
      } catch (...) {
      }
    }
  }
  std::fflush(nullptr);
}

/**
Sets the handler of exit `phase` and, on the first call, installs the `std::atexit` handler
that runs the sequence (see the file comment for why its moment matters). Thread-safe.
*/
inline void on_exit(ExitPhase phase, void (*handler)()) noexcept {
  lifecycle_g.exit[static_cast<std::size_t>(phase)].store(handler, std::memory_order_release);
  if (!lifecycle_g.exit_installed.exchange(true))
    std::atexit([] { run_exit_sequence(); });
}

/** In a forked child: the exit sequence has not run there, whatever the parent had done. */
inline void reset_exit_sequence_in_child() noexcept {
  for (auto& done : lifecycle_g.exit_done)
    done.store(false, std::memory_order_relaxed);
}

}  // namespace detail
}  // namespace v0
}  // namespace pyconc

#endif  // PYCONC_DETAIL_LIFECYCLE_HPP_INCLUDED
