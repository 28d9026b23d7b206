// SPDX-License-Identifier: MIT
// Tests of pyconc::detail::wait_fd: waiting on file descriptors with a deadline, the wait
// beside wait_on that processes use (pipes, sockets, pidfds).
#include <pyconc/detail/wait.hpp>

#include <catch2/catch.hpp>

#include <poll.h>    // POLLIN, POLLHUP
#include <unistd.h>  // pipe, write, close

#include <thread>  // std::thread

#include "support.hpp"

using pyconc::detail::Deadline;

namespace {

struct Pipe {
  int fds[2] = {-1, -1};
  Pipe() { REQUIRE(::pipe(fds) == 0); }
  ~Pipe() {
    for (int fd : fds) {
      if (fd >= 0)
        ::close(fd);
    }
  }
  void write_byte() const { REQUIRE(::write(fds[1], "x", 1) == 1); }
};

}  // namespace

TEST_CASE("wait_fd times out on a descriptor that never becomes ready", "[detail][wait_fd]") {
  Pipe p;
  pyconc_test::Stopwatch clock;
  REQUIRE(pyconc::detail::wait_fd(p.fds[0], Deadline::after(0.05)) == 0);
  REQUIRE_TIMING(clock.elapsed(), 0.05);
}

TEST_CASE("wait_fd with a past deadline polls once", "[detail][wait_fd]") {
  Pipe p;
  REQUIRE(pyconc::detail::wait_fd(p.fds[0], Deadline::after(0)) == 0);
  p.write_byte();
  REQUIRE((pyconc::detail::wait_fd(p.fds[0], Deadline::after(0)) & POLLIN) != 0);
}

TEST_CASE("wait_fd returns when another thread writes", "[detail][wait_fd]") {
  Pipe p;
  short revents = 0;
  std::thread reader([&] { revents = pyconc::detail::wait_fd(p.fds[0], Deadline::after(10.0)); });
  p.write_byte();
  reader.join();
  REQUIRE((revents & POLLIN) != 0);
}

TEST_CASE("wait_fd reports a closed write end as POLLHUP", "[detail][wait_fd]") {
  Pipe p;
  ::close(p.fds[1]);
  p.fds[1] = -1;
  REQUIRE((pyconc::detail::wait_fd(p.fds[0], Deadline::forever()) & POLLHUP) != 0);
}

TEST_CASE("wait_fd over several descriptors says which are ready", "[detail][wait_fd]") {
  Pipe a;
  Pipe b;
  b.write_byte();
  pollfd fds[2] = {{a.fds[0], POLLIN, 0}, {b.fds[0], POLLIN, 0}};
  REQUIRE(pyconc::detail::wait_fd(fds, 2, Deadline::after(1.0)) == 1);
  REQUIRE(fds[0].revents == 0);
  REQUIRE((fds[1].revents & POLLIN) != 0);
}
