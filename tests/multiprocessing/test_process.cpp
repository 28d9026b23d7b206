// SPDX-License-Identifier: MIT
// multiprocessing.Process, after CPython's _test_multiprocessing.py (TestProcess) and the
// semantics reference (§1.4, §2.4, §3.5): exit codes, names, repr, misuse, joins, signals,
// children of children, exit handling, and the three start methods.
#include <pyconc/concurrent/futures.hpp>
#include <pyconc/multiprocessing.hpp>
#include <pyconc/queue.hpp>
#include <pyconc/threading.hpp>
#include <pyconc/time.hpp>

#include "multiprocessing/process_support.hpp"
#include "support.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <fstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

namespace mp = pyconc::multiprocessing;
// Pipe ends are taken as two named handles, not a structured binding: clang 14 cannot
// capture structured bindings in lambdas (C++20 allows it; clang 16 does).
using pyconc_test::ProcessGuard;

namespace {

// Blocks until `fd` has data or reaches its end: a child that waits to be told, or killed.
// Catch2 handles SIGTERM in the test process, and a child made by fork inherits its handler:
// the child restores the default, as a plain program has it, so terminate() ends it.
void wait_readable(int fd) {
  std::signal(SIGTERM, SIG_DFL);
  pollfd p{fd, POLLIN, 0};
  while (::poll(&p, 1, -1) < 0) {
  }
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// Spawnable targets: a function, a static member function, a captureless lambda, a functor.
void record(std::string path, int a, std::string b) {
  write_file(path, std::to_string(a) + b + " " + mp::current_process().name());
}
struct Tasks {
  static void exit_with(int code) { pyconc::sys::exit(code); }
};
struct Raiser {
  void operator()() const { throw pyconc::ValueError("boom"); }
};
void sleep_forever() {
  ::pause();
}

}  // namespace

TEST_CASE("run_proc: a target with args runs in a child process with its own pid", "[process]") {
  ProcessGuard guard;
  const auto pipe1 = mp::Pipe(false);
  mp::Connection reader = pipe1.first, writer = pipe1.second;
  mp::Process p(
      [writer = writer](std::string name) {
        writer.send(std::tuple{name, pyconc::os::getpid()});
      },
      std::tuple{std::string("test")});
  CHECK_FALSE(p.pid());
  CHECK_FALSE(p.exitcode());
  CHECK_FALSE(p.is_alive());
  p.start();
  writer.close();
  REQUIRE(p.pid());
  CHECK(*p.pid() != pyconc::os::getpid());
  const auto [name, pid] = reader.recv<std::tuple<std::string, long>>();
  CHECK(name == "test");
  CHECK(pid == *p.pid());
  p.join();
  CHECK_FALSE(p.is_alive());
  CHECK(p.exitcode() == 0);
  CHECK(p.ident() == p.pid());
}

TEST_CASE("exitcode: 0 on return, n after sys::exit(n), 1 after an exception, -N for signal N", "[process]") {
  ProcessGuard guard;
  mp::Process ok([] {});
  mp::Process three([] { pyconc::sys::exit(3); });
  mp::Process zero([] { pyconc::sys::exit(); });
  ok.start();
  three.start();
  zero.start();
  ok.join();
  three.join();
  zero.join();
  CHECK(ok.exitcode() == 0);
  CHECK(three.exitcode() == 3);
  CHECK(zero.exitcode() == 0);

  pyconc_test::CaptureFd err;
  mp::Process bad([] { throw pyconc::ValueError("boom"); }, {.name = "Bad"});
  bad.start();
  bad.join();
  CHECK(bad.exitcode() == 1);
  CHECK(err.text() == "Process Bad:\nValueError: boom\n");

  const auto pipe2 = mp::Pipe(false);
  mp::Connection reader = pipe2.first, writer = pipe2.second;
  mp::Process term([reader = reader] { wait_readable(reader.fileno()); });
  mp::Process killed([reader = reader] { wait_readable(reader.fileno()); });
  term.start();
  killed.start();
  CHECK(term.is_alive());
  term.terminate();
  killed.kill();
  term.join();
  killed.join();
  CHECK(term.exitcode() == -SIGTERM);
  CHECK(killed.exitcode() == -SIGKILL);
  term.terminate();  // after the end: nothing happens
  killed.kill();
  CHECK(term.exitcode() == -SIGTERM);
}

TEST_CASE("names: Process-N from one counter, a child's child Process-N:M, current_process, parent_process",
          "[process]") {
  ProcessGuard guard;
  CHECK(mp::current_process().name() == "MainProcess");
  CHECK_FALSE(mp::parent_process());
  CHECK(mp::current_process().pid() == pyconc::os::getpid());
  CHECK(mp::current_process().is_alive());

  mp::Process a([] {});
  mp::Process b([] {});
  const std::string an = a.name();
  const std::string bn = b.name();
  REQUIRE(an.rfind("Process-", 0) == 0);
  CHECK(bn == "Process-" + std::to_string(std::stoi(an.substr(8)) + 1));
  mp::Process named([] {}, {.name = "worker"});
  CHECK(named.name() == "worker");
  named.name("renamed");
  CHECK(named.name() == "renamed");

  const auto pipe3 = mp::Pipe(false);
  mp::Connection reader = pipe3.first, writer = pipe3.second;
  mp::Process outer([writer = writer] {
    const std::string me = mp::current_process().name();
    const auto parent = mp::parent_process();
    mp::Process inner([writer] {
      writer.send(std::vector<std::string>{mp::current_process().name(), mp::parent_process()->name()});
    });
    inner.start();
    inner.join();
    writer.send(std::vector<std::string>{me, parent ? parent->name() : "None",
                                         std::to_string(parent ? *parent->pid() : 0), inner.name(),
                                         mp::current_process().repr(), parent ? parent->repr() : "None"});
    pyconc::sys::exit(inner.exitcode().value_or(99));
  });
  outer.start();
  writer.close();
  const auto from_inner = reader.recv<std::vector<std::string>>();
  const auto from_outer = reader.recv<std::vector<std::string>>();
  outer.join();
  CHECK(outer.exitcode() == 0);
  CHECK(from_outer[0] == outer.name());
  CHECK(from_outer[1] == "MainProcess");
  CHECK(from_outer[2] == std::to_string(pyconc::os::getpid()));
  CHECK(from_outer[3] == outer.name() + ":1");
  CHECK(from_inner[0] == from_outer[3]);
  // As CPython's: the current process shows no pid, the parent is "unknown".
  CHECK(from_outer[4] ==
        "<Process name='" + outer.name() + "' parent=" + std::to_string(pyconc::os::getpid()) + " started>");
  CHECK(from_outer[5] == "<_ParentProcess name='MainProcess' parent=None unknown>");
  CHECK(from_inner[1] == outer.name());
}

TEST_CASE("repr as CPython's: initial, started, stopped exitcode=-SIGTERM, daemon, MainProcess", "[process]") {
  ProcessGuard guard;
  const std::string me = std::to_string(pyconc::os::getpid());
  CHECK(mp::current_process().repr() == "<_MainProcess name='MainProcess' parent=None started>");
  const auto pipe4 = mp::Pipe(false);
  mp::Connection reader = pipe4.first, writer = pipe4.second;
  mp::Process p([reader = reader] { wait_readable(reader.fileno()); }, {.name = "P", .daemon = true});
  CHECK(p.repr() == "<Process name='P' parent=" + me + " initial daemon>");
  p.start();
  const std::string pid = std::to_string(*p.pid());
  CHECK(p.repr() == "<Process name='P' pid=" + pid + " parent=" + me + " started daemon>");
  p.terminate();
  p.join();
  CHECK(p.repr() == "<Process name='P' pid=" + pid + " parent=" + me + " stopped exitcode=-SIGTERM daemon>");
  CHECK(pyconc_test::printed([&](std::FILE* f) { std::fputs(p.repr().c_str(), f); }) == p.repr());
  p.close();
  CHECK(p.repr() == "<Process name='P' parent=" + me + " closed daemon>");
}

TEST_CASE("misuse raises CPython's exceptions and messages", "[process]") {
  ProcessGuard guard;
  mp::Process p([] {});
  REQUIRE_RAISES(p.join(), pyconc::AssertionError, "can only join a started process");
  REQUIRE_RAISES(p.sentinel(), pyconc::ValueError, "process not started");
  REQUIRE_RAISES(p.terminate(), pyconc::AttributeError, "'NoneType' object has no attribute 'terminate'");
  REQUIRE_RAISES(p.kill(), pyconc::AttributeError, "'NoneType' object has no attribute 'kill'");
  p.start();
  REQUIRE_RAISES(p.start(), pyconc::AssertionError, "cannot start a process twice");
  REQUIRE_RAISES(p.daemon(true), pyconc::AssertionError, "process has already started");
  p.join();
  p.close();
  p.close();  // again: nothing
  CHECK(p.name().rfind("Process-", 0) == 0);
  REQUIRE_RAISES(p.start(), pyconc::ValueError, "process object is closed");
  REQUIRE_RAISES(p.join(), pyconc::ValueError, "process object is closed");
  REQUIRE_RAISES(p.is_alive(), pyconc::ValueError, "process object is closed");
  REQUIRE_RAISES(p.terminate(), pyconc::ValueError, "process object is closed");
  REQUIRE_RAISES(p.kill(), pyconc::ValueError, "process object is closed");
  REQUIRE_RAISES(p.exitcode(), pyconc::ValueError, "process object is closed");
  REQUIRE_RAISES(p.pid(), pyconc::ValueError, "process object is closed");
  REQUIRE_RAISES(p.sentinel(), pyconc::ValueError, "process object is closed");

  const auto pipe5 = mp::Pipe(false);
  mp::Connection reader = pipe5.first, writer = pipe5.second;
  mp::Process running([reader = reader] { wait_readable(reader.fileno()); });
  running.start();
  REQUIRE_RAISES(running.close(), pyconc::ValueError,
                 "Cannot close a process while it is still running. You should first call join() or terminate().");
  running.kill();
  running.join();

  // A child cannot join or test its siblings, nor start a process object its parent made.
  mp::Process sibling([] {});
  sibling.start();
  mp::Process unstarted([] {});
  mp::Process checker([sibling, unstarted]() mutable {
    int failures = 0;
    try {
      sibling.join();
    } catch (const pyconc::AssertionError& e) {
      failures += std::string(e.what()) == "can only join a child process";
    }
    try {
      static_cast<void>(sibling.is_alive());
    } catch (const pyconc::AssertionError& e) {
      failures += std::string(e.what()) == "can only test a child process";
    }
    try {
      unstarted.start();
    } catch (const pyconc::AssertionError& e) {
      failures += std::string(e.what()) == "can only start a process object created by current process";
    }
    pyconc::sys::exit(failures);
  });
  checker.start();
  checker.join();
  sibling.join();
  CHECK(checker.exitcode() == 3);

  // A daemonic process may not have children.
  mp::Process daemonic(
      [] {
        try {
          mp::Process([] {}).start();
        } catch (const pyconc::AssertionError& e) {
          pyconc::sys::exit(std::string(e.what()) == "daemonic processes are not allowed to have children" ? 7 : 8);
        }
      },
      {.daemon = true});
  daemonic.start();
  daemonic.join();
  CHECK(daemonic.exitcode() == 7);
}

TEST_CASE("join(timeout) returns after the timeout with the process still running", "[process]") {
  ProcessGuard guard;
  const auto pipe6 = mp::Pipe(false);
  mp::Connection reader = pipe6.first, writer = pipe6.second;
  mp::Process p([reader = reader, writer = writer] {
    writer.close();  // the child's copy: the parent's close() must be the last
    wait_readable(reader.fileno());
  });
  p.start();
  pyconc_test::Stopwatch watch;
  p.join(0.2);
  REQUIRE_TIMING(watch.elapsed(), 0.2);
  CHECK(p.is_alive());
  CHECK_FALSE(p.exitcode());
  p.join(-1);  // negative: no wait
  CHECK(p.is_alive());
  writer.close();  // the child's read sees the end
  p.join(10);
  CHECK(p.exitcode() == 0);
}

TEST_CASE("sentinel: a pidfd, readable once the process has ended, connection::wait over sentinels", "[process]") {
  ProcessGuard guard;
  const auto pipe7 = mp::Pipe(false);
  mp::Connection reader = pipe7.first, writer = pipe7.second;
  mp::Process slow([reader = reader] { wait_readable(reader.fileno()); });
  mp::Process quick([] {});
  slow.start();
  quick.start();
  const auto ready = mp::connection::wait({slow.sentinel(), quick.sentinel()}, 10);
  REQUIRE(ready.size() == 1);
  CHECK(ready[0] == quick.sentinel());
  CHECK(mp::connection::wait({slow.sentinel()}, 0.05).empty());
  CHECK(mp::connection::wait({slow.sentinel()}, -1).empty());
  slow.terminate();
  CHECK(mp::connection::wait({slow.sentinel()}).size() == 1);
  slow.join();
  quick.join();
  CHECK(::fcntl(quick.sentinel(), F_GETFD) == FD_CLOEXEC);
}

TEST_CASE("active_children lists running children and reaps those that ended", "[process]") {
  ProcessGuard guard;
  CHECK(mp::active_children().empty());
  const auto pipe8 = mp::Pipe(false);
  mp::Connection reader = pipe8.first, writer = pipe8.second;
  auto waiter = [reader = reader, writer = writer] {
    writer.close();
    wait_readable(reader.fileno());
  };
  mp::Process a(waiter);
  mp::Process b(waiter);
  a.start();
  b.start();
  auto children = mp::active_children();
  REQUIRE(children.size() == 2);
  CHECK(((children[0] == a && children[1] == b) || (children[0] == b && children[1] == a)));
  writer.close();
  a.join();
  children = mp::active_children();
  REQUIRE(children.size() <= 1);
  b.join();
  CHECK(mp::active_children().empty());
}

TEST_CASE("a subclass overriding run() runs in the child (fork)", "[process]") {
  ProcessGuard guard;
  struct Worker : mp::Process {
    explicit Worker(int code) : code_(code) {}
    void run() override { pyconc::sys::exit(code_); }
    int code_;
  };
  Worker w(42);
  CHECK(w.name().rfind("Worker-", 0) == 0);
  w.start();
  w.join();
  CHECK(w.exitcode() == 42);
}

TEST_CASE("the parent's buffered output is written once, the child's output is flushed at its end", "[process]") {
  ProcessGuard guard;
  const std::string path = pyconc_test::temp_path("stdout");
  {
    std::fflush(nullptr);
    const int saved = ::dup(1);
    const int file = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    ::dup2(file, 1);
    ::close(file);
    std::printf("parent before, ");  // buffered: stdout is a file now
    mp::Process p([] { std::printf("child, "); });
    p.start();
    p.join();
    std::printf("parent after\n");
    std::fflush(stdout);
    ::dup2(saved, 1);
    ::close(saved);
    CHECK(p.exitcode() == 0);
  }
  CHECK(pyconc_test::read_file(path) == "parent before, child, parent after\n");
  std::remove(path.c_str());
}

TEST_CASE("a child joins its own non-daemon threads before it ends", "[process]") {
  ProcessGuard guard;
  const auto pipe9 = mp::Pipe(false);
  mp::Connection reader = pipe9.first, writer = pipe9.second;
  mp::Process p([writer = writer] {
    pyconc::threading::Thread t([writer] {
      pyconc::time::sleep(0.1);
      writer.send(std::string("thread done"));
    });
    t.start();
  });
  p.start();
  writer.close();
  CHECK(reader.recv<std::string>() == "thread done");
  p.join();
  CHECK(p.exitcode() == 0);
}

TEST_CASE("at a child's exit its daemonic children get SIGTERM and the others are joined", "[process]") {
  ProcessGuard guard;
  const auto pipe10 = mp::Pipe(false);
  mp::Connection reader = pipe10.first, writer = pipe10.second;
  mp::Process parent([writer = writer] {
    const auto pipe11 = mp::Pipe(false);
    mp::Connection r = pipe11.first, w = pipe11.second;
    mp::Process daemon_child([r = r] { wait_readable(r.fileno()); }, {.daemon = true});
    mp::Process plain_child([writer] {
      pyconc::time::sleep(0.1);
      writer.send(std::string("plain done"));
    });
    daemon_child.start();
    plain_child.start();
    writer.send(*daemon_child.pid());
  });
  parent.start();
  writer.close();
  const long daemon_pid = reader.recv<long>();
  CHECK(reader.recv<std::string>() == "plain done");
  parent.join();
  CHECK(parent.exitcode() == 0);
  // The daemonic child was terminated and reaped by its parent: it no longer exists.
  CHECK(::kill(static_cast<pid_t>(daemon_pid), 0) == -1);
}

TEST_CASE("1,000 processes started and joined leave no fd and no zombie behind", "[process]") {
  ProcessGuard guard;
  const auto before = pyconc_test::open_fds();
  const int n = PYCONC_TEST_TSAN ? 200 : 1000;
  for (int i = 0; i < n; ++i) {
    mp::Process p([] {});
    p.start();
    p.join();
    REQUIRE(p.exitcode() == 0);
  }
  CHECK(pyconc_test::open_fds() == before);
  CHECK(mp::active_children().empty());
}

TEST_CASE("a child forked while other threads use pyconc's queues, pools and locks runs normally", "[process]") {
  ProcessGuard guard;
  pyconc::queue::Queue<int> q(64);
  pyconc::threading::Lock lock;
  pyconc::concurrent::futures::ThreadPoolExecutor pool(2);
  std::atomic<bool> stop{false};
  std::vector<std::thread> hammers;
  for (int t = 0; t < 2; ++t) {
    hammers.emplace_back([&] {
      while (!stop.load()) {
        q.put(1);
        static_cast<void>(q.get());
        // This GCC's AddressSanitizer does not hold its allocator's lock across fork(): a child
        // forked while another thread is inside malloc can hang in its first malloc. Under
        // ASan the threads keep to calls that do not allocate (the queue reuses its blocks).
        if (!PYCONC_TEST_ASAN)
          pool.submit([] { return 1; }).result();
        std::lock_guard hold(lock);
      }
    });
  }
  int ok = 0;
  for (int i = 0; i < 50; ++i) {
    // The child uses the queue the threads were using, and a pool of its own (the parent's
    // pool has no workers in the child, as in CPython).
    mp::Process p([&q] {
      pyconc::queue::Queue<int> mine;
      mine.put(5);
      q.put_nowait(7);
      int r = 2;
      // TSan does not support threads started after a multi-threaded fork; see above for ASan.
      if (!PYCONC_TEST_TSAN && !PYCONC_TEST_ASAN) {
        pyconc::concurrent::futures::ThreadPoolExecutor own(1);
        r = own.submit([] { return 2; }).result();
      }
      pyconc::sys::exit(mine.get() + r == 7 && q.qsize() >= 1 ? 0 : 1);
    });
    p.start();
    p.join(20);
    ok += p.exitcode() == 0;
    if (p.is_alive()) {
      p.kill();
      p.join();
    }
  }
  stop = true;
  for (auto& t : hammers)
    t.join();
  CHECK(ok == 50);
}

// ---- spawn and forkserver ----------------------------------------------------------------

TEST_CASE("spawn: functions, static member functions, captureless lambdas and functors run in a new program",
          "[process][spawn]") {
  ProcessGuard guard;
  const std::string path = pyconc_test::temp_path("spawn");
  mp::SpawnProcess p(record, std::tuple{path, 4, std::string("two")});
  CHECK(p.name().rfind("SpawnProcess-", 0) == 0);
  p.start();
  p.join();
  CHECK(p.exitcode() == 0);
  CHECK(pyconc_test::read_file(path) == "4two " + p.name());
  std::remove(path.c_str());

  mp::SpawnProcess code(&Tasks::exit_with, std::tuple{5});
  mp::SpawnProcess lambda([](int a) { pyconc::sys::exit(a * 2); }, std::tuple{3});
  pyconc_test::CaptureFd err;
  mp::SpawnProcess raiser(Raiser{}, {.name = "R"});
  code.start();
  lambda.start();
  raiser.start();
  code.join();
  lambda.join();
  raiser.join();
  CHECK(code.exitcode() == 5);
  CHECK(lambda.exitcode() == 6);
  CHECK(raiser.exitcode() == 1);
  CHECK(err.text() == "Process R:\nValueError: boom\n");
}

void answer(mp::Connection conn, int x) {
  conn.send(std::vector<int>{x, x * 2});
  conn.send(mp::current_process().name());
}

TEST_CASE("spawn and forkserver: a Connection passed as an argument reaches the child", "[process][spawn]") {
  ProcessGuard guard;
  for (const std::string method : {"spawn", "forkserver"}) {
    INFO(method);
    const auto pipe = mp::Pipe();
    mp::Connection mine = pipe.first, theirs = pipe.second;
    auto p = mp::get_context(method).Process(answer, std::tuple{theirs, 21});
    p.start();
    theirs.close();
    CHECK(mine.recv<std::vector<int>>() == std::vector<int>{21, 42});
    CHECK(mine.recv<std::string>() == p.name());
    CHECK_THROWS_AS(mine.recv<int>(), pyconc::EOFError);  // the child's end closed with it
    p.join();
    CHECK(p.exitcode() == 0);
  }
  // Anywhere else a Connection does not pickle.
  const auto pipe = mp::Pipe();
  CHECK_THROWS_AS(pipe.first.send(pipe.second), pyconc::pickle::PicklingError);
}

TEST_CASE("spawn: terminate, kill and sentinels work as for fork", "[process][spawn]") {
  ProcessGuard guard;
  mp::SpawnProcess p(sleep_forever);
  p.start();
  CHECK(p.is_alive());
  CHECK(mp::connection::wait({p.sentinel()}, 0.05).empty());
  p.terminate();
  p.join();
  CHECK(p.exitcode() == -SIGTERM);
}

TEST_CASE("spawn through a run-time context: a capturing lambda is refused at start() with PicklingError",
          "[process][spawn]") {
  ProcessGuard guard;
  auto ctx = mp::get_context("spawn");
  int captured = 1;
  auto p = ctx.Process([captured] { pyconc::sys::exit(captured); });
  CHECK(p.name().rfind("SpawnProcess-", 0) == 0);
  CHECK_THROWS_AS(p.start(), pyconc::pickle::PicklingError);
  CHECK_FALSE(p.pid());

  struct Custom : mp::Process {
    void run() override {}
  };
  mp::set_start_method("spawn");
  Custom c;
  CHECK_THROWS_AS(c.start(), pyconc::pickle::PicklingError);

  auto ok = ctx.Process(&Tasks::exit_with, std::tuple{9});
  ok.start();
  ok.join();
  CHECK(ok.exitcode() == 9);
}

TEST_CASE("spawn before freeze_support() raises CPython's bootstrapping-phase RuntimeError", "[process][spawn]") {
  ProcessGuard guard;
  auto& registry = pyconc::detail::process_registry();
  registry.freeze_support_called = false;  // as in a program whose main never called it
  mp::SpawnProcess p(sleep_forever);
  try {
    p.start();
    FAIL("start() did not raise");
  } catch (const pyconc::RuntimeError& e) {
    CHECK(std::string(e.what()).find("before the\n        current process has finished its bootstrapping phase") !=
          std::string::npos);
    CHECK(std::string(e.what()).find("multiprocessing::freeze_support();") != std::string::npos);
  }
  registry.freeze_support_called = true;
  CHECK_FALSE(p.pid());
}

TEST_CASE("forkserver: children forked by the server, exit codes, signals and sentinels", "[process][forkserver]") {
  ProcessGuard guard;
  const std::string path = pyconc_test::temp_path("forkserver");
  mp::ForkServerProcess p(record, std::tuple{path, 1, std::string("x")});
  CHECK(p.name().rfind("ForkServerProcess-", 0) == 0);
  p.start();
  p.join();
  CHECK(p.exitcode() == 0);
  CHECK(pyconc_test::read_file(path) == "1x " + p.name());
  std::remove(path.c_str());

  mp::ForkServerProcess code(&Tasks::exit_with, std::tuple{12});
  mp::ForkServerProcess sleeper(sleep_forever);
  mp::ForkServerProcess victim(sleep_forever);
  code.start();
  sleeper.start();
  victim.start();
  CHECK(sleeper.is_alive());
  CHECK(mp::connection::wait({sleeper.sentinel(), victim.sentinel()}, 0.05).empty());
  sleeper.terminate();
  victim.kill();
  code.join();
  sleeper.join();
  victim.join();
  CHECK(code.exitcode() == 12);
  CHECK(sleeper.exitcode() == -SIGTERM);
  CHECK(victim.exitcode() == -SIGKILL);
}

TEST_CASE("with the GIL on, join, sentinel waits and recv release it", "[process][gil]") {
  ProcessGuard guard(20);
  pyconc::gil::enable();
  const auto pipe12 = mp::Pipe(false);
  mp::Connection reader = pipe12.first, writer = pipe12.second;
  const auto pipe13 = mp::Pipe(false);
  mp::Connection result_reader = pipe13.first, result_writer = pipe13.second;
  mp::Process p([reader = reader, writer = writer, result_writer = result_writer] {
    writer.close();
    wait_readable(reader.fileno());
    result_writer.send(5);
  });
  p.start();
  result_writer.close();
  std::atomic<int> finished{0};
  // Each thread blocks in a process wait; were the GIL held there, the main thread could not
  // run again after its sleep (which releases the GIL) to close the pipe.
  pyconc::threading::Thread joiner([&] {
    p.join();
    ++finished;
  });
  pyconc::threading::Thread waiter([&] {
    static_cast<void>(mp::connection::wait({p.sentinel()}));
    ++finished;
  });
  pyconc::threading::Thread receiver([&, result_reader = result_reader] {
    if (result_reader.recv<int>() == 5)
      ++finished;
  });
  joiner.start();
  waiter.start();
  receiver.start();
  pyconc::time::sleep(0.2);  // the three threads are blocked by now
  writer.close();
  joiner.join();
  waiter.join();
  receiver.join();
  CHECK(finished == 3);
  CHECK(p.exitcode() == 0);
  pyconc::gil::disable();
}
