// SPDX-License-Identifier: MIT
/**
`pyconc/detail/thread_state.hpp` — what pyconc knows about each thread, and the registry.

Defines:
- `detail::ThreadState`   the shared state behind every `threading::Thread` handle.
- `detail::Registry`      the live threads (CPython's `_active`), counters, the main thread.
- `detail::current_state()`  the calling thread's state (a `Dummy-N` for foreign threads).

The registry is created on first use and never destroyed, so daemon threads that outlive
`main` never touch a destroyed object. Fork handlers keep it consistent in a child process.
*/
#ifndef PYCONC_DETAIL_THREAD_STATE_HPP_INCLUDED
#define PYCONC_DETAIL_THREAD_STATE_HPP_INCLUDED

#include <algorithm>   // std::find
#include <atomic>      // std::atomic
#include <cstdint>     // std::uint32_t
#include <cstdlib>     // std::atexit
#include <functional>  // std::function
#include <memory>      // std::shared_ptr
#include <mutex>       // std::lock_guard
#include <string>      // std::string
#include <typeinfo>    // std::type_info
#include <utility>     // std::exchange
#include <vector>      // std::vector

#include <pthread.h>      // pthread_self
#include <sys/syscall.h>  // SYS_gettid
#include <unistd.h>       // getpid, syscall

#include <pyconc/detail/fork_gate.hpp>
#include <pyconc/detail/lifecycle.hpp>
#include <pyconc/detail/wait_word.hpp>

