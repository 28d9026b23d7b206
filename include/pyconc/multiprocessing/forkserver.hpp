// SPDX-License-Identifier: MIT
/**
`pyconc/multiprocessing/forkserver.hpp` — the forkserver start method (Python's
`multiprocessing.forkserver`).

The first forkserver `Process::start()` of a program starts the server: a fresh run of the
program's executable (as spawn starts one) whose `freeze_support()` runs the server loop.
The server is single-threaded, so it can fork safely whatever the parent's threads do.

For each child, the parent makes a socket pair, sends one end to the server over the control
socket (`SCM_RIGHTS`) and the child's call (as spawn's) down its own end. The server forks;
the new child reads its call from that socket and runs it. The server sends back the child's
pid and a pidfd for it (`SCM_RIGHTS`), and when the child ends (its pidfd becomes readable),
the exit code as 4 bytes; so the parent's end of the pair is the child's `sentinel()`, and
`terminate()`/`kill()` signal through the pidfd. A server that vanishes gives exit code 255,
as CPython's.

The server ends when the parent closes the control socket: in the parent's exit sequence
(after the children are joined), or when the parent dies. A child forked from the parent
(fork start method) does not share it: it starts its own server if it needs one.

The server ignores SIGINT (a Ctrl-C meant for the program does not kill it); its children
restore the default, as in CPython.
*/
#ifndef PYCONC_MULTIPROCESSING_FORKSERVER_HPP_INCLUDED
#define PYCONC_MULTIPROCESSING_FORKSERVER_HPP_INCLUDED

#include <pyconc/multiprocessing/process.hpp>

#include <cerrno>   // errno
#include <cstdint>  // std::uint32_t, std::uint64_t
#include <cstdlib>  // std::exit
#include <cstring>  // std::memcpy
#include <mutex>    // std::lock_guard
#include <string>   // std::string
#include <vector>   // std::vector

#include <poll.h>        // pollfd, ppoll
#include <sys/socket.h>  // socketpair, sendmsg, recvmsg, SCM_RIGHTS
#include <unistd.h>      // fork
#include <csignal>       // std::signal, SIGINT

#include <pyconc/detail/fd.hpp>
#include <pyconc/detail/fork_gate.hpp>
#include <pyconc/detail/lifecycle.hpp>
#include <pyconc/detail/wait.hpp>
#include <pyconc/errors.hpp>

namespace pyconc {
inline namespace v0 {
namespace detail {

/** The most descriptors one message carries (Linux's SCM_MAX_FD). */
inline constexpr std::size_t max_fds_per_message = 253;

/** Sends `size` bytes and the descriptors `fds` with them (at most 253). Returns 0 or an errno. */
inline int send_with_fds(int socket, const void* data, std::size_t size, const std::vector<int>& fds) noexcept {
  iovec io{const_cast<void*>(data), size};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * max_fds_per_message)] = {};
  msghdr msg{};
  msg.msg_iov = &io;
  msg.msg_iovlen = 1;
  if (fds.size() > max_fds_per_message)
    return EINVAL;
  if (!fds.empty()) {
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
  }
  for (;;) {
    const ssize_t n = ::sendmsg(socket, &msg, MSG_NOSIGNAL);
    if (n == static_cast<ssize_t>(size))
      return 0;
    if (n < 0 && errno == EINTR)
      continue;
    return n < 0 ? errno : EIO;
  }
}

/** `send_with_fds` of one descriptor, or none when `fd < 0`. */
inline int send_with_fd(int socket, const void* data, std::size_t size, int fd) noexcept {
  return fd >= 0 ? send_with_fds(socket, data, size, std::vector<int>{fd})
                 : send_with_fds(socket, data, size, std::vector<int>{});
}

/**
Receives exactly `size` bytes (one message of a stream socket) and the descriptors sent with
them, if any (close-on-exec, appended to `fds`). Returns the count received (0 at end of
stream), or -1.
*/
inline ssize_t receive_with_fds(int socket, void* data, std::size_t size, std::vector<Fd>& fds) noexcept {
  iovec io{data, size};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * max_fds_per_message)] = {};
  msghdr msg{};
  msg.msg_iov = &io;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n = 0;
  for (;;) {
    n = ::recvmsg(socket, &msg, MSG_CMSG_CLOEXEC);
    if (n >= 0 || errno != EINTR)
      break;
  }
  if (n <= 0)
    return n;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      const std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (std::size_t i = 0; i < count; ++i) {
        int received = -1;
        std::memcpy(&received, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
        fds.emplace_back(received);
      }
    }
  }
  if (static_cast<std::size_t>(n) < size) {
    const ssize_t rest = read_exact(socket, static_cast<char*>(data) + n, size - static_cast<std::size_t>(n));
    if (rest < 0)
      return -1;
    n += rest;
  }
  return n;
}

