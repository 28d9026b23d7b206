// SPDX-License-Identifier: MIT
// The GIL in a child process made by fork(): as CPython's _PyEval_ReInitThreads, the child's
// GIL is fresh and held by the forking thread (if it held it in the parent).
//
// ThreadSanitizer cannot start threads in a child forked from a multi-threaded process, so
// only children of single-threaded parents start threads.
#include <pyconc/gil.hpp>
#include <pyconc/threading.hpp>
#include <pyconc/time.hpp>

#include <catch2/catch.hpp>

#include <atomic>  // std::atomic

#include "support.hpp"

using namespace pyconc;

namespace {

// Threads take turns in the child: a new thread runs while main blocks in join().
void check_threads_take_turns(pyconc_test::ChildChecks& c) {
  std::atomic<int> held{0};
  threading::Thread t([&] {
    held += gil::held() ? 1 : 0;
    time::sleep(0.001);
    held += gil::held() ? 1 : 0;
  });
  t.start();
  t.join();
  CHILD_CHECK(c, held == 2);
  CHILD_CHECK(c, gil::held());
}

}  // namespace

TEST_CASE("After fork the child's GIL is held by the forking thread", "[gil][fork]") {
  gil::enable();
  const auto child = pyconc_test::run_in_child([](int fd) {
    pyconc_test::ChildChecks c(fd);
    CHILD_CHECK(c, gil::enabled());
    CHILD_CHECK(c, gil::held());
    check_threads_take_turns(c);
    gil::disable();
    CHILD_CHECK(c, !gil::held());
    return c.status();
  });
  pyconc_test::require_child_passed(child);
  CHECK(gil::held());
  gil::disable();
}

TEST_CASE("After fork inside gil_scoped_release the child's GIL is free", "[gil][fork]") {
  gil::enable();
  pyconc_test::ChildOutcome child;
  {
    gil::gil_scoped_release nogil;
    child = pyconc_test::run_in_child([](int fd) {
      pyconc_test::ChildChecks c(fd);
      CHILD_CHECK(c, gil::enabled());
      CHILD_CHECK(c, !gil::held());
      {
        gil::gil_scoped_acquire with_gil;  // free: taken at once
        CHILD_CHECK(c, gil::held());
      }
      CHILD_CHECK(c, !gil::held());
      return c.status();
    });
  }
  pyconc_test::require_child_passed(child);
  CHECK(gil::held());
  gil::disable();
}

TEST_CASE("A GIL held by another thread at fork is free in the child", "[gil][fork]") {
  gil::enable();
  sys::setswitchinterval(1000.0);  // main never asks for it back
  threading::Event holding;
  threading::Event done;
  pyconc_test::ChildOutcome child;
  threading::Thread holder([&] {
    holding.set();
    const pyconc_test::Stopwatch clock;
    while (!done.is_set() && clock.elapsed() < 20)
      gil::checkpoint();  // keeps the GIL
  });
  {
    gil::gil_scoped_release nogil;
    holder.start();
    holding.wait();  // the holder runs, so it holds the GIL
    child = pyconc_test::run_in_child([](int fd) {
      pyconc_test::ChildChecks c(fd);
      CHILD_CHECK(c, !gil::held());
      {
        gil::gil_scoped_acquire with_gil;  // the holder is gone: the GIL is free
        CHILD_CHECK(c, gil::held());
      }
      gil::disable();
      return c.status();
    });
    done.set();
    holder.join();
  }
  pyconc_test::require_child_passed(child);
  CHECK(gil::held());
  gil::disable();
  sys::setswitchinterval(0.005);
}
