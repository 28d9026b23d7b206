// SPDX-License-Identifier: MIT
// multiprocessing.Barrier, after CPython's _test_multiprocessing.py (_TestBarrier: test_barrier,
// test_wait_return, test_action, test_abort, test_reset, test_timeout) and the semantics
// reference (§2.4, Barrier(0) accepted); and a party SIGKILLed inside wait() breaks the
// barrier for the others instead of hanging them.
#include <pyconc/multiprocessing.hpp>
#include <pyconc/time.hpp>

#include "multiprocessing/process_support.hpp"
#include "support.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <tuple>
#include <vector>

namespace mp = pyconc::multiprocessing;
using pyconc::threading::BrokenBarrierError;
using pyconc_test::ProcessGuard;

namespace {

/** Waits `rounds` times; reports each arrival index through `out`. */
void meet(mp::Barrier barrier, mp::Connection out, int rounds) {
  for (int i = 0; i < rounds; ++i)
    out.send(static_cast<int>(barrier.wait(20.0)));
}

void meet_or_broken(mp::Barrier barrier, mp::Connection out) {
  try {
    barrier.wait(30.0);
    out.send(std::string("passed"));
  } catch (const BrokenBarrierError&) {
    out.send(std::string("broken"));
  }
}

/** Polls (n_waiting has nothing to wait on) until `n` parties wait; false after 20 s. */
bool until_waiting(mp::Barrier& barrier, long long n) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (barrier.n_waiting() < n) {
    if (std::chrono::steady_clock::now() > give_up)
      return false;
    pyconc::time::sleep(0.001);
  }
  return true;
}

}  // namespace

TEST_CASE("Barrier: parties, n_waiting, broken and repr, and Barrier(0) is accepted", "[barrier]") {
  mp::Barrier barrier(3);
  CHECK(barrier.parties() == 3);
  CHECK(barrier.n_waiting() == 0);
  CHECK_FALSE(barrier.broken());
  CHECK(barrier.repr().rfind("<multiprocessing.synchronize.Barrier at 0x", 0) == 0);
  CHECK(barrier.repr().find(": waiters=0/3>") != std::string::npos);
  barrier.abort();
  CHECK(barrier.broken());
  CHECK(barrier.repr().find(": broken>") != std::string::npos);
  mp::Barrier zero(0);
  CHECK(zero.parties() == 0);
  CHECK_THROWS_AS(zero.wait(0.05), BrokenBarrierError);
}

TEST_CASE("Barrier: three processes pass it together, twice, with indexes 0..2 (test_wait_return)",
          "[barrier][spawn]") {
  ProcessGuard guard;
  mp::Barrier barrier(3);
  const auto ends = mp::Pipe(false);
  mp::Connection reader = ends.first, writer = ends.second;
  mp::Process a(meet, std::tuple{barrier, writer, 2});
  auto b = mp::get_context("spawn").Process(meet, std::tuple{barrier, writer, 2});
  a.start();
  b.start();
  std::vector<int> indexes;
  for (int round = 0; round < 2; ++round)
    indexes.push_back(static_cast<int>(barrier.wait(20.0)));
  for (int i = 0; i < 4; ++i)
    indexes.push_back(reader.recv<int>());
  std::sort(indexes.begin(), indexes.end());
  CHECK(indexes == std::vector<int>{0, 0, 1, 1, 2, 2});
  a.join();
  b.join();
  CHECK(a.exitcode() == 0);
  CHECK(b.exitcode() == 0);
}

TEST_CASE("Barrier: the action runs once per round, in the last party to arrive (test_action)", "[barrier]") {
  ProcessGuard guard;
  auto runs = pyconc::detail::Shared<std::atomic<int>>::make(0, 0);
  mp::Barrier barrier(2, [runs] { runs->fetch_add(1); });
  const auto ends = mp::Pipe(false);
  mp::Connection reader = ends.first, writer = ends.second;
  mp::Process p(meet, std::tuple{barrier, writer, 3});
  p.start();
  for (int i = 0; i < 3; ++i)
    barrier.wait(20.0);
  p.join();
  CHECK(runs->load() == 3);
}

TEST_CASE("Barrier: a timeout or an abort breaks it for everyone, reset makes it usable (test_abort, test_reset)",
          "[barrier]") {
  ProcessGuard guard;
  mp::Barrier barrier(2);
  CHECK_THROWS_AS(barrier.wait(0.05), BrokenBarrierError);  // timed out alone: broken
  CHECK(barrier.broken());
  CHECK_THROWS_AS(barrier.wait(5.0), BrokenBarrierError);  // and stays broken
  barrier.reset();
  CHECK_FALSE(barrier.broken());
  const auto ends = mp::Pipe(false);
  mp::Connection reader = ends.first, writer = ends.second;
  mp::Process p(meet_or_broken, std::tuple{barrier, writer});
  p.start();
  CHECK(barrier.wait(20.0) >= 0);
  CHECK(reader.recv<std::string>() == "passed");
  p.join();
  mp::Process q(meet_or_broken, std::tuple{barrier, writer});
  q.start();
  REQUIRE(until_waiting(barrier, 1));
  barrier.abort();
  CHECK(reader.recv<std::string>() == "broken");
  q.join();
}

TEST_CASE("Barrier: a party SIGKILLed inside wait() breaks it for the others, and reset() restores it",
          "[barrier][robust]") {
  ProcessGuard guard;
  mp::Barrier barrier(3);
  const auto ends = mp::Pipe(false);
  mp::Connection reader = ends.first, writer = ends.second;
  mp::Process doomed([barrier]() mutable { barrier.wait(); });
  doomed.start();
  mp::Process survivor(meet_or_broken, std::tuple{barrier, writer});
  survivor.start();
  REQUIRE(until_waiting(barrier, 2));
  doomed.kill();
  doomed.join();
  const auto start = std::chrono::steady_clock::now();
  REQUIRE(reader.poll(20.0));
  CHECK(reader.recv<std::string>() == "broken");
  CHECK(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() < 5.0);
  survivor.join();
  CHECK(barrier.broken());
  barrier.reset();
  CHECK_FALSE(barrier.broken());
  CHECK(barrier.n_waiting() == 0);
  mp::Process a(meet_or_broken, std::tuple{barrier, writer});
  mp::Process b(meet_or_broken, std::tuple{barrier, writer});
  a.start();
  b.start();
  barrier.wait(20.0);
  CHECK(reader.recv<std::string>() == "passed");
  CHECK(reader.recv<std::string>() == "passed");
  a.join();
  b.join();
}
