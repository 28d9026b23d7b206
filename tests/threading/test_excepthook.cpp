// SPDX-License-Identifier: MIT
// Tests of pyconc::threading::excepthook and default_excepthook (Python: threading.excepthook,
// threading.__excepthook__, threading.ExceptHookArgs).
#include <pyconc/threading.hpp>

#include <catch2/catch.hpp>

#include <atomic>     // std::atomic
#include <exception>  // std::make_exception_ptr
#include <memory>     // std::make_shared
#include <mutex>      // std::lock_guard
#include <optional>   // std::optional
#include <stdexcept>  // std::runtime_error
#include <string>     // std::string
#include <vector>     // std::vector

#include "support.hpp"

using namespace pyconc;

namespace {

// Puts the default hook back when a test ends, whatever happened.
struct RestoreDefaultHook {
  RestoreDefaultHook() = default;
  RestoreDefaultHook(const RestoreDefaultHook&) = delete;
  RestoreDefaultHook& operator=(const RestoreDefaultHook&) = delete;
  ~RestoreDefaultHook() { threading::excepthook = threading::default_excepthook; }
};

// What a custom hook saw, recorded in the dying thread and read after join().
struct Seen {
  int calls = 0;
  std::string exc_type;
  std::string message;
  std::optional<threading::Thread> thread;
  bool called_in_that_thread = false;
  bool alive_during_hook = false;
};

struct ThrowingWorker : threading::Thread {
  ThrowingWorker() : Thread({.name = "ThrowingWorker"}) {}
  void run() override { throw ValueError("from run"); }
};

}  // namespace

TEST_CASE("excepthook receives an exception escaping a thread's target", "[excepthook]") {
  RestoreDefaultHook restore;
  threading::Lock lock;
  Seen seen;
  threading::excepthook = [&](const threading::ExceptHookArgs& args) {
    std::lock_guard with(lock);
    ++seen.calls;
    seen.exc_type = args.exc_type;
    seen.message = args.message();
    seen.thread = args.thread;
    seen.called_in_that_thread = args.thread && threading::current_thread() == *args.thread;
    seen.alive_during_hook = args.thread && args.thread->is_alive();
  };
  threading::Thread t([] { throw ValueError("boom"); }, {.name = "Boom"});
  t.start();
  t.join();  // returns: the exception does not reach join()
  REQUIRE_FALSE(t.is_alive());

  std::lock_guard with(lock);
  REQUIRE(seen.calls == 1);
  REQUIRE(seen.exc_type == "ValueError");
  REQUIRE(seen.message == "boom");
  REQUIRE(seen.thread.has_value());
  REQUIRE(*seen.thread == t);
  REQUIRE(seen.thread->name() == "Boom");
  REQUIRE(seen.called_in_that_thread);
  REQUIRE(seen.alive_during_hook);  // as CPython: the hook runs before the thread ends
}

TEST_CASE("excepthook receives the exception object itself", "[excepthook]") {
  RestoreDefaultHook restore;
  std::string rethrown;
  threading::excepthook = [&](const threading::ExceptHookArgs& args) {
    rethrown = pyconc_test::raised([&] { std::rethrow_exception(args.exc_value); });
  };
  threading::Thread t([] { throw RuntimeError("kept"); });
  t.start();
  t.join();
  REQUIRE(rethrown == "RuntimeError: kept");
}

TEST_CASE("excepthook names a non-pyconc exception by its C++ type", "[excepthook]") {
  RestoreDefaultHook restore;
  std::string exc_type;
  std::string message;
  threading::excepthook = [&](const threading::ExceptHookArgs& args) {
    exc_type = args.exc_type;
    message = args.message();
  };
  threading::Thread t([] { throw std::runtime_error("plain"); });
  t.start();
  t.join();
  REQUIRE(exc_type == "std::runtime_error");
  REQUIRE(message == "plain");
}

TEST_CASE("excepthook receives an exception escaping a subclass's run()", "[excepthook]") {
  RestoreDefaultHook restore;
  std::string exc_type;
  std::string message;
  std::optional<threading::Thread> thread;
  threading::excepthook = [&](const threading::ExceptHookArgs& args) {
    exc_type = args.exc_type;
    message = args.message();
    thread = args.thread;
  };
  auto worker = std::make_shared<ThrowingWorker>();
  worker->start();
  worker->join();
  REQUIRE(exc_type == "ValueError");
  REQUIRE(message == "from run");
  REQUIRE(thread.has_value());
  REQUIRE(*thread == *worker);
  REQUIRE(thread->name() == "ThrowingWorker");
}

