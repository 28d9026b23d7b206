// SPDX-License-Identifier: MIT
/**
`pyconc/multiprocessing/resource_tracker.hpp` — Python's `multiprocessing.resource_tracker`:
the process that removes the shared memory segments a program created and never unlinked.

Defines:
- `multiprocessing::resource_tracker::ensure_running()`   starts this process tree's tracker
                                                          if it is not running (or has died).
- `multiprocessing::resource_tracker::register_(name, rtype)`, `unregister(name, rtype)`
                                                          tell the tracker about a resource.
- `multiprocessing::resource_tracker::getfd()`            the descriptor the tree writes to.
- `detail::stop_resource_tracker()`   CPython's `_resource_tracker._stop()`: closes this
                                      process's end and, in the process that started the
                                      tracker, waits until it has cleaned up and exited.

How it works, as CPython's: one tracker process per process tree reads lines
`REGISTER:/psm_1234abcd:shared_memory` and `UNREGISTER:...` from a pipe whose write end every
process of the tree holds. When the last holder is gone (exited, or killed by SIGKILL), the
tracker reads the end of the pipe, prints CPython's warning to stderr,

    UserWarning: resource_tracker: There appear to be 1 leaked shared_memory objects to clean up at shutdown:
{'/psm_1234abcd'}

unlinks every name still registered and exits. It ignores SIGINT, SIGTERM, SIGHUP and SIGPIPE
(a Ctrl-C or `kill` of the program does not stop the cleanup).

Children share the tracker: a child started by fork inherits the write end; a child started
by spawn or the forkserver receives it with a `SharedMemory` (or `ShareableList`) among its
arguments. A child that has no tracker and registers a resource starts its own.

The tracker is started lazily, by the first `register_` (a tracked `SharedMemory`). It is not
a child of the program: the program forks a short-lived process, which forks the tracker and
exits at once (reaped before `ensure_running` returns), so `wait()`/`waitpid(-1)` in the
program never sees or blocks on the tracker, and the tracker is re-parented to init (or the
nearest subreaper). Why fork and not `posix_spawn` of a helper program (CPython starts a new
interpreter): pyconc is header-only and has no helper program, and re-running the program's
own executable needs `freeze_support()`, which a program that only forks need not call. A
process forked from a multi-threaded program may only make async-signal-safe calls, so the
tracker is written with system calls only: it never allocates (its table of names lives in
pages it maps itself), takes no lock and touches no pyconc or C++ library state. The first
fork goes through `fork()` (the at-fork handlers keep the sanitizers and pyconc consistent in
the short-lived process); the second is `_Fork()`, which runs no handler at all. The tracker
closes every descriptor it inherited except its end of the pipe and stderr (stdin and stdout
become /dev/null), so it keeps no other pipe of the program open.

Differs from Python: the warning starts with `UserWarning: ` rather than the source line
`warnings.warn` prints; the set of names is shown in the order they were registered.
*/
#ifndef PYCONC_MULTIPROCESSING_RESOURCE_TRACKER_HPP_INCLUDED
#define PYCONC_MULTIPROCESSING_RESOURCE_TRACKER_HPP_INCLUDED

#include <cerrno>       // errno, EPIPE, EINTR
#include <csignal>      // sigaction, SIGINT, SIGTERM
#include <cstddef>      // std::size_t
#include <cstring>      // std::memcpy, std::memcmp, strerrordesc_np
#include <mutex>        // std::lock_guard
#include <string>       // std::string
#include <string_view>  // std::string_view
#include <utility>      // std::exchange

#include <fcntl.h>         // open, fcntl, O_RDWR, F_DUPFD
#include <pthread.h>       // pthread_sigmask
#include <sys/mman.h>      // mmap, munmap
#include <sys/resource.h>  // getrlimit
#include <sys/syscall.h>   // SYS_close_range
#include <sys/wait.h>      // waitpid
#include <unistd.h>        // fork, _Fork, pipe2, read, write, close, _exit

#include <pyconc/detail/deadline.hpp>
#include <pyconc/detail/fd.hpp>
#include <pyconc/detail/fork_gate.hpp>
#include <pyconc/detail/wait.hpp>
#include <pyconc/errors.hpp>

