// SPDX-License-Identifier: MIT
/**
`tests/support.hpp` — helpers shared by pyconc's Catch2 tests.

- `REQUIRE_RAISES(expr, Type, "message")`  `expr` throws exactly `Type` (not a subclass) whose
                                           `what()` is exactly "message".
- `pyconc_test::raised(f)`                 what `f()` threw, as Python prints it ("ValueError:
boom"), for checks made inside threads (Catch's assertions are not thread-safe: record there, assert
in the test thread).
- `pyconc_test::Stopwatch`, `REQUIRE_TIMING(seconds, T)`   CPython's tolerance: 0.6*T <= t < 10*T.
- `pyconc_test::timed_in_thread(f)`       `f()`'s result and duration, called in another thread.
- `pyconc_test::CaptureFd`                 captures what is written to a file descriptor (stderr).
- `pyconc_test::printed(body)`             what `body(FILE*)` wrote to a temporary file.
- `pyconc_test::run_in_child(body)`        runs `body(report_fd)` in a forked child, with a
                                           watchdog; `ChildChecks`/`CHILD_CHECK` report failures,
                                           `require_child_passed` asserts that there were none.
- `pyconc_test::wait_task_gone(tid)`       waits until a kernel thread of this process has exited.
- `PYCONC_TEST_TSAN`                       1 when built with ThreadSanitizer.
- `PYCONC_TEST_ASAN`                       1 when built with AddressSanitizer.
*/
#ifndef PYCONC_TESTS_SUPPORT_HPP_INCLUDED
#define PYCONC_TESTS_SUPPORT_HPP_INCLUDED

#include <pyconc/errors.hpp>

#include <catch2/catch.hpp>

#include <cxxabi.h>    // abi::__cxa_demangle
#include <fcntl.h>     // fcntl, O_NONBLOCK
#include <poll.h>      // poll
#include <signal.h>    // kill, SIGKILL
#include <sys/wait.h>  // waitpid
#include <unistd.h>    // fork, pipe, dup, dup2, _exit

#include <chrono>      // std::chrono
#include <cstdio>      // std::FILE, std::tmpfile, std::fflush
#include <cstdlib>     // std::free
#include <cstring>     // std::strlen
#include <exception>   // std::exception
#include <functional>  // std::function
#include <iostream>    // std::cout, std::cerr, std::clog
#include <string>      // std::string
#include <thread>      // std::thread, std::this_thread
#include <typeinfo>    // typeid
#include <utility>     // std::pair

#if defined(__SANITIZE_THREAD__)
#define PYCONC_TEST_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define PYCONC_TEST_TSAN 1
#endif
#endif
#ifndef PYCONC_TEST_TSAN
#define PYCONC_TEST_TSAN 0
#endif

#if defined(__SANITIZE_ADDRESS__)
#define PYCONC_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PYCONC_TEST_ASAN 1
#endif
#endif
#ifndef PYCONC_TEST_ASAN
#define PYCONC_TEST_ASAN 0
#endif

namespace pyconc_test {

/** The readable name of a C++ type. */
inline std::string type_name_of(const std::type_info& type) {
  int status = 0;
  char* demangled = abi::__cxa_demangle(type.name(), nullptr, nullptr, &status);
  std::string name = status == 0 && demangled != nullptr ? demangled : type.name();
  std::free(demangled);
  return name;
}

/**
What `f()` threw, as Python would print it: "RuntimeError: cannot join current thread"
(Python's class name from `pyconc::Error::type_name()`), "std::runtime_error: x" for other
exceptions, "no exception" when nothing was thrown. Safe to call in any thread.
*/
template <class F>
std::string raised(F&& f) {
  try {
    f();
  } catch (const pyconc::Error& e) {
    return std::string(e.type_name()) + ": " + e.what();
  } catch (const std::exception& e) {
    return type_name_of(typeid(e)) + ": " + e.what();
  } catch (...) {
    return "unknown exception";
  }
  return "no exception";
}

/**
"<spelling>: what()" when `f()` throws exactly `E` (typeid equal, so not a subclass),
otherwise a description of what happened instead. Used by `REQUIRE_RAISES`.
*/
template <class E, class F>
std::string outcome_of(const char* spelling, F&& f) {
  try {
    f();
  } catch (const E& e) {
    if (typeid(e) == typeid(E))
      return std::string(spelling) + ": " + e.what();
    return "a subclass, " + type_name_of(typeid(e)) + ": " + e.what();
  } catch (const std::exception& e) {
    return "another type, " + type_name_of(typeid(e)) + ": " + e.what();
  } catch (...) {
    return "an exception that is not a std::exception";
  }
  return "no exception";
}

/** Seconds since construction, on the monotonic clock. */
class Stopwatch {
 public:
  [[nodiscard]] double elapsed() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

