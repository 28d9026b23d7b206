// SPDX-License-Identifier: MIT
// multiprocessing.Pipe and Connection, after CPython's _test_multiprocessing.py
// (_TestConnection, TestWait) and the semantics reference (§1.4, §2.4): framing, message
// boundaries, every misuse message, end of stream, broken pipes without SIGPIPE, polling,
// connection::wait, and the wire format against a real CPython process.
#include <pyconc/concurrent/futures.hpp>
#include <pyconc/multiprocessing.hpp>
#include <pyconc/time.hpp>

#include "multiprocessing/process_support.hpp"
#include "support.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <map>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

extern char** environ;

namespace mp = pyconc::multiprocessing;
// Pipe ends are taken as two named handles, not a structured binding: clang 14 cannot
// capture structured bindings in lambdas (C++20 allows it; clang 16 does).
using pyconc_test::ProcessGuard;

TEST_CASE("Pipe(): duplex ends send and receive objects both ways", "[connection]") {
  const auto pipe1 = mp::Pipe();
  mp::Connection a = pipe1.first, b = pipe1.second;
  CHECK(a.readable());
  CHECK(a.writable());
  CHECK_FALSE(a.closed());
  a.send(std::map<std::string, int>{{"x", 1}, {"y", 2}});
  CHECK(b.recv<std::map<std::string, int>>() == std::map<std::string, int>{{"x", 1}, {"y", 2}});
  b.send(std::tuple{1, 2.5, std::string("three")});
  CHECK(a.recv<std::tuple<int, double, std::string>>() == std::tuple{1, 2.5, std::string("three")});
  CHECK(::fcntl(a.fileno(), F_GETFD) == FD_CLOEXEC);
}

TEST_CASE("messages keep their boundaries (test_dont_merge)", "[connection]") {
  const auto pipe2 = mp::Pipe();
  mp::Connection a = pipe2.first, b = pipe2.second;
  a.send_bytes("");
  a.send_bytes("a");
  a.send_bytes("bc");
  std::vector<char> v{'x', 'y', 'z'};
  a.send_bytes(v);
  CHECK(b.recv_bytes().empty());
  CHECK(b.recv_bytes() == "a");
  CHECK(b.recv_bytes() == "bc");
  CHECK(b.recv_bytes() == "xyz");
  CHECK_FALSE(b.poll());
}

TEST_CASE("Pipe(false): a read-only end and a write-only end", "[connection]") {
  const auto pipe3 = mp::Pipe(false);
  mp::Connection reader = pipe3.first, writer = pipe3.second;
  CHECK(reader.readable());
  CHECK_FALSE(reader.writable());
  CHECK_FALSE(writer.readable());
  CHECK(writer.writable());
  REQUIRE_RAISES(reader.send(1), pyconc::OSError, "connection is read-only");
  REQUIRE_RAISES(reader.send_bytes("x"), pyconc::OSError, "connection is read-only");
  REQUIRE_RAISES(writer.recv<int>(), pyconc::OSError, "connection is write-only");
  REQUIRE_RAISES(writer.recv_bytes(), pyconc::OSError, "connection is write-only");
  REQUIRE_RAISES(static_cast<void>(writer.poll()), pyconc::OSError, "connection is write-only");
  writer.send(17);
  CHECK(reader.recv<int>() == 17);
}

TEST_CASE("send_bytes(buf, offset, size) sends a slice, bad offsets and sizes raise ValueError", "[connection]") {
  const auto pipe4 = mp::Pipe();
  mp::Connection a = pipe4.first, b = pipe4.second;
  const std::string msg = "0123456789";
  a.send_bytes(msg, 3);
  a.send_bytes(msg, 2, 4);
  a.send_bytes(msg, 10);
  a.send_bytes(msg, 0, 0);
  CHECK(b.recv_bytes() == "3456789");
  CHECK(b.recv_bytes() == "2345");
  CHECK(b.recv_bytes().empty());
  CHECK(b.recv_bytes().empty());
  REQUIRE_RAISES(a.send_bytes(msg, -1), pyconc::ValueError, "offset is negative");
  REQUIRE_RAISES(a.send_bytes(msg, 11), pyconc::ValueError, "buffer length < offset");
  REQUIRE_RAISES(a.send_bytes(msg, 0, -1), pyconc::ValueError, "size is negative");
  REQUIRE_RAISES(a.send_bytes(msg, 5, 6), pyconc::ValueError, "buffer length < offset + size");
  CHECK_FALSE(b.poll());
}