/** `receive_with_fds` expecting at most one descriptor, into `fd`. */
inline ssize_t receive_with_fd(int socket, void* data, std::size_t size, Fd& fd) noexcept {
  std::vector<Fd> fds;
  const ssize_t n = receive_with_fds(socket, data, size, fds);
  if (!fds.empty())
    fd = std::move(fds.front());
  return n;
}

/** This process's forkserver: the control socket and the server's pidfd. */
struct ForkServer {
  InternalLock lock;
  Fd control;
  Fd pidfd;
};
inline ForkServer& forkserver() {
  static ForkServer* const s = new ForkServer;  // never deleted: stopped in the exit sequence
  return *s;
}

/** In a child made by fork: the parent's server is not this process's. */
inline void forget_forkserver_in_child() noexcept {
  auto& s = forkserver();
  s.control.reset();
  s.pidfd.reset();
}

inline void stop_forkserver() noexcept {
  auto& s = forkserver();
  Fd pidfd;
  {
    std::lock_guard hold(s.lock);
    if (!s.control)
      return;
    s.control.reset();  // the server sees the end of the stream and exits
    pidfd = std::move(s.pidfd);
  }
  wait_fd(pidfd.get(), Deadline::forever());
  wait_child(pidfd.get(), false);
}

/** Starts the server unless it runs. With `s.lock` held. */
inline void ensure_forkserver(ForkServer& s) {
  if (s.control && wait_fd(s.pidfd.get(), Deadline::after(0.0)) == 0)
    return;
  if (s.pidfd)
    wait_child(s.pidfd.get(), false);  // it ended: reap it before starting another
  s.control.reset();
  s.pidfd.reset();
  static const bool hooked = [] {
    on_fork(ForkPhase::processes, {.child = &forget_forkserver_in_child});
    return true;
  }();
  static_cast<void>(hooked);
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0)
    raise_errno(errno);
  Fd mine(pair[0]);
  Fd theirs(pair[1]);
  pid_t pid = 0;
  s.pidfd = spawn_self("--multiprocessing-forkserver", theirs.get(), {}, pid);
  s.control = std::move(mine);
}

inline void start_forkserver_child(ProcessState& state, const std::string& payload, const std::vector<int>& fds) {
  auto& s = forkserver();
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0)
    raise_errno(errno);
  Fd mine(pair[0]);
  Fd theirs(pair[1]);
  {
    std::lock_guard hold(s.lock);
    ensure_forkserver(s);
    const char request = 'F';
    if (const int error = send_with_fd(s.control.get(), &request, 1, theirs.get()); error != 0)
      raise_errno(error);
  }
  theirs.reset();
  send_payload(mine.get(), payload, true);
  // The descriptors of the Connections among the arguments, for the child (always one message).
  const char marker = 'D';
  if (const int error = send_with_fds(mine.get(), &marker, 1, fds); error != 0)
    raise_errno(error);
  unsigned char reply[8];
  Fd pidfd;
  ssize_t n = 0;
  {
    BlockingRegion region;  // the server answers at once, but never wait holding the GIL
    n = receive_with_fd(mine.get(), reply, sizeof reply, pidfd);
  }
  if (n != static_cast<ssize_t>(sizeof reply) || !pidfd)
    raise<OSError>("the forkserver did not start the process");
  std::uint64_t pid = 0;
  for (int i = 7; i >= 0; --i)
    pid = (pid << 8) | reply[i];
  std::lock_guard hold(state.lock);
  state.pid = static_cast<long>(pid);
  state.sentinel = std::move(mine);
  state.pidfd = std::move(pidfd);
  state.forkserver_child = true;
  state.status = ProcessState::Status::started;
}

