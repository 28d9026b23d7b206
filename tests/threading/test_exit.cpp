// SPDX-License-Identifier: MIT
// Exit semantics (Python: threading._shutdown; reference section 3.1): at normal process exit
// non-daemon threads are joined and daemon threads are not waited for. Each test forks a
// child of this (single-threaded) test process, which starts threads and calls std::exit;
// the threads report through a pipe, which the parent reads once the child is gone.
#include <pyconc/threading.hpp>
#include <pyconc/time.hpp>

#include <catch2/catch.hpp>

#include <unistd.h>  // write

#include <cstdlib>  // std::exit
#include <cstring>  // std::strlen
#include <string>   // std::string

#include "support.hpp"

using namespace pyconc;

#if PYCONC_TEST_TSAN
// ThreadSanitizer sleeps 1 s at exit while other threads run (atexit_sleep_ms), which would
// blur "exit does not wait for a daemon thread". TSAN_OPTIONS still overrides this.
extern "C" const char* __tsan_default_options() {
  return "atexit_sleep_ms=0";
}
#endif

namespace {

void say(int fd, const char* text) {
  [[maybe_unused]] const auto n = ::write(fd, text, std::strlen(text));
}

void require_exited(const pyconc_test::ChildOutcome& child, int status) {
  INFO("child output: " << child.output);
  REQUIRE_FALSE(child.timed_out);
  REQUIRE(child.signal == 0);
  REQUIRE(child.exited);
  REQUIRE(child.exit_status == status);
}

}  // namespace

TEST_CASE("exit joins a non-daemon thread", "[exit]") {
  const auto child = pyconc_test::run_in_child([](int fd) {
    threading::Thread worker([fd] {
      pyconc::time::sleep(0.2);
      say(fd, "done");
    });
    worker.start();
    std::exit(0);
    return 1;  // not reached
  });
  require_exited(child, 0);
  REQUIRE(child.output == "done");
  REQUIRE(child.seconds >= 0.6 * 0.2);
}

TEST_CASE("exit keeps the status given to std::exit after joining non-daemon threads", "[exit]") {
  const auto child = pyconc_test::run_in_child([](int fd) {
    threading::Thread worker([fd] {
      pyconc::time::sleep(0.05);
      say(fd, "done");
    });
    worker.start();
    std::exit(5);
    return 1;  // not reached
  });
  require_exited(child, 5);
  REQUIRE(child.output == "done");
}

TEST_CASE("exit does not wait for a daemon thread", "[exit]") {
  const auto child = pyconc_test::run_in_child(
      [](int fd) {
        threading::Event running;
        threading::Thread sleeper(
            [fd, &running] {
              running.set();
              pyconc::time::sleep(5.0);
              say(fd, "late");
            },
            {.daemon = true});
        sleeper.start();
        running.wait();  // the daemon thread is really running when the child exits
        std::exit(0);
        return 1;  // not reached
      },
      10.0);
  require_exited(child, 0);
  REQUIRE(child.output.empty());
  REQUIRE(child.seconds < 2.0);
}

TEST_CASE("exit joins non-daemon threads and abandons daemon threads started together", "[exit]") {
  const auto child = pyconc_test::run_in_child(
      [](int fd) {
        threading::Event running;
        threading::Thread daemon(
            [fd, &running] {
              running.set();
              pyconc::time::sleep(5.0);
              say(fd, "daemon");
            },
            {.daemon = true});
        threading::Thread worker([fd] {
          pyconc::time::sleep(0.1);
          say(fd, "worker");
        });
        daemon.start();
        worker.start();
        running.wait();
        std::exit(0);
        return 1;  // not reached
      },
      10.0);
  require_exited(child, 0);
  REQUIRE(child.output == "worker");
  REQUIRE(child.seconds < 2.0);
}

TEST_CASE("exit also joins non-daemon threads started by non-daemon threads meanwhile", "[exit]") {
  const auto child = pyconc_test::run_in_child([](int fd) {
    static threading::Event first_written;  // outlives the child's threads
    threading::Thread parent([fd] {
      threading::main_thread().join();  // returns once exit has begun
      threading::Thread late([fd] {
        first_written.wait();
        say(fd, "late");
      });
      late.start();
      say(fd, "parent;");
      first_written.set();
    });
    parent.start();
    std::exit(0);
    return 1;  // not reached
  });
  require_exited(child, 0);
  REQUIRE(child.output == "parent;late");
}

TEST_CASE("exit releases threads blocked in main_thread().join()", "[exit]") {
  // CPython marks the main thread finished before joining the others (test_1_join_on_shutdown).
  const auto child = pyconc_test::run_in_child([](int fd) {
    threading::Thread waiter([fd] {
      threading::main_thread().join();
      say(fd, "main joined");
    });
    waiter.start();
    std::exit(0);
    return 1;  // not reached
  });
  require_exited(child, 0);
  REQUIRE(child.output == "main joined");
}

TEST_CASE("exit leaves a static local usable by daemon threads still running", "[exit][local]") {
  // Python's daemon threads may still touch a module-level threading.local at exit. Here the
  // local is a function-local static first used after a thread started, so its destructor
  // runs before the exit handler that the first start() installed: the local must notice the
  // exit by itself and keep the daemons' values.
  const auto child = pyconc_test::run_in_child([](int fd) {
    threading::Thread first([] {});
    first.start();
    first.join();
    static threading::local<std::string> text;  // destructor registered only now
    threading::Event running;
    for (int i = 0; i < 2; ++i) {
      threading::Thread worker(
          [&running] {
            for (;;) {
              *text += "x";
              if (text->size() > 64)
                text->resize(1);
              running.set();
            }
          },
          {.daemon = true});
      worker.start();
    }
    running.wait();
    say(fd, "exiting");
    std::exit(0);
    return 1;  // not reached
  });
  require_exited(child, 0);
  REQUIRE(child.output == "exiting");
}