namespace pyconc {
inline namespace v0 {
namespace detail {

// ---- the tracker process: system calls only (see the file comment) -------------------------

/** What the tracker cleans: CPython's `_CLEANUP_FUNCS` keys, in CPython's order. */
enum class TrackedKind : unsigned char { none = 0, semaphore = 1, shared_memory = 2 };

/** The longest message CPython sends (POSIX makes a pipe write of up to 512 bytes atomic). */
inline constexpr std::size_t tracker_message_max = 512;

/** One registered name, in the tracker's table. */
struct TrackerEntry {
  TrackedKind kind;
  unsigned short length;
  char name[tracker_message_max];
};

/** Writes to stderr through a small buffer, without allocating. */
class TrackerWriter {
 public:
  TrackerWriter() noexcept = default;
  TrackerWriter(const TrackerWriter&) = delete;
  TrackerWriter& operator=(const TrackerWriter&) = delete;
  ~TrackerWriter() { flush(); }

  TrackerWriter& put(const char* text, std::size_t n) noexcept {
    while (n > 0) {
      if (used_ == sizeof buffer_)
        flush();
      const std::size_t step = n < sizeof buffer_ - used_ ? n : sizeof buffer_ - used_;
      std::memcpy(buffer_ + used_, text, step);
      used_ += step;
      text += step;
      n -= step;
    }
    return *this;
  }
  TrackerWriter& put(const char* text) noexcept { return put(text, std::strlen(text)); }
  TrackerWriter& put(unsigned long value) noexcept {
    char digits[24];
    std::size_t i = sizeof digits;
    do {
      digits[--i] = static_cast<char>('0' + value % 10);
      value /= 10;
    } while (value != 0);
    return put(digits + i, sizeof digits - i);
  }
  /** Python's `repr()` of an ASCII name: single-quoted. */
  TrackerWriter& quoted(const char* text, std::size_t n) noexcept { return put("'").put(text, n).put("'"); }

  void flush() noexcept {
    std::size_t done = 0;
    while (done < used_) {
      const ssize_t n = ::write(2, buffer_ + done, used_ - done);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      done += static_cast<std::size_t>(n);
    }
    used_ = 0;
  }

 private:
  char buffer_[1024];
  std::size_t used_ = 0;
};

/** The tracker's set of names: a table in pages it maps itself, in registration order. */
class TrackerTable {
 public:
  TrackerTable() noexcept = default;
  TrackerTable(const TrackerTable&) = delete;
  TrackerTable& operator=(const TrackerTable&) = delete;

  [[nodiscard]] std::size_t size() const noexcept { return count_; }
  [[nodiscard]] const TrackerEntry& operator[](std::size_t i) const noexcept { return entries_[i]; }

  [[nodiscard]] std::size_t find(TrackedKind kind, const char* name, std::size_t n) const noexcept {
    for (std::size_t i = 0; i < count_; ++i) {
      if (entries_[i].kind == kind && entries_[i].length == n && std::memcmp(entries_[i].name, name, n) == 0)
        return i;
    }
    return count_;
  }

  /** Adds the name unless it is there (a set, as CPython's). False when no memory could be mapped. */
  bool add(TrackedKind kind, const char* name, std::size_t n) noexcept {
    if (find(kind, name, n) != count_)
      return true;
    if (count_ == capacity_ && !grow())
      return false;
    TrackerEntry& e = entries_[count_++];
    e.kind = kind;
    e.length = static_cast<unsigned short>(n);
    std::memcpy(e.name, name, n);
    return true;
  }

  /** Removes the name; false when it was not there (CPython's tracker: a KeyError). */
  bool remove(TrackedKind kind, const char* name, std::size_t n) noexcept {
    const std::size_t i = find(kind, name, n);
    if (i == count_)
      return false;
    for (std::size_t j = i + 1; j < count_; ++j)
      std::memcpy(&entries_[j - 1], &entries_[j], sizeof(TrackerEntry));
    --count_;
    return true;
  }

 private:
  bool grow() noexcept {
    const std::size_t capacity = capacity_ == 0 ? 16 : capacity_ * 2;
    void* fresh =
        ::mmap(nullptr, capacity * sizeof(TrackerEntry), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (fresh == MAP_FAILED)
      return false;
    if (entries_ != nullptr) {
      std::memcpy(fresh, entries_, count_ * sizeof(TrackerEntry));
      ::munmap(entries_, capacity_ * sizeof(TrackerEntry));
    }
    entries_ = static_cast<TrackerEntry*>(fresh);
    capacity_ = capacity;
    return true;
  }

  TrackerEntry* entries_ = nullptr;
  std::size_t count_ = 0;
  std::size_t capacity_ = 0;
};

/** The rtype of a message (`shared_memory`, `semaphore`, `noop`), or `none` with `known` false. */
inline TrackedKind tracker_kind(std::string_view rtype, bool& known) noexcept {
  known = true;
  if (rtype == "shared_memory")
    return TrackedKind::shared_memory;
  if (rtype == "semaphore")
    return TrackedKind::semaphore;
  known = rtype == "noop";
  return TrackedKind::none;
}

/** CPython's cleanup functions: `shm_unlink` and `sem_unlink` are an unlink under /dev/shm. */
inline int tracker_cleanup(TrackedKind kind, const char* name, std::size_t n) noexcept {
  char path[32 + tracker_message_max];
  std::size_t at = 0;
  const char* dir = kind == TrackedKind::semaphore ? "/dev/shm/sem." : "/dev/shm/";
  const std::size_t dir_length = std::strlen(dir);
  std::memcpy(path, dir, dir_length);
  at = dir_length;
  std::size_t skip = 0;
  while (skip < n && name[skip] == '/')  // as glibc's shm_unlink: the leading slashes go
    ++skip;
  std::memcpy(path + at, name + skip, n - skip);
  at += n - skip;
  path[at] = '\0';
  return ::unlink(path) == 0 ? 0 : errno;
}

/** Handles one line of the protocol; returns false on a malformed line (exit code 3). */
inline bool tracker_handle_line(TrackerTable& table, const char* line, std::size_t n) noexcept {
  const std::string_view text(line, n);
  const std::size_t first = text.find(':');
  const std::size_t last = text.rfind(':');
  TrackerWriter err;
  if (first == std::string_view::npos || first == last) {
    err.put("ValueError: not enough values to unpack (expected 3)\n");
    return false;
  }
  const std::string_view cmd = text.substr(0, first);
  const std::string_view name = text.substr(first + 1, last - first - 1);
  const std::string_view rtype = text.substr(last + 1);
  bool known = false;
  const TrackedKind kind = tracker_kind(rtype, known);
  if (!known) {
    err.put("ValueError: Cannot register ").put(name.data(), name.size());
    err.put(" for automatic cleanup: unknown resource type ").put(rtype.data(), rtype.size()).put("\n");
    return false;
  }
  if (cmd == "PROBE")
    return true;
  if (cmd == "REGISTER" && kind != TrackedKind::none) {
    if (!table.add(kind, name.data(), name.size())) {
      err.put("MemoryError: resource_tracker: cannot track ").quoted(name.data(), name.size()).put("\n");
      return false;
    }
    return true;
  }
  if (cmd == "UNREGISTER" && kind != TrackedKind::none) {
    if (!table.remove(kind, name.data(), name.size())) {
      err.put("KeyError: ").quoted(name.data(), name.size()).put("\n");
      return false;
    }
    return true;
  }
  err.put("RuntimeError: unrecognized command ").quoted(cmd.data(), cmd.size()).put("\n");
  return false;
}

/** At the end of the pipe: CPython's warning, then every name left is unlinked. Returns the exit code. */
inline int tracker_clean_up(const TrackerTable& table, int exit_code) noexcept {
  for (const TrackedKind kind : {TrackedKind::semaphore, TrackedKind::shared_memory}) {
    const char* rtype = kind == TrackedKind::semaphore ? "semaphore" : "shared_memory";
    unsigned long leaked = 0;
    for (std::size_t i = 0; i < table.size(); ++i)
      leaked += table[i].kind == kind ? 1 : 0;
    if (leaked == 0)
      continue;
    exit_code = 1;
    {
      TrackerWriter err;
      err.put("UserWarning: resource_tracker: There appear to be ").put(leaked).put(" leaked ").put(rtype);
      err.put(" objects to clean up at shutdown: {");
      bool first = true;
      for (std::size_t i = 0; i < table.size(); ++i) {
        if (table[i].kind != kind)
          continue;
        if (!first)
          err.put(", ");
        first = false;
        err.quoted(table[i].name, table[i].length);
      }
      err.put("}\n");
    }
    for (std::size_t i = 0; i < table.size(); ++i) {
      if (table[i].kind != kind)
        continue;
      const int error = tracker_cleanup(kind, table[i].name, table[i].length);
      if (error == 0)
        continue;
      exit_code = 2;
      // CPython: warnings.warn('resource_tracker: %r: %s' % (name, e)), e an OSError with the name.
      const char* text = ::strerrordesc_np(error);
      TrackerWriter err;
      err.put("UserWarning: resource_tracker: ").quoted(table[i].name, table[i].length).put(": [Errno ");
      err.put(static_cast<unsigned long>(error)).put("] ").put(text != nullptr ? text : "Unknown error");
      err.put(": ").quoted(table[i].name, table[i].length).put("\n");
    }
  }
  return exit_code;
}

/** `close_range(first, last)`; false where the kernel lacks it. */
inline bool tracker_close_range(unsigned first, unsigned last) noexcept {
#ifdef SYS_close_range
  return ::syscall(SYS_close_range, first, last, 0) == 0;
#else
  static_cast<void>(first);
  static_cast<void>(last);
  return false;
#endif
}

/** Closes every descriptor from 3 up, except `a` and `b` (both at least 3, `a` < `b`). */
inline void tracker_close_others(int a, int b) noexcept {
  const auto lo = static_cast<unsigned>(a);
  const auto hi = static_cast<unsigned>(b);
  if ((lo == 3 || tracker_close_range(3, lo - 1)) && (hi == lo + 1 || tracker_close_range(lo + 1, hi - 1)) &&
      tracker_close_range(hi + 1, ~0U))
    return;
  rlimit limit{};
  int top = 65536;
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < 1048576)
    top = static_cast<int>(limit.rlim_cur);
  for (int fd = 3; fd < top; ++fd) {
    if (fd != a && fd != b)
      ::close(fd);
  }
}

/**
The tracker process: reads the pipe `input` to its end, then cleans up. Once it holds no
descriptor but `input` and stderr, it writes its pid to `ready` (and closes it), so the
program knows that the tracker keeps none of its other pipes open. Never returns.
*/
[[noreturn]] inline void tracker_main(int input, int ready) noexcept {
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  for (const int sig : {SIGINT, SIGTERM, SIGHUP, SIGPIPE})
    ::sigaction(sig, &ignore, nullptr);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);

  // Keep only the two pipes (above 2) and stderr; stdin and stdout become /dev/null (CPython
  // closes them).
  if (input < 3)
    input = ::fcntl(input, F_DUPFD, 3);
  if (ready < 3)
    ready = ::fcntl(ready, F_DUPFD, 3);
  tracker_close_others(input < ready ? input : ready, input < ready ? ready : input);
  const int null = ::open("/dev/null", O_RDWR);
  if (null >= 0) {
    ::dup2(null, 0);
    ::dup2(null, 1);
    if (::fcntl(2, F_GETFD) < 0)
      ::dup2(null, 2);
    if (null > 2)
      ::close(null);
  }
  const pid_t self = ::getpid();
  [[maybe_unused]] const ssize_t sent = ::write(ready, &self, sizeof self);
  ::close(ready);
  if (::chdir("/") != 0) {
    // stays where it was: it opens nothing by a relative path
  }

  TrackerTable table;
  int exit_code = 0;
  char chunk[4096];
  char line[tracker_message_max + 1];
  std::size_t length = 0;
  bool overlong = false;
  for (;;) {
    const ssize_t n = ::read(input, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;  // every holder of the write end is gone
    for (ssize_t i = 0; i < n; ++i) {
      const char c = chunk[i];
      if (c == '\n') {
        if (overlong || !tracker_handle_line(table, line, length))
          exit_code = 3;
        length = 0;
        overlong = false;
      } else if (length < tracker_message_max) {
        line[length++] = c;
      } else {
        overlong = true;
      }
    }
  }
  ::_exit(tracker_clean_up(table, exit_code));
}

// ---- the program's side ------------------------------------------------------------------

/** This process's view of its tree's tracker. Constant-initialised, never destroyed. */
struct ResourceTrackerState {
  InternalLock lock;
  int fd = -1;      // the write end; -1: none yet
  pid_t pid = 0;    // the tracker's pid, 0 when unknown (received from a spawning parent)
  pid_t owner = 0;  // the process that started it, which waits for it in stop_resource_tracker
};
inline constinit ResourceTrackerState resource_tracker_g{};

/** Starts a tracker; the caller holds the lock. */
inline void start_resource_tracker(ResourceTrackerState& s) {
  int data[2];
  int info[2];
  if (::pipe2(data, O_CLOEXEC) != 0)
    raise_errno(errno);
  if (::pipe2(info, O_CLOEXEC) != 0) {
    const int error = errno;
    ::close(data[0]);
    ::close(data[1]);
    raise_errno(error);
  }
  // bpo-33613: the tracker must not die of a SIGINT/SIGTERM that comes before it ignores them.
  sigset_t block;
  sigset_t old;
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  sigaddset(&block, SIGTERM);
  ::pthread_sigmask(SIG_BLOCK, &block, &old);
  const pid_t middle = ::fork();
  if (middle == 0) {
    // The short-lived process: forks the tracker and exits. The tracker reports its own pid
    // once it has closed what it inherited.
    ::close(data[1]);
    ::close(info[0]);
    if (::_Fork() == 0)
      tracker_main(data[0], info[1]);
    ::_exit(0);
  }
  const int fork_error = errno;
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  ::close(data[0]);
  ::close(info[1]);
  if (middle < 0) {
    ::close(data[1]);
    ::close(info[0]);
    raise_errno(fork_error);
  }
  pid_t tracker = -1;
  const ssize_t got = read_exact(info[0], &tracker, sizeof tracker);
  ::close(info[0]);
  int status = 0;
  while (::waitpid(middle, &status, 0) < 0 && errno == EINTR) {
  }
  if (got != static_cast<ssize_t>(sizeof tracker) || tracker <= 0) {
    ::close(data[1]);
    raise<OSError>("resource_tracker: the tracker process could not be started");
  }
  s.fd = data[1];
  s.pid = tracker;
  s.owner = ::getpid();
}

/** CPython's warning when the tracker is found dead. */
inline void warn_tracker_died() noexcept {
  static const char text[] =
      "UserWarning: resource_tracker: process died unexpectedly, relaunching.  Some resources might leak.\n";
  [[maybe_unused]] const auto n = ::write(2, text, sizeof text - 1);
}

/** Sends one line to the tracker, starting it (or a new one, if it died) as needed. */
inline void resource_tracker_send(std::string_view cmd, std::string_view name, std::string_view rtype) {
  std::string message;
  message.reserve(cmd.size() + name.size() + rtype.size() + 3);
  message.append(cmd).append(":").append(name).append(":").append(rtype).append("\n");
  if (message.size() > tracker_message_max)
    raise<ValueError>("msg too long");
  auto& s = resource_tracker_g;
  std::lock_guard hold(s.lock);
  if (s.fd < 0)
    start_resource_tracker(s);
  int error = write_all(s.fd, message.data(), message.size(), false);
  if (error == EPIPE) {
    ::close(std::exchange(s.fd, -1));
    warn_tracker_died();
    start_resource_tracker(s);
    error = write_all(s.fd, message.data(), message.size(), false);
  }
  if (error != 0)
    raise_errno(error);
}

/**
CPython's `_resource_tracker._stop()`: closes this process's end of the tracker's pipe. In the
process that started the tracker, it then waits until the tracker has exited: once every
other process of the tree has ended too, the tracker has unlinked what was left and printed
its warning by the time this returns. Blocks (the GIL is released). A later `register_`
starts a new tracker. For tests and for programs that want the cleanup done before they go on.
*/
inline void stop_resource_tracker() noexcept {
  auto& s = resource_tracker_g;
  int fd = -1;
  pid_t pid = 0;
  bool mine = false;
  {
    std::lock_guard hold(s.lock);
    fd = std::exchange(s.fd, -1);
    pid = std::exchange(s.pid, 0);
    mine = std::exchange(s.owner, 0) == ::getpid();
  }
  if (fd < 0)
    return;
  const int pidfd = mine && pid > 0 ? pidfd_open(pid) : -1;
  ::close(fd);
  if (pidfd >= 0) {
    wait_fd(pidfd, Deadline::forever());
    ::close(pidfd);
  }
}

/** Raises the error CPython's tracker reports for a resource type it cannot clean. */
inline void check_tracker_rtype(std::string_view name, std::string_view rtype) {
  if (rtype != "shared_memory" && rtype != "semaphore") {
    raise<ValueError>("Cannot register " + std::string(name) + " for automatic cleanup: unknown resource type " +
                      std::string(rtype));
  }
}

/** A spawned child's tracker: the write end its parent passed (kept unless it has one already). */
inline void adopt_resource_tracker(int fd) noexcept {
  auto& s = resource_tracker_g;
  std::lock_guard hold(s.lock);
  if (s.fd >= 0) {
    if (fd != s.fd)
      ::close(fd);
    return;
  }
  s.fd = fd;
  s.pid = 0;
  s.owner = 0;
}

/** The tracker's write end, for a child being spawned (-1: no tracker). */
inline int resource_tracker_fd_for_child() noexcept {
  auto& s = resource_tracker_g;
  std::lock_guard hold(s.lock);
  return s.fd;
}

/** Every spawned child of a program that includes this header shares its parent's tracker. */
inline const bool resource_tracker_inherited = [] {
  spawn_inheritance_g.current.store(&resource_tracker_fd_for_child);
  spawn_inheritance_g.adopt.store(&adopt_resource_tracker);
  return true;
}();

}  // namespace detail

namespace multiprocessing {
namespace resource_tracker {

/**
Python: `resource_tracker.ensure_running()`: makes sure this process tree's tracker runs. A
tracker found dead (its pipe broken) is replaced, with CPython's warning "resource_tracker:
process died unexpectedly, relaunching.  Some resources might leak.". Raises `OSError` when
no process can be started.
*/
inline void ensure_running() {
  auto& s = pyconc::detail::resource_tracker_g;
  std::lock_guard hold(s.lock);
  if (s.fd >= 0) {
    static constexpr char probe[] = "PROBE:0:noop\n";
    if (pyconc::detail::write_all(s.fd, probe, sizeof probe - 1, false) == 0)
      return;
    ::close(std::exchange(s.fd, -1));
    pyconc::detail::warn_tracker_died();
  }
  pyconc::detail::start_resource_tracker(s);
}

/** Python: `resource_tracker.getfd()`: the write end of the tracker's pipe (started if needed). */
[[nodiscard]] inline int getfd() {
  auto& s = pyconc::detail::resource_tracker_g;
  std::lock_guard hold(s.lock);
  if (s.fd < 0)
    pyconc::detail::start_resource_tracker(s);
  return s.fd;
}

/**
Python: `resource_tracker.register(name, rtype)` (`register` is a C++ keyword): the tracker
unlinks `name` when the process tree ends, unless it is unregistered first. `rtype` is
`"shared_memory"` (`name` as `shm_open` takes it, with its leading slash) or `"semaphore"`.
Raises `ValueError("msg too long")` for a name of more than about 480 characters.
*/
inline void register_(std::string_view name, std::string_view rtype) {
  pyconc::detail::check_tracker_rtype(name, rtype);
  pyconc::detail::resource_tracker_send("REGISTER", name, rtype);
}

/** Python: `resource_tracker.unregister(name, rtype)`. */
inline void unregister(std::string_view name, std::string_view rtype) {
  pyconc::detail::check_tracker_rtype(name, rtype);
  pyconc::detail::resource_tracker_send("UNREGISTER", name, rtype);
}

}  // namespace resource_tracker
}  // namespace multiprocessing
}  // namespace v0
}  // namespace pyconc

#endif  // PYCONC_MULTIPROCESSING_RESOURCE_TRACKER_HPP_INCLUDED
