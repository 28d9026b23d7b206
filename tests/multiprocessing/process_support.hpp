// SPDX-License-Identifier: MIT
/**
`tests/multiprocessing/process_support.hpp` — keeping tests that start processes clean.

- `pyconc_test::ProcessGuard`   put one at the top of every test that starts processes. It
  makes the test process the leader of its own process group and starts a watchdog process:
  if the test process dies or overruns its time, the watchdog kills the whole group (the
  test's children and grandchildren included). When the test ends normally the guard stops
  the watchdog and checks that no child process (running or zombie) and no new file
  descriptor outlived the test.
- `pyconc_test::open_fds()`     the file descriptors open in this process.
- `pyconc_test::read_file(path)`, `temp_path(tag)`   small file helpers for spawned children.
- `pyconc_test::run_python(script, args)`   runs `$PYTHON` (or python3) `-c script`: status, stdout.
- `pyconc_test::DefaultSigterm`  put one in a test whose pool terminates forked workers.
- `pyconc_test::pool_start_method()`, `pool_start_methods()`   the start methods pool tests use.
*/
#ifndef PYCONC_TESTS_MULTIPROCESSING_PROCESS_SUPPORT_HPP_INCLUDED
#define PYCONC_TESTS_MULTIPROCESSING_PROCESS_SUPPORT_HPP_INCLUDED

#include <catch2/catch.hpp>

#include <dirent.h>       // opendir, readdir
#include <fcntl.h>        // O_CLOEXEC
#include <poll.h>         // poll
#include <signal.h>       // kill, SIGKILL
#include <spawn.h>        // posix_spawnp
#include <sys/syscall.h>  // SYS_pidfd_open
#include <sys/wait.h>     // waitpid, waitid
#include <unistd.h>       // fork, getpid, setpgid, _exit

#include <cerrno>    // errno, EINTR
#include <csignal>   // std::signal
#include <cstdio>    // std::FILE, std::fopen
#include <cstdlib>   // std::atoi
#include <fstream>   // std::ifstream
#include <iterator>  // std::istreambuf_iterator
#include <set>       // std::set
#include <sstream>   // std::ostringstream
#include <string>    // std::string
#include <vector>    // std::vector

#include <pyconc/multiprocessing.hpp>

#include "support.hpp"  // PYCONC_TEST_TSAN

extern char** environ;

namespace pyconc_test {

/** The file descriptors open in this process (from /proc/self/fd). */
inline std::set<int> open_fds() {
  std::set<int> fds;
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr)
    return fds;
  const int own = ::dirfd(dir);
  while (const dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] == '.')
      continue;
    const int fd = std::atoi(entry->d_name);
    if (fd != own)
      fds.insert(fd);
  }
  ::closedir(dir);
  return fds;
}

/** The whole content of a file ("" when it does not exist). */
inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

/** A fresh path under /tmp for this test process (the file is removed if it exists). */
inline std::string temp_path(const std::string& tag) {
  std::ostringstream s;
  s << "/tmp/pyconc_test_" << ::getpid() << "_" << tag;
  std::remove(s.str().c_str());
  return s.str();
}

/** Whether this process has any child, running or zombie (without reaping it). */
inline bool has_children() {
  // A non-blocking wait fails with ECHILD only when there is no child at all.
  siginfo_t info{};
  return ::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) == 0;
}

/** What `run_python` saw. */
struct PythonRun {
  int status = -1;  // the exit status, -1 when python could not be started
  std::string out;  // its stdout
};

inline std::string python_interpreter() {
  const char* python = std::getenv("PYTHON");
  return python != nullptr && *python != '\0' ? python : "python3";
}

// Runs `python -c script args...` and returns its exit status and stdout. Blocks.
inline PythonRun run_python(const std::string& script, const std::vector<std::string>& args = {}) {
  PythonRun run;
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0)
    return run;
  std::vector<std::string> words{python_interpreter(), "-c", script};
  words.insert(words.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& w : words)
    argv.push_back(w.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  ::posix_spawn_file_actions_init(&actions);
  ::posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  pid_t pid = 0;
  const int rc = ::posix_spawnp(&pid, words[0].c_str(), &actions, nullptr, argv.data(), environ);
  ::posix_spawn_file_actions_destroy(&actions);
  ::close(out[1]);
  if (rc == 0) {
    char buffer[4096];
    for (;;) {
      const ssize_t n = pyconc::detail::read_some(out[0], buffer, sizeof buffer);
      if (n <= 0)
        break;
      run.out.append(buffer, static_cast<std::size_t>(n));
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    run.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  ::close(out[0]);
  return run;
}

class ProcessGuard {
 public:
  explicit ProcessGuard(int seconds = 50) {
    if (::getpgid(0) != ::getpid())
      ::setpgid(0, 0);
    fds_before_ = open_fds();
    const pid_t test = ::getpid();
    watchdog_ = ::fork();
    if (watchdog_ == 0) {
      // The watchdog: waits for the test to end or to overrun, then kills the group.
      const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, test, 0));
      pollfd p{pidfd, POLLIN, 0};
      const int ready = ::poll(&p, 1, seconds * 1000);
      if (ready == 0) {
        static const char message[] = "ProcessGuard: the test overran its time; killing its process group\n";
        [[maybe_unused]] const auto n = ::write(2, message, sizeof message - 1);
      }
      ::kill(0, SIGKILL);  // the test's group, this watchdog included
      ::_exit(0);
    }
  }
  ProcessGuard(const ProcessGuard&) = delete;
  ProcessGuard& operator=(const ProcessGuard&) = delete;

  /** Stops the watchdog and checks that nothing the test started outlived it. */
  ~ProcessGuard() noexcept(false) {
    if (watchdog_ > 0) {
      ::kill(watchdog_, SIGKILL);
      int status = 0;
      ::waitpid(watchdog_, &status, 0);
    }
    if (std::uncaught_exceptions() > 0)
      return;
    pyconc::detail::stop_forkserver();
    pyconc::detail::stop_resource_tracker();
    CHECK(pyconc::multiprocessing::active_children().empty());
    CHECK_FALSE(has_children());
    CHECK(open_fds() == fds_before_);
  }

 private:
  std::set<int> fds_before_;
  pid_t watchdog_ = -1;
};

/**
Catch2 handles SIGTERM during a test to report it; a worker forked from the test inherits the
handler and would report its own termination by the pool as a failed test. Python's workers
die of SIGTERM: with one of these in the test, so do pyconc's.
*/
struct DefaultSigterm {
  DefaultSigterm() { std::signal(SIGTERM, SIG_DFL); }
};

/**
The start method of pool tests: fork, as Python's default on Linux, except under
ThreadSanitizer, where a child forked while other threads run can hang inside the
sanitizer's runtime (one of its allocator's locks held at the fork); there spawn, which runs
nothing of the parent's in the child. Also made the default start method, once.
*/
inline const std::string& pool_start_method() {
  static const std::string method = [] {
    std::string m = PYCONC_TEST_TSAN ? "spawn" : "fork";
    pyconc::multiprocessing::set_start_method(m, true);
    return m;
  }();
  return method;
}

/** The start methods pool tests loop over: fork and spawn (spawn only under ThreadSanitizer). */
inline std::vector<std::string> pool_start_methods() {
  if (pool_start_method() == "spawn")
    return {"spawn"};
  return {"fork", "spawn"};
}

}  // namespace pyconc_test

#endif  // PYCONC_TESTS_MULTIPROCESSING_PROCESS_SUPPORT_HPP_INCLUDED
