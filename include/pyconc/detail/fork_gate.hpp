// SPDX-License-Identifier: MIT
/**
`pyconc/detail/fork_gate.hpp` — pyconc's own locks are never held across `fork()`.

Defines:
- `detail::ForkGate`       marks the sections in which a thread holds a pyconc-internal lock;
                           at fork, waits until no other thread is inside one.
- `detail::InternalLock`   the lock of every pyconc object's own state (a queue's ends, a
                           future's waiters, a pool's work list, the registries): a
                           `FutexLock` whose holder is inside the gate.

## Why

`fork()` copies one thread. A lock another thread held at that moment stays held in the
child for ever, and the state it guards may be half-changed. glibc takes its malloc arenas'
locks before forking for this reason; pyconc has a lock in every queue and future, too many
to take one by one, so it closes a gate instead: in the at-fork prepare phase (the first
phase of `detail/lifecycle.hpp`) no thread may enter a section, and the forking thread waits
until every thread already inside has left. Then no pyconc-internal lock is held by another
thread, every object's state is whole, and the child can use every pyconc object. A user's
`threading::Lock` is not an internal lock: it stays as CPython leaves it (held in the child
if it was held at the fork).

## How, and its cost

Each thread has a record with its section depth. Entering the outermost section is a plain
store of the depth and a plain load of `closed` (nested sections only count); leaving is a
store and a load. The forking thread sets `closed` and then makes every other thread of the
process execute a full memory barrier (`membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)`), so
that any thread either had its depth visible before the barrier (the forker waits for it to
leave) or reads `closed` after it (and waits at the gate). Where the kernel lacks that
command, entering pays a sequentially consistent fence instead. Waiting at the gate and
waiting for threads to leave both release the GIL.
*/
#ifndef PYCONC_DETAIL_FORK_GATE_HPP_INCLUDED
#define PYCONC_DETAIL_FORK_GATE_HPP_INCLUDED

#include <atomic>   // std::atomic
#include <cstdint>  // std::uint32_t

#include <linux/membarrier.h>  // MEMBARRIER_CMD_*
#include <sys/syscall.h>       // SYS_membarrier
#include <unistd.h>            // syscall

#include <pyconc/detail/deadline.hpp>
#include <pyconc/detail/futex.hpp>
#include <pyconc/detail/futex_lock.hpp>
#include <pyconc/detail/lifecycle.hpp>
#include <pyconc/detail/thread_records.hpp>
#include <pyconc/detail/wait.hpp>

