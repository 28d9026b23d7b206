// SPDX-License-Identifier: MIT
// Tests of pyconc::threading::local (Python: threading.local).
#include <pyconc/threading.hpp>

#include <catch2/catch.hpp>

#include <atomic>      // std::atomic
#include <functional>  // std::ref
#include <memory>      // std::make_unique
#include <optional>    // std::optional
#include <string>      // std::string
#include <thread>      // std::thread
#include <tuple>       // std::tuple
#include <vector>      // std::vector

#include "support.hpp"

using namespace pyconc;

namespace {

struct Data {
  int x = 0;
  std::string name;
};

// Counts its constructions and destructions.
struct Counted {
  Counted(std::atomic<int>& made, std::atomic<int>& destroyed, int start)
      : made(made), destroyed(destroyed), value(start) {
    ++made;
  }
  Counted(const Counted&) = delete;
  Counted& operator=(const Counted&) = delete;
  ~Counted() { ++destroyed; }
  std::atomic<int>& made;
  std::atomic<int>& destroyed;
  int value;
};

struct Configured {
  Configured(int number, std::string text) : number(number), text(std::move(text)) {}
  int number;
  std::string text;
};

}  // namespace

TEST_CASE("local gives each thread its own value", "[local]") {
  threading::local<Data> data;
  data->x = 1;
  data->name = "main";

  int seen_x = -1;
  std::string seen_name = "unset";
  threading::Thread t([&] {
    seen_x = data->x;  // a fresh value in this thread
    seen_name = data->name;
    data->x = 2;
    data.get().name = "thread";
    (*data).x += 1;
  });
  t.start();
  t.join();
  REQUIRE(seen_x == 0);
  REQUIRE(seen_name.empty());
  REQUIRE(data->x == 1);  // the thread's writes went to its own value
  REQUIRE(data.get().name == "main");
  REQUIRE((*data).x == 1);
}

TEST_CASE("local values of many threads at once stay independent", "[local][stress]") {
  threading::local<Data> data;
  constexpr int count = 16;
  threading::Barrier all_set(count);
  std::atomic<int> wrong{0};
  std::vector<threading::Thread> threads;
  for (int i = 0; i < count; ++i) {
    threads.emplace_back(
        [&](int index) {
          data->x = index;
          data->name = std::to_string(index);
          all_set.wait();  // every thread holds a value now
          if (data->x != index || data->name != std::to_string(index))
            ++wrong;
        },
        std::tuple{i});
  }
  for (auto& t : threads)
    t.start();
  for (auto& t : threads)
    t.join();
  REQUIRE(wrong == 0);
  REQUIRE(data->x == 0);
}

TEST_CASE("local builds each thread's value from the constructor's arguments", "[local]") {
  threading::local<Configured> config(7, std::string("seven"));
  REQUIRE(config->number == 7);
  REQUIRE(config->text == "seven");
  config->number = 8;

  int seen_number = 0;
  std::string seen_text;
  threading::Thread t([&] {
    seen_number = config->number;
    seen_text = config->text;
    config->text = "changed";
  });
  t.start();
  t.join();
  REQUIRE(seen_number == 7);  // built anew from (7, "seven"), not copied from main's value
  REQUIRE(seen_text == "seven");
  REQUIRE(config->number == 8);
  REQUIRE(config->text == "seven");
}

TEST_CASE("local value of a thread is destroyed when the thread ends before join returns", "[local][lifetime]") {
  std::atomic<int> made{0};
  std::atomic<int> destroyed{0};
  threading::local<Counted> counted(std::ref(made), std::ref(destroyed), 5);

  threading::Event touched;
  threading::Event release;
  int seen = 0;
  threading::Thread t([&] {
    seen = counted->value;
    touched.set();
    release.wait();
  });
  threading::Thread untouched([] {});  // never touches the local: nothing is built for it
  t.start();
  untouched.start();
  touched.wait();
  untouched.join();
  REQUIRE(made == 1);
  REQUIRE(destroyed == 0);  // alive while its thread runs
  release.set();
  t.join();
  REQUIRE(seen == 5);
  REQUIRE(made == 1);
  REQUIRE(destroyed == 1);
}

TEST_CASE("local value of a foreign thread is destroyed when it exits", "[local][lifetime]") {
  std::atomic<int> made{0};
  std::atomic<int> destroyed{0};
  threading::local<Counted> counted(std::ref(made), std::ref(destroyed), 1);
  int seen = 0;
  std::thread foreign([&] { seen = counted->value; });
  foreign.join();
  REQUIRE(seen == 1);
  REQUIRE(made == 1);
  REQUIRE(destroyed == 1);
}

TEST_CASE("locals of different types do not collide", "[local]") {
  threading::local<int> number;
  threading::local<double> real;
  threading::local<std::string> text;
  threading::local<Data> data;
  threading::local<int> other_number;

  *number = 1;
  *real = 2.5;
  *text = "main";
  data->x = 4;
  *other_number = 5;

  bool fresh = false;
  bool kept = false;
  threading::Thread t([&] {
    fresh = *number == 0 && *real == 0.0 && text->empty() && data->x == 0 && *other_number == 0;
    *number = 10;
    *real = 20.5;
    *text = "thread";
    data->x = 40;
    *other_number = 50;
    kept = *number == 10 && *real == 20.5 && *text == "thread" && data->x == 40 && *other_number == 50;
  });
  t.start();
  t.join();
  REQUIRE(fresh);
  REQUIRE(kept);
  REQUIRE(*number == 1);
  REQUIRE(*real == 2.5);
  REQUIRE(*text == "main");
  REQUIRE(data->x == 4);
  REQUIRE(*other_number == 5);
}

TEST_CASE("destroying a local destroys the values of every thread", "[local][lifetime]") {
  std::atomic<int> made{0};
  std::atomic<int> destroyed{0};
  threading::Event touched;
  threading::Event release;
  std::optional<threading::local<Counted>> counted;
  counted.emplace(std::ref(made), std::ref(destroyed), 3);

  threading::Thread t([&] {
    static_cast<void>((*counted)->value);
    touched.set();
    release.wait();  // still running when the local is destroyed
  });
  t.start();
  touched.wait();
  static_cast<void>((*counted)->value);  // the main thread's value
  REQUIRE(made == 2);

  counted.reset();
  REQUIRE(destroyed == 2);  // the main thread's and the running thread's

  release.set();
  t.join();
  REQUIRE(destroyed == 2);  // the ending thread does not destroy its value again
}

TEST_CASE("a new local never sees values of a destroyed one", "[local][lifetime]") {
  {
    threading::local<Data> first;
    first->x = 42;
  }
  threading::local<Data> second;  // may well live at the address the first one had
  REQUIRE(second->x == 0);
  {
    auto heap = std::make_unique<threading::local<Data>>();
    (*heap)->x = 43;
  }
  auto again = std::make_unique<threading::local<Data>>();
  REQUIRE((*again)->x == 0);
}

TEST_CASE("local values touched by many short threads are all destroyed", "[local][stress][lifetime]") {
  std::atomic<int> made{0};
  std::atomic<int> destroyed{0};
  threading::local<Counted> counted(std::ref(made), std::ref(destroyed), 0);
  constexpr int count = 50;
  std::vector<threading::Thread> threads;
  for (int i = 0; i < count; ++i)
    threads.emplace_back([&] { counted->value += 1; });
  for (auto& t : threads)
    t.start();
  for (auto& t : threads)
    t.join();
  REQUIRE(made == count);
  REQUIRE(destroyed == count);
}
