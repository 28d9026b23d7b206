// SPDX-License-Identifier: MIT
// Tests of pyconc/detail/lifecycle.hpp: the one ordered at-fork sequence and the one exit
// sequence. This program includes only the lifecycle header, so the phases it sets are the
// only ones registered.
#include <pyconc/detail/lifecycle.hpp>

#include <catch2/catch.hpp>

#include <unistd.h>  // write

#include <string>  // std::string

#include "support.hpp"

using pyconc::detail::ExitPhase;
using pyconc::detail::ForkPhase;

namespace {

// What the handlers record: fixed storage, no allocation (they run inside fork()).
char g_log[64];
std::size_t g_length = 0;
int g_report_fd = -1;

void note(char c) noexcept {
  if (g_length < sizeof g_log)
    g_log[g_length++] = c;
}
void report(const char* text) noexcept {
  std::size_t n = 0;
  while (text[n] != '\0')
    ++n;
  [[maybe_unused]] auto written = ::write(g_report_fd, text, n);
}

std::string logged() {
  return std::string(g_log, g_length);
}

}  // namespace

TEST_CASE("fork runs prepare handlers in phase order and parent and child handlers in reverse",
          "[detail][lifecycle][fork]") {
  pyconc::detail::on_fork(ForkPhase::gil, {.prepare = []() noexcept { note('b'); },
                                           .parent = []() noexcept { note('B'); },
                                           .child = []() noexcept { note('y'); }});
  pyconc::detail::on_fork(ForkPhase::threads, {.prepare = []() noexcept { note('a'); },
                                               .parent = []() noexcept { note('A'); },
                                               .child = []() noexcept { note('x'); }});
  pyconc::detail::on_fork(ForkPhase::processes, {.prepare = []() noexcept { note('c'); },
                                                 .parent = []() noexcept { note('C'); },
                                                 .child = []() noexcept { note('z'); }});
  g_length = 0;
  const auto child = pyconc_test::run_in_child([](int fd) {
    const std::string seen = logged();
    [[maybe_unused]] auto n = ::write(fd, seen.data(), seen.size());
    return 0;
  });
  REQUIRE(child.exited);
  REQUIRE(child.output == "abczyx");
  REQUIRE(logged() == "abcCBA");
  // A phase's handlers belong to one module: setting them again replaces them.
  pyconc::detail::on_fork(ForkPhase::processes, {});
  pyconc::detail::on_fork(ForkPhase::threads, {});
  pyconc::detail::on_fork(ForkPhase::gil, {});
  g_length = 0;
  const auto quiet = pyconc_test::run_in_child([](int) { return 0; });
  REQUIRE(quiet.exited);
  REQUIRE(logged().empty());
}

TEST_CASE("a forked child runs the exit sequence in phase order, each phase once", "[detail][lifecycle][fork]") {
  const auto child = pyconc_test::run_in_child([](int fd) {
    g_report_fd = fd;
    pyconc::detail::on_exit(ExitPhase::streams_flushed, [] { report("flushed "); });
    pyconc::detail::on_exit(ExitPhase::threads_joined, [] { report("joined "); });
    pyconc::detail::on_exit(ExitPhase::children_handled, [] {
      report("children ");
      throw 1;  // a phase that throws does not stop the sequence
    });
    pyconc::detail::on_exit(ExitPhase::executors_drained, [] { report("drained "); });
    pyconc::detail::run_exit_sequence();
    pyconc::detail::run_exit_sequence();  // nothing runs twice
    report("| ");
    return 0;  // run_in_child _exits: the atexit handler does not run
  });
  REQUIRE(child.exited);
  REQUIRE(child.output == "drained joined children flushed | ");
}

TEST_CASE("the exit sequence runs from the atexit handler when a child calls exit()", "[detail][lifecycle][fork]") {
  const auto child = pyconc_test::run_in_child([](int fd) {
    g_report_fd = fd;
    pyconc::detail::on_exit(ExitPhase::threads_joined, [] { report("joined "); });
    pyconc::detail::on_exit(ExitPhase::executors_drained, [] { report("drained "); });
    std::exit(0);
    return 1;
  });
  REQUIRE(child.exited);
  REQUIRE(child.exit_status == 0);
  REQUIRE(child.output == "drained joined ");
}