TEST_CASE("recv_bytes(maxlength): a longer message is 'bad message length' and the end becomes unreadable",
          "[connection]") {
  SECTION("duplex: write-only afterwards") {
    const auto pipe5 = mp::Pipe();
    mp::Connection a = pipe5.first, b = pipe5.second;
    a.send_bytes("abcdef");
    REQUIRE_RAISES(b.recv_bytes(-1), pyconc::ValueError, "negative maxlength");
    REQUIRE_RAISES(b.recv_bytes(3), pyconc::OSError, "bad message length");
    REQUIRE_RAISES(b.recv_bytes(), pyconc::OSError, "connection is write-only");
    CHECK_FALSE(b.readable());
    b.send_bytes("still writable");
    CHECK(a.recv_bytes() == "still writable");
  }
  SECTION("read-only end: closed afterwards") {
    const auto pipe6 = mp::Pipe(false);
    mp::Connection reader = pipe6.first, writer = pipe6.second;
    writer.send_bytes("abcdef");
    CHECK(reader.recv_bytes(6) == "abcdef");
    writer.send_bytes("abcdef");
    REQUIRE_RAISES(reader.recv_bytes(5), pyconc::OSError, "bad message length");
    CHECK(reader.closed());
    REQUIRE_RAISES(reader.recv_bytes(), pyconc::OSError, "handle is closed");
  }
}

TEST_CASE("recv_bytes_into: into a buffer at an offset, BufferTooShort carries a message that does not fit",
          "[connection]") {
  const auto pipe7 = mp::Pipe();
  mp::Connection a = pipe7.first, b = pipe7.second;
  std::array<char, 8> buf{};
  a.send_bytes("abc");
  CHECK(b.recv_bytes_into(buf, 2) == 3);
  CHECK(std::string(buf.data(), 5) == std::string("\0\0abc", 5));
  a.send_bytes("0123456789");
  try {
    b.recv_bytes_into(buf);
    FAIL("no BufferTooShort");
  } catch (const mp::BufferTooShort& e) {
    CHECK(e.message() == "0123456789");
    CHECK(std::string(e.what()) == "b'0123456789'");
    CHECK(e.repr() == "BufferTooShort(b'0123456789')");
  }
  REQUIRE_RAISES(b.recv_bytes_into(buf, -1), pyconc::ValueError, "negative offset");
  REQUIRE_RAISES(b.recv_bytes_into(buf, 9), pyconc::ValueError, "offset too large");
  a.send_bytes("next");  // the connection is still usable
  std::vector<unsigned char> v(4);
  CHECK(b.recv_bytes_into(v) == 4);
  CHECK(std::string(v.begin(), v.end()) == "next");
}

TEST_CASE("the end of the stream: EOFError once the peer is closed and nothing is left", "[connection]") {
  const auto pipe8 = mp::Pipe();
  mp::Connection a = pipe8.first, b = pipe8.second;
  a.send(5);
  a.close();
  CHECK(b.poll());
  CHECK(b.recv<int>() == 5);
  CHECK(b.poll());  // the end of the stream is ready too
  REQUIRE_RAISES(b.recv<int>(), pyconc::EOFError, "");
  REQUIRE_RAISES(b.recv_bytes(), pyconc::EOFError, "");
}

