// SPDX-License-Identifier: MIT
// multiprocessing.Event, after CPython's _test_multiprocessing.py (_TestEvent): set, clear,
// wait with and without a timeout, woken across fork and spawn, repr.
#include <pyconc/multiprocessing.hpp>

#include "multiprocessing/process_support.hpp"
#include "support.hpp"

#include <chrono>
#include <cmath>
#include <string>
#include <tuple>

namespace mp = pyconc::multiprocessing;
using pyconc_test::ProcessGuard;

namespace {

void set_after(mp::Event go, mp::Event done) {
  go.wait();
  done.set();
}

}  // namespace

TEST_CASE("Event: set, clear, is_set and timed waits (test_event)", "[event]") {
  mp::Event event;
  CHECK_FALSE(event.is_set());
  CHECK(event.repr().find(" unset>") != std::string::npos);
  CHECK_FALSE(event.wait(0.0));
  const auto start = std::chrono::steady_clock::now();
  CHECK_FALSE(event.wait(0.1));
  REQUIRE_TIMING(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 0.1);
  CHECK_FALSE(event.wait(-1));
  event.set();
  CHECK(event.is_set());
  CHECK(event.wait());
  CHECK(event.wait(0.0));
  CHECK(event.repr().rfind("<Event at 0x", 0) == 0);
  CHECK(event.repr().find(" set>") != std::string::npos);
  event.clear();
  CHECK_FALSE(event.is_set());
  REQUIRE_RAISES(event.wait(std::nan("")), pyconc::OSError, "[Errno 22] Invalid argument");
}

TEST_CASE("Event: a parent and a fork, spawn or forkserver child wake each other", "[event][spawn]") {
  ProcessGuard guard;
  for (const std::string method : {"fork", "spawn", "forkserver"}) {
    mp::Event go;
    mp::Event done;
    auto p = mp::get_context(method).Process(set_after, std::tuple{go, done});
    p.start();
    CHECK_FALSE(done.wait(0.05));
    go.set();
    CHECK(done.wait(20.0));
    p.join();
    CHECK(p.exitcode() == 0);
  }
}
