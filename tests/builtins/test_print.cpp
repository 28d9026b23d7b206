// Tests for pyconc::print, str and repr: the text must be what Python's print writes.
#include <cstdio>
#include <exception>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <variant>
#include <vector>

#include <catch2/catch.hpp>
#include <pyconc/builtins.hpp>
#include <pyconc/errors.hpp>
#include <pyconc/threading.hpp>

#include "support.hpp"

using namespace pyconc;

namespace {

// A single-pass range of move-only items, as a generator: each item can be taken once.
class Countdown {
 public:
  explicit Countdown(int n) : n_(n) {}
  class iterator {
   public:
    using value_type = std::unique_ptr<int>;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    value_type& operator*() const { return owner_->current_; }
    iterator& operator++() {
      owner_->current_ = --owner_->n_ > 0 ? std::make_unique<int>(owner_->n_) : nullptr;
      return *this;
    }
    void operator++(int) { ++*this; }
    friend bool operator==(const iterator& it, std::default_sentinel_t) { return it.at_end(); }

   private:
    friend class Countdown;
    explicit iterator(Countdown* owner) : owner_(owner) {}
    [[nodiscard]] bool at_end() const { return owner_->n_ <= 0; }
    Countdown* owner_ = nullptr;
  };
  iterator begin() {
    current_ = std::make_unique<int>(n_);
    return iterator(this);
  }
  std::default_sentinel_t end() const { return {}; }

 private:
  int n_;
  std::unique_ptr<int> current_;
};

}  // namespace

TEST_CASE("print separates with a space and ends with a newline", "[print]") {
  CHECK(pyconc_test::printed([](std::FILE* f) { print("thread", "MainThread", "ended.", kw::file = f); }) ==
        "thread MainThread ended.\n");
  CHECK(pyconc_test::printed([](std::FILE* f) { print(kw::file = f); }) == "\n");
}

TEST_CASE("print honours sep, end and flush wherever they appear", "[print]") {
  CHECK(pyconc_test::printed(
            [](std::FILE* f) { print("a", "b", "c", kw::sep = "-", kw::end = "!\n", kw::file = f); }) == "a-b-c!\n");
  CHECK(pyconc_test::printed([](std::FILE* f) { print(kw::sep = "", kw::file = f, 1, 2, 3, kw::flush = true); }) ==
        "123\n");
  CHECK(pyconc_test::printed([](std::FILE* f) { print("x", kw::end = "", kw::file = f); }) == "x");
}

TEST_CASE("str gives Python's text for C++ values", "[print][str]") {
  CHECK(str(true) == "True");
  CHECK(str(false) == "False");
  CHECK(str(42) == "42");
  CHECK(str(-7L) == "-7");
  CHECK(str(std::string("abc")) == "abc");
  CHECK(str("abc") == "abc");
  CHECK(str(nullptr) == "None");
  CHECK(str(std::optional<int>{}) == "None");
  CHECK(str(std::optional<int>{3}) == "3");
  CHECK(str(std::vector<int>{1, 2, 3}) == "[1, 2, 3]");
  CHECK(str(std::vector<int>{}) == "[]");
  CHECK(str(std::list<std::string>{"a", "it's"}) == "['a', \"it's\"]");
  CHECK(str(std::tuple{1, std::string("x")}) == "(1, 'x')");
  CHECK(str(std::tuple{1}) == "(1,)");
  CHECK(str(std::pair{2.5, false}) == "(2.5, False)");
}

TEST_CASE("floats print as Python's repr(float)", "[print][str]") {
  CHECK(str(1.0) == "1.0");
  CHECK(str(0.1) == "0.1");
  CHECK(str(-0.0) == "-0.0");
  CHECK(str(123.456) == "123.456");
  CHECK(str(1e16) == "1e+16");
  CHECK(str(1.5e16) == "1.5e+16");
  CHECK(str(123456789012345678.0) == "1.2345678901234568e+17");
  CHECK(str(9999999999999998.0) == "9999999999999998.0");
  CHECK(str(0.0001) == "0.0001");
  CHECK(str(0.00001) == "1e-05");
  CHECK(str(1.0 / 3) == "0.3333333333333333");
  CHECK(str(2.5f) == "2.5");
  CHECK(str(1e300 * 1e10) == "inf");
  CHECK(str(-1e300 * 1e10) == "-inf");
}

