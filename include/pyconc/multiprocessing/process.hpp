// SPDX-License-Identifier: MIT
/**
`pyconc/multiprocessing/process.hpp` — Python's `multiprocessing.Process` and the module's
process functions.

Defines:
- `multiprocessing::Process`            a handle to a child process (copies share it).
- `multiprocessing::ForkProcess`, `SpawnProcess`, `ForkServerProcess`   a `Process` with its
                                        start method fixed at compile time (`ctx.Process`).
- `multiprocessing::current_process`, `parent_process`, `active_children`, `cpu_count`.
- `multiprocessing::freeze_support`     where a spawned child runs its target.
- `multiprocessing::StartMethod`        fork, spawn, forkserver.

The start methods (see `context.hpp` for choosing one):
- **fork**: the child is a copy of the parent made by `fork()`; any callable runs there,
  capturing lambdas included. Only the starting thread exists in the child.
- **spawn**: the child is a fresh run of this program's executable. It runs the target from
  `freeze_support()`, which a program using spawn calls first thing in `main` (Python's own
  idiom). The target must be a function, a static member function, a captureless lambda or
  another stateless callable, and the arguments picklable (`pickle.hpp`): it is found in the
  child by its offset inside the executable (or shared library), which is the same in every
  run of the same binary.
- **forkserver**: a single-threaded server process (started like spawn) forks the children;
  targets as for spawn.

Exit, as CPython's: when the parent exits, daemonic children still running get SIGTERM and
the others are joined, in the `children_handled` phase of pyconc's exit sequence
(`detail/lifecycle.hpp`: after the thread pools are drained and the non-daemon threads
joined, before the streams are flushed). A child ends the same way: its target returns,
then its own non-daemon threads are joined, its children handled, its streams flushed.

Children are reaped through their pidfd (`sentinel()`), each exactly once: pyconc installs
no SIGCHLD handler and never calls `waitpid(-1)`, so a program's own child handling keeps
working.
*/
#ifndef PYCONC_MULTIPROCESSING_PROCESS_HPP_INCLUDED
#define PYCONC_MULTIPROCESSING_PROCESS_HPP_INCLUDED

#include <algorithm>    // std::remove_if
#include <atomic>       // std::atomic
#include <cerrno>       // errno
#include <concepts>     // std::invocable
#include <cstdint>      // std::uint64_t, std::uintptr_t
#include <cstdio>       // std::fflush
#include <cstdlib>      // std::exit
#include <cstring>      // std::strcmp, std::strlen
#include <exception>    // std::exception_ptr, std::current_exception
#include <functional>   // std::function
#include <iosfwd>       // std::ostream
#include <memory>       // std::shared_ptr, std::make_shared
#include <mutex>        // std::lock_guard
#include <optional>     // std::optional
#include <string>       // std::string
#include <string_view>  // std::string_view
#include <tuple>        // std::tuple, std::apply
#include <type_traits>  // std::is_empty_v
#include <typeinfo>     // typeid
#include <utility>      // std::move
#include <vector>       // std::vector

#include <fcntl.h>       // open, O_RDONLY, O_CLOEXEC
#include <link.h>        // dl_iterate_phdr
#include <poll.h>        // POLLIN
#include <signal.h>      // SIGTERM, SIGKILL, sigabbrev_np
#include <spawn.h>       // posix_spawn
#include <sys/random.h>  // getrandom
#include <unistd.h>      // fork, getpid, _exit, dup2

#include <pyconc/detail/deadline.hpp>
#include <pyconc/detail/exception_text.hpp>
#include <pyconc/detail/fd.hpp>
#include <pyconc/detail/fork_gate.hpp>
#include <pyconc/detail/lifecycle.hpp>
#include <pyconc/detail/wait.hpp>
#include <pyconc/errors.hpp>
#include <pyconc/gil.hpp>
#include <pyconc/multiprocessing/errors.hpp>
#include <pyconc/os.hpp>
#include <pyconc/pickle.hpp>
#include <pyconc/timeout.hpp>

extern char** environ;

