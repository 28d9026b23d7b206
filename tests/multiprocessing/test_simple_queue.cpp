// SPDX-License-Identifier: MIT
// multiprocessing.SimpleQueue, after CPython's _test_multiprocessing.py (TestSimpleQueue) and
// the semantics reference (§1.4, §2.4): put, get, empty, close ("handle is closed"), and
// processes of every start method on either end.
#include <pyconc/multiprocessing.hpp>

#include "multiprocessing/process_support.hpp"
#include "support.hpp"

#include <string>
#include <tuple>
#include <vector>

namespace mp = pyconc::multiprocessing;
using pyconc_test::ProcessGuard;

namespace {

void echo_doubled(mp::SimpleQueue<int> in, mp::SimpleQueue<int> out) {
  for (;;) {
    const int item = in.get();
    out.put(item * 2);
    if (item == 0)
      return;
  }
}

}  // namespace

TEST_CASE("SimpleQueue: put, get and empty, and close's OSError", "[simple_queue]") {
  mp::SimpleQueue<std::string> q;
  CHECK(q.empty());
  q.put("a");
  q.put("b");
  CHECK_FALSE(q.empty());
  CHECK(q.get() == "a");
  CHECK(q.get() == "b");
  CHECK(q.empty());
  CHECK(q.repr().rfind("<multiprocessing.queues.SimpleQueue object at 0x", 0) == 0);
  q.close();
  REQUIRE_RAISES(q.put("c"), pyconc::OSError, "handle is closed");
  REQUIRE_RAISES(static_cast<void>(q.get()), pyconc::OSError, "handle is closed");
  REQUIRE_RAISES(static_cast<void>(q.empty()), pyconc::OSError, "handle is closed");
}

TEST_CASE("SimpleQueue: a child of each start method answers through a second queue", "[simple_queue][spawn]") {
  ProcessGuard guard;
  for (const std::string method : {"fork", "spawn", "forkserver"}) {
    mp::SimpleQueue<int> in;
    mp::SimpleQueue<int> out;
    auto p = mp::get_context(method).Process(echo_doubled, std::tuple{in, out});
    p.start();
    for (int i = 1; i <= 100; ++i)
      in.put(i);
    in.put(0);
    for (int i = 1; i <= 100; ++i)
      REQUIRE(out.get() == 2 * i);
    CHECK(out.get() == 0);
    p.join();
    CHECK(p.exitcode() == 0);
  }
}
