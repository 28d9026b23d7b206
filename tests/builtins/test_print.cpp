// Tests for pyconc::print, str and repr: the text must be what Python's print writes.
#include <cstdio>
#include <list>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include <catch2/catch.hpp>
#include <pyconc/builtins.hpp>
#include <pyconc/errors.hpp>
#include <pyconc/threading.hpp>

using namespace pyconc;

namespace {

// What `body` printed to a temporary FILE*.
template <class Body>
std::string printed(Body body) {
  std::FILE* f = std::tmpfile();
  REQUIRE(f != nullptr);
  body(f);
  std::fflush(f);
  std::rewind(f);
  std::string out;
  char buf[256];
  while (const std::size_t n = std::fread(buf, 1, sizeof buf, f))
    out.append(buf, n);
  std::fclose(f);
  return out;
}

}  // namespace

TEST_CASE("print separates with a space and ends with a newline", "[print]") {
  CHECK(printed([](std::FILE* f) { print("thread", "MainThread", "ended.", kw::file = f); }) ==
        "thread MainThread ended.\n");
  CHECK(printed([](std::FILE* f) { print(kw::file = f); }) == "\n");
}

TEST_CASE("print honours sep, end and flush wherever they appear", "[print]") {
  CHECK(printed([](std::FILE* f) { print("a", "b", "c", kw::sep = "-", kw::end = "!\n", kw::file = f); }) ==
        "a-b-c!\n");
  CHECK(printed([](std::FILE* f) { print(kw::sep = "", kw::file = f, 1, 2, 3, kw::flush = true); }) == "123\n");
  CHECK(printed([](std::FILE* f) { print("x", kw::end = "", kw::file = f); }) == "x");
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
  CHECK(printed([&](std::FILE* f) { print(t, kw::file = f); }) == "<Thread(worker, initial)>\n");
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
