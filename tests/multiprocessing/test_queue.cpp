// SPDX-License-Identifier: MIT
// multiprocessing.Queue, after CPython's _test_multiprocessing.py (_TestQueue: test_put,
// test_get, test_fork, test_qsize, test_timeout, test_closed_queue_put_get_exceptions,
// test_closed_queue_empty_exceptions, test_cancel_join_thread) and the semantics reference
// (§1.4, §2.4, §3.5): blocking and timeouts, Full and Empty, close, the feeder's contract
// (put never waits for a reader; an exiting child flushes unless cancel_join_thread), any
// mix of producer and consumer processes without loss or duplication, a consumer SIGKILLed
// inside get, corrupt bytes in the channel, and items larger than the channel's ring.
#include <pyconc/multiprocessing.hpp>
#include <pyconc/queue.hpp>
#include <pyconc/threading.hpp>
#include <pyconc/time.hpp>

#include "multiprocessing/process_support.hpp"
#include "support.hpp"

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

namespace mp = pyconc::multiprocessing;
using pyconc_test::ProcessGuard;
using Clock = std::chrono::steady_clock;

namespace {

void produce(mp::Queue<int> q, int first, int count) {
  for (int i = first; i < first + count; ++i)
    q.put(i);
}

/** Gets until it receives -1; reports every item through `out`. */
void consume(mp::Queue<int> q, mp::Connection out) {
  for (;;) {
    const int item = q.get();
    out.send(item);
    if (item == -1)
      return;
  }
}

void put_strings(mp::Queue<std::string> q, int count, int size) {
  for (int i = 0; i < count; ++i)
    q.put(std::string(static_cast<std::size_t>(size), static_cast<char>('a' + i % 26)));
}

}  // namespace

TEST_CASE("Queue: put and get with block and timeout, Full and Empty, qsize, empty and full (test_put)", "[queue]") {
  mp::Queue<int> q(3);
  CHECK(q.empty());
  CHECK_FALSE(q.full());
  CHECK(q.qsize() == 0);
  q.put(1);
  q.put(2, true);
  q.put(3, true, 1.0);
  CHECK(q.full());
  CHECK(q.qsize() == 3);
  CHECK_FALSE(q.empty());
  CHECK_THROWS_AS(q.put(4, false), pyconc::queue::Full);
  CHECK_THROWS_AS(q.put_nowait(4), pyconc::queue::Full);
  CHECK_THROWS_AS(q.put(4, true, -1), pyconc::queue::Full);
  const auto start = Clock::now();
  CHECK_THROWS_AS(q.put(4, true, 0.1), pyconc::queue::Full);
  REQUIRE_TIMING(std::chrono::duration<double>(Clock::now() - start).count(), 0.1);
  CHECK(q.get() == 1);
  CHECK(q.get(true) == 2);
  CHECK(q.get(true, 1.0) == 3);
  CHECK(q.empty());
  CHECK_THROWS_AS(static_cast<void>(q.get(false)), pyconc::queue::Empty);
  CHECK_THROWS_AS(static_cast<void>(q.get_nowait()), pyconc::queue::Empty);
  CHECK_THROWS_AS(static_cast<void>(q.get(true, -1)), pyconc::queue::Empty);
  const auto again = Clock::now();
  CHECK_THROWS_AS(static_cast<void>(q.get(true, 0.1)), pyconc::queue::Empty);
  REQUIRE_TIMING(std::chrono::duration<double>(Clock::now() - again).count(), 0.1);
  CHECK(q.repr().rfind("<multiprocessing.queues.Queue object at 0x", 0) == 0);
}