TEST_CASE("a closed connection raises 'handle is closed' for everything, close() is idempotent", "[connection]") {
  const auto pipe9 = mp::Pipe();
  mp::Connection a = pipe9.first, b = pipe9.second;
  auto copy = a;
  a.close();
  a.close();
  CHECK(a.closed());
  CHECK(copy.closed());  // handles share the end
  REQUIRE_RAISES(a.send(1), pyconc::OSError, "handle is closed");
  REQUIRE_RAISES(a.send_bytes("x"), pyconc::OSError, "handle is closed");
  REQUIRE_RAISES(a.recv<int>(), pyconc::OSError, "handle is closed");
  REQUIRE_RAISES(a.recv_bytes(), pyconc::OSError, "handle is closed");
  REQUIRE_RAISES(static_cast<void>(a.poll()), pyconc::OSError, "handle is closed");
  REQUIRE_RAISES(static_cast<void>(a.fileno()), pyconc::OSError, "handle is closed");
  std::array<char, 4> buf{};
  REQUIRE_RAISES(a.recv_bytes_into(buf), pyconc::OSError, "handle is closed");
}

TEST_CASE("a send whose reader is gone raises BrokenPipeError, SIGPIPE is neither raised nor changed", "[connection]") {
  struct sigaction before {};
  ::sigaction(SIGPIPE, nullptr, &before);
  REQUIRE(before.sa_handler == SIG_DFL);  // a SIGPIPE would kill this test
  SECTION("socket pair") {
    const auto pipe10 = mp::Pipe();
    mp::Connection a = pipe10.first, b = pipe10.second;
    b.close();
    CHECK_THROWS_AS(a.send_bytes(std::string(100000, 'x')), pyconc::BrokenPipeError);
    CHECK_THROWS_AS(a.send(1), pyconc::BrokenPipeError);
  }
  SECTION("OS pipe") {
    const auto pipe11 = mp::Pipe(false);
    mp::Connection reader = pipe11.first, writer = pipe11.second;
    reader.close();
    CHECK_THROWS_AS(writer.send_bytes("x"), pyconc::BrokenPipeError);
    CHECK_THROWS_AS(writer.send_bytes(std::string(100000, 'x')), pyconc::BrokenPipeError);
    sigset_t pending;
    sigpending(&pending);
    CHECK_FALSE(sigismember(&pending, SIGPIPE));
  }
  struct sigaction after {};
  ::sigaction(SIGPIPE, nullptr, &after);
  CHECK(after.sa_handler == SIG_DFL);
}

TEST_CASE("poll(timeout): waits at most the timeout, poll() does not wait, poll(std::nullopt) waits", "[connection]") {
  const auto pipe12 = mp::Pipe();
  mp::Connection a = pipe12.first, b = pipe12.second;
  CHECK_FALSE(b.poll());
  CHECK_FALSE(b.poll(-1));
  pyconc_test::Stopwatch watch;
  CHECK_FALSE(b.poll(0.2));
  REQUIRE_TIMING(watch.elapsed(), 0.2);
  std::thread sender([a = a] {
    pyconc::time::sleep(0.1);
    a.send(3);
  });
  CHECK(b.poll(std::nullopt));
  CHECK(b.poll(0.0));
  CHECK(b.recv<int>() == 3);
  sender.join();
}

TEST_CASE("large messages: above 16 KiB and several MiB arrive whole", "[connection]") {
  const auto pipe13 = mp::Pipe();
  mp::Connection a = pipe13.first, b = pipe13.second;
  std::string big(5 << 20, '\0');
  for (std::size_t i = 0; i < big.size(); ++i)
    big[i] = static_cast<char>(i * 7);
  std::thread sender([a = a, &big] {
    a.send_bytes(big);
    a.send(std::vector<double>(100000, 1.5));
  });
  CHECK(b.recv_bytes() == big);
  CHECK(b.recv<std::vector<double>>() == std::vector<double>(100000, 1.5));
  sender.join();
}

