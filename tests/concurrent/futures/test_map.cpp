// SPDX-License-Identifier: MIT
// Tests for the range Executor::map returns (futures::MapResults) as a value: printing it as
// CPython prints the generator, list() of it, and its use with iterator-pair algorithms. Its
// waiting, ordering and cancelling are tested in test_thread_pool_executor.cpp.
#include <pyconc/builtins.hpp>
#include <pyconc/concurrent/futures.hpp>
#include <pyconc/errors.hpp>

#include <catch2/catch.hpp>

#include <cstdio>
#include <iterator>
#include <numeric>
#include <ranges>
#include <string>
#include <variant>
#include <vector>

#include "support.hpp"

using namespace pyconc;
namespace cf = pyconc::concurrent::futures;

namespace {

int square(int x) {
  return x * x;
}

bool starts_with(const std::string& text, const std::string& prefix) {
  return text.rfind(prefix, 0) == 0;
}

}  // namespace

TEST_CASE("map results are a common input range", "[map]") {
  using Results = cf::MapResults<int>;
  STATIC_REQUIRE(std::ranges::input_range<Results>);
  STATIC_REQUIRE(std::ranges::common_range<Results>);
  STATIC_REQUIRE(std::is_same_v<std::iterator_traits<Results::iterator>::iterator_category, std::input_iterator_tag>);
  STATIC_REQUIRE(std::is_same_v<std::ranges::range_value_t<Results>, int>);
}

TEST_CASE("print of map results is CPython's generator repr, not the results", "[map][print]") {
  // print(ex.map(f, xs)) -> <generator object Executor.map.<locals>.result_iterator at 0x7f...>
  cf::ThreadPoolExecutor executor(2);
  auto results = executor.map(square, std::vector{1, 2, 3});
  const std::string text = str(results);
  CHECK(starts_with(text, "<generator object Executor.map.<locals>.result_iterator at 0x"));
  CHECK(text.back() == '>');
  CHECK(pyconc_test::printed([&](std::FILE* f) { print(results, kw::file = f); }) == text + "\n");
  // Printing consumed nothing: the results are all still there.
  CHECK(list(results) == std::vector{1, 4, 9});
}

TEST_CASE("list of map results is Python's list(ex.map(...))", "[map][list]") {
  // print(list(ex.map(lambda x: x * x, [1, 2, 3]))) -> [1, 4, 9]
  cf::ThreadPoolExecutor executor(2);
  CHECK(pyconc_test::printed([&](std::FILE* f) {
          print(list(executor.map(square, std::vector{1, 2, 3})), kw::file = f);
        }) == "[1, 4, 9]\n");
  // print(list(ex.map(lambda x: None, [1, 2]))) -> [None, None]
  CHECK(str(list(executor.map([](int) {}, std::vector{1, 2}))) == "[None, None]");
  CHECK(list(executor.map(square, std::vector<int>{})).empty());
  // Two ranges zipped, as in examples/14: list(ex.map(add, [1, 2, 3], [10, 20, 30, 40])) -> [11, 22, 33]
  CHECK(str(list(executor.map([](int a, int b) { return a + b; }, std::vector{1, 2, 3},
                              std::vector{10, 20, 30, 40}))) == "[11, 22, 33]");
}

TEST_CASE("list of map results raises the first call's exception, as Python's list()", "[map][list]") {
  cf::ThreadPoolExecutor executor(2);
  auto check = [](int x) {
    if (x < 0)
      throw ValueError("negative input: " + std::to_string(x));
    return x;
  };
  REQUIRE_RAISES(list(executor.map(check, std::vector{1, -2, 3})), ValueError, "negative input: -2");
}

TEST_CASE("map results work with iterator-pair constructors and algorithms", "[map]") {
  cf::ThreadPoolExecutor executor(2);
  auto results = executor.map(square, std::vector{1, 2, 3});
  const std::vector<int> collected(results.begin(), results.end());
  CHECK(collected == std::vector{1, 4, 9});
  CHECK(results.begin() == results.end());  // consumed

  auto more = executor.map(square, std::vector{1, 2, 3, 4});
  CHECK(std::accumulate(more.begin(), more.end(), 0) == 30);

  auto none = executor.map(square, std::vector<int>{});
  CHECK(none.begin() == none.end());
  CHECK(none.begin() == std::default_sentinel);  // the sentinel still compares
}