TEST_CASE("str of an exception is its message as in Python", "[print][str]") {
  CHECK(str(ValueError("boom")) == "boom");
  CHECK(str(RuntimeError()) == "");
  CHECK(str(std::runtime_error("std")) == "std");
}

TEST_CASE("repr quotes strings as Python does", "[print][repr]") {
  CHECK(repr(std::string("abc")) == "'abc'");
  CHECK(repr("it's") == "\"it's\"");
  CHECK(repr("say \"hi\" it's") == "'say \"hi\" it\\'s'");
  CHECK(repr("a\nb\t\\") == "'a\\nb\\t\\\\'");
  CHECK(repr(5) == "5");
}

TEST_CASE("print writes a Thread as its repr", "[print]") {
  threading::Thread t({.name = "worker"});
  CHECK(pyconc_test::printed([&](std::FILE* f) { print(t, kw::file = f); }) == "<Thread(worker, initial)>\n");
}

TEST_CASE("print from many threads never interleaves within a line", "[print][stress]") {
  std::FILE* f = std::tmpfile();
  REQUIRE(f != nullptr);
  std::vector<threading::Thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([f, i] {
      for (int k = 0; k < 200; ++k)
        print("thread", i, "line", k, "of a longer text to widen the window", kw::file = f);
    });
  }
  for (auto& t : threads)
    t.start();
  for (auto& t : threads)
    t.join();
  std::fflush(f);
  std::rewind(f);
  char line[512];
  int lines = 0;
  int malformed = 0;
  while (std::fgets(line, sizeof line, f)) {
    ++lines;
    int thread = -1;
    int k = -1;
    char tail[128];
    if (std::sscanf(line, "thread %d line %d of a longer text to widen the %127[^\n]", &thread, &k, tail) != 3 ||
        std::string(tail) != "window") {
      ++malformed;
    }
  }
  std::fclose(f);
  CHECK(lines == 8 * 200);
  CHECK(malformed == 0);
}

TEST_CASE("sets print as Python sets, maps as dicts", "[print][str]") {
  // print({1, 2}, set(), {'a'}, {1: 2}, {'a': 'b'}, {})
  CHECK(str(std::set<int>{2, 1}) == "{1, 2}");
  CHECK(str(std::set<int>{}) == "set()");
  CHECK(str(std::set<std::string>{"a"}) == "{'a'}");
  CHECK(str(std::unordered_set<int>{7}) == "{7}");
  CHECK(str(std::unordered_set<int>{}) == "set()");
  CHECK(str(std::map<int, int>{{1, 2}}) == "{1: 2}");
  CHECK(str(std::map<std::string, std::string>{{"a", "b"}}) == "{'a': 'b'}");
  CHECK(str(std::map<int, std::string>{{2, "b"}, {1, "a"}}) == "{1: 'a', 2: 'b'}");
  CHECK(str(std::map<int, int>{}) == "{}");
  CHECK(str(std::unordered_map<int, std::string>{{1, "x"}}) == "{1: 'x'}");
  CHECK(str(std::unordered_map<int, int>{}) == "{}");
  // No multiset in Python: the repeats are shown, in a set display.
  CHECK(str(std::multiset<int>{2, 1, 1}) == "{1, 1, 2}");
  CHECK(str(std::multimap<int, std::string>{{1, "a"}, {1, "b"}}) == "{1: 'a', 1: 'b'}");
  CHECK(str(std::multiset<int>{}) == "set()");
}

TEST_CASE("containers nest and show their items' repr as Python does", "[print][str]") {
  // print({'a': [1, 2]}, [{1}, set()], {(1, 'x'): [1, 'y']}, [None, 'a'], [None, None])
  CHECK(str(std::map<std::string, std::vector<int>>{{"a", {1, 2}}}) == "{'a': [1, 2]}");
  CHECK(str(std::vector<std::set<int>>{{1}, {}}) == "[{1}, set()]");
  using Item = std::variant<int, std::string>;
  CHECK(str(std::map<std::pair<int, std::string>, std::vector<Item>>{{{1, "x"}, {1, "y"}}}) == "{(1, 'x'): [1, 'y']}");
  CHECK(str(std::vector<std::optional<std::string>>{std::nullopt, "a"}) == "[None, 'a']");
  CHECK(str(std::vector<std::monostate>(2)) == "[None, None]");
  CHECK(str(std::tuple{std::map<int, std::string>{{1, "a"}}}) == "({1: 'a'},)");
  CHECK(str(std::variant<int, std::string>("x")) == "x");
  CHECK(repr(std::variant<int, std::string>("x")) == "'x'");
  CHECK(str(std::monostate{}) == "None");
  CHECK(pyconc_test::printed([](std::FILE* f) {
          print(std::set<int>{1, 2}, std::map<int, int>{}, kw::file = f);
        }) == "{1, 2} {}\n");
}

