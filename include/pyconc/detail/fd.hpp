// SPDX-License-Identifier: MIT
/**
`pyconc/detail/fd.hpp` — file descriptors, as multiprocessing uses them.

Defines:
- `detail::Fd`                   an owned file descriptor (closed by its destructor).
- `detail::write_all`            writes a whole buffer; never raises SIGPIPE (an error instead).
- `detail::read_some`, `read_exact`   reads, resuming after `EINTR`.
- `detail::pidfd_open`, `pidfd_send_signal`, `wait_child`   a child process through its pidfd.
- `detail::InheritedFds`, `inherited_fds`   descriptors passed to a spawned child with its
                                            arguments (a `Connection` pickles as an index here).
- `detail::SpawnInheritance`     a descriptor every spawned child receives (the resource tracker).

Every descriptor pyconc opens is `O_CLOEXEC`. Nothing here changes a signal disposition:
a write to a pipe whose reader is gone blocks `SIGPIPE` in the calling thread for the
duration of the write and consumes the signal it raised, so the program's own `SIGPIPE`
handling (default, ignored or a handler) is untouched.
*/
#ifndef PYCONC_DETAIL_FD_HPP_INCLUDED
#define PYCONC_DETAIL_FD_HPP_INCLUDED

#include <atomic>   // std::atomic
#include <cerrno>   // errno, EINTR, EPIPE, EAGAIN
#include <cstddef>  // std::size_t, std::byte
#include <ctime>    // timespec
#include <utility>  // std::exchange
#include <vector>   // std::vector

#include <pthread.h>      // pthread_sigmask
#include <sys/socket.h>   // send, MSG_NOSIGNAL
#include <sys/stat.h>     // fstat, S_ISSOCK
#include <sys/syscall.h>  // SYS_pidfd_open, SYS_pidfd_send_signal
#include <sys/wait.h>     // waitid, siginfo_t, WEXITED
#include <unistd.h>       // read, write, close
#include <csignal>        // sigset_t, sigtimedwait, SIGPIPE