 private:
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

/**
Calls `f()` in a thread of its own and returns what it returned and the seconds it took, for
calls that must come from another thread (a lock held by the test thread); assert on the
result in the test thread.
*/
template <class F>
auto timed_in_thread(F&& f) {
  std::pair<decltype(f()), double> out{};
  std::thread t([&] {
    const Stopwatch clock;
    out.first = f();
    out.second = clock.elapsed();
  });
  t.join();
  return out;
}

/** What `body(file)` wrote to `file`, a temporary `FILE*` (for `print(..., kw::file = f)`). */
template <class Body>
std::string printed(Body body) {
  std::FILE* f = std::tmpfile();
  REQUIRE(f != nullptr);
  body(f);
  std::fflush(f);
  std::rewind(f);
  std::string out;
  char buf[256];
  while (const std::size_t n = std::fread(buf, 1, sizeof buf, f))
    out.append(buf, n);
  std::fclose(f);
  return out;
}

/**
Captures what is written to file descriptor `fd` (default: stderr) from construction until
`text()` (or destruction), by pointing `fd` at a temporary file with `dup2`.
*/
class CaptureFd {
 public:
  explicit CaptureFd(int fd = STDERR_FILENO) : fd_(fd) {
    std::fflush(nullptr);
    file_ = std::tmpfile();
    saved_ = ::dup(fd_);
    if (file_ != nullptr && saved_ >= 0)
      ::dup2(::fileno(file_), fd_);
  }
  CaptureFd(const CaptureFd&) = delete;
  CaptureFd& operator=(const CaptureFd&) = delete;
  ~CaptureFd() {
    restore();
    if (file_ != nullptr)
      std::fclose(file_);
  }

  /** Stops capturing and returns everything written meanwhile. */
  std::string text() {
    restore();
    std::string out;
    if (file_ == nullptr)
      return "<tmpfile failed>";
    std::rewind(file_);
    char buffer[4096];
    std::size_t n = 0;
    while ((n = std::fread(buffer, 1, sizeof buffer, file_)) > 0)
      out.append(buffer, n);
    return out;
  }

 private:
  void restore() {
    if (saved_ < 0)
      return;
    std::fflush(nullptr);
    ::dup2(saved_, fd_);
    ::close(saved_);
    saved_ = -1;
  }

  int fd_;
  std::FILE* file_ = nullptr;
  int saved_ = -1;
};

/** What became of a child started by `run_in_child`. */
struct ChildOutcome {
  bool exited = false;     ///< ended by exit()/_exit()
  int exit_status = -1;    ///< its status, when `exited`
  int signal = 0;          ///< the signal that ended it, if any
  bool timed_out = false;  ///< the watchdog killed it
  double seconds = 0;      ///< from fork() until it was reaped
  std::string output;      ///< everything written to the report pipe
};

/**
Runs `body(report_fd)` in a forked child and `_exit`s with what it returns (an exception
escaping `body` is reported and gives status 112). `report_fd` is the write end of a pipe
whose content comes back in `ChildOutcome::output`; `body` may also end the child itself
(`std::exit`). A child still running after `timeout` seconds is killed (`timed_out`).
The parent side uses no Catch2 assertion, so it may run in any thread.
*/
inline ChildOutcome run_in_child(const std::function<int(int)>& body, double timeout = 5.0) {
  ChildOutcome outcome;
  int fds[2] = {-1, -1};
  if (::pipe(fds) != 0) {
    outcome.output = "<pipe failed>";
    return outcome;
  }
  std::cout.flush();
  std::cerr.flush();
  std::clog.flush();
  std::fflush(nullptr);  // nothing buffered is written twice
  const Stopwatch clock;
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    outcome.output = "<fork failed>";
    return outcome;
  }
  if (pid == 0) {
    ::close(fds[0]);
    // Catch's xml and junit reporters point std::cout and std::cerr at buffers of their own,
    // which the child's exit destroys before it flushes the streams: detach them (children
    // report through the pipe, and pyconc prints through stdio).
    std::cout.rdbuf(nullptr);
    std::cerr.rdbuf(nullptr);
    std::clog.rdbuf(nullptr);
    int code = 111;
    try {
      code = body(fds[1]);
    } catch (...) {
      static const char message[] = "an exception escaped the child's body\n";
      [[maybe_unused]] auto n = ::write(fds[1], message, sizeof message - 1);
      code = 112;
    }
    ::_exit(code);
  }
  ::close(fds[1]);
  ::fcntl(fds[0], F_SETFL, ::fcntl(fds[0], F_GETFL) | O_NONBLOCK);
  bool eof = false;
  auto drain = [&] {
    char buffer[512];
    for (;;) {
      const ssize_t n = ::read(fds[0], buffer, sizeof buffer);
      if (n > 0) {
        outcome.output.append(buffer, static_cast<std::size_t>(n));
        continue;
      }
      if (n == 0)
        eof = true;
      return;
    }
  };
  int status = 0;
  for (;;) {
    drain();
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid)
      break;
    if (clock.elapsed() > timeout) {  // watchdog: a hung child fails the test, not the suite
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      outcome.timed_out = true;
      break;
    }
    if (eof) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    } else {
      pollfd p{fds[0], POLLIN, 0};
      ::poll(&p, 1, 5);
    }
  }
  outcome.seconds = clock.elapsed();
  drain();
  ::close(fds[0]);
  if (WIFEXITED(status)) {
    outcome.exited = !outcome.timed_out;
    outcome.exit_status = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    outcome.signal = WTERMSIG(status);
  }
  return outcome;
}