namespace pyconc {
inline namespace v0 {
namespace detail {

/** One thread's place at the gate. Records are recycled by later threads, never freed. */
struct GateThread {
  std::atomic<std::uint32_t> depth{0};   // sections the thread is inside (nested count)
  std::atomic<std::uint32_t> in_use{0};  // owned by a live thread
  GateThread* next = nullptr;            // all records, newest first; immutable once published
};

struct ForkGate {
  std::atomic<std::uint32_t> closed{0};  // nonzero while a fork is prepared; threads wait on it
  std::atomic<std::uint32_t> exits{0};   // bumped by a thread leaving while closed; the forker waits on it
  std::atomic<std::uint32_t> light{0};   // 1: membarrier works, entering needs no fence
  std::atomic<GateThread*> records{nullptr};
};

/** The one gate. Constant-initialised and never destroyed: usable at any time. */
inline constinit ForkGate fork_gate_g{};

inline constinit thread_local GateThread* tls_gate = nullptr;
inline constinit thread_local bool tls_gate_slot_gone = false;

/** Hands the calling thread's record back when the thread ends. */
struct GateThreadSlot {
  GateThread* record = nullptr;
  GateThreadSlot() = default;
  GateThreadSlot(const GateThreadSlot&) = delete;
  GateThreadSlot& operator=(const GateThreadSlot&) = delete;
  ~GateThreadSlot() {
    tls_gate_slot_gone = true;
    if (record == nullptr)
      return;
    if (tls_gate == record)
      tls_gate = nullptr;
    record->in_use.store(0, std::memory_order_release);
  }
};

/** The calling thread's record, made (or recycled) on its first section. */
[[gnu::noinline]] inline GateThread* gate_register() noexcept {
  GateThread* me = claim_record(fork_gate_g.records);
  tls_gate = me;
  if (!tls_gate_slot_gone) {  // past its thread_local destructors, a thread keeps its record for good
    thread_local GateThreadSlot slot;
    slot.record = me;
  }
  return me;
}

/** Waits while the gate is closed (a fork is being prepared), releasing the GIL. */
[[gnu::noinline]] inline void gate_wait_open() noexcept {
  auto& g = fork_gate_g;
  for (std::uint32_t c = g.closed.load(std::memory_order_acquire); c != 0;
       c = g.closed.load(std::memory_order_acquire)) {
    wait_on(g.closed, c, Deadline::forever());
  }
}

/** Enters a section: from now on a fork waits until the caller leaves it. */
inline void gate_enter() noexcept {
  GateThread* me = tls_gate;
  if (me == nullptr) [[unlikely]]
    me = gate_register();
  const std::uint32_t depth = me->depth.load(std::memory_order_relaxed);
  if (depth != 0) {
    me->depth.store(depth + 1, std::memory_order_relaxed);
    return;
  }
  auto& g = fork_gate_g;
  for (;;) {
    me->depth.store(1, std::memory_order_relaxed);
    if (g.light.load(std::memory_order_relaxed) != 0) {
      std::atomic_signal_fence(std::memory_order_seq_cst);  // the forker's membarrier orders the two
    } else {
      std::atomic_thread_fence(std::memory_order_seq_cst);
    }
    if (g.closed.load(std::memory_order_relaxed) == 0) [[likely]] {
      return;
    }
    // A fork is being prepared: step back out, tell the forker, wait until it is done.
    me->depth.store(0, std::memory_order_release);
    g.exits.fetch_add(1, std::memory_order_seq_cst);
    futex_wake(g.exits, 1);
    gate_wait_open();
  }
}

/** Leaves a section. */
inline void gate_leave() noexcept {
  GateThread* me = tls_gate;
  const std::uint32_t depth = me->depth.load(std::memory_order_relaxed) - 1;
  me->depth.store(depth, std::memory_order_release);  // pairs with the forker's acquire load
  if (depth == 0 && fork_gate_g.closed.load(std::memory_order_relaxed) != 0) [[unlikely]] {
    fork_gate_g.exits.fetch_add(1, std::memory_order_seq_cst);
    futex_wake(fork_gate_g.exits, 1);
  }
}

/** Every other thread of the process executes a full memory barrier before this returns. */
inline bool gate_barrier() noexcept {
  return ::syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) == 0;
}

/** Prepare phase: closes the gate and waits until no other thread is inside a section. */
inline void gate_close() noexcept {
  auto& g = fork_gate_g;
  GateThread* me = tls_gate != nullptr ? tls_gate : gate_register();
  me->depth.fetch_add(1, std::memory_order_relaxed);  // the forker's own sections pass (nested)
  g.closed.store(1, std::memory_order_seq_cst);
  // With `light`, entering threads rely on this barrier (registered at start-up, so it cannot
  // fail); without it, they fenced themselves.
  if (g.light.load(std::memory_order_relaxed) != 0)
    static_cast<void>(gate_barrier());
  std::atomic_thread_fence(std::memory_order_seq_cst);
  for (GateThread* r = g.records.load(std::memory_order_acquire); r != nullptr; r = r->next) {
    if (r == me)
      continue;
    for (;;) {
      const std::uint32_t seen = g.exits.load(std::memory_order_seq_cst);
      if (r->depth.load(std::memory_order_acquire) == 0)
        break;
      wait_on(g.exits, seen, Deadline::forever());
    }
  }
}

/** Parent phase: opens the gate and wakes the threads waiting at it. */
inline void gate_open() noexcept {
  auto& g = fork_gate_g;
  tls_gate->depth.fetch_sub(1, std::memory_order_relaxed);
  g.closed.store(0, std::memory_order_seq_cst);
  futex_wake(g.closed, static_cast<std::uint32_t>(-1) >> 1);
}

/** Child phase: the other threads do not exist here; their records are free again. */
inline void gate_open_in_child() noexcept {
  auto& g = fork_gate_g;
  GateThread* me = tls_gate;
  for (GateThread* r = g.records.load(std::memory_order_acquire); r != nullptr; r = r->next) {
    if (r != me) {
      r->depth.store(0, std::memory_order_relaxed);
      r->in_use.store(0, std::memory_order_relaxed);
    }
  }
  me->depth.fetch_sub(1, std::memory_order_relaxed);
  g.exits.store(0, std::memory_order_relaxed);
  g.closed.store(0, std::memory_order_relaxed);
}

/** Installs the gate as the first at-fork phase (once; from any thread). */
inline bool gate_installed() noexcept {
  static const bool installed = [] {
    // Registration makes MEMBARRIER_CMD_PRIVATE_EXPEDITED usable by this process.
    if (::syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0) {
      fork_gate_g.light.store(1, std::memory_order_seq_cst);
    }
    on_fork(ForkPhase::internal_sections, {.prepare = &gate_close, .parent = &gate_open, .child = &gate_open_in_child});
    return true;
  }();
  return installed;
}

// Installed during static initialisation, before any thread can enter a section.
inline const bool fork_gate_initialised = gate_installed();

/**
The lock of a pyconc object's own state: a `FutexLock` (GIL released while blocked) whose
holder is inside the fork gate, so no thread holds it across `fork()`. Lockable.
Memory ordering: as `FutexLock`.
*/
class InternalLock {
 public:
  constexpr InternalLock() noexcept = default;
  InternalLock(const InternalLock&) = delete;
  InternalLock& operator=(const InternalLock&) = delete;

  void lock() noexcept {
    gate_enter();
    lock_.lock();
  }
  [[nodiscard]] bool try_lock() noexcept {
    gate_enter();
    if (lock_.try_acquire())
      return true;
    gate_leave();
    return false;
  }
  void unlock() noexcept {
    lock_.release();
    gate_leave();
  }
  /** Python-style names, for code written against `threading::Lock`. */
  void acquire() noexcept { lock(); }
  void release() noexcept { unlock(); }
  [[nodiscard]] bool locked() const noexcept { return lock_.locked(); }

 private:
  FutexLock<> lock_;
};

}  // namespace detail
}  // namespace v0
}  // namespace pyconc

#endif  // PYCONC_DETAIL_FORK_GATE_HPP_INCLUDED