/** In a child forked by the server: reads its call from `fd` and runs it. */
[[noreturn]] inline void forkserver_child(int fd) {
  std::signal(SIGINT, SIG_DFL);
  const std::string payload = receive_payload(fd);
  char marker = 0;
  std::vector<Fd> received;
  receive_with_fds(fd, &marker, 1, received);
  ::close(fd);
  std::vector<int> fds;
  for (Fd& f : received)
    fds.push_back(f.release());
  std::exit(run_spawn_payload(payload, std::move(fds)));
}

[[noreturn]] inline void forkserver_main(int control_fd) {
  std::signal(SIGINT, SIG_IGN);
  struct Child {
    pid_t pid;
    Fd pidfd;
    Fd status;  // the server's copy of the parent's sentinel socket
  };
  std::vector<Child> children;
  std::vector<pollfd> fds;
  for (;;) {
    fds.assign(1, pollfd{control_fd, POLLIN, 0});
    for (const Child& c : children)
      fds.push_back(pollfd{c.pidfd.get(), POLLIN, 0});
    if (::ppoll(fds.data(), fds.size(), nullptr, nullptr) < 0) {
      if (errno == EINTR)
        continue;
      break;
    }
    // Children that ended: their exit code goes to the parent, little-endian.
    for (std::size_t i = fds.size(); i-- > 1;) {
      if (fds[i].revents == 0)
        continue;
      Child& c = children[i - 1];
      const int code = wait_child(c.pidfd.get(), false);
      if (code <= -1000)
        continue;
      const auto u = static_cast<std::uint32_t>(code);
      const unsigned char word[4] = {static_cast<unsigned char>(u), static_cast<unsigned char>(u >> 8),
                                     static_cast<unsigned char>(u >> 16), static_cast<unsigned char>(u >> 24)};
      write_all(c.status.get(), word, sizeof word, true);
      children.erase(children.begin() + static_cast<std::ptrdiff_t>(i - 1));
    }
    if (fds[0].revents == 0)
      continue;
    char request = 0;
    Fd status;
    if (receive_with_fd(control_fd, &request, 1, status) <= 0)
      break;  // the parent closed the control socket (or died)
    if (!status)
      continue;
    std::fflush(nullptr);
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::close(control_fd);
      for (Child& c : children) {
        c.pidfd.reset();
        c.status.reset();
      }
      forkserver_child(status.release());
    }
    if (pid < 0)
      continue;  // the parent's sentinel gets the end of the stream: exit code 255
    Fd pidfd(pidfd_open(pid));
    unsigned char reply[8];
    auto p = static_cast<std::uint64_t>(pid);
    for (unsigned char& b : reply) {
      b = static_cast<unsigned char>(p & 0xff);
      p >>= 8;
    }
    send_with_fd(status.get(), reply, sizeof reply, pidfd.get());
    children.push_back(Child{pid, std::move(pidfd), std::move(status)});
  }
  // The parent is gone: the children go on (as CPython's); this process ends without waiting.
  ::_exit(0);
}

}  // namespace detail
}  // namespace v0
}  // namespace pyconc

#endif  // PYCONC_MULTIPROCESSING_FORKSERVER_HPP_INCLUDED