TEST_CASE("the program goes on after exceptions escape threads", "[excepthook]") {
  RestoreDefaultHook restore;
  std::atomic<int> calls{0};
  threading::excepthook = [&](const threading::ExceptHookArgs&) { ++calls; };
  std::vector<threading::Thread> threads;
  for (int i = 0; i < 10; ++i)
    threads.emplace_back([] { throw ValueError("boom"); });
  for (auto& t : threads)
    t.start();
  for (auto& t : threads)
    t.join();
  REQUIRE(calls == 10);
  for (const auto& t : threads)
    REQUIRE_FALSE(t.is_alive());

  std::atomic<bool> ran{false};
  threading::Thread after([&] { ran = true; });
  after.start();
  after.join();
  REQUIRE(ran);
}

TEST_CASE("default_excepthook writes the thread's name and the exception", "[excepthook]") {
  const threading::Thread thread([] {}, {.name = "Worker-1"});
  const threading::ExceptHookArgs args{"ValueError", std::make_exception_ptr(ValueError("boom")), thread};
  pyconc_test::CaptureFd err;
  threading::default_excepthook(args);
  REQUIRE(err.text() == "Exception in thread Worker-1:\nValueError: boom\n");
}

TEST_CASE("default_excepthook writes only the type when the message is empty", "[excepthook]") {
  const threading::Thread thread([] {}, {.name = "E"});
  const threading::ExceptHookArgs args{"ValueError", std::make_exception_ptr(ValueError()), thread};
  pyconc_test::CaptureFd err;
  threading::default_excepthook(args);
  REQUIRE(err.text() == "Exception in thread E:\nValueError\n");
}

TEST_CASE("default_excepthook names the thread by get_ident() when it has no thread", "[excepthook]") {
  const threading::ExceptHookArgs args{"ValueError", std::make_exception_ptr(ValueError("boom")), std::nullopt};
  pyconc_test::CaptureFd err;
  threading::default_excepthook(args);
  REQUIRE(err.text() == "Exception in thread " + std::to_string(threading::get_ident()) + ":\nValueError: boom\n");
}

TEST_CASE("default_excepthook ignores SystemExit silently", "[excepthook]") {
  const threading::Thread thread([] {}, {.name = "Quitter"});
  const threading::ExceptHookArgs args{"SystemExit", std::make_exception_ptr(SystemExit(3)), thread};
  pyconc_test::CaptureFd err;
  threading::default_excepthook(args);
  REQUIRE(err.text().empty());
}

TEST_CASE("an exception escaping a thread is reported on stderr by default", "[excepthook]") {
  RestoreDefaultHook restore;
  threading::excepthook = threading::default_excepthook;
  pyconc_test::CaptureFd err;
  threading::Thread t([] { throw ValueError("boom"); }, {.name = "Reporter"});
  t.start();
  t.join();
  REQUIRE(err.text() == "Exception in thread Reporter:\nValueError: boom\n");
}

TEST_CASE("SystemExit escaping a thread ends it silently", "[excepthook]") {
  RestoreDefaultHook restore;
  threading::excepthook = threading::default_excepthook;
  std::atomic<bool> after_throw{false};
  pyconc_test::CaptureFd err;
  threading::Thread t([&] {
    throw SystemExit(2);
    after_throw = true;  // never runs
  });
  t.start();
  t.join();
  REQUIRE(err.text().empty());
  REQUIRE_FALSE(t.is_alive());
  REQUIRE_FALSE(after_throw);
}

TEST_CASE("a hook that throws is reported as an exception in threading.excepthook", "[excepthook]") {
  RestoreDefaultHook restore;
  threading::excepthook = [](const threading::ExceptHookArgs&) { throw RuntimeError("hook failed"); };
  pyconc_test::CaptureFd err;
  threading::Thread t([] { throw ValueError("boom"); }, {.name = "W"});
  t.start();
  t.join();
  const std::string text = err.text();
  REQUIRE(text.rfind("Exception in threading.excepthook:\n", 0) == 0);
  REQUIRE(text == "Exception in threading.excepthook:\nRuntimeError: hook failed\n");
  REQUIRE_FALSE(t.is_alive());
}

TEST_CASE("excepthook can be called directly and assigning an empty hook restores the default", "[excepthook]") {
  RestoreDefaultHook restore;
  int calls = 0;
  threading::excepthook = [&](const threading::ExceptHookArgs&) { ++calls; };
  const threading::ExceptHookArgs args{"ValueError", std::make_exception_ptr(ValueError("direct")), std::nullopt};
  threading::excepthook(args);
  REQUIRE(calls == 1);

  threading::excepthook = nullptr;
  pyconc_test::CaptureFd err;
  threading::excepthook(args);
  REQUIRE(err.text() == "Exception in thread " + std::to_string(threading::get_ident()) + ":\nValueError: direct\n");
  REQUIRE(calls == 1);
}
