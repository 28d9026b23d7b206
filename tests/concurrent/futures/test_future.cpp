// SPDX-License-Identifier: MIT
// Tests for concurrent::futures::Future, after CPython's Lib/test/test_concurrent_futures/
// test_future.py (FutureTests) and the reference's sections 1.3 and 2.3.
#include <pyconc/concurrent/futures.hpp>
#include <pyconc/threading.hpp>
#include <pyconc/time.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <unordered_set>
#include <vector>

#include "support.hpp"

using namespace pyconc;
namespace cf = pyconc::concurrent::futures;

namespace {

bool is_hex_digit(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/** `repr` with each address (0x followed by hex digits) replaced by "0x?", for comparison. */
std::string anonymous(const std::string& repr) {
  std::string out;
  for (std::size_t i = 0; i < repr.size();) {
    if (repr.compare(i, 2, "0x") == 0 && i + 2 < repr.size() && is_hex_digit(repr[i + 2])) {
      out += "0x?";
      i += 2;
      while (i < repr.size() && is_hex_digit(repr[i]))
        ++i;
    } else {
      out += repr[i++];
    }
  }
  return out;
}

/** Whether `text` is "Future <decimal id> in unexpected state: <state>\n". */
bool is_unexpected_state_report(const std::string& text, const std::string& state) {
  const std::string head = "Future ";
  const std::string tail = " in unexpected state: " + state + "\n";
  if (text.size() <= head.size() + tail.size() || text.compare(0, head.size(), head) != 0)
    return false;
  if (text.compare(text.size() - tail.size(), tail.size(), tail) != 0)
    return false;
  const std::string id = text.substr(head.size(), text.size() - head.size() - tail.size());
  return !id.empty() && id.find_first_not_of("0123456789") == std::string::npos;
}

}  // namespace

TEST_CASE("Future starts pending", "[future]") {
  cf::Future<int> f;
  CHECK_FALSE(f.done());
  CHECK_FALSE(f.running());
  CHECK_FALSE(f.cancelled());
  CHECK(anonymous(f.repr()) == "<Future at 0x? state=pending>");
}

TEST_CASE("Future repr names the state and the Python class of the result or exception", "[future]") {
  cf::Future<int> running;
  REQUIRE(running.set_running_or_notify_cancel());
  CHECK(anonymous(running.repr()) == "<Future at 0x? state=running>");

  cf::Future<int> cancelled;
  cancelled.cancel();
  CHECK(anonymous(cancelled.repr()) == "<Future at 0x? state=cancelled>");

  cf::Future<int> i;
  i.set_result(1);
  CHECK(anonymous(i.repr()) == "<Future at 0x? state=finished returned int>");
  cf::Future<double> d;
  d.set_result(1.5);
  CHECK(anonymous(d.repr()) == "<Future at 0x? state=finished returned float>");
  cf::Future<bool> b;
  b.set_result(true);
  CHECK(anonymous(b.repr()) == "<Future at 0x? state=finished returned bool>");
  cf::Future<std::string> s;
  s.set_result("x");
  CHECK(anonymous(s.repr()) == "<Future at 0x? state=finished returned str>");
  cf::Future<void> v;
  v.set_result();
  CHECK(anonymous(v.repr()) == "<Future at 0x? state=finished returned NoneType>");
  cf::Future<std::vector<int>> l;
  l.set_result({1, 2});
  CHECK(anonymous(l.repr()) == "<Future at 0x? state=finished returned list>");

  cf::Future<int> raised;
  raised.set_exception(ValueError("boom"));
  CHECK(anonymous(raised.repr()) == "<Future at 0x? state=finished raised ValueError>");
  cf::Future<int> std_raised;
  std_raised.set_exception(std::runtime_error("boom"));
  CHECK(anonymous(std_raised.repr()) == "<Future at 0x? state=finished raised std::runtime_error>");

  // The address is the same for every copy of a handle (Python's id()).
  cf::Future<int> copy = i;
  CHECK(copy.repr() == i.repr());
}

TEST_CASE("Future.set_result makes it done and result returns the value", "[future]") {
  cf::Future<int> f;
  f.set_result(42);
  CHECK(f.done());
  CHECK_FALSE(f.running());
  CHECK_FALSE(f.cancelled());
  CHECK(f.result() == 42);
  CHECK(f.result(0) == 42);
  CHECK(f.result(-1) == 42);  // done: a negative timeout does not matter
  CHECK(f.exception() == nullptr);
  CHECK(f.exception(std::chrono::milliseconds(0)) == nullptr);
  CHECK(f.result() == 42);  // again: Python returns the same object each time
}

TEST_CASE("Future<void> set_result and result", "[future]") {
  cf::Future<void> f;
  f.set_result();
  CHECK(f.done());
  f.result();
  CHECK(f.exception() == nullptr);
}

TEST_CASE("Future.set_exception makes result rethrow the exception", "[future]") {
  cf::Future<int> f;
  f.set_exception(ValueError("bad value"));
  CHECK(f.done());
  REQUIRE_RAISES(f.result(), ValueError, "bad value");
  REQUIRE_RAISES(f.result(1.0), ValueError, "bad value");
  const auto error = f.exception();
  REQUIRE(error != nullptr);
  CHECK(pyconc_test::raised([&] { std::rethrow_exception(error); }) == "ValueError: bad value");
  CHECK(f.exception() == error);  // the same exception object each time

  cf::Future<void> g;
  g.set_exception(std::make_exception_ptr(std::out_of_range("idx")));
  CHECK(pyconc_test::raised([&] { g.result(); }) == "std::out_of_range: idx");
}

TEST_CASE("Future.set_exception of nullptr raises TypeError", "[future]") {
  cf::Future<int> f;
  REQUIRE_RAISES(f.set_exception(std::exception_ptr()), TypeError, "set_exception() needs an exception, not nullptr");
  CHECK_FALSE(f.done());
}

TEST_CASE("Future.set_result on a finished future raises InvalidStateError with its repr", "[future]") {
  cf::Future<int> f;
  f.set_result(1);
  REQUIRE_RAISES(f.set_result(2), cf::InvalidStateError, "FINISHED: " + f.repr());
  REQUIRE_RAISES(f.set_exception(ValueError("x")), cf::InvalidStateError, "FINISHED: " + f.repr());
  CHECK(f.result() == 1);

  cf::Future<int> g;
  g.set_exception(ValueError("x"));
  REQUIRE_RAISES(g.set_result(2), cf::InvalidStateError, "FINISHED: " + g.repr());
  CHECK(g.repr().find("state=finished raised ValueError") != std::string::npos);
}

TEST_CASE("Future.set_result on a cancelled future raises InvalidStateError with its state", "[future]") {
  cf::Future<int> f;
  REQUIRE(f.cancel());
  REQUIRE_RAISES(f.set_result(2), cf::InvalidStateError, "CANCELLED: " + f.repr());
  REQUIRE_RAISES(f.set_exception(ValueError("x")), cf::InvalidStateError, "CANCELLED: " + f.repr());
  REQUIRE_FALSE(f.set_running_or_notify_cancel());
  REQUIRE_RAISES(f.set_result(2), cf::InvalidStateError, "CANCELLED_AND_NOTIFIED: " + f.repr());
  CHECK(anonymous(f.repr()) == "<Future at 0x? state=cancelled>");
}

TEST_CASE("Future.cancel cancels only a pending future", "[future]") {
  cf::Future<int> pending;
  CHECK(pending.cancel());
  CHECK(pending.cancelled());
  CHECK(pending.done());
  CHECK_FALSE(pending.running());
  CHECK(pending.cancel());  // already cancelled: still true

  cf::Future<int> running;
  REQUIRE(running.set_running_or_notify_cancel());
  CHECK_FALSE(running.cancel());
  CHECK(running.running());
  CHECK_FALSE(running.cancelled());
  CHECK_FALSE(running.done());

  cf::Future<int> finished;
  finished.set_result(3);
  CHECK_FALSE(finished.cancel());
  CHECK_FALSE(finished.cancelled());
  CHECK(finished.result() == 3);
}

TEST_CASE("Future.result and exception of a cancelled future raise CancelledError", "[future]") {
  cf::Future<int> f;
  f.cancel();
  REQUIRE_RAISES(f.result(), cf::CancelledError, "");
  REQUIRE_RAISES(f.result(5.0), cf::CancelledError, "");
  REQUIRE_RAISES(f.exception(), cf::CancelledError, "");
  REQUIRE_RAISES(f.exception(5.0), cf::CancelledError, "");
  CHECK(std::string(cf::CancelledError().type_name()) == "CancelledError");
}

TEST_CASE("Future.set_running_or_notify_cancel in the wrong state raises RuntimeError and reports", "[future]") {
  cf::Future<int> f;
  REQUIRE(f.set_running_or_notify_cancel());
  CHECK(f.running());
  pyconc_test::CaptureFd err;
  REQUIRE_RAISES(f.set_running_or_notify_cancel(), RuntimeError, "Future in unexpected state");
  const std::string text = err.text();
  CHECK(is_unexpected_state_report(text, "RUNNING"));

  cf::Future<int> done;
  done.set_result(1);
  pyconc_test::CaptureFd err2;
  REQUIRE_RAISES(done.set_running_or_notify_cancel(), RuntimeError, "Future in unexpected state");
  CHECK(is_unexpected_state_report(err2.text(), "FINISHED"));
}

TEST_CASE("Future.set_result is allowed on a running future", "[future]") {
  cf::Future<int> f;
  REQUIRE(f.set_running_or_notify_cancel());
  f.set_result(7);
  CHECK_FALSE(f.running());
  CHECK(f.result() == 7);
}

TEST_CASE("Future.result with a timeout raises TimeoutError after about that long", "[future][timing]") {
  cf::Future<int> f;
  const double T = 0.1;
  pyconc_test::Stopwatch clock;
  REQUIRE_RAISES(f.result(T), cf::TimeoutError, "");
  REQUIRE_TIMING(clock.elapsed(), T);

  pyconc_test::Stopwatch clock2;
  REQUIRE_RAISES(f.exception(std::chrono::milliseconds(100)), cf::TimeoutError, "");
  REQUIRE_TIMING(clock2.elapsed(), T);

  pyconc_test::Stopwatch clock3;
  REQUIRE_RAISES(f.result(-1), cf::TimeoutError, "");  // negative: no wait at all
  REQUIRE_RAISES(f.result(0), cf::TimeoutError, "");
  CHECK(clock3.elapsed() < 0.5);
  CHECK(std::string(cf::TimeoutError().type_name()) == "TimeoutError");
  CHECK_FALSE(f.done());
}

TEST_CASE("Future.result blocks until another thread sets the result", "[future][blocking]") {
  const int waiters = GENERATE(1, 4, 16);
  cf::Future<int> f;
  std::vector<int> got(static_cast<std::size_t>(waiters), 0);
  std::vector<threading::Thread> threads;
  std::atomic<int> started{0};
  for (int i = 0; i < waiters; ++i) {
    threads.emplace_back([&, i] {
      ++started;
      got[static_cast<std::size_t>(i)] = f.result();
    });
  }
  for (auto& t : threads)
    t.start();
  while (started.load() < waiters)
    time::sleep(0.001);
  time::sleep(0.05);
  for (auto& t : threads)
    CHECK(t.is_alive());  // really blocked
  f.set_result(5);
  for (auto& t : threads) {
    t.join(10.0);
    CHECK_FALSE(t.is_alive());
  }
  for (int v : got)
    CHECK(v == 5);
}

TEST_CASE("Future.exception blocks until another thread sets the exception", "[future][blocking]") {
  cf::Future<int> f;
  std::string seen;
  threading::Thread t([&] { seen = pyconc_test::raised([&] { std::rethrow_exception(f.exception(10.0)); }); });
  t.start();
  time::sleep(0.05);
  CHECK(t.is_alive());
  f.set_exception(ValueError("late"));
  t.join(10.0);
  REQUIRE_FALSE(t.is_alive());
  CHECK(seen == "ValueError: late");
}

TEST_CASE("Future.cancel wakes a thread blocked in result with CancelledError", "[future][blocking]") {
  cf::Future<int> f;
  std::string seen;
  threading::Thread t([&] { seen = pyconc_test::raised([&] { f.result(10.0); }); });
  t.start();
  time::sleep(0.05);
  CHECK(t.is_alive());
  REQUIRE(f.cancel());
  t.join(10.0);
  REQUIRE_FALSE(t.is_alive());
  CHECK(seen == "CancelledError: ");
}

TEST_CASE("Future.result wakes when set from a running state", "[future][blocking]") {
  cf::Future<std::string> f;
  std::string seen;
  threading::Thread t([&] { seen = f.result(10.0); });
  t.start();
  time::sleep(0.02);
  REQUIRE(f.set_running_or_notify_cancel());  // the sleeper's word changes but it must not return
  time::sleep(0.02);
  CHECK(t.is_alive());
  f.set_result("ok");
  t.join(10.0);
  REQUIRE_FALSE(t.is_alive());
  CHECK(seen == "ok");
}

TEST_CASE("Future.add_done_callback callbacks run in order when the future finishes", "[future][callbacks]") {
  cf::Future<int> f;
  std::vector<std::string> calls;
  f.add_done_callback([&](cf::Future<int> g) { calls.push_back("a" + std::to_string(g.result())); });
  f.add_done_callback([&](cf::Future<int> g) { calls.push_back("b" + std::to_string(g.result())); });
  f.add_done_callback([&](const cf::Future<int>& g) { calls.push_back(g == f ? "same future" : "another future"); });
  CHECK(calls.empty());
  f.set_result(5);
  CHECK(calls == std::vector<std::string>{"a5", "b5", "same future"});
}

TEST_CASE("Future.add_done_callback runs at once on a done future in the caller's thread", "[future][callbacks]") {
  cf::Future<int> f;
  f.set_result(1);
  unsigned long ran_in = 0;
  f.add_done_callback([&](cf::Future<int>) { ran_in = threading::get_ident(); });
  CHECK(ran_in == threading::get_ident());

  cf::Future<int> c;
  c.cancel();
  bool saw_cancelled = false;
  c.add_done_callback([&](cf::Future<int> g) { saw_cancelled = g.cancelled(); });
  CHECK(saw_cancelled);
}

TEST_CASE("Future callbacks run in the thread that completes the future", "[future][callbacks]") {
  cf::Future<int> f;
  std::atomic<unsigned long> ran_in{0};
  f.add_done_callback([&](cf::Future<int>) { ran_in = threading::get_ident(); });
  unsigned long setter = 0;
  threading::Thread t([&] {
    setter = threading::get_ident();
    f.set_result(1);
  });
  t.start();
  t.join();
  CHECK(ran_in.load() == setter);
  CHECK(setter != threading::get_ident());
}

TEST_CASE("Future.cancel runs the callbacks and set_running_or_notify_cancel does not again", "[future][callbacks]") {
  cf::Future<int> f;
  int calls = 0;
  bool cancelled = false;
  f.add_done_callback([&](cf::Future<int> g) {
    ++calls;
    cancelled = g.cancelled();
  });
  REQUIRE(f.cancel());
  CHECK(calls == 1);
  CHECK(cancelled);
  CHECK(f.cancel());
  CHECK_FALSE(f.set_running_or_notify_cancel());
  CHECK(calls == 1);
}

TEST_CASE("Future callback that throws is reported to stderr and later callbacks still run", "[future][callbacks]") {
  cf::Future<int> f;
  std::vector<int> calls;
  f.add_done_callback([&](cf::Future<int>) {
    calls.push_back(1);
    throw ValueError("boom");
  });
  f.add_done_callback([&](cf::Future<int>) { calls.push_back(2); });
  pyconc_test::CaptureFd err;
  REQUIRE_NOTHROW(f.set_result(3));
  const std::string text = err.text();
  CHECK(calls == std::vector<int>{1, 2});
  CHECK(text == "exception calling callback for " + f.repr() + "\nValueError: boom\n");

  // On a done future the callback runs at once: still reported, not propagated.
  pyconc_test::CaptureFd err2;
  REQUIRE_NOTHROW(f.add_done_callback([](cf::Future<int>) { throw std::logic_error("late"); }));
  CHECK(err2.text() == "exception calling callback for " + f.repr() + "\nstd::logic_error: late\n");
}

TEST_CASE("Future handles are shared references ordered and hashed by identity", "[future]") {
  cf::Future<int> a;
  cf::Future<int> b;
  cf::Future<int> a2 = a;
  CHECK(a == a2);
  CHECK_FALSE(a == b);
  a2.set_result(9);
  CHECK(a.done());
  CHECK(a.result() == 9);

  std::set<cf::Future<int>> ordered{a, b, a2};
  CHECK(ordered.size() == 2);
  std::unordered_set<cf::Future<int>> hashed{a, b, a2};
  CHECK(hashed.size() == 2);

  cf::Future<int> moved = std::move(a2);
  CHECK(moved == a);
  a2 = b;  // a moved-from handle may be assigned
  CHECK(a2 == b);
}

TEST_CASE("Future keeps its state alive while any handle exists", "[future]") {
  auto value = std::make_shared<int>(4);
  std::weak_ptr<int> watch = value;
  {
    cf::Future<std::shared_ptr<int>> f;
    f.set_result(std::move(value));
    cf::Future<std::shared_ptr<int>> copy = f;
    { cf::Future<std::shared_ptr<int>> dropped = std::move(f); }
    CHECK(*copy.result() == 4);
    CHECK_FALSE(watch.expired());
  }
  CHECK(watch.expired());  // the last handle freed the state and its value
}

TEST_CASE("Future of a move-only type returns a reference to the stored value", "[future]") {
  cf::Future<std::unique_ptr<int>> f;
  f.set_result(std::make_unique<int>(11));
  std::unique_ptr<int>& stored = f.result();
  CHECK(*stored == 11);
  CHECK(&f.result() == &stored);
}

TEST_CASE("Future cancel racing with set_running_or_notify_cancel has one winner", "[future][race]") {
  for (int round = 0; round < 2000; ++round) {
    cf::Future<int> f;
    threading::Barrier start(2);
    std::atomic<int> cancel_won{-1};
    threading::Thread canceller([&] {
      start.wait();
      cancel_won = f.cancel() ? 1 : 0;
    });
    canceller.start();
    start.wait();
    const bool started = f.set_running_or_notify_cancel();
    canceller.join();
    REQUIRE(started != (cancel_won.load() == 1));
    REQUIRE(f.cancelled() == !started);
    REQUIRE(f.running() == started);
  }
}

TEST_CASE("Future callback added while the future completes runs exactly once", "[future][race][callbacks]") {
  for (int round = 0; round < 2000; ++round) {
    cf::Future<int> f;
    std::atomic<int> calls{0};
    threading::Barrier start(2);
    threading::Thread setter([&] {
      start.wait();
      f.set_result(round);
    });
    setter.start();
    start.wait();
    f.add_done_callback([&](cf::Future<int> g) {
      if (g.result() == round)
        ++calls;
    });
    setter.join();
    REQUIRE(calls.load() == 1);
  }
}

TEST_CASE("Future.set_result from many threads succeeds exactly once", "[future][race]") {
  cf::Future<int> f;
  std::atomic<int> succeeded{0};
  std::atomic<int> invalid{0};
  threading::Barrier start(8);
  std::vector<threading::Thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      start.wait();
      try {
        f.set_result(i);
        ++succeeded;
      } catch (const cf::InvalidStateError&) {
        ++invalid;
      }
    });
  }
  for (auto& t : threads)
    t.start();
  for (auto& t : threads)
    t.join();
  CHECK(succeeded.load() == 1);
  CHECK(invalid.load() == 7);
}

TEST_CASE("exit leaves a static Future usable by a daemon thread blocked in its result()", "[future][exit]") {
  // Python's daemon threads may still wait on a module-level future at exit. Here the future
  // is a function-local static first used after a thread started, so its destructor runs
  // before the exit handler that the first start() installed, under the blocked daemon.
  const auto child = pyconc_test::run_in_child([](int fd) {
    threading::Thread first([] {});
    first.start();
    first.join();
    static cf::Future<int> pending;  // destructor registered only now
    threading::Event waiting;
    threading::Thread waiter(
        [&waiting] {
          waiting.set();
          (void)pending.result();  // never completes
        },
        {.daemon = true});
    waiter.start();
    waiting.wait();
    [[maybe_unused]] auto n = ::write(fd, "exiting", 7);
    std::exit(0);
    return 1;  // not reached
  });
  REQUIRE(child.exited);
  REQUIRE(child.exit_status == 0);
  REQUIRE(child.output == "exiting");
}
