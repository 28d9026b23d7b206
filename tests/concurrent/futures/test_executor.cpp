// SPDX-License-Identifier: MIT
// Tests of concurrent.futures.Executor as a base for executors that run calls elsewhere: an
// executor whose worker receives each call only as bytes (as a process pool's worker does)
// and whose outcome comes back as bytes, built on WorkItem's call_bytes() and complete().
// Future, map, wait and as_completed work for it unchanged.
#include <pyconc/builtins.hpp>
#include <pyconc/concurrent/futures.hpp>
#include <pyconc/queue.hpp>
#include <pyconc/threading.hpp>

#include <catch2/catch.hpp>

#include <optional>     // std::optional
#include <string>       // std::string
#include <string_view>  // std::string_view
#include <tuple>        // std::tuple
#include <vector>       // std::vector

#include "support.hpp"

using namespace pyconc;
namespace cf = pyconc::concurrent::futures;

namespace {

int add(int a, int b) {
  return a + b;
}
int divide(int a, int b) {
  if (b == 0)
    detail::raise<ValueError>("division by zero");
  return a / b;
}

// The functions the "other side" knows, by index: what a real codec gets from pickling by name.
using BinaryFn = int (*)(int, int);
constexpr BinaryFn kKnown[] = {&add, &divide};

}  // namespace

// A codec for calls of known two-int functions, and for int outcomes: the shape pickle.hpp
// gives these specialisations for the calls and results it can serialize.
template <>
struct pyconc::detail::CallCodec<std::tuple<BinaryFn, int, int>> {
  static constexpr bool available = true;
  static std::string encode(const std::tuple<BinaryFn, int, int>& call) {
    for (std::size_t i = 0; i < std::size(kKnown); ++i) {
      if (kKnown[i] == std::get<0>(call))
        return std::to_string(i) + " " + std::to_string(std::get<1>(call)) + " " + std::to_string(std::get<2>(call));
    }
    raise<TypeError>("cannot serialize an unknown function");
  }
};

template <>
struct pyconc::detail::OutcomeCodec<int> {
  static constexpr bool available = true;
  // "v <value>" or "e <TypeName> <message>"
  static void complete(FutureState<int>& future, std::string_view outcome) {
    if (outcome.substr(0, 2) == "v ") {
      future.set_result(std::stoi(std::string(outcome.substr(2))));
      return;
    }
    const auto space = outcome.find(' ', 2);
    const std::string type(outcome.substr(2, space - 2));
    const std::string message(outcome.substr(space + 1));
    if (type == "ValueError") {
      future.set_exception(std::make_exception_ptr(ValueError(message)));
    } else {
      future.set_exception(std::make_exception_ptr(RuntimeError(type + ": " + message)));
    }
  }
};

namespace {

// The other side: decodes "fn a b", runs it, answers with the outcome's bytes.
std::string serve(const std::string& call) {
  std::size_t fn = 0;
  int a = 0;
  int b = 0;
  std::sscanf(call.c_str(), "%zu %d %d", &fn, &a, &b);
  try {
    return "v " + std::to_string(kKnown[fn](a, b));
  } catch (const Error& e) {
    return std::string("e ") + e.type_name() + " " + e.what();
  }
}

// An executor that ships every call as bytes to a worker thread and completes the future
// from the bytes that come back: the shape of a process pool, with a thread in place of the
// process and a queue of strings in place of the pipe.
class BytesExecutor : public cf::Executor {
 public:
  BytesExecutor() {
    worker_.start();
    completer_.start();
  }
  ~BytesExecutor() override { shutdown(); }

  void shutdown(bool wait = true, bool cancel_futures = false) override {
    static_cast<void>(cancel_futures);
    if (!requests_.is_shutdown())
      requests_.shutdown();
    if (wait) {
      worker_.join();
      completer_.join();
    }
  }

  int sent = 0;  // calls that crossed as bytes

 protected:
  void schedule(detail::WorkItem* item) override {
    std::string bytes;
    try {
      bytes = item->call_bytes();  // raises TypeError for a call that cannot cross
    } catch (...) {
      item->release();
      throw;
    }
    ++sent;
    requests_.put({item, std::move(bytes)});
  }

 private:
  struct Request {
    detail::WorkItem* item;
    std::string call;
  };
  struct Reply {
    detail::WorkItem* item;
    std::string outcome;
  };

  queue::Queue<Request> requests_;
  queue::Queue<std::optional<Reply>> replies_;
  threading::Thread worker_{[this] {
    try {
      for (;;) {
        Request r = requests_.get();
        if (!r.item->future().set_running_or_notify_cancel()) {  // cancelled while queued
          r.item->release();
          continue;
        }
        replies_.put(Reply{r.item, serve(r.call)});  // only the bytes were looked at
      }
    } catch (const queue::ShutDown&) {
      replies_.put(std::nullopt);
    }
  }};
  threading::Thread completer_{[this] {
    while (std::optional<Reply> reply = replies_.get()) {
      reply->item->complete(reply->outcome);
      reply->item->release();
    }
  }};
};

}  // namespace

TEST_CASE("An executor that sends calls as bytes completes futures from bytes", "[executor]") {
  BytesExecutor ex;
  auto f = ex.submit(&add, 2, 3);
  REQUIRE(f.result(10.0) == 5);
  REQUIRE(ex.sent == 1);
}

TEST_CASE("An exception raised on the other side comes back with its type and message", "[executor]") {
  BytesExecutor ex;
  auto f = ex.submit(&divide, 1, 0);
  REQUIRE_RAISES(f.result(10.0), ValueError, "division by zero");
  REQUIRE(type_name(f.exception()) == "ValueError");
}

TEST_CASE("map, wait and as_completed work unchanged on such an executor", "[executor]") {
  BytesExecutor ex;
  std::vector<int> a{1, 2, 3, 4};
  std::vector<int> b{10, 20, 30, 40};
  std::vector<int> sums;
  for (int s : ex.map(&add, a, b))
    sums.push_back(s);
  REQUIRE(sums == std::vector<int>{11, 22, 33, 44});
  std::vector<cf::Future<int>> fs{ex.submit(&add, 1, 1), ex.submit(&divide, 9, 3)};
  const auto done = cf::wait(fs, 10.0);
  REQUIRE(done.done.size() == 2);
  int total = 0;
  for (auto& f : cf::as_completed(fs, 10.0))
    total += f.result();
  REQUIRE(total == 5);
  REQUIRE(ex.sent == 6);
}

TEST_CASE("A call that cannot be serialized raises TypeError from submit and leaks nothing", "[executor]") {
  BytesExecutor ex;
  REQUIRE_THROWS_AS(ex.submit([] { return 1; }), TypeError);
  REQUIRE(ex.sent == 0);
  REQUIRE(ex.submit(&add, 1, 2).result(10.0) == 3);  // the executor still works
}