TEST_CASE("print of an exception_ptr is the exception's message, None when empty", "[print][str][exception]") {
  // print(f.exception()) prints str(exc); a future without exception prints None.
  const auto boom = std::make_exception_ptr(ValueError("boom"));
  CHECK(str(boom) == "boom");
  CHECK(str(std::exception_ptr()) == "None");
  CHECK(str(std::make_exception_ptr(KeyError("a"))) == "'a'");  // print(KeyError('a')) -> 'a'
  CHECK(str(std::make_exception_ptr(std::runtime_error("std"))) == "std");
  CHECK(str(std::make_exception_ptr(42)).empty());  // not a std::exception: no message
  CHECK(pyconc_test::printed([&](std::FILE* f) { print(boom, kw::file = f); }) == "boom\n");
  CHECK(pyconc_test::printed([](std::FILE* f) { print(std::exception_ptr(), kw::file = f); }) == "None\n");
}

TEST_CASE("type_name is Python's type(exc).__name__", "[print][exception]") {
  // print(type(e).__name__, e) for e = KeyError('a') prints: KeyError 'a'
  const auto key_error = std::make_exception_ptr(KeyError("a"));
  CHECK(type_name(key_error) == "KeyError");
  CHECK(pyconc_test::printed([&](std::FILE* f) { print(type_name(key_error), key_error, kw::file = f); }) ==
        "KeyError 'a'\n");
  CHECK(type_name(std::make_exception_ptr(BrokenPipeError(32, "Broken pipe"))) == "BrokenPipeError");
  CHECK(type_name(std::make_exception_ptr(std::runtime_error("x"))) == "std::runtime_error");
  CHECK(type_name(std::exception_ptr()) == "NoneType");  // type(None).__name__
  CHECK(type_name(FileNotFoundError()) == "FileNotFoundError");
  const Error& base = IndexError("list index out of range");
  CHECK(type_name(base) == "IndexError");
  CHECK(type_name(std::logic_error("x")) == "std::logic_error");
}

TEST_CASE("print of an exception object is its str, its repr shows the type", "[print][str][exception]") {
  // print(ValueError('boom'), KeyError('a'), OSError(2, 'No such file')) and print([ValueError('boom'), None])
  CHECK(pyconc_test::printed([](std::FILE* f) {
          print(ValueError("boom"), KeyError("a"), OSError(2, "No such file"), kw::file = f);
        }) == "boom 'a' [Errno 2] No such file\n");
  CHECK(str(std::vector<ValueError>{ValueError("x")}) == "[ValueError('x')]");
  CHECK(repr(ValueError()) == "ValueError()");
  CHECK(repr(KeyError("a")) == "KeyError('a')");
  CHECK(repr(std::runtime_error("std")) == "std::runtime_error('std')");
  CHECK(str(std::vector<std::exception_ptr>{std::make_exception_ptr(ValueError("boom")), nullptr}) ==
        "[ValueError('boom'), None]");
}

TEST_CASE("list collects any range into a vector, as Python's list()", "[list]") {
  // list({3, 1}) == [1, 3]; list({1: 'a'}.items()) == [(1, 'a')]
  CHECK(list(std::set<int>{3, 1}) == std::vector<int>{1, 3});
  CHECK(list(std::map<int, std::string>{{1, "a"}}) == std::vector<std::pair<const int, std::string>>{{1, "a"}});
  CHECK(str(list(std::map<int, std::string>{{1, "a"}})) == "[(1, 'a')]");
  const std::vector<std::string> words{"a", "b"};
  CHECK(list(words) == words);
  CHECK(words.size() == 2);  // copied from, not moved from
  CHECK(list(std::vector<int>{}).empty());
  // A single-pass range is consumed and its move-only items are moved out.
  Countdown countdown(3);
  STATIC_REQUIRE(std::ranges::input_range<Countdown>);
  STATIC_REQUIRE(!std::ranges::forward_range<Countdown>);
  const auto taken = list(countdown);
  REQUIRE(taken.size() == 3);
  CHECK(*taken[0] == 3);
  CHECK(*taken[1] == 2);
  CHECK(*taken[2] == 1);
}