namespace pyconc {
inline namespace v0 {
namespace multiprocessing {

/** How a child process is started (Python's start method names: `"fork"`, `"spawn"`, `"forkserver"`). */
enum class StartMethod { fork, spawn, forkserver };

/** The Python name of a start method. */
[[nodiscard]] inline const char* start_method_name(StartMethod m) noexcept {
  switch (m) {
    case StartMethod::fork:
      return "fork";
    case StartMethod::spawn:
      return "spawn";
    case StartMethod::forkserver:
      return "forkserver";
  }
  return "fork";
}

/** Python's keyword arguments of `Process(...)`: `{.name = "worker", .daemon = true}`. */
struct ProcessOptions {
  std::string name = {};            ///< empty: `Process-N` (the class's name, then the identity)
  std::optional<bool> daemon = {};  ///< unset: the current process's daemon flag
};

}  // namespace multiprocessing

namespace detail {

/** A code address as the same binary in another process can find it: its object and offset. */
struct CodeAddress {
  std::string object;  ///< empty: the main program; else the shared object's path as loaded
  std::uint64_t offset = 0;
};

/** Finds the loaded object holding `address`; returns false when none does. */
inline bool code_address_of(const void* address, CodeAddress& out) {
  struct Search {
    std::uintptr_t address;
    CodeAddress* out;
    bool found;
    bool first;
  } search{reinterpret_cast<std::uintptr_t>(address), &out, false, true};
  ::dl_iterate_phdr(
      [](dl_phdr_info* info, std::size_t, void* data) -> int {
        auto& s = *static_cast<Search*>(data);
        const bool main_program = s.first;
        s.first = false;
        for (int i = 0; i < info->dlpi_phnum; ++i) {
          const auto& ph = info->dlpi_phdr[i];
          if (ph.p_type != PT_LOAD)
            continue;
          const std::uintptr_t begin = info->dlpi_addr + ph.p_vaddr;
          if (s.address >= begin && s.address < begin + ph.p_memsz) {
            s.out->object = main_program ? std::string() : std::string(info->dlpi_name);
            s.out->offset = s.address - info->dlpi_addr;
            s.found = true;
            return 1;
          }
        }
        return 0;
      },
      &search);
  return search.found;
}

/** The address `where` names in this process, or 0 when its object is not loaded here. */
inline std::uintptr_t resolve_code_address(const CodeAddress& where) {
  struct Search {
    const CodeAddress* where;
    std::uintptr_t base;
    bool found;
    bool first;
  } search{&where, 0, false, true};
  ::dl_iterate_phdr(
      [](dl_phdr_info* info, std::size_t, void* data) -> int {
        auto& s = *static_cast<Search*>(data);
        const bool main_program = s.first;
        s.first = false;
        if (main_program ? s.where->object.empty() : s.where->object == info->dlpi_name) {
          s.base = info->dlpi_addr;
          s.found = true;
          return 1;
        }
        return 0;
      },
      &search);
  return search.found ? search.base + static_cast<std::uintptr_t>(where.offset) : 0;
}

/** What a spawned child runs: the target (a function's address, or none for a stateless callable) and the arguments. */
using SpawnEntry = void (*)(std::uintptr_t target, std::string_view args);

/** Runs `F` with the unpickled `Args` in a spawned child (instantiated by the parent's `Process` constructor). */
template <class F, class... Args>
void spawn_entry(std::uintptr_t target, std::string_view args) {
  auto values = pickle::loads<std::tuple<std::decay_t<Args>...>>(args);
  if constexpr (std::is_pointer_v<F>) {
    std::apply(reinterpret_cast<F>(target), std::move(values));
  } else {
    static_cast<void>(target);
    F f{};
    std::apply(f, std::move(values));
  }
}

/** Whether a spawned child can run `F` (decayed): a function pointer, or an empty default-constructible class. */
template <class F>
inline constexpr bool spawnable_target =
    std::is_pointer_v<F> ? std::is_function_v<std::remove_pointer_t<F>>
                         : std::is_class_v<F>&& std::is_empty_v<F>&& std::is_default_constructible_v<F>;

/** A call a spawned child can make: entry point, target and pickled arguments. */
struct SpawnCall {
  CodeAddress entry;
  std::optional<CodeAddress> target;
  std::string args;
};

/** Python's `_config` and identity of the current process, and its children. */
struct ProcessState;

/** The process-wide registry: which process this is, and its children. */
struct ProcessRegistry {
  InternalLock lock;
  std::shared_ptr<ProcessState> current;                // this process (MainProcess, or the child itself)
  std::shared_ptr<ProcessState> parent;                 // parent_process(): empty in the main process
  std::vector<std::shared_ptr<ProcessState>> children;  // started here and not yet seen ended
  int counter = 0;                                      // the last child identity handed out
  bool freeze_support_called = false;
};

/** The registry (never destroyed: children are handled at exit, after static destructors may have run). */
inline ProcessRegistry& process_registry();

struct ProcessState {
  enum class Status { initial, started, closed };
  enum class Kind { child, main, parent };

  InternalLock lock;  // guards what start/join/close change and the reap
  Kind kind = Kind::child;
  std::string class_name = "Process";
  std::string name;
  bool name_given = false;  // false: the default name, made from the class's name at start()
  std::vector<int> identity;
  bool daemon = false;
  std::string authkey;
  multiprocessing::StartMethod method = multiprocessing::StartMethod::fork;
  bool method_fixed = false;  // false: the default context's method, read at start()
  long parent_pid = 0;        // the process that created this object (0: none, the main process)
  Status status = Status::initial;
  long pid = 0;
  Fd sentinel;  // readable once the process has ended: its pidfd, or for a forkserver child the status socket
  Fd pidfd;     // a forkserver child's pidfd (for signals); fork and spawn children use `sentinel`
  std::optional<int> exitcode;
  bool forkserver_child = false;  // the exit code comes from the server, not from waitid

  std::function<void()> target;           // what run() calls (any start method may use it in-process)
  std::function<SpawnCall()> spawn_call;  // how a spawn child finds the target; empty: cannot spawn
  std::string spawn_refusal;              // why, when empty

  /** Reaps the child if it has ended (or waits until it has, `block`). Returns the exit code if known. */
  std::optional<int> poll(bool block);
};

inline std::string random_authkey() {
  std::string key(32, '\0');
  std::size_t done = 0;
  while (done < key.size()) {
    const ssize_t n = ::getrandom(key.data() + done, key.size() - done, 0);
    if (n > 0)
      done += static_cast<std::size_t>(n);
    else if (errno != EINTR)
      break;
  }
  return key;
}

inline ProcessRegistry& process_registry() {
  static ProcessRegistry* const registry = [] {
    auto* r = new ProcessRegistry;  // never deleted: used by the exit sequence
    auto main = std::make_shared<ProcessState>();
    main->kind = ProcessState::Kind::main;
    main->class_name = "_MainProcess";
    main->name = "MainProcess";
    main->authkey = random_authkey();
    main->status = ProcessState::Status::started;
    r->current = std::move(main);
    return r;
  }();
  return *registry;
}

/** The exit code of a status word from the forkserver (or 255 when the server vanished). */
inline std::optional<int> read_forkserver_status(int fd, bool block) {
  if (!block && wait_fd(fd, Deadline::after(0.0)) == 0)
    return std::nullopt;
  unsigned char b[4];
  const ssize_t n = read_exact(fd, b, 4);
  if (n != 4)
    return 255;
  return static_cast<int>(static_cast<std::uint32_t>(b[0]) | static_cast<std::uint32_t>(b[1]) << 8 |
                          static_cast<std::uint32_t>(b[2]) << 16 | static_cast<std::uint32_t>(b[3]) << 24);
}

inline std::optional<int> ProcessState::poll(bool block) {
  {
    std::lock_guard hold(lock);
    if (exitcode || status != Status::started || !sentinel)
      return exitcode;
  }
  if (block)
    wait_fd(sentinel.get(), Deadline::forever());  // GIL released; outside the lock
  std::lock_guard hold(lock);
  if (exitcode)
    return exitcode;
  if (forkserver_child) {
    exitcode = read_forkserver_status(sentinel.get(), false);
    return exitcode;
  }
  const int code = wait_child(sentinel.get(), false);
  if (code > -1000)
    exitcode = code;
  return exitcode;
}

/** Forgets children known to have ended (CPython's `_cleanup()`). */
inline void cleanup_children() {
  auto& r = process_registry();
  std::vector<std::shared_ptr<ProcessState>> started;
  {
    std::lock_guard hold(r.lock);
    started = r.children;
  }
  for (auto& c : started)
    c->poll(false);
  std::lock_guard hold(r.lock);
  std::erase_if(r.children, [](const std::shared_ptr<ProcessState>& c) {
    std::lock_guard h(c->lock);
    return c->exitcode.has_value() || c->status != ProcessState::Status::started;
  });
}

inline void forget_child(const ProcessState* state) {
  auto& r = process_registry();
  std::lock_guard hold(r.lock);
  std::erase_if(r.children, [state](const std::shared_ptr<ProcessState>& c) { return c.get() == state; });
}

/** Stops this process's forkserver, if it started one (`forkserver.hpp`). */
inline void stop_forkserver() noexcept;

/** The exit phase `children_handled`: daemonic children get SIGTERM, then every child is joined. */
inline void handle_children_at_exit() {
  auto& r = process_registry();
  std::vector<std::shared_ptr<ProcessState>> children;
  {
    std::lock_guard hold(r.lock);
    children = r.children;
  }
  for (auto& c : children) {
    if (c->daemon && !c->poll(false)) {
      std::lock_guard hold(c->lock);
      pidfd_send_signal(c->forkserver_child ? c->pidfd.get() : c->sentinel.get(), SIGTERM);
    }
  }
  for (auto& c : children)
    c->poll(true);
  {
    std::lock_guard hold(r.lock);
    r.children.clear();
  }
  stop_forkserver();
}

/** CPython's `_exitcode_to_name`: `-SIGTERM` for -15; other codes as numbers. */
inline std::string exitcode_text(int code) {
  if (code < 0) {
    if (const char* abbrev = ::sigabbrev_np(-code))
      return std::string("-SIG") + abbrev;
  }
  return std::to_string(code);
}

/** The `bootstrapping phase` error CPython raises when spawn starts before the program is ready. */
inline constexpr const char* bootstrap_message =
    "\n        An attempt has been made to start a new process before the\n"
    "        current process has finished its bootstrapping phase.\n\n"
    "        This probably means that you are not using fork to start your\n"
    "        child processes and you have forgotten to use the proper idiom\n"
    "        in the main function:\n\n"
    "            int main() {\n"
    "                multiprocessing::freeze_support();\n"
    "                ...\n\n"
    "        The \"freeze_support()\" line must be the first statement of main\n"
    "        when the program uses the spawn or forkserver start method.\n";

/**
The child side of every start method: makes `state` the current process, runs `run`, maps its
outcome to an exit code as CPython's `_bootstrap`, and runs the exit sequence. Returns the code.
*/
inline int bootstrap_child(const std::shared_ptr<ProcessState>& state, const std::function<void()>& run) noexcept {
  auto& r = process_registry();
  {
    std::lock_guard hold(r.lock);
    auto parent = std::make_shared<ProcessState>();
    parent->kind = ProcessState::Kind::parent;
    parent->class_name = "_ParentProcess";
    if (r.current)
      parent->name = r.current->name;
    parent->pid = static_cast<long>(::getppid());
    parent->status = ProcessState::Status::started;
    parent->sentinel.reset(pidfd_open(static_cast<pid_t>(parent->pid)));
    r.parent = std::move(parent);
    r.current = state;
    r.children.clear();
    r.counter = 0;
  }
  {
    std::lock_guard hold(state->lock);
    state->pid = static_cast<long>(::getpid());
    state->status = ProcessState::Status::started;
    state->sentinel.reset();
  }
  // CPython closes sys.stdin in the child and opens os.devnull in its place.
  const int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (devnull >= 0) {
    ::dup2(devnull, 0);
    if (devnull != 0)
      ::close(devnull);
  }
  int code = 0;
  try {
    run();
  } catch (const SystemExit& e) {
    code = e.code();
  } catch (...) {
    report_exception("Process " + state->name + ":\n", std::current_exception());
    code = 1;
  }
  run_exit_sequence();
  return code;
}

}  // namespace detail

namespace multiprocessing {

class Process;
class SpawnProcess;
class ForkServerProcess;
class Context;
Process current_process();
std::optional<Process> parent_process();
std::vector<Process> active_children();

/**
Python: `multiprocessing.Process(target=None, name=None, args=(), *, daemon=None)`.

A handle to a child process. Copies refer to the same process, as Python references do.

```cpp
multiprocessing::Process p(f, std::tuple{"bob"});   // Process(target=f, args=('bob',))
p.start();
p.join();
print(p.exitcode());                                 // 0
```

Lifecycle, as CPython's: `start()` once; `join()` waits for the end, `join(t)` at most `t`
seconds; `exitcode()` is `std::nullopt` (`None`) until the process has ended, then 0 on
return, `n` after `sys::exit(n)`, 1 after an uncaught exception (the child prints
`Process <name>:` and the exception to stderr), -N when killed by signal N. `terminate()`
sends SIGTERM, `kill()` SIGKILL; `close()` frees the sentinel. Misuse raises CPython's
`AssertionError`/`ValueError` with its message (start twice, join before start, close while
running, anything but `name` after close, daemon set after start).

Subclassing: override `run()`. With the fork start method the child calls the `run()` of the
object `start()` was called on (its copy in the child). Spawn and forkserver cannot
recreate a subclass object in the child: use a target and args there.

Differs from Python: a child's uncaught exception is printed without a traceback; with fork,
handlers registered with `std::atexit` are not run in the child (the parent's static objects
are never destroyed there), pyconc's own exit sequence is; `pid()` is `std::nullopt` before
`start()`; `active_children()` and `current_process()` give `Process` handles, not your subclass.
*/
class Process {
 public:
  using Options = ProcessOptions;

  /** A process that runs nothing (or the subclass's `run()`). */
  explicit Process(Options options = {}) : state_(make_state(std::move(options))) {}

  /** Python: `Process(target=target, ...)`. */
  template <class F>
  requires(std::invocable<std::decay_t<F>&> && !std::same_as<std::remove_cvref_t<F>, Options> &&
           !std::derived_from<std::remove_cvref_t<F>, Process>) explicit Process(F&& target, Options options = {})
      : Process(std::forward<F>(target), std::tuple<>{}, std::move(options)) {}

  /** Python: `Process(target=target, args=(...), ...)`; `args` must suit `target` (checked at compile time). */
  template <class F, class... Args>
  requires std::invocable < std::decay_t<F>
  &, Args&... > Process(F&& target, std::tuple<Args...> args, Options options = {})
      : state_(make_state(std::move(options))) {
    set_target(std::forward<F>(target), std::move(args));
  }

  Process(const Process&) = default;
  Process& operator=(const Process&) = default;
  Process(Process&&) noexcept = default;
  Process& operator=(Process&&) noexcept = default;
  virtual ~Process() = default;

  /** Starts the child process, which calls `run()`. See the class comment for the errors. */
  void start();

  /** What the child does: calls the target. Override it in a subclass. */
  virtual void run() {
    if (state_->target)
      state_->target();
  }

  /** Waits until the process ends. Blocks (the GIL is released). */
  void join() const { join_until(pyconc::detail::Deadline::forever()); }
  /** Waits at most `timeout` seconds (negative: not at all); check `exitcode()` afterwards. */
  void join(Timeout timeout) const { join_until(pyconc::detail::Deadline::after(timeout.seconds)); }

  /** Whether the process has started and not ended (reaps it when it has ended). */
  [[nodiscard]] bool is_alive() const {
    check_closed();
    if (is_current())
      return true;
    if (state_->kind == pyconc::detail::ProcessState::Kind::parent)
      return pyconc::detail::wait_fd(state_->sentinel.get(), pyconc::detail::Deadline::after(0.0)) == 0;
    check_child("can only test a child process");
    if (status() == pyconc::detail::ProcessState::Status::initial)
      return false;
    const bool ended = state_->poll(false).has_value();
    if (ended)
      pyconc::detail::forget_child(state_.get());
    return !ended;
  }

  /** Python: `terminate()`: sends SIGTERM. No-op once the process has ended. */
  void terminate() const { send_signal(SIGTERM, "terminate"); }
  /** Python: `kill()`: sends SIGKILL. No-op once the process has ended. */
  void kill() const { send_signal(SIGKILL, "kill"); }

  /**
  Python: `close()`: releases the sentinel. Raises `ValueError` while the process runs; after
  it, everything but `name()` raises `ValueError("process object is closed")`. Idempotent.
  */
  void close() {
    using Status = pyconc::detail::ProcessState::Status;
    if (status() == Status::started && !is_current()) {
      if (!state_->poll(false)) {
        pyconc::detail::raise<ValueError>(
            "Cannot close a process while it is still running. You should first call join() or terminate().");
      }
      pyconc::detail::forget_child(state_.get());
    }
    std::lock_guard hold(state_->lock);
    state_->sentinel.reset();
    state_->status = Status::closed;
  }

  /** The exit code: `std::nullopt` until the process has ended (and before `start()`). */
  [[nodiscard]] std::optional<int> exitcode() const {
    check_closed();
    if (status() == pyconc::detail::ProcessState::Status::initial || is_current())
      return std::nullopt;
    return state_->poll(false);
  }

  /** Python: `pid` (and `ident`): `std::nullopt` before `start()`. */
  [[nodiscard]] std::optional<long> pid() const {
    check_closed();
    if (is_current())
      return os::getpid();
    std::lock_guard hold(state_->lock);
    if (state_->pid == 0)
      return std::nullopt;
    return state_->pid;
  }
  [[nodiscard]] std::optional<long> ident() const { return pid(); }

  /** The process's name. */
  [[nodiscard]] std::string name() const {
    refresh_class_name();
    std::lock_guard hold(state_->lock);
    return state_->name;
  }
  /** Renames the process. */
  void name(std::string new_name) {
    refresh_class_name();
    std::lock_guard hold(state_->lock);
    state_->name = std::move(new_name);
    state_->name_given = true;
  }

  /** Whether the process is daemonic (terminated, not joined, when its parent exits). */
  [[nodiscard]] bool daemon() const {
    std::lock_guard hold(state_->lock);
    return state_->daemon;
  }
  /** Sets the daemon flag; raises `AssertionError("process has already started")` after `start()`. */
  void daemon(bool value) {
    std::lock_guard hold(state_->lock);
    if (state_->status == pyconc::detail::ProcessState::Status::started)
      pyconc::detail::raise<AssertionError>("process has already started");
    state_->daemon = value;
  }

  /** Python: `authkey`: 32 random bytes in the main process, inherited by children. */
  [[nodiscard]] std::string authkey() const {
    std::lock_guard hold(state_->lock);
    return state_->authkey;
  }
  void authkey(std::string key) {
    std::lock_guard hold(state_->lock);
    state_->authkey = std::move(key);
  }

  /**
  Python: `sentinel`: a descriptor that becomes readable when the process ends (a pidfd), for
  `connection::wait`. Raises `ValueError("process not started")` before `start()`.
  */
  [[nodiscard]] int sentinel() const {
    check_closed();
    std::lock_guard hold(state_->lock);
    if (state_->status == pyconc::detail::ProcessState::Status::initial || !state_->sentinel)
      pyconc::detail::raise<ValueError>("process not started");
    return state_->sentinel.get();
  }

  /** Python's `repr(process)`: `<Process name='Process-1' pid=1234 parent=1200 stopped exitcode=-SIGTERM>`. */
  [[nodiscard]] std::string repr() const {
    using Status = pyconc::detail::ProcessState::Status;
    refresh_class_name();
    std::optional<int> code;
    const char* status_text = "initial";
    const Status st = status();
    const bool current = is_current();
    if (current) {
      status_text = "started";
    } else if (st == Status::closed) {
      status_text = "closed";
    } else if (state_->kind == pyconc::detail::ProcessState::Kind::parent || state_->parent_pid != os::getpid()) {
      status_text = "unknown";
    } else if (st == Status::started) {
      code = state_->poll(false);
      status_text = code ? "stopped" : "started";
    }
    std::lock_guard hold(state_->lock);
    std::string s = "<" + state_->class_name + " name=" + pyconc::detail::string_repr(state_->name);
    if (state_->pid != 0 && st != Status::closed && !current &&
        state_->kind == pyconc::detail::ProcessState::Kind::child)
      s += " pid=" + std::to_string(state_->pid);
    s += " parent=" + (state_->parent_pid != 0 ? std::to_string(state_->parent_pid) : std::string("None"));
    s += " ";
    s += status_text;
    if (code)
      s += " exitcode=" + pyconc::detail::exitcode_text(*code);
    if (state_->daemon)
      s += " daemon";
    return s + ">";
  }

  /** Whether two handles refer to the same process (Python's `is`). */
  friend bool operator==(const Process& a, const Process& b) noexcept { return a.state_ == b.state_; }
  friend std::ostream& operator<<(std::ostream& os, const Process& p) { return os << p.repr(); }

 protected:
  /** For `ForkProcess` & co: the start method fixed at construction. */
  Process(Options options, StartMethod method) : state_(make_state(std::move(options))) {
    state_->method = method;
    state_->method_fixed = true;
  }

  template <class F, class... Args>
  void set_target(F&& target, std::tuple<Args...> args) {
    using Target = std::decay_t<F>;
    if constexpr (pyconc::detail::spawnable_target<Target> && (pickle::picklable<std::decay_t<Args>> && ...)) {
      Target fn = target;
      state_->spawn_call = [fn, args]() {
        pyconc::detail::SpawnCall call;
        pyconc::detail::code_address_of(
            reinterpret_cast<const void*>(&pyconc::detail::spawn_entry<Target, std::decay_t<Args>...>), call.entry);
        if constexpr (std::is_pointer_v<Target>) {
          pyconc::detail::CodeAddress where;
          if (!pyconc::detail::code_address_of(reinterpret_cast<const void*>(fn), where))
            pyconc::detail::raise<pickle::PicklingError>("cannot find the target function in the program's code");
          call.target = where;
        } else {
          static_cast<void>(fn);  // a stateless callable: the child makes its own
        }
        call.args = pickle::dumps(args);
        return call;
      };
    } else if constexpr (!pyconc::detail::spawnable_target<Target>) {
      state_->spawn_refusal =
          "a spawned process cannot run this target (a lambda with captures, a std::function or an object with "
          "state): use a function, a static member function or a captureless lambda, and pass captured values as args";
    } else {
      state_->spawn_refusal = "the arguments of this target cannot be pickled for a spawned process";
    }
    state_->target = [f = std::forward<F>(target), a = std::move(args)]() mutable { std::apply(f, a); };
  }

  /** Whether a spawned child could run this process's target (else, why not). */
  [[nodiscard]] const std::string& spawn_refusal() const noexcept { return state_->spawn_refusal; }

 private:
  friend Process current_process();
  friend std::optional<Process> parent_process();
  friend std::vector<Process> active_children();

  friend class Context;

  explicit Process(std::shared_ptr<pyconc::detail::ProcessState> state) : state_(std::move(state)) {}

  // A run-time context's process: the method fixed, named as CPython's context class.
  Process(StartMethod method, Options options) : Process(std::move(options), method) {
    static constexpr const char* names[] = {"ForkProcess", "SpawnProcess", "ForkServerProcess"};
    std::lock_guard hold(state_->lock);
    state_->class_name = names[static_cast<int>(method)];
    if (!state_->name_given)
      state_->name = default_name(state_->class_name, state_->identity);
  }

  static std::shared_ptr<pyconc::detail::ProcessState> make_state(Options options) {
    auto& r = pyconc::detail::process_registry();
    auto state = std::make_shared<pyconc::detail::ProcessState>();
    std::lock_guard hold(r.lock);
    const auto& current = *r.current;
    state->identity = current.identity;
    state->identity.push_back(++r.counter);
    state->authkey = current.authkey;
    state->daemon = options.daemon ? *options.daemon : current.daemon;
    state->parent_pid = os::getpid();
    state->name = std::move(options.name);
    if (state->name.empty())
      state->name = default_name("Process", state->identity);
    else
      state->name_given = true;
    return state;
  }

  static std::string default_name(const std::string& cls, const std::vector<int>& identity) {
    std::string name = cls + "-";
    for (std::size_t i = 0; i < identity.size(); ++i) {
      if (i > 0)
        name += ':';
      name += std::to_string(identity[i]);
    }
    return name;
  }

  // CPython names a process after `type(self).__name__`: a subclass's name is known only
  // once the object is complete, so the default name is made again here.
  void refresh_class_name() const {
    if (typeid(*this) == typeid(Process))
      return;
    std::lock_guard hold(state_->lock);
    if (state_->kind != pyconc::detail::ProcessState::Kind::child ||
        state_->status != pyconc::detail::ProcessState::Status::initial)
      return;
    state_->class_name = pyconc::detail::class_name(typeid(*this));
    if (!state_->name_given)
      state_->name = default_name(state_->class_name, state_->identity);
  }

  [[nodiscard]] pyconc::detail::ProcessState::Status status() const {
    std::lock_guard hold(state_->lock);
    return state_->status;
  }
  [[nodiscard]] bool is_current() const {
    auto& r = pyconc::detail::process_registry();
    std::lock_guard hold(r.lock);
    return r.current == state_;
  }
  void check_closed() const {
    if (status() == pyconc::detail::ProcessState::Status::closed)
      pyconc::detail::raise<ValueError>("process object is closed");
  }
  void check_child(const char* message) const {
    if (state_->parent_pid != os::getpid())
      pyconc::detail::raise<AssertionError>(message);
  }

  void join_until(const pyconc::detail::Deadline& deadline) const {
    check_closed();
    if (state_->kind == pyconc::detail::ProcessState::Kind::parent) {
      pyconc::detail::wait_fd(state_->sentinel.get(), deadline);
      return;
    }
    check_child("can only join a child process");
    if (status() == pyconc::detail::ProcessState::Status::initial)
      pyconc::detail::raise<AssertionError>("can only join a started process");
    std::optional<int> code;
    if (deadline.is_forever()) {
      code = state_->poll(true);
    } else if (pyconc::detail::wait_fd(state_->sentinel.get(), deadline) != 0) {
      code = state_->poll(false);
    }
    if (code)
      pyconc::detail::forget_child(state_.get());
  }

  void send_signal(int signal, const char* what) const {
    check_closed();
    if (status() == pyconc::detail::ProcessState::Status::initial) {
      pyconc::detail::raise<AttributeError>(std::string("'NoneType' object has no attribute '") + what + "'");
    }
    std::lock_guard hold(state_->lock);
    if (state_->exitcode)
      return;
    // Through the pidfd: never a reused pid. ESRCH once the process is gone: ignored.
    pyconc::detail::pidfd_send_signal(state_->forkserver_child ? state_->pidfd.get() : state_->sentinel.get(), signal);
  }

  void start_fork();
  void start_spawn(StartMethod method);

  std::shared_ptr<pyconc::detail::ProcessState> state_;
};

}  // namespace multiprocessing

namespace detail {

/** The compile-time check of a target for a process that starts a new program. */
template <class F, class... Args>
constexpr void check_spawnable() {
  static_assert(spawnable_target<std::decay_t<F>>,
                "pyconc::multiprocessing: a process started by spawn or forkserver runs its target in a new run "
                "of the program, which cannot receive a lambda with captures, a std::function or an object with "
                "state: use a function, a static member function or a captureless lambda, and pass captured "
                "values as args");
  static_assert((pickle::picklable<std::decay_t<Args>> && ...),
                "pyconc::multiprocessing: every argument of a process started by spawn or forkserver must be "
                "picklable (see pyconc/pickle.hpp)");
}

}  // namespace detail

namespace multiprocessing {

/** Python: `multiprocessing.context.ForkProcess`: a `Process` started by fork. Any callable target. */
class ForkProcess : public Process {
 public:
  explicit ForkProcess(Options options = {}) : Process(std::move(options), StartMethod::fork) {}
  template <class F>
  requires(std::invocable<std::decay_t<F>&> && !std::same_as<std::remove_cvref_t<F>, Options> &&
           !std::derived_from<std::remove_cvref_t<F>, Process>) explicit ForkProcess(F&& target, Options options = {})
      : ForkProcess(std::forward<F>(target), std::tuple<>{}, std::move(options)) {}
  template <class F, class... Args>
  requires std::invocable < std::decay_t<F>
  &, Args&... > ForkProcess(F&& target, std::tuple<Args...> args, Options options = {})
      : Process(std::move(options), StartMethod::fork) {
    set_target(std::forward<F>(target), std::move(args));
  }
};

/**
Python: `multiprocessing.context.SpawnProcess`: a `Process` started by spawn. The target and
arguments are checked at compile time (see the file comment); the program's `main` must call
`freeze_support()` first.
*/
class SpawnProcess : public Process {
 public:
  explicit SpawnProcess(Options options = {}) : Process(std::move(options), StartMethod::spawn) {}
  template <class F>
  requires(std::invocable<std::decay_t<F>&> && !std::same_as<std::remove_cvref_t<F>, Options> &&
           !std::derived_from<std::remove_cvref_t<F>, Process>) explicit SpawnProcess(F&& target, Options options = {})
      : SpawnProcess(std::forward<F>(target), std::tuple<>{}, std::move(options)) {}
  template <class F, class... Args>
  requires std::invocable < std::decay_t<F>
  &, Args&... > SpawnProcess(F&& target, std::tuple<Args...> args, Options options = {})
      : Process(std::move(options), StartMethod::spawn) {
    detail::check_spawnable<F, Args...>();
    set_target(std::forward<F>(target), std::move(args));
  }
};

/** Python: `multiprocessing.context.ForkServerProcess`: a `Process` started by the forkserver; checked as
 * `SpawnProcess`. */
class ForkServerProcess : public Process {
 public:
  explicit ForkServerProcess(Options options = {}) : Process(std::move(options), StartMethod::forkserver) {}
  template <class F>
  requires(std::invocable<std::decay_t<F>&> && !std::same_as<std::remove_cvref_t<F>, Options> &&
           !std::derived_from<std::remove_cvref_t<F>, Process>) explicit ForkServerProcess(F&& target,
                                                                                           Options options = {})
      : ForkServerProcess(std::forward<F>(target), std::tuple<>{}, std::move(options)) {}
  template <class F, class... Args>
  requires std::invocable < std::decay_t<F>
  &, Args&... > ForkServerProcess(F&& target, std::tuple<Args...> args, Options options = {})
      : Process(std::move(options), StartMethod::forkserver) {
    detail::check_spawnable<F, Args...>();
    set_target(std::forward<F>(target), std::move(args));
  }
};

}  // namespace multiprocessing

namespace detail {

/** The default context's start method: fixed by `set_start_method`, or by first use (CPython's `_actual_context`). */
struct DefaultContext {
  InternalLock lock;
  std::optional<multiprocessing::StartMethod> actual;
};
inline DefaultContext& default_context() {
  static DefaultContext* const c = new DefaultContext;  // never deleted: usable at exit
  return *c;
}
/** The default context's method, fixing it to fork (Linux's default up to Python 3.13) when unset. */
inline multiprocessing::StartMethod default_start_method() {
  auto& c = default_context();
  std::lock_guard hold(c.lock);
  if (!c.actual)
    c.actual = multiprocessing::StartMethod::fork;
  return *c.actual;
}

/** An address the parent and a spawned child both take: equal offsets mean the same layout. */
inline void spawn_anchor() noexcept {}

/** What a spawn or forkserver child receives from its parent. */
using SpawnPayload = std::tuple<std::string, std::uint64_t,                        // anchor
                                std::string, std::uint64_t,                        // entry
                                bool, std::string, std::uint64_t,                  // target
                                std::string,                                       // pickled args
                                std::string, std::vector<int>, bool, std::string,  // name, identity, daemon, authkey
                                long, std::string,                                 // parent pid, class name
                                bool, double,                                      // GIL on, switch interval
                                std::uint32_t,                                     // descriptors passed
                                std::int32_t>;  // which of them is the resource tracker's (-1: none)

inline std::string make_spawn_payload(const ProcessState& state, const SpawnCall& call, std::size_t fd_count,
                                      std::int32_t tracker_index) {
  CodeAddress anchor;
  code_address_of(reinterpret_cast<const void*>(&spawn_anchor), anchor);
  const CodeAddress target = call.target.value_or(CodeAddress{});
  return pickle::dumps(SpawnPayload{
      anchor.object, anchor.offset, call.entry.object, call.entry.offset, call.target.has_value(), target.object,
      target.offset, call.args, state.name, state.identity, state.daemon, state.authkey, state.parent_pid,
      state.class_name, gil::enabled(), sys::getswitchinterval(), static_cast<std::uint32_t>(fd_count), tracker_index});
}

/** Sends `payload` (length first) on `fd`. */
inline void send_payload(int fd, const std::string& payload, bool socket) {
  unsigned char size[8];
  std::uint64_t n = payload.size();
  for (unsigned char& b : size) {
    b = static_cast<unsigned char>(n & 0xff);
    n >>= 8;
  }
  int error = write_all(fd, size, sizeof size, socket);
  if (error == 0)
    error = write_all(fd, payload.data(), payload.size(), socket);
  if (error != 0)
    raise_errno(error);
}

/** Reads what `send_payload` sent; empty on a short read. */
inline std::string receive_payload(int fd) {
  unsigned char size[8];
  if (read_exact(fd, size, sizeof size) != static_cast<ssize_t>(sizeof size))
    return {};
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i)
    n = (n << 8) | size[i];
  std::string payload;
  constexpr std::uint64_t chunk = std::uint64_t{1} << 20;
  while (payload.size() < n) {  // grown as it arrives: a corrupt length allocates nothing unearned
    const std::size_t old = payload.size();
    const auto step = static_cast<std::size_t>(std::min<std::uint64_t>(n - old, chunk));
    payload.resize(old + step);
    if (read_exact(fd, payload.data() + old, step) != static_cast<ssize_t>(step))
      return {};
  }
  return payload;
}

/**
Runs, in a spawned (or forkserver) child, the call `payload` describes, with the descriptors
`fds` passed beside it. Returns the exit code.
*/
inline int run_spawn_payload(const std::string& payload, std::vector<int> fds) {
  SpawnPayload p;
  try {
    p = pickle::loads<SpawnPayload>(payload);
  } catch (...) {
    report_exception("pyconc: a spawned child could not read its call:\n", std::current_exception());
    return 1;
  }
  auto& [anchor_object, anchor_offset, entry_object, entry_offset, has_target, target_object, target_offset, args, name,
         identity, daemon, authkey, parent_pid, class_name, gil_was_on, interval, fd_count, tracker_index] = p;
  if (fd_count != fds.size() || tracker_index >= static_cast<std::int32_t>(fds.size())) {
    write_stderr("pyconc: a spawned child did not receive the descriptors of its arguments\n");
    return 1;
  }
  if (tracker_index >= 0) {
    // The parent's resource tracker is this child's too (as CPython passes its fd).
    const int tracker = std::exchange(fds[static_cast<std::size_t>(tracker_index)], -1);
    if (auto* adopt = spawn_inheritance_g.adopt.load())
      adopt(tracker);
    else
      ::close(tracker);
  }
  const auto anchor = resolve_code_address(CodeAddress{anchor_object, anchor_offset});
  const auto entry = resolve_code_address(CodeAddress{entry_object, entry_offset});
  const auto target = has_target ? resolve_code_address(CodeAddress{target_object, target_offset}) : 0;
  if (anchor != reinterpret_cast<std::uintptr_t>(&spawn_anchor) || entry == 0 || (has_target && target == 0)) {
    write_stderr("pyconc: a spawned child is not the same program as its parent; it cannot run the target\n");
    return 1;
  }
  auto state = std::make_shared<ProcessState>();
  state->name = std::move(name);
  state->name_given = true;
  state->identity = std::move(identity);
  state->daemon = daemon;
  state->authkey = std::move(authkey);
  state->parent_pid = parent_pid;
  state->class_name = std::move(class_name);
  state->method = multiprocessing::StartMethod::spawn;
  if (gil_was_on) {
    sys::setswitchinterval(interval);
    gil::enable();
  }
  const auto run = reinterpret_cast<SpawnEntry>(entry);
  const std::string_view call_args = args;  // a lambda cannot capture structured bindings (clang 14)
  inherited_fds().table = &fds;             // the Connections among the arguments take theirs
  const int code = bootstrap_child(state, [run, target, call_args] { run(target, call_args); });
  inherited_fds().table = nullptr;
  for (const int fd : fds) {
    if (fd >= 0)
      ::close(fd);
  }
  return code;
}

/**
Starts this program's executable again (`posix_spawn` of /proc/self/exe) with the arguments
`marker pipe_handle=3`, which `freeze_support()` recognises. The child's stdin is /dev/null
(as CPython's), its descriptor 3 is `handle` and 4, 5, ... are `passed`; it inherits no other
descriptor. Returns the child's pidfd (its pid in `pid`).
*/
inline Fd spawn_self(const char* marker, int handle, const std::vector<int>& passed, pid_t& pid) {
  // Each source is first copied above the target range, so that no dup2 overwrites a source
  // still to be copied.
  const int first_free = 4 + static_cast<int>(passed.size());
  std::vector<Fd> sources;
  sources.emplace_back(::fcntl(handle, F_DUPFD_CLOEXEC, first_free));
  for (const int fd : passed)
    sources.emplace_back(::fcntl(fd, F_DUPFD_CLOEXEC, first_free));
  if (std::any_of(sources.begin(), sources.end(), [](const Fd& f) { return !f; }))
    raise_errno(errno);
  posix_spawn_file_actions_t actions;
  ::posix_spawn_file_actions_init(&actions);
  ::posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  for (std::size_t i = 0; i < sources.size(); ++i)
    ::posix_spawn_file_actions_adddup2(&actions, sources[i].get(), 3 + static_cast<int>(i));
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
  ::posix_spawn_file_actions_addclosefrom_np(&actions, first_free);  // as CPython's: only what it needs
#endif
  std::string arg0 = program_invocation_name != nullptr ? program_invocation_name : "pyconc-child";
  std::string marker_arg = marker;
  std::string handle_arg = "pipe_handle=3";
  char* argv[] = {arg0.data(), marker_arg.data(), handle_arg.data(), nullptr};
  std::fflush(nullptr);
  const int error = ::posix_spawn(&pid, "/proc/self/exe", &actions, nullptr, argv, environ);
  ::posix_spawn_file_actions_destroy(&actions);
  if (error != 0)
    raise_errno(error);
  return Fd(pidfd_open(pid));
}

/** This program's command line, from /proc/self/cmdline (opened close-on-exec, as every fd pyconc opens). */
inline std::vector<std::string> own_command_line() {
  std::string all;
  const Fd file(::open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC));
  if (file) {
    char buffer[4096];
    for (;;) {
      const ssize_t n = read_some(file.get(), buffer, sizeof buffer);
      if (n <= 0)
        break;
      all.append(buffer, static_cast<std::size_t>(n));
    }
  }
  std::vector<std::string> args;
  std::size_t start = 0;
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (all[i] == '\0') {
      args.emplace_back(all, start, i - start);
      start = i + 1;
    }
  }
  return args;
}