namespace pyconc {
inline namespace v0 {
namespace detail {

/** An owned file descriptor: -1 or open; closed by the destructor. Movable, not copyable. */
class Fd {
 public:
  Fd() noexcept = default;
  explicit Fd(int fd) noexcept : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }

  [[nodiscard]] int get() const noexcept { return fd_; }
  [[nodiscard]] explicit operator bool() const noexcept { return fd_ >= 0; }
  /** Gives up ownership. */
  [[nodiscard]] int release() noexcept { return std::exchange(fd_, -1); }
  /** Closes the descriptor (if open). `close` is not retried after `EINTR`: Linux has closed it. */
  void reset(int fd = -1) noexcept {
    if (fd_ >= 0)
      ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

/**
Descriptors that cross into a spawned or forkserver child with its arguments. While the parent
pickles the arguments, `collect` gathers the descriptors of the `Connection`s among them (each
pickles as its index there); while the child unpickles them, `table` holds the descriptors it
received, in the same order (an entry is -1 once taken). Per thread.
*/
struct InheritedFds {
  std::vector<int>* collect = nullptr;
  std::vector<int>* table = nullptr;
};
inline InheritedFds& inherited_fds() noexcept {
  thread_local InheritedFds fds;
  return fds;
}

/**
A descriptor that every spawned or forkserver child receives beside its arguments, whatever
they are: the process tree's resource tracker (multiprocessing/resource_tracker.hpp), which
registers both functions when a program includes it. `current` gives the parent's descriptor
(-1: none); `adopt` gives the child its copy.
*/
struct SpawnInheritance {
  std::atomic<int (*)() noexcept> current{nullptr};
  std::atomic<void (*)(int) noexcept> adopt{nullptr};
};
inline constinit SpawnInheritance spawn_inheritance_g{};

/** Whether `fd` is a socket (then `send(MSG_NOSIGNAL)` writes without `SIGPIPE`). */
[[nodiscard]] inline bool is_socket(int fd) noexcept {
  struct stat st {};
  return ::fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

/**
Writes `size` bytes of `data` to `fd`, resuming after `EINTR` and short writes. Returns 0, or
the `errno` of the failed write (`EPIPE` when the reader is gone: no `SIGPIPE` reaches the
program). `socket`: `fd` is a socket. Blocks.
*/
inline int write_all(int fd, const void* data, std::size_t size, bool socket) noexcept {
  const auto* p = static_cast<const char*>(data);
  sigset_t pipe_only;
  sigset_t old_mask;
  bool masked = false;
  if (!socket) {
    // A pipe has no MSG_NOSIGNAL: block SIGPIPE in this thread while writing.
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    masked = ::pthread_sigmask(SIG_BLOCK, &pipe_only, &old_mask) == 0;
  }
  int error = 0;
  while (size > 0) {
    const ssize_t n = socket ? ::send(fd, p, size, MSG_NOSIGNAL) : ::write(fd, p, size);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      error = errno;
      break;
    }
    p += n;
    size -= static_cast<std::size_t>(n);
  }
  if (masked) {
    if (error == EPIPE && sigismember(&old_mask, SIGPIPE) == 0) {
      // Take the SIGPIPE this write raised, so that unblocking does not deliver it. (Had the
      // thread blocked SIGPIPE itself, the signal stays pending for it, as without pyconc.)
      const timespec zero{0, 0};
      while (::sigtimedwait(&pipe_only, nullptr, &zero) < 0 && errno == EINTR) {
      }
    }
    ::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  }
  return error;
}

/** One `read`, resumed after `EINTR`: the count read (0 at end of file), or -1 with `errno`. */
inline ssize_t read_some(int fd, void* data, std::size_t size) noexcept {
  for (;;) {
    const ssize_t n = ::read(fd, data, size);
    if (n >= 0 || errno != EINTR)
      return n;
  }
}

/**
Reads exactly `size` bytes. Returns `size`, or fewer when the end of file came first (the
count read), or -1 with `errno` on an error. Blocks.
*/
inline ssize_t read_exact(int fd, void* data, std::size_t size) noexcept {
  auto* p = static_cast<char*>(data);
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n = read_some(fd, p + done, size - done);
    if (n < 0)
      return -1;
    if (n == 0)
      break;
    done += static_cast<std::size_t>(n);
  }
  return static_cast<ssize_t>(done);
}

/** `pidfd_open(pid, 0)`: a close-on-exec descriptor for process `pid`, or -1 with `errno`. */
[[nodiscard]] inline int pidfd_open(pid_t pid) noexcept {
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
}

/** `pidfd_send_signal`: 0, or -1 with `errno` (`ESRCH` once the process has been reaped). */
inline int pidfd_send_signal(int pidfd, int signal) noexcept {
  return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, signal, nullptr, 0));
}

#ifndef P_PIDFD
#define PYCONC_P_PIDFD static_cast<idtype_t>(3)  // Linux 5.4; older glibc headers lack the name
#else
#define PYCONC_P_PIDFD P_PIDFD
#endif

/**
Reaps the child behind `pidfd` if it has ended (`block`: waits until it has). Returns
CPython's exit code (the status, or -N for signal N), or -1000 when it has not ended yet,
or -1001 with `errno` on an error. A caller holding the GIL must not block here: wait for
the pidfd to be readable (`wait_fd`) first.
*/
inline int wait_child(int pidfd, bool block) noexcept {
  siginfo_t info{};
  for (;;) {
    const int rc = ::waitid(PYCONC_P_PIDFD, static_cast<id_t>(pidfd), &info, WEXITED | (block ? 0 : WNOHANG));
    if (rc == 0)
      break;
    if (errno != EINTR)
      return -1001;
  }
  if (info.si_pid == 0)
    return -1000;
  if (info.si_code == CLD_EXITED)
    return info.si_status;
  return -info.si_status;  // CLD_KILLED, CLD_DUMPED
}

}  // namespace detail
}  // namespace v0
}  // namespace pyconc

#endif  // PYCONC_DETAIL_FD_HPP_INCLUDED
