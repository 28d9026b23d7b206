// SPDX-License-Identifier: MIT
// multiprocessing.JoinableQueue, after CPython's _test_multiprocessing.py (_TestQueue:
// test_task_done) and the semantics reference (§2.4): worker processes mark tasks done,
// join() returns once every task is done, task_done() too often raises ValueError.
#include <pyconc/multiprocessing.hpp>
#include <pyconc/queue.hpp>

#include "multiprocessing/process_support.hpp"
#include "support.hpp"

#include <string>
#include <tuple>
#include <vector>

namespace mp = pyconc::multiprocessing;
using pyconc_test::ProcessGuard;

namespace {

void worker(mp::JoinableQueue<int> q, mp::Value<long long> sum) {
  for (;;) {
    const int item = q.get();
    if (item < 0) {
      q.task_done();
      return;
    }
    {
      std::lock_guard with(sum.get_lock());
      sum.value(sum.value() + item);
    }
    q.task_done();
  }
}

}  // namespace

TEST_CASE("JoinableQueue: task_done too often raises CPython's ValueError, join returns at zero", "[joinable_queue]") {
  mp::JoinableQueue<int> q;
  REQUIRE_RAISES(q.task_done(), pyconc::ValueError, "task_done() called too many times");
  q.join();  // nothing put: returns at once
  q.put(1);
  q.put(2);
  CHECK(q.get() == 1);
  q.task_done();
  CHECK(q.get() == 2);
  q.task_done();
  q.join();
  REQUIRE_RAISES(q.task_done(), pyconc::ValueError, "task_done() called too many times");
  CHECK(q.repr().rfind("<multiprocessing.queues.JoinableQueue object at 0x", 0) == 0);
  q.close();
  REQUIRE_RAISES(q.put(1), pyconc::ValueError, "Queue " + q.repr() + " is closed");
}

TEST_CASE("JoinableQueue: join waits until worker processes have done every task (test_task_done)",
          "[joinable_queue][spawn]") {
  ProcessGuard guard;
  for (const std::string method : {"fork", "spawn"}) {
    mp::JoinableQueue<int> q;
    mp::Value<long long> sum(0);
    std::vector<mp::Process> workers;
    for (int i = 0; i < 3; ++i) {
      workers.push_back(mp::get_context(method).Process(worker, std::tuple{q, sum}));
      workers.back().start();
    }
    for (int i = 1; i <= 1000; ++i)
      q.put(i);
    q.join();
    CHECK(sum.value() == 500500);  // every task was done before join returned
    for (int i = 0; i < 3; ++i)
      q.put(-1);
    for (auto& w : workers) {
      w.join();
      CHECK(w.exitcode() == 0);
    }
  }
}