TEST_CASE("Queue: maxsize <= 0 is unbounded", "[queue]") {
  mp::Queue<int> q(-5);
  CHECK_FALSE(q.full());
  for (int i = 0; i < 10'000; ++i)
    q.put_nowait(i);
  CHECK(q.qsize() == 10'000);
  for (int i = 0; i < 10'000; ++i)
    REQUIRE(q.get() == i);
}

TEST_CASE("Queue: after close() put and get raise CPython's ValueError, empty() OSError once used", "[queue]") {
  mp::Queue<int> unused;
  unused.close();
  CHECK(unused.empty());
  const std::string closed = "Queue " + unused.repr() + " is closed";
  REQUIRE_RAISES(unused.put(1), pyconc::ValueError, closed);
  REQUIRE_RAISES(static_cast<void>(unused.get()), pyconc::ValueError, closed);
  REQUIRE_RAISES(unused.put_nowait(1), pyconc::ValueError, closed);

  mp::Queue<int> used;
  REQUIRE_RAISES(used.join_thread(), pyconc::AssertionError, "Queue " + used.repr() + " not closed");
  used.put(1);
  CHECK(used.get() == 1);
  used.close();
  used.join_thread();
  REQUIRE_RAISES(static_cast<void>(used.empty()), pyconc::OSError, "handle is closed");
  CHECK(used.qsize() == 0);
}

TEST_CASE("Queue: one writer process, one reader process (the classic example)", "[queue][spawn]") {
  ProcessGuard guard;
  for (const std::string method : {"fork", "spawn", "forkserver"}) {
    mp::Queue<int> q;
    const auto ends = mp::Pipe(false);
    mp::Connection reader = ends.first, writer = ends.second;
    auto w = mp::get_context(method).Process(produce, std::tuple{q, 0, 100});
    auto r = mp::get_context(method).Process(consume, std::tuple{q, writer});
    w.start();
    r.start();
    w.join();
    q.put(-1);
    std::vector<int> got;
    for (;;) {
      const int item = reader.recv<int>();
      if (item == -1)
        break;
      got.push_back(item);
    }
    r.join();
    CHECK(w.exitcode() == 0);
    CHECK(r.exitcode() == 0);
    std::vector<int> expected(100);
    for (int i = 0; i < 100; ++i)
      expected[static_cast<std::size_t>(i)] = i;
    CHECK(got == expected);  // one producer, one consumer: in order
  }
}

TEST_CASE("Queue: 3 producer and 3 consumer processes: every item exactly once", "[queue]") {
  ProcessGuard guard;
  constexpr int kPer = PYCONC_TEST_TSAN ? 2'000 : 20'000;
  mp::Queue<int> q(1000);
  const auto ends = mp::Pipe(false);
  mp::Connection reader = ends.first, writer = ends.second;
  std::vector<mp::Process> producers;
  std::vector<mp::Process> consumers;
  for (int i = 0; i < 3; ++i) {
    producers.emplace_back(produce, std::tuple{q, i * kPer, kPer});
    consumers.emplace_back(consume, std::tuple{q, writer});
  }
  for (auto& p : producers)
    p.start();
  for (auto& c : consumers)
    c.start();
  // Read while the producers run: a consumer blocked on a full pipe would stop consuming, and
  // a producer cannot end before its buffered items are in the queue.
  std::multiset<int> got;
  while (got.size() < 3u * kPer) {
    REQUIRE(reader.poll(30.0));
    got.insert(reader.recv<int>());
  }
  for (auto& p : producers)
    p.join();
  for (int i = 0; i < 3; ++i)
    q.put(-1);
  for (int stops = 0; stops < 3;) {
    REQUIRE(reader.poll(30.0));
    REQUIRE(reader.recv<int>() == -1);
    ++stops;
  }
  for (auto& c : consumers) {
    c.join();
    CHECK(c.exitcode() == 0);
  }
  CHECK(got.size() == 3u * kPer);
  CHECK(std::set<int>(got.begin(), got.end()).size() == 3u * kPer);  // no duplicate
  CHECK(*got.begin() == 0);
  CHECK(*got.rbegin() == 3 * kPer - 1);
}

TEST_CASE("Queue: put returns without a reader, and an exiting child flushes its buffered items first", "[queue]") {
  ProcessGuard guard;
  // 64 items of 64 KiB: 4 MiB, many times the channel: most wait in the child's buffer.
  mp::Queue<std::string> q;
  mp::Event returned;
  mp::Process p([q, returned]() mutable {
    put_strings(q, 64, 64 * 1024);
    returned.set();  // every put returned, with nobody reading yet
  });
  p.start();
  REQUIRE(returned.wait(30.0));
  for (int i = 0; i < 64; ++i) {
    const std::string item = q.get(true, 30.0);
    REQUIRE(item.size() == 64u * 1024);
    REQUIRE(item[0] == static_cast<char>('a' + i % 26));
  }
  p.join();
  CHECK(p.exitcode() == 0);
}

TEST_CASE("Queue: cancel_join_thread lets a child exit with its items unwritten (test_cancel_join_thread)", "[queue]") {
  ProcessGuard guard;
  mp::Queue<std::string> q;
  mp::Process p([q]() mutable {
    put_strings(q, 64, 64 * 1024);
    q.cancel_join_thread();
  });
  p.start();
  p.join();  // nobody read: without cancel_join_thread this would wait for a reader
  CHECK(p.exitcode() == 0);
  int available = 0;
  try {
    for (;;) {
      static_cast<void>(q.get(true, 0.2));
      ++available;
    }
  } catch (const pyconc::queue::Empty&) {
  }
  CHECK(available < 64);  // the rest died with the child's buffer
}

TEST_CASE("Queue: items larger than the channel stream through it", "[queue][spawn]") {
  ProcessGuard guard;
  mp::Queue<std::string> q;
  auto p = mp::get_context("spawn").Process(put_strings, std::tuple{q, 5, 3 << 20});
  p.start();
  for (int i = 0; i < 5; ++i) {
    const std::string item = q.get(true, 30.0);
    REQUIRE(item.size() == std::size_t{3} << 20);
    CHECK(item.front() == static_cast<char>('a' + i));
    CHECK(item.back() == static_cast<char>('a' + i));
  }
  p.join();
  CHECK(p.exitcode() == 0);
}

TEST_CASE("Queue: corrupt bytes in the channel raise UnpicklingError in the reader, and the queue goes on", "[queue]") {
  mp::Queue<std::vector<int>> q;
  pyconc::detail::QueueAccess<mp::Queue<std::vector<int>>>::write_raw(q, std::string("\xff\x01garbage", 9));
  q.put({1, 2, 3});
  CHECK_THROWS_AS(q.get(), pyconc::pickle::UnpicklingError);
  CHECK(q.get() == std::vector<int>{1, 2, 3});
}

TEST_CASE("Queue: a consumer SIGKILLed inside get() hangs no other consumer and loses no item", "[queue][robust]") {
  ProcessGuard guard;
  mp::Queue<int> q;
  mp::Event waiting;
  // The doomed consumer holds the channel's read lock while it waits for an item.
  mp::Process doomed([q, waiting]() mutable {
    waiting.set();
    static_cast<void>(q.get());
  });
  doomed.start();
  REQUIRE(waiting.wait(20.0));
  const auto ends = mp::Pipe(false);
  mp::Connection reader = ends.first, writer = ends.second;
  mp::Process survivor(consume, std::tuple{q, writer});
  survivor.start();
  doomed.kill();
  doomed.join();
  for (int i = 0; i < 100; ++i)
    q.put(i);
  q.put(-1);
  std::vector<int> got;
  for (;;) {
    REQUIRE(reader.poll(20.0));
    const int item = reader.recv<int>();
    if (item == -1)
      break;
    got.push_back(item);
  }
  survivor.join();
  CHECK(got.size() == 100u);  // the killed consumer had taken nothing
}

TEST_CASE("Queue: consumers SIGKILLed at random moments lose at most the item each was taking", "[queue][robust]") {
  ProcessGuard guard;
  constexpr int kItems = 20'000;
  mp::Queue<int> q;
  const auto ends = mp::Pipe(false);
  mp::Connection reader = ends.first, writer = ends.second;
  std::vector<mp::Process> consumers;
  for (int i = 0; i < 3; ++i) {
    consumers.emplace_back(consume, std::tuple{q, writer});
    consumers.back().start();
  }
  mp::Process producer(produce, std::tuple{q, 0, kItems});
  producer.start();
  std::set<int> got;
  // Kill two of the three consumers after they have started taking items.
  while (got.size() < kItems / 4) {
    REQUIRE(reader.poll(20.0));
    got.insert(reader.recv<int>());
  }
  consumers[0].kill();
  while (got.size() < kItems / 2) {
    REQUIRE(reader.poll(20.0));
    got.insert(reader.recv<int>());
  }
  consumers[1].kill();
  // Keep reading until the producer has ended (it ends once its items are in the queue).
  while (producer.is_alive() || reader.poll(0.0)) {
    if (reader.poll(0.05))
      got.insert(reader.recv<int>());
  }
  producer.join();
  q.put(-1);
  for (;;) {
    REQUIRE(reader.poll(20.0));
    const int item = reader.recv<int>();
    if (item == -1)
      break;
    got.insert(item);
  }
  for (auto& c : consumers)
    c.join();
  std::vector<int> lost;
  for (int i = 0; i < kItems; ++i) {
    if (got.count(i) == 0)
      lost.push_back(i);
  }
  INFO("items lost with the killed consumers: " << pyconc::repr(lost));
  CHECK(lost.size() <= 2u);
}

TEST_CASE(
    "Queue: a producer SIGKILLed while streaming a large item: its reader gets UnpicklingError, the queue "
    "goes on",
    "[queue][robust]") {
  ProcessGuard guard;
  mp::Queue<std::string> q;
  mp::Process producer([q]() mutable {
    q.put(std::string(std::size_t{3} << 20, 'z'));  // larger than the channel: it streams
    q.put("never written");
  });
  producer.start();
  // Nobody reads: once the first piece is in the channel the producer is stuck inside the item.
  const auto give_up = Clock::now() + std::chrono::seconds(20);
  while (q.empty() && Clock::now() < give_up)
    pyconc::time::sleep(0.001);
  REQUIRE_FALSE(q.empty());
  producer.kill();
  producer.join();
  CHECK_THROWS_AS(q.get(true, 20.0), pyconc::pickle::UnpicklingError);
  q.put("after");
  CHECK(q.get(true, 20.0) == "after");
}