TEST_CASE("hostile bytes raise UnpicklingError and the connection stays usable", "[connection]") {
  const auto pipe14 = mp::Pipe();
  mp::Connection a = pipe14.first, b = pipe14.second;
  a.send_bytes("not a pickle at all");
  CHECK_THROWS_AS(b.recv<int>(), pyconc::pickle::UnpicklingError);
  a.send(std::string("a string"));
  CHECK_THROWS_AS(b.recv<int>(), pyconc::pickle::UnpicklingError);  // another type
  a.send(42);
  CHECK(b.recv<int>() == 42);
}

TEST_CASE("connection::wait returns the ready connections and sentinels, in order, timeouts", "[connection]") {
  ProcessGuard guard;
  const auto pipe15 = mp::Pipe();
  mp::Connection a1 = pipe15.first, b1 = pipe15.second;
  const auto pipe16 = mp::Pipe();
  mp::Connection a2 = pipe16.first, b2 = pipe16.second;
  CHECK(mp::connection::wait({b1, b2}, 0.05).empty());
  CHECK(mp::connection::wait({b1, b2}, -1).empty());
  a2.send(1);
  auto ready = mp::connection::wait({b1, b2});
  REQUIRE(ready.size() == 1);
  CHECK(ready[0] == b2);
  a1.send(2);
  CHECK(mp::connection::wait({b1, b2}, 1).size() == 2);

  mp::Process p([] {});
  p.start();
  std::vector<mp::connection::Waitable> objects{b1, p.sentinel()};
  static_cast<void>(b1.recv<int>());
  const auto r = mp::connection::wait(objects, 10);
  REQUIRE(r.size() == 1);
  CHECK(std::get<int>(r[0]) == p.sentinel());
  p.join();
}

TEST_CASE("a child process sends on a pipe and the parent receives", "[connection]") {
  ProcessGuard guard;
  const auto pipe17 = mp::Pipe();
  mp::Connection parent_conn = pipe17.first, child_conn = pipe17.second;
  mp::Process p([child_conn = child_conn] {
    child_conn.send(std::vector<std::string>{"hello", "from", "child"});
    child_conn.close();
  });
  p.start();
  child_conn.close();  // the parent's copy: EOF comes when the child's goes
  CHECK(parent_conn.recv<std::vector<std::string>>() == std::vector<std::string>{"hello", "from", "child"});
  CHECK_THROWS_AS(parent_conn.recv<int>(), pyconc::EOFError);
  p.join();
  CHECK(p.exitcode() == 0);
}

TEST_CASE("the wire format is CPython's: send_bytes/recv_bytes with a python3 process on the other end",
          "[connection][python]") {
  ProcessGuard guard;
  const char* python = std::getenv("PYTHON");
  std::string interpreter = python != nullptr && *python != '\0' ? python : "python3";
  const auto pipe18 = mp::Pipe();
  mp::Connection mine = pipe18.first, theirs = pipe18.second;
  const int fd = ::dup(theirs.fileno());  // inherited: no close-on-exec
  theirs.close();
  const std::string fd_text = std::to_string(fd);
  const std::string script =
      "import sys\n"
      "from multiprocessing.connection import Connection\n"
      "c = Connection(int(sys.argv[1]))\n"
      "while True:\n"
      "    m = c.recv_bytes()\n"
      "    if m == b'stop':\n"
      "        break\n"
      "    c.send_bytes(m[::-1] + b'|' + str(len(m)).encode())\n";
  std::vector<std::string> args{interpreter, "-c", script, fd_text};
  std::vector<char*> argv;
  for (auto& s : args)
    argv.push_back(s.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int rc = ::posix_spawnp(&pid, interpreter.c_str(), nullptr, nullptr, argv.data(), environ);
  ::close(fd);
  REQUIRE(rc == 0);
  mine.send_bytes("hello");
  CHECK(mine.recv_bytes() == "olleh|5");
  mine.send_bytes("");
  CHECK(mine.recv_bytes() == "|0");
  const std::string big(100000, 'q');  // above 16 KiB: header and body written apart
  mine.send_bytes(big);
  CHECK(mine.recv_bytes() == big + "|100000");
  mine.send_bytes("stop");
  int status = 0;
  ::waitpid(pid, &status, 0);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}
