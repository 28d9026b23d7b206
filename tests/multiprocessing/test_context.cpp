// SPDX-License-Identifier: MIT
// Start methods and contexts, after CPython's _test_multiprocessing.py (TestStartMethod)
// and the semantics reference (§1.4, §2.4).
#include <pyconc/multiprocessing.hpp>

#include "multiprocessing/process_support.hpp"
#include "support.hpp"

#include <string>
#include <tuple>
#include <vector>

namespace mp = pyconc::multiprocessing;
using pyconc_test::ProcessGuard;

namespace {
void exit_with(int code) {
  pyconc::sys::exit(code);
}
}  // namespace

TEST_CASE("get_all_start_methods lists Linux's three, fork first", "[context]") {
  CHECK(mp::get_all_start_methods() == std::vector<std::string>{"fork", "spawn", "forkserver"});
}

TEST_CASE("the default method is fork, fixed by its first use, set_start_method then needs force", "[context]") {
  CHECK_FALSE(mp::get_start_method(true));  // unset, and allow_none does not fix it
  mp::set_start_method("spawn");
  CHECK(mp::get_start_method() == "spawn");
  REQUIRE_RAISES(mp::set_start_method("fork"), pyconc::RuntimeError, "context has already been set");
  mp::set_start_method("forkserver", true);
  CHECK(mp::get_start_method() == "forkserver");
  CHECK(mp::get_context().get_start_method() == "forkserver");
}

TEST_CASE("get_start_method() fixes the default, as CPython's", "[context]") {
  CHECK(mp::get_start_method() == "fork");
  CHECK(mp::get_start_method(true) == "fork");
  REQUIRE_RAISES(mp::set_start_method("spawn"), pyconc::RuntimeError, "context has already been set");
}

TEST_CASE("unknown method names raise ValueError(\"cannot find context for 'bogus'\")", "[context]") {
  REQUIRE_RAISES(mp::get_context("bogus"), pyconc::ValueError, "cannot find context for 'bogus'");
  REQUIRE_RAISES(mp::set_start_method("bogus"), pyconc::ValueError, "cannot find context for 'bogus'");
  CHECK_FALSE(mp::get_start_method(true));
}

TEST_CASE("a concrete context refuses set_start_method", "[context]") {
  auto ctx = mp::get_context("spawn");
  CHECK(ctx.get_start_method() == "spawn");
  REQUIRE_RAISES(ctx.set_start_method("fork"), pyconc::ValueError, "cannot set start method of concrete context");
  mp::SpawnContext typed;
  REQUIRE_RAISES(typed.set_start_method("fork"), pyconc::ValueError, "cannot set start method of concrete context");
  CHECK(ctx.cpu_count() == mp::cpu_count());
  CHECK(mp::cpu_count() >= 1);
}

TEST_CASE("ctx.Process names processes after the context's class", "[context]") {
  CHECK(mp::get_context("fork").Process(exit_with, std::tuple{0}).name().rfind("ForkProcess-", 0) == 0);
  CHECK(mp::get_context("spawn").Process(exit_with, std::tuple{0}).name().rfind("SpawnProcess-", 0) == 0);
  CHECK(mp::get_context("forkserver").Process(exit_with, std::tuple{0}).name().rfind("ForkServerProcess-", 0) == 0);
  CHECK(mp::Process(exit_with, std::tuple{0}).name().rfind("Process-", 0) == 0);
  mp::ForkContext fork;
  mp::ForkServerContext forkserver;
  CHECK(fork.Process([] {}).name().rfind("ForkProcess-", 0) == 0);
  CHECK(forkserver.Process(exit_with, std::tuple{1}).name().rfind("ForkServerProcess-", 0) == 0);
}

TEST_CASE("each start method runs a target and reports its exit code", "[context]") {
  ProcessGuard guard;
  for (const std::string method : {"fork", "spawn", "forkserver"}) {
    auto p = mp::get_context(method).Process(exit_with, std::tuple{4});
    p.start();
    p.join();
    INFO(method);
    CHECK(p.exitcode() == 4);
  }
  mp::set_start_method("spawn");
  mp::Process p(exit_with, std::tuple{6});
  p.start();
  p.join();
  CHECK(p.exitcode() == 6);
}
