// SPDX-License-Identifier: MIT
// multiprocessing.RLock, after CPython's _test_multiprocessing.py (_TestLock.test_rlock) and the
// semantics reference (§2.4): recursion, release by a non-owner, repr, fork and spawn
// children; and robustness: a holder that holds it twice and is SIGKILLed is reported once.
#include <pyconc/multiprocessing.hpp>
#include <pyconc/threading.hpp>

#include "multiprocessing/process_support.hpp"
#include "support.hpp"

#include <unistd.h>  // pause

#include <string>
#include <tuple>

namespace mp = pyconc::multiprocessing;
using pyconc_test::ProcessGuard;

namespace {

void hold_twice_forever(mp::RLock lock, mp::Event held) {
  lock.acquire();
  lock.acquire();
  held.set();
  for (;;)
    ::pause();
}

}  // namespace

TEST_CASE("RLock: the owner acquires it again and frees it after as many releases", "[rlock]") {
  mp::RLock lock;
  CHECK(lock.acquire());
  CHECK(lock.acquire(false));
  CHECK(lock.acquire(true, 0.0));
  CHECK(lock.repr() == "<RLock(MainProcess, 3)>");
  lock.release();
  lock.release();
  CHECK(lock.repr() == "<RLock(MainProcess, 1)>");
  lock.release();
  CHECK(lock.repr() == "<RLock(None, 0)>");
  REQUIRE_RAISES(lock.release(), pyconc::AssertionError, "attempt to release recursive lock not owned by thread");
}

TEST_CASE("RLock: another thread can neither take nor release it", "[rlock]") {
  mp::RLock lock;
  lock.acquire();
  std::string repr;
  bool got = true;
  std::string error;
  pyconc::threading::Thread t([&] {
    repr = lock.repr();
    got = lock.acquire(false);
    try {
      lock.release();
    } catch (const pyconc::AssertionError& e) {
      error = e.what();
    }
  });
  t.start();
  t.join();
  CHECK(repr == "<RLock(SomeOtherThread, nonzero)>");
  CHECK_FALSE(got);
  CHECK(error == "attempt to release recursive lock not owned by thread");
  lock.release();
}

TEST_CASE("RLock: held by a fork or spawn child it is SomeOtherProcess", "[rlock][spawn]") {
  ProcessGuard guard;
  for (const std::string method : {"fork", "spawn"}) {
    mp::RLock lock;
    mp::Event held;
    auto p = mp::get_context(method).Process(hold_twice_forever, std::tuple{lock, held});
    p.start();
    REQUIRE(held.wait(20.0));
    CHECK(lock.repr() == "<RLock(SomeOtherProcess, nonzero)>");
    CHECK_FALSE(lock.acquire(true, 0.05));
    REQUIRE_RAISES(lock.release(), pyconc::AssertionError, "attempt to release recursive lock not owned by thread");
    p.terminate();
    p.join();
  }
}

TEST_CASE("RLock: a holder SIGKILLed holding it twice is reported once, and the count starts afresh",
          "[rlock][robust]") {
  ProcessGuard guard;
  mp::RLock lock;
  mp::Event held;
  mp::Process p(hold_twice_forever, std::tuple{lock, held});
  p.start();
  REQUIRE(held.wait(20.0));
  p.kill();
  p.join();
  long reported = 0;
  try {
    lock.acquire(true, 20.0);
  } catch (const mp::AbandonedLockError& e) {
    reported = e.pid();
  }
  CHECK(reported == p.pid().value());
  CHECK(lock.repr() == "<RLock(None, 0)>");
  CHECK(lock.acquire(false));
  CHECK(lock.repr() == "<RLock(MainProcess, 1)>");
  lock.release();
  CHECK(lock.repr() == "<RLock(None, 0)>");
}