/** Fails the test with what the child reported unless it exited 0 having reported nothing. */
inline void require_child_passed(const ChildOutcome& child) {
  INFO("child output:\n" << child.output);
  REQUIRE_FALSE(child.timed_out);
  REQUIRE(child.signal == 0);
  REQUIRE(child.exited);
  REQUIRE(child.output.empty());
  REQUIRE(child.exit_status == 0);
}

/**
Checks made in a forked child: each failure writes "line N: condition" to the report pipe.
`status()` is the child's exit status: 0 when every check passed.
*/
class ChildChecks {
 public:
  explicit ChildChecks(int report_fd) noexcept : fd_(report_fd) {}

  bool check(bool ok, const char* condition, int line) noexcept {
    if (!ok) {
      ++failures_;
      char prefix[32];
      const int n = std::snprintf(prefix, sizeof prefix, "line %d: ", line);
      write(prefix, static_cast<std::size_t>(n));
      write(condition, std::strlen(condition));
      write("\n", 1);
    }
    return ok;
  }
  void write(const char* text, std::size_t size) const noexcept {
    while (size > 0) {
      const ssize_t n = ::write(fd_, text, size);
      if (n <= 0)
        return;
      text += n;
      size -= static_cast<std::size_t>(n);
    }
  }
  [[nodiscard]] int status() const noexcept { return failures_ == 0 ? 0 : 1; }

 private:
  int fd_;
  int failures_ = 0;
};

/**
Waits until the kernel thread `tid` of this process has exited (its /proc/self/task entry is
gone), at most `timeout` seconds. pyconc threads are detached: `join()` returns once `run()`
has ended, a moment before the OS thread is gone. Tests that fork and then start threads in
the child need the parent truly single-threaded (ThreadSanitizer refuses new threads in a
child forked from a multi-threaded process).
*/
inline bool wait_task_gone(long tid, double timeout = 2.0) {
  const std::string path = "/proc/self/task/" + std::to_string(tid);
  const Stopwatch clock;
  while (::access(path.c_str(), F_OK) == 0) {
    if (clock.elapsed() > timeout)
      return false;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return true;
}

}  // namespace pyconc_test

/** `expr` throws exactly `Type` (not a subclass) with `what() == message`. */
#define REQUIRE_RAISES(expr, Type, message)                                                                            \
  do {                                                                                                                 \
    INFO("expression: " #expr);                                                                                        \
    const std::string pyconc_test_outcome_ = ::pyconc_test::outcome_of<Type>(#Type, [&] { static_cast<void>(expr); }); \
    REQUIRE(pyconc_test_outcome_ == std::string(#Type) + ": " + std::string(message));                                 \
  } while (false)

/** CPython's timing tolerance: `0.6 * T <= seconds < 10 * T`. */
#define REQUIRE_TIMING(seconds, T)                                                            \
  do {                                                                                        \
    const double pyconc_test_seconds_ = (seconds);                                            \
    const double pyconc_test_t_ = (T);                                                        \
    INFO("took " << pyconc_test_seconds_ << " s, expected about " << pyconc_test_t_ << " s"); \
    REQUIRE(pyconc_test_seconds_ >= 0.6 * pyconc_test_t_);                                    \
    REQUIRE(pyconc_test_seconds_ < 10 * pyconc_test_t_);                                      \
  } while (false)

/** A check in a forked child (see `pyconc_test::ChildChecks`). */
#define CHILD_CHECK(checks, ...) (checks).check(static_cast<bool>(__VA_ARGS__), #__VA_ARGS__, __LINE__)

#endif  // PYCONC_TESTS_SUPPORT_HPP_INCLUDED