namespace pyconc {
inline namespace v0 {
namespace detail {

/** The kernel's id of the calling thread (`gettid()`). */
inline long native_thread_id() noexcept {
  return static_cast<long>(::syscall(SYS_gettid));
}

struct ThreadState : std::enable_shared_from_this<ThreadState> {
  enum class Kind { normal, main, dummy };
  enum Status : std::uint32_t { initial = 0, started = 1, stopped = 2 };

  explicit ThreadState(std::string thread_name, Kind k = Kind::normal) : kind(k) { set_name(std::move(thread_name)); }
  ThreadState(const ThreadState&) = delete;
  ThreadState& operator=(const ThreadState&) = delete;
  ~ThreadState() {
    for (const NameNode* n = name_.load(std::memory_order_acquire); n != nullptr;)
      delete std::exchange(n, n->previous);
  }

  std::string get_name() const { return name_.load(std::memory_order_acquire)->value; }
  // Lock-free, so no thread can be caught holding a lock here by fork(): a renamed thread's
  // earlier names stay allocated (readers may hold them) until the state is destroyed.
  void set_name(std::string new_name) {
    auto* node = new NameNode{std::move(new_name), name_.load(std::memory_order_relaxed)};
    while (!name_.compare_exchange_weak(node->previous, node, std::memory_order_release, std::memory_order_relaxed)) {
    }
  }
  // Marks the thread finished and wakes its joiners.
  void finish() noexcept {
    status.store(stopped, std::memory_order_release);
    finished.set();
  }

  struct NameNode {
    std::string value;
    const NameNode* previous;
  };
  std::atomic<const NameNode*> name_{nullptr};
  const Kind kind;
  std::atomic<const std::type_info*> type{nullptr};  // the started object's class, for repr()
  std::atomic<bool> daemon{false};
  std::function<void()> target;  // run() of a plain Thread; cleared once run
  bool target_only = false;      // start() runs `target` without calling a virtual run()
  std::atomic<std::uint32_t> status{initial};
  std::atomic<unsigned long> ident{0};
  std::atomic<long> native_id{0};
  Latch native_ready;  // set once native_id is known
  Latch finished;      // set once run() has ended
};

/** CPython's `_active`, `_counter` and `_main_thread`, plus the settings threads share. */
struct Registry {
  InternalLock lock;
  std::vector<std::shared_ptr<ThreadState>> active;  // alive threads, oldest first
  std::shared_ptr<ThreadState> main;
  std::atomic<unsigned long> thread_counter{0};  // the N of Thread-N and Dummy-N, as CPython's _counter
  std::atomic<bool> finalizing{false};           // main has returned: the program is exiting
  std::atomic<std::size_t> stack_size{0};
  std::atomic<bool> exit_handler_installed{false};
  std::vector<std::shared_ptr<void>> kept_until_exit;

  void add(std::shared_ptr<ThreadState> state) {
    std::lock_guard with(lock);
    active.push_back(std::move(state));
  }
  /** Keeps `object` alive until the process ends (for objects daemon threads may still use). */
  void keep_until_exit(std::shared_ptr<void> object) {
    std::lock_guard with(lock);
    kept_until_exit.push_back(std::move(object));
  }
  void remove(const ThreadState* state) {
    std::lock_guard with(lock);
    std::erase_if(active, [state](const auto& s) { return s.get() == state; });
  }
};

/**
The calling thread's state. A plain pointer, so it stays valid while the thread's other
thread-locals are destroyed (at `exit`, glibc destroys them before `atexit` handlers run).
Whoever sets it keeps the state alive: the registry for the main thread, the bootstrap for
pyconc threads, `DummyOwner` for foreign ones.
*/
inline thread_local ThreadState* tls_current = nullptr;

/** Owns a foreign thread's `Dummy-N` state; takes it out of the registry when the thread ends. */
struct DummyOwner {
  std::shared_ptr<ThreadState> state;
  DummyOwner() = default;
  DummyOwner(const DummyOwner&) = delete;
  DummyOwner& operator=(const DummyOwner&) = delete;
  ~DummyOwner();  // defined below, after the registry
};

void after_fork_in_child() noexcept;

inline Registry& registry() {
  static Registry* const instance = [] {
    auto* r = new Registry;  // never deleted: daemon threads may use it during and after exit
    r->main = std::make_shared<ThreadState>("MainThread", ThreadState::Kind::main);
    r->main->status.store(ThreadState::started);
    r->main->native_id.store(static_cast<long>(::getpid()));
    r->main->native_ready.set();
    if (native_thread_id() == static_cast<long>(::getpid())) {  // built on the main thread
      r->main->ident.store(static_cast<unsigned long>(::pthread_self()));
      tls_current = r->main.get();
    }
    r->active.push_back(r->main);
    on_fork(ForkPhase::threads, {.child = []() noexcept { after_fork_in_child(); }});
    return r;
  }();
  return *instance;
}

/**
Set on a thread once its `thread_local` objects are being destroyed. glibc's `exit` destroys
the calling thread's ones first, before any `atexit` handler or static destructor runs, so
on the main thread this says "the program is exiting" even to a static destroyed before the
library's own exit handler runs (a function-local static first used after a thread started).
*/
inline thread_local bool tls_locals_gone = false;

struct LocalsGoneMarker {
  LocalsGoneMarker() = default;
  LocalsGoneMarker(const LocalsGoneMarker&) = delete;
  LocalsGoneMarker& operator=(const LocalsGoneMarker&) = delete;
  ~LocalsGoneMarker() { tls_locals_gone = true; }
};

/** Arms `tls_locals_gone` for the calling thread. */
inline void watch_locals() noexcept {
  thread_local LocalsGoneMarker marker;
  static_cast<void>(marker);
}

/**
Whether the program is exiting: main has returned (or `exit` was called) and the library's
exit handler has run, or the main thread's `thread_local` objects are gone. Objects daemon
threads may still use (a static queue, a `threading::local`) keep their storage then.
*/
inline bool exiting() noexcept {
  if (registry().finalizing.load())
    return true;
  return tls_locals_gone && tls_current != nullptr && tls_current->kind == ThreadState::Kind::main;
}

// Built during static initialisation, on the main thread, so main_thread() knows its ident,
// and so that the main thread's exit is noticed (watch_locals).
inline const bool registry_initialised = (registry(), watch_locals(), true);

/** The calling thread's state; a foreign thread gets a `Dummy-N` (daemon) on first call. */
inline std::shared_ptr<ThreadState> current_state() {
  if (tls_current == nullptr) {
    auto& r = registry();
    auto dummy = std::make_shared<ThreadState>("Dummy-" + std::to_string(++r.thread_counter), ThreadState::Kind::dummy);
    dummy->daemon.store(true);
    dummy->ident.store(static_cast<unsigned long>(::pthread_self()));
    dummy->native_id.store(native_thread_id());
    dummy->native_ready.set();
    dummy->status.store(ThreadState::started);
    r.add(dummy);
    tls_current = dummy.get();
    thread_local DummyOwner owner;
    owner.state = std::move(dummy);
  }
  return tls_current->shared_from_this();
}

inline DummyOwner::~DummyOwner() {
  if (state) {
    registry().remove(state.get());
    state->finish();
    if (tls_current == state.get())
      tls_current = nullptr;
  }
}

// CPython's threading._after_fork(): only the forking thread survives; it becomes the main thread.
inline void after_fork_in_child() noexcept {
  Registry& r = registry();
  std::shared_ptr<ThreadState> me = tls_current ? tls_current->shared_from_this() : nullptr;
  if (!me || me->kind == ThreadState::Kind::dummy) {
    me = std::make_shared<ThreadState>("MainThread", ThreadState::Kind::main);
    me->status.store(ThreadState::started);
    tls_current = me.get();  // kept alive by the registry, as the main thread's is
  }
  for (auto& s : r.active) {
    if (s != me)
      s->finish();
  }
  r.active.clear();
  r.active.push_back(me);
  me->ident.store(static_cast<unsigned long>(::pthread_self()));
  me->native_id.store(native_thread_id());
  me->native_ready.set();
  r.main = me;
  watch_locals();
}

}  // namespace detail
}  // namespace v0
}  // namespace pyconc

#endif  // PYCONC_DETAIL_THREAD_STATE_HPP_INCLUDED