/** The forkserver's loop (`forkserver.hpp`); run by `freeze_support()` in the server. */
[[noreturn]] inline void forkserver_main(int control_fd);
/** Starts `state`'s process through the forkserver, passing it `fds` (`forkserver.hpp`). */
inline void start_forkserver_child(ProcessState& state, const std::string& payload, const std::vector<int>& fds);

}  // namespace detail

namespace multiprocessing {

inline void Process::start() {
  namespace d = pyconc::detail;
  check_closed();
  refresh_class_name();
  if (status() != d::ProcessState::Status::initial)
    d::raise<AssertionError>("cannot start a process twice");
  if (state_->parent_pid != os::getpid())
    d::raise<AssertionError>("can only start a process object created by current process");
  auto& r = d::process_registry();
  {
    std::lock_guard hold(r.lock);
    if (r.current->daemon)
      d::raise<AssertionError>("daemonic processes are not allowed to have children");
  }
  d::cleanup_children();
  const StartMethod method = state_->method_fixed ? state_->method : d::default_start_method();
  if (method != StartMethod::fork) {
    const std::type_info& type = typeid(*this);
    if (type != typeid(Process) && type != typeid(SpawnProcess) && type != typeid(ForkServerProcess)) {
      d::raise<pickle::PicklingError>("cannot start a " + d::class_name(type) + " with the " +
                                      start_method_name(method) +
                                      " start method: a subclass object cannot be recreated in a new program; pass "
                                      "a target and args instead");
    }
    if (!state_->target && !state_->spawn_call)
      set_target(
          +[] {}, std::tuple<>{});  // Process() with no target runs nothing
    if (!state_->spawn_call)
      d::raise<pickle::PicklingError>(state_->spawn_refusal);
    bool ready = false;
    {
      std::lock_guard hold(r.lock);
      ready = r.freeze_support_called;
    }
    if (!ready)
      d::raise<RuntimeError>(d::bootstrap_message);
  }
  d::on_exit(d::ExitPhase::children_handled, &d::handle_children_at_exit);
  if (method == StartMethod::fork) {
    start_fork();
  } else {
    start_spawn(method);
  }
  {
    std::lock_guard hold(r.lock);
    r.children.push_back(state_);
  }
  // CPython deletes the target after start: what it captured (a pipe's end) is not kept alive here.
  state_->target = nullptr;
  state_->spawn_call = nullptr;
}

inline void Process::start_fork() {
  namespace d = pyconc::detail;
  std::fflush(nullptr);  // nothing buffered is written twice
  const std::shared_ptr<d::ProcessState> self = state_;
  const pid_t pid = ::fork();
  if (pid < 0)
    d::raise_errno(errno);
  if (pid == 0)
    ::_exit(d::bootstrap_child(self, [this] { run(); }));
  d::Fd pidfd(d::pidfd_open(pid));
  if (!pidfd) {
    const int error = errno;
    ::kill(pid, SIGKILL);
    int ignored = 0;
    ::waitpid(pid, &ignored, 0);
    d::raise_errno(error);
  }
  std::lock_guard hold(state_->lock);
  state_->pid = pid;
  state_->sentinel = std::move(pidfd);
  state_->status = d::ProcessState::Status::started;
}

inline void Process::start_spawn(StartMethod method) {
  namespace d = pyconc::detail;
  // Pickling the arguments gathers the descriptors of the Connections among them.
  std::vector<int> passed;
  d::SpawnCall call;
  {
    auto& context = d::inherited_fds();
    std::vector<int>* const outer = context.collect;
    context.collect = &passed;
    try {
      call = state_->spawn_call();
    } catch (...) {
      context.collect = outer;
      throw;
    }
    context.collect = outer;
  }
  std::int32_t tracker_index = -1;
  if (auto* current = d::spawn_inheritance_g.current.load()) {
    if (const int tracker = current(); tracker >= 0) {
      tracker_index = static_cast<std::int32_t>(passed.size());
      passed.push_back(tracker);
    }
  }
  const std::string payload = d::make_spawn_payload(*state_, call, passed.size(), tracker_index);
  if (method == StartMethod::forkserver) {
    d::start_forkserver_child(*state_, payload, passed);
    return;
  }
  int ends[2];
  if (::pipe2(ends, O_CLOEXEC) != 0)
    d::raise_errno(errno);
  d::Fd reader(ends[0]);
  d::Fd writer(ends[1]);
  pid_t pid = 0;
  d::Fd pidfd = d::spawn_self("--multiprocessing-fork", reader.get(), passed, pid);
  reader.reset();
  try {
    d::send_payload(writer.get(), payload, false);
  } catch (...) {
    // The child ended before reading its call: it reports nothing; its exit code tells.
  }
  writer.reset();
  std::lock_guard hold(state_->lock);
  state_->pid = pid;
  state_->sentinel = std::move(pidfd);
  state_->status = d::ProcessState::Status::started;
}

/** Python: `multiprocessing.current_process()`: the process running this code (`MainProcess` in the main one). */
[[nodiscard]] inline Process current_process() {
  auto& r = pyconc::detail::process_registry();
  std::lock_guard hold(r.lock);
  return Process(r.current);
}

/** Python: `multiprocessing.parent_process()`: `std::nullopt` in the main process; in a child, its parent. */
[[nodiscard]] inline std::optional<Process> parent_process() {
  auto& r = pyconc::detail::process_registry();
  std::lock_guard hold(r.lock);
  if (!r.parent)
    return std::nullopt;
  return Process(r.parent);
}

/** Python: `multiprocessing.active_children()`: the children still running (those that ended are reaped). */
[[nodiscard]] inline std::vector<Process> active_children() {
  pyconc::detail::cleanup_children();
  auto& r = pyconc::detail::process_registry();
  std::lock_guard hold(r.lock);
  std::vector<Process> out;
  for (auto& c : r.children)
    out.push_back(Process(c));
  return out;
}

/** Python: `multiprocessing.cpu_count()`. */
[[nodiscard]] inline int cpu_count() noexcept {
  return os::cpu_count();
}

/**
Python: `multiprocessing.freeze_support()`. A program that uses the spawn or forkserver
start method calls it as the first statement of `main`:

```cpp
int main() {
  multiprocessing::freeze_support();
  ...
}
```

In the program the user started, it returns at once. In a child started by spawn, it runs
the child's target and ends the process with its exit code (it never returns); in the
forkserver's server, it runs the server. Starting a spawn or forkserver process in a program
that never called it raises `RuntimeError` (CPython's "bootstrapping phase" error): running
the target earlier, during static initialisation, would let it see the program's globals
before they are constructed.
*/
inline void freeze_support() {
  namespace d = pyconc::detail;
  auto& r = d::process_registry();
  {
    std::lock_guard hold(r.lock);
    if (r.freeze_support_called)
      return;
    r.freeze_support_called = true;
  }
  const std::vector<std::string> args = d::own_command_line();
  if (args.size() < 3)
    return;
  const std::string& marker = args[args.size() - 2];
  const std::string& handle = args.back();
  if (handle.rfind("pipe_handle=", 0) != 0)
    return;
  const int fd = std::atoi(handle.c_str() + std::strlen("pipe_handle="));
  if (marker == "--multiprocessing-fork") {
    std::string payload = d::receive_payload(fd);
    ::close(fd);
    std::vector<int> passed;  // the Connections' descriptors follow the pipe's: 4, 5, ...
    try {
      const auto fd_count = std::get<16>(pickle::loads<d::SpawnPayload>(payload));
      for (std::uint32_t i = 0; i < fd_count; ++i) {
        passed.push_back(4 + static_cast<int>(i));
        ::fcntl(passed.back(), F_SETFD, FD_CLOEXEC);  // inherited across exec; not beyond
      }
    } catch (const pickle::UnpicklingError&) {
      // run_spawn_payload reports it
    }
    std::exit(d::run_spawn_payload(payload, std::move(passed)));
  }
  if (marker == "--multiprocessing-forkserver")
    d::forkserver_main(fd);
}

}  // namespace multiprocessing
}  // namespace v0
}  // namespace pyconc

// The forkserver's half, which needs the definitions above.
#include <pyconc/multiprocessing/forkserver.hpp>

#endif  // PYCONC_MULTIPROCESSING_PROCESS_HPP_INCLUDED
