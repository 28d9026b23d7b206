// SPDX-License-Identifier: MIT
// Tests for pickle::dumps / pickle::loads: round trips of every supported type (nested), the
// byte format, type fingerprints, hostile input (truncated, corrupt, huge lengths, deep
// nesting, trailing bytes) and a seeded mutation run, and exceptions crossing with their type,
// Python name, message and state.
//
// What does not pickle fails to compile; not tested here (a compile-fail test), but e.g.
//
//   struct Widget { int id; };
//   pickle::dumps(Widget{});   // error: static assertion failed: pyconc::pickle cannot serialize
//                              // this type. ... add PYCONC_PICKLE_FIELDS(Type, field1, ...) ...
//                              // (note: in instantiation of pickle_unsupported<Widget>)
//
// and pickle::picklable<T> says so without failing (static_asserts below).
#include <array>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <exception>
#include <forward_list>
#include <limits>
#include <list>
#include <map>
#include <new>
#include <optional>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <tuple>
#include <typeinfo>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <variant>
#include <vector>

#include <catch2/catch.hpp>
#include <pyconc/errors.hpp>
#include <pyconc/pickle.hpp>

#include "support.hpp"

using namespace pyconc;
using namespace std::chrono_literals;
using pickle::UnpicklingError;

// ---- types of our own ------------------------------------------------------------------

namespace geo {

struct Point {
  int x = 0;
  double y = 0;
  std::vector<std::string> tags;
  bool operator==(const Point&) const = default;
};
PYCONC_PICKLE_FIELDS(Point, x, y, tags);

enum class Color : std::uint8_t { red = 1, green = 2, blue = 250 };
enum Size : long { small = -1, big = 1L << 40 };

struct Shape {
  std::string name;
  Color color = Color::red;
  std::vector<Point> outline;
  std::optional<Point> centre;
  std::map<std::string, Size> sizes;
  bool operator==(const Shape&) const = default;
};
PYCONC_PICKLE_FIELDS(Shape, name, color, outline, centre, sizes);

/** A tree: the struct holds itself through a vector. */
struct Node {
  int value = 0;
  std::vector<Node> children;
  bool operator==(const Node&) const = default;
};
PYCONC_PICKLE_FIELDS(Node, value, children);

struct Empty {
  bool operator==(const Empty&) const = default;
};
PYCONC_PICKLE_FIELDS(Empty);

struct Outer {
  struct Inner {
    std::u16string text;
    bool operator==(const Inner&) const = default;
  };
};
PYCONC_PICKLE_FIELDS(Outer::Inner, text);

/** Its constructor from an int throws: a variant emplacing one becomes valueless. */
struct Fragile {
  std::string text;
  Fragile() = default;
  explicit Fragile(int) { throw std::runtime_error("fragile"); }
};
PYCONC_PICKLE_FIELDS(Fragile, text);

/** Only some fields pickle: `cache` is left out and comes back default. */
struct Partial {
  int kept = 0;
  int cache = 0;
};
PYCONC_PICKLE_FIELDS(Partial, kept);

}  // namespace geo

struct GlobalPoint {
  long long a = 0;
  std::array<float, 2> b{};
  bool operator==(const GlobalPoint&) const = default;
};
PYCONC_PICKLE_FIELDS(GlobalPoint, a, b);

namespace pickle_test {

struct NotRegistered {
  int x;
};
enum Plain { plain_a, plain_b };  // no fixed underlying type

PYCONC_DEFINE_ERROR(FetchError, Error, "FetchError");  // not registered
PYCONC_DEFINE_ERROR(RegisteredError, ValueError, "RegisteredError");
PYCONC_PICKLE_EXCEPTION(RegisteredError);

// Registered derived-first and base-first: the nearest registered base is found either way.
PYCONC_DEFINE_ERROR(AppError, Error, "AppError");
PYCONC_DEFINE_ERROR(AppIOError, AppError, "AppIOError");
PYCONC_DEFINE_ERROR(AppDiskError, AppIOError, "AppDiskError");  // not registered
PYCONC_PICKLE_EXCEPTION(AppIOError);
PYCONC_PICKLE_EXCEPTION(AppError);

class HTTPError : public pyconc::OSError {
 public:
  HTTPError(int code, std::string message) : OSError(std::move(message)), code_(code) {}
  [[nodiscard]] const char* type_name() const noexcept override { return "HTTPError"; }
  [[nodiscard]] int code() const noexcept { return code_; }

 private:
  int code_;
};

struct ParseError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

/** A type whose constructor words its message: its pickle cannot rebuild `what()` from it. */
class WordyError : public pyconc::Error {
 public:
  explicit WordyError(const std::string& detail) : Error("wordy: " + detail) {}
  [[nodiscard]] const char* type_name() const noexcept override { return "WordyError"; }
};
PYCONC_PICKLE_EXCEPTION(WordyError);

}  // namespace pickle_test

// ---- what pickles, at compile time -----------------------------------------------------

static_assert(pickle::picklable<int>);
static_assert(pickle::picklable<const std::string&>);
static_assert(pickle::picklable<std::vector<std::map<std::string, std::optional<geo::Point>>>>);
static_assert(pickle::picklable<geo::Node>);
static_assert(pickle::picklable<std::exception_ptr>);
static_assert(pickle::picklable<std::variant<std::monostate, int, std::exception_ptr>>);
static_assert(pickle::picklable<std::chrono::steady_clock::time_point>);
static_assert(pickle::picklable<geo::Color> && pickle::picklable<geo::Size>);
static_assert(!pickle::picklable<pickle_test::NotRegistered>);
static_assert(!pickle::picklable<std::vector<pickle_test::NotRegistered>>);
static_assert(!pickle::picklable<std::map<int, pickle_test::NotRegistered>>);
static_assert(!pickle::picklable<std::pair<int, pickle_test::NotRegistered>>);
static_assert(!pickle::picklable<pickle_test::Plain>);
static_assert(!pickle::picklable<int*>);
static_assert(!pickle::picklable<const char*>);
static_assert(!pickle::picklable<std::string_view>);
static_assert(!pickle::picklable<int[3]>);
static_assert(!pickle::picklable<std::tuple<int&>>);
static_assert(!pickle::picklable<std::pair<const int, int>>);

namespace {

template <class T>
T round_trip(const T& value) {
  return pickle::loads<T>(pickle::dumps(value));
}

template <class T>
void check_round_trip(const T& value) {
  INFO("type " << pickle::type_description<T>());
  CHECK(round_trip(value) == value);
}

/** A pickle of `T` whose payload is `payload`, with a correct header. */
template <class T>
std::string with_payload(const std::string& payload) {
  std::string out = "PYCK";
  out += static_cast<char>(pickle::format_version);
  const auto put64 = [&out](std::uint64_t v) {
    for (int i = 0; i < 8; ++i)
      out += static_cast<char>((v >> (8 * i)) & 0xff);
  };
  put64(pickle::type_fingerprint<T>());
  put64(payload.size());
  return out + payload;
}

std::string u64(std::uint64_t v) {
  std::string out;
  for (int i = 0; i < 8; ++i)
    out += static_cast<char>((v >> (8 * i)) & 0xff);
  return out;
}

std::string u32(std::uint32_t v) {
  return u64(v).substr(0, 4);
}

std::string payload_of(const std::string& pickled) {
  return pickled.substr(pyconc::detail::pickle_header_size);
}

geo::Node tree(int depth, int width) {
  geo::Node n{depth, {}};
  if (depth > 0)
    for (int i = 0; i < width; ++i)
      n.children.push_back(tree(depth - 1, width));
  return n;
}

geo::Node chain(int depth) {
  geo::Node root{0, {}};
  geo::Node* at = &root;
  for (int i = 1; i < depth; ++i) {
    at->children.push_back(geo::Node{i, {}});
    at = &at->children.back();
  }
  return root;
}

}  // namespace

// ---- round trips -------------------------------------------------------------------------

TEMPLATE_TEST_CASE("pickle.integers round trip at their limits", "[pickle]", char, signed char, unsigned char, short,
                   unsigned short, int, unsigned, long, unsigned long, long long, unsigned long long, wchar_t, char8_t,
                   char16_t, char32_t) {
  using L = std::numeric_limits<TestType>;
  for (const TestType v : {L::min(), L::max(), TestType(0), TestType(1), TestType(L::max() / 3)})
    CHECK(round_trip(v) == v);
}

TEMPLATE_TEST_CASE("pickle.floating-point numbers round trip bit for bit", "[pickle]", float, double, long double) {
  using L = std::numeric_limits<TestType>;
  for (const TestType v : {TestType(0), TestType(-0.0), TestType(1) / 3, L::min(), L::max(), L::lowest(),
                           L::denorm_min(), L::infinity(), -L::infinity(), L::quiet_NaN()}) {
    const TestType back = round_trip(v);
    if (std::isnan(v)) {
      CHECK(std::isnan(back));
    } else {
      CHECK(back == v);
      CHECK(std::signbit(back) == std::signbit(v));
    }
  }
}

TEST_CASE("pickle.bool, std::byte and enums round trip", "[pickle]") {
  CHECK(round_trip(true));
  CHECK_FALSE(round_trip(false));
  CHECK(round_trip(std::byte{0xab}) == std::byte{0xab});
  CHECK(round_trip(geo::Color::blue) == geo::Color::blue);
  CHECK(round_trip(geo::big) == geo::big);
  CHECK(round_trip(geo::small) == geo::small);
  check_round_trip(std::vector<geo::Color>{geo::Color::red, geo::Color::blue});
  check_round_trip(std::vector<bool>{true, false, true, true});
}

TEST_CASE("pickle.strings round trip, NUL bytes and wide characters included", "[pickle]") {
  check_round_trip(std::string());
  check_round_trip(std::string("hello"));
  check_round_trip(std::string("a\0b\xff", 4));
  check_round_trip(std::string(100'000, 'x'));
  check_round_trip(std::u8string(u8"h\u00e9llo"));
  check_round_trip(std::u16string(u"h\u00e9llo \U0001F600"));
  check_round_trip(std::u32string(U"\U0001F600"));
  check_round_trip(std::wstring(L"wide"));
}

TEST_CASE("pickle.byte vectors round trip", "[pickle]") {
  std::vector<std::byte> bytes;
  std::vector<unsigned char> uchars;
  for (int i = 0; i < 1000; ++i) {
    bytes.push_back(static_cast<std::byte>(i * 7));
    uchars.push_back(static_cast<unsigned char>(i * 13));
  }
  check_round_trip(bytes);
  check_round_trip(uchars);
  check_round_trip(std::vector<std::byte>());
}

TEST_CASE("pickle.sequence containers round trip", "[pickle]") {
  check_round_trip(std::vector<int>{1, -2, 3});
  check_round_trip(std::vector<double>{0.5, -1e300, 3});
  check_round_trip(std::vector<std::string>{"a", "", "ccc"});
  check_round_trip(std::deque<std::string>{"x", "y"});
  check_round_trip(std::list<double>{1.5, 2.5});
  check_round_trip(std::forward_list<int>{3, 2, 1});
  check_round_trip(std::forward_list<int>());
  check_round_trip(std::array<int, 3>{7, 8, 9});
  check_round_trip(std::array<std::string, 2>{"p", "q"});
  check_round_trip(std::array<int, 0>{});
  check_round_trip(std::vector<std::array<double, 3>>{{1, 2, 3}, {4, 5, 6}});
  check_round_trip(std::vector<std::chrono::milliseconds>{1ms, 2ms});
  check_round_trip(std::vector<std::vector<int>>{{}, {1}, {2, 3}});
}

TEST_CASE("pickle.sets and maps round trip", "[pickle]") {
  check_round_trip(std::set<int>{3, 1, 2});
  check_round_trip(std::set<std::string, std::greater<>>{"b", "a", "c"});
  check_round_trip(std::multiset<int>{1, 1, 2, 2, 2});
  check_round_trip(std::unordered_set<std::string>{"a", "b"});
  check_round_trip(std::unordered_multiset<int>{5, 5, 6});
  check_round_trip(std::map<std::string, int>{{"one", 1}, {"two", 2}});
  check_round_trip(std::multimap<int, std::string>{{1, "a"}, {1, "b"}, {0, "c"}});
  check_round_trip(std::unordered_map<int, std::vector<int>>{{1, {1}}, {2, {2, 2}}});
  check_round_trip(std::unordered_multimap<std::string, int>{{"k", 1}, {"k", 2}});
  // multimap keeps the order of equal keys
  const auto mm = round_trip(std::multimap<int, std::string>{{1, "first"}, {1, "second"}, {1, "third"}});
  std::vector<std::string> order;
  for (const auto& [k, v] : mm)
    order.push_back(v);
  CHECK(order == std::vector<std::string>{"first", "second", "third"});
}

TEST_CASE("pickle.pair, tuple, optional, variant and monostate round trip", "[pickle]") {
  check_round_trip(std::pair<int, std::string>{1, "one"});
  check_round_trip(std::tuple<int, double, std::string>{1, 2.5, "x"});
  check_round_trip(std::tuple<>());
  check_round_trip(std::optional<int>());
  check_round_trip(std::optional<int>(5));
  check_round_trip(std::optional<std::optional<int>>(std::optional<int>()));
  check_round_trip(std::monostate());
  using V = std::variant<std::monostate, int, std::string, std::vector<double>>;
  check_round_trip(V());
  check_round_trip(V(42));
  check_round_trip(V(std::string("s")));
  check_round_trip(V(std::vector<double>{1, 2}));
  // the same type twice: the index, not the type, is kept
  using Twice = std::variant<int, int>;
  const auto back = round_trip(Twice(std::in_place_index<1>, 7));
  CHECK(back.index() == 1);
  CHECK(std::get<1>(back) == 7);
}

TEST_CASE("pickle.chrono durations and time points round trip", "[pickle]") {
  check_round_trip(std::chrono::nanoseconds(-123456789012345));
  check_round_trip(std::chrono::duration<double>(1.25));
  check_round_trip(std::chrono::hours(5));
  const auto now = std::chrono::system_clock::now();
  check_round_trip(now);
  const auto steady = std::chrono::steady_clock::now();
  check_round_trip(steady);
  check_round_trip(std::chrono::time_point_cast<std::chrono::seconds>(now));
}

TEST_CASE("pickle.structs named with PYCONC_PICKLE_FIELDS round trip", "[pickle]") {
  const geo::Point p{3, -1.5, {"a", "b"}};
  check_round_trip(p);
  check_round_trip(GlobalPoint{-7, {1.5f, 2.5f}});
  check_round_trip(geo::Empty{});
  check_round_trip(geo::Outer::Inner{u"inner"});
  geo::Shape s{"tri", geo::Color::green, {p, {1, 2, {}}}, geo::Point{0, 0, {"c"}}, {{"w", geo::big}}};
  check_round_trip(s);
  check_round_trip(std::vector<geo::Shape>{s, geo::Shape{}});
  check_round_trip(tree(4, 3));

  const auto partial = round_trip(geo::Partial{5, 9});
  CHECK(partial.kept == 5);
  CHECK(partial.cache == 0);
}

TEST_CASE("pickle.deeply nested standard types round trip", "[pickle]") {
  using Deep = std::vector<
      std::map<std::string, std::optional<std::tuple<int, std::variant<std::string, std::vector<double>>>>>>;
  Deep d(3);
  d[0]["a"] = std::tuple<int, std::variant<std::string, std::vector<double>>>{1, std::string("x")};
  d[0]["b"] = std::nullopt;
  d[2]["c"] = std::tuple<int, std::variant<std::string, std::vector<double>>>{2, std::vector<double>{1, 2, 3}};
  check_round_trip(d);
  CHECK(pickle::type_description<Deep>() == "vector<map<string,optional<tuple<i32,variant<string,vector<f64>>>>>>");
}

// ---- the bytes -------------------------------------------------------------------------------

TEST_CASE("pickle.the header holds the magic, the version, the fingerprint and the payload size", "[pickle]") {
  const std::string bytes = pickle::dumps(std::int32_t{0x01020304});
  REQUIRE(bytes.size() == pyconc::detail::pickle_header_size + 4);
  CHECK(bytes.substr(0, 4) == "PYCK");
  CHECK(bytes[4] == 1);
  CHECK(bytes.substr(5, 8) == u64(pickle::type_fingerprint<std::int32_t>()));
  CHECK(bytes.substr(13, 8) == u64(4));
  CHECK(payload_of(bytes) == std::string("\x04\x03\x02\x01", 4));  // little-endian
  CHECK(bytes == with_payload<std::int32_t>(std::string("\x04\x03\x02\x01", 4)));
}

TEST_CASE("pickle.payloads: counts, flags, indexes and fields as documented", "[pickle]") {
  CHECK(payload_of(pickle::dumps(std::string("ab"))) == u64(2) + "ab");
  CHECK(payload_of(pickle::dumps(true)) == std::string("\x01", 1));
  CHECK(payload_of(pickle::dumps(std::optional<std::int16_t>())) == std::string("\x00", 1));
  CHECK(payload_of(pickle::dumps(std::optional<std::int16_t>(0x0102))) == std::string("\x01\x02\x01", 3));
  CHECK(payload_of(pickle::dumps(std::variant<std::int8_t, std::string>(std::string("z")))) == u32(1) + u64(1) + "z");
  CHECK(payload_of(pickle::dumps(std::pair<std::uint8_t, std::uint8_t>{7, 9})) == "\x07\x09");
  CHECK(payload_of(pickle::dumps(std::map<std::string, std::int8_t>{{"k", 5}})) == u64(1) + u64(1) + "k" + "\x05");
  const std::vector<double> v{1.0, -2.5, 1e300};
  std::string raw(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(double));
  CHECK(payload_of(pickle::dumps(v)) == u64(3) + raw);  // the vector's bytes, as they are in memory
  CHECK(payload_of(pickle::dumps(geo::Point{1, 0, {}})).size() == 4 + 8 + 8);
}

TEST_CASE("pickle.type descriptions are structural", "[pickle]") {
  CHECK(pickle::type_description<std::vector<std::map<std::string, int>>>() == "vector<map<string,i32>>");
  CHECK(pickle::type_description<long long>() == "i64");
  CHECK(pickle::type_description<unsigned char>() == "u8");
  CHECK(pickle::type_description<std::vector<std::byte>>() == "vector<byte>");
  CHECK(pickle::type_description<std::u16string>() == "basic_string<char16_t>");
  CHECK(pickle::type_description<std::chrono::milliseconds>() == "duration<i64,1/1000>");
  CHECK(pickle::type_description<std::chrono::system_clock::time_point>() ==
        "time_point<system_clock,duration<i64,1/1000000000>>");
  CHECK(pickle::type_description<geo::Point>() == "Point{x:i32,y:f64,tags:vector<string>}");
  CHECK(pickle::type_description<geo::Node>() == "Node{value:i32,children:vector<Node>}");
  CHECK(pickle::type_description<geo::Outer::Inner>() == "Outer::Inner{text:basic_string<char16_t>}");
  CHECK(pickle::type_description<geo::Empty>() == "Empty{}");
  CHECK(pickle::type_description<geo::Color>() == "enum geo::Color:u8");
  CHECK(pickle::type_description<std::exception_ptr>() == "exception_ptr");
}

TEST_CASE("pickle.different types have different fingerprints", "[pickle]") {
  const std::set<std::uint64_t> prints = {
      pickle::type_fingerprint<int>(),
      pickle::type_fingerprint<unsigned>(),
      pickle::type_fingerprint<long>(),
      pickle::type_fingerprint<float>(),
      pickle::type_fingerprint<std::vector<int>>(),
      pickle::type_fingerprint<std::set<int>>(),
      pickle::type_fingerprint<std::map<std::string, int>>(),
      pickle::type_fingerprint<std::vector<std::pair<std::string, int>>>(),
      pickle::type_fingerprint<geo::Point>(),
      pickle::type_fingerprint<geo::Color>(),
  };
  CHECK(prints.size() == 10);
  CHECK(pickle::type_fingerprint<int>() == pickle::type_fingerprint<const int&>());
}

// ---- errors ------------------------------------------------------------------------------

TEST_CASE("pickle.the exceptions have Python's names and hierarchy", "[pickle]") {
  CHECK(std::string(pickle::PickleError().type_name()) == "PickleError");
  CHECK(std::string(pickle::PicklingError().type_name()) == "PicklingError");
  CHECK(std::string(pickle::UnpicklingError().type_name()) == "UnpicklingError");
  static_assert(std::is_base_of_v<pyconc::Error, pickle::PickleError>);
  static_assert(std::is_base_of_v<pickle::PickleError, pickle::PicklingError>);
  static_assert(std::is_base_of_v<pickle::PickleError, pickle::UnpicklingError>);
}

TEST_CASE("pickle.loads of another type's pickle raises UnpicklingError naming the type", "[pickle]") {
  const std::string ints = pickle::dumps(std::vector<int>{1, 2, 3});
  const auto expected = [](std::uint64_t found, std::uint64_t wanted, const std::string& type) {
    return "pickled type does not match: loads<" + type +
           "> was given data pickled from another type (type fingerprint " + pyconc::detail::pickle_hex(found) +
           ", expected " + pyconc::detail::pickle_hex(wanted) + ")";
  };
  REQUIRE_RAISES(pickle::loads<std::vector<long>>(ints), UnpicklingError,
                 expected(pickle::type_fingerprint<std::vector<int>>(), pickle::type_fingerprint<std::vector<long>>(),
                          "vector<i64>"));
  REQUIRE_RAISES(
      pickle::loads<std::set<int>>(ints), UnpicklingError,
      expected(pickle::type_fingerprint<std::vector<int>>(), pickle::type_fingerprint<std::set<int>>(), "set<i32>"));
  REQUIRE_RAISES(pickle::loads<geo::Point>(pickle::dumps(GlobalPoint{})), UnpicklingError,
                 expected(pickle::type_fingerprint<GlobalPoint>(), pickle::type_fingerprint<geo::Point>(),
                          "Point{x:i32,y:f64,tags:vector<string>}"));
}

TEST_CASE("pickle.header errors", "[pickle]") {
  const std::string good = pickle::dumps(std::string("hello"));
  REQUIRE_RAISES(pickle::loads<std::string>(""), UnpicklingError, "pickle data was truncated");
  REQUIRE_RAISES(pickle::loads<std::string>("PYC"), UnpicklingError, "pickle data was truncated");
  REQUIRE_RAISES(pickle::loads<std::string>(good.substr(0, 20)), UnpicklingError, "pickle data was truncated");
  REQUIRE_RAISES(pickle::loads<std::string>("not a pickle at all, no"), UnpicklingError,
                 "invalid load key: not a pyconc pickle (no \"PYCK\" header)");
  REQUIRE_RAISES(pickle::loads<std::string>("\x80\x05\x95"), UnpicklingError, "pickle data was truncated");
  REQUIRE_RAISES(pickle::loads<std::string>(std::string("\x80\x05\x95\x10\0\0\0\0\0\0\0\x8c\x05hello\x94.", 20)),
                 UnpicklingError, "invalid load key: not a pyconc pickle (no \"PYCK\" header)");
  std::string version = good;
  version[4] = 2;
  REQUIRE_RAISES(pickle::loads<std::string>(version), UnpicklingError,
                 "unsupported pickle format version 2 (this build reads version 1)");
  REQUIRE_RAISES(pickle::loads<std::string>(good.substr(0, good.size() - 1)), UnpicklingError,
                 "pickle data was truncated");
  REQUIRE_RAISES(pickle::loads<std::string>(good + "x"), UnpicklingError, "1 byte of trailing data after the pickle");
  REQUIRE_RAISES(pickle::loads<std::string>(good + "xyz"), UnpicklingError,
                 "3 bytes of trailing data after the pickle");
  // The payload's size says more than the value takes.
  REQUIRE_RAISES(pickle::loads<std::string>(with_payload<std::string>(u64(1) + "ab")), UnpicklingError,
                 "1 byte of trailing data after the pickle");
  // ... or less.
  REQUIRE_RAISES(pickle::loads<std::string>(with_payload<std::string>(u64(3) + "ab")), UnpicklingError,
                 "invalid length 3 for string: only 2 bytes of pickle data are left");
  REQUIRE_RAISES(pickle::loads<std::int64_t>(with_payload<std::int64_t>("abc")), UnpicklingError,
                 "pickle data was truncated");
}

TEST_CASE("pickle.huge lengths are refused before anything is allocated", "[pickle]") {
  const std::uint64_t huge = std::uint64_t{1} << 60;
  REQUIRE_RAISES(pickle::loads<std::vector<double>>(with_payload<std::vector<double>>(u64(huge))), UnpicklingError,
                 "invalid length 1152921504606846976 for vector<f64>: only 0 bytes of pickle data are left");
  // Nine bytes left: one double fits, two do not.
  REQUIRE(pickle::loads<std::vector<double>>(with_payload<std::vector<double>>(u64(1) + std::string(8, '\0'))) ==
          std::vector<double>{0.0});
  REQUIRE_RAISES(pickle::loads<std::vector<double>>(with_payload<std::vector<double>>(u64(2) + std::string(9, '\0'))),
                 UnpicklingError, "invalid length 2 for vector<f64>: only 9 bytes of pickle data are left");
  REQUIRE_RAISES(pickle::loads<std::string>(with_payload<std::string>(u64(~std::uint64_t{0}) + "abc")), UnpicklingError,
                 "invalid length 18446744073709551615 for string: only 3 bytes of pickle data are left");
  // A map's entries take 8 + 4 bytes at least: 2^40 of them cannot come from 24 bytes.
  using M = std::map<std::string, int>;
  REQUIRE_RAISES(pickle::loads<M>(with_payload<M>(u64(std::uint64_t{1} << 40) + std::string(24, '\0'))),
                 UnpicklingError,
                 "invalid length 1099511627776 for map<string,i32>: only 24 bytes of pickle data are left");
  // Inside a vector of vectors.
  using VV = std::vector<std::vector<int>>;
  REQUIRE_RAISES(pickle::loads<VV>(with_payload<VV>(u64(1) + u64(huge))), UnpicklingError,
                 "invalid length 1152921504606846976 for vector<i32>: only 0 bytes of pickle data are left");
  // Elements of one byte or less in memory still take a byte each in a pickle.
  using Units = std::vector<std::monostate>;
  REQUIRE_RAISES(pickle::loads<Units>(with_payload<Units>(u64(huge))), UnpicklingError,
                 "invalid length 1152921504606846976 for vector<monostate>: only 0 bytes of pickle data are left");
  using Empties = std::vector<geo::Empty>;
  REQUIRE_RAISES(pickle::loads<Empties>(with_payload<Empties>(u64(1000) + std::string(999, '\0'))), UnpicklingError,
                 "invalid length 1000 for vector<Empty{}>: only 999 bytes of pickle data are left");
  CHECK(round_trip(Units(5)).size() == 5);
}

TEST_CASE("pickle.invalid flags, indexes, markers and duplicate keys", "[pickle]") {
  REQUIRE_RAISES(pickle::loads<bool>(with_payload<bool>("\x02")), UnpicklingError,
                 "invalid bool byte 2 in pickle data (expected 0 or 1)");
  using O = std::optional<int>;
  REQUIRE_RAISES(pickle::loads<O>(with_payload<O>("\x07")), UnpicklingError,
                 "invalid optional byte 7 in pickle data (expected 0 or 1)");
  using V = std::variant<int, std::string>;
  REQUIRE_RAISES(pickle::loads<V>(with_payload<V>(u32(2) + "abcd")), UnpicklingError,
                 "invalid variant index 2 for variant<i32,string>");
  REQUIRE_RAISES(pickle::loads<std::monostate>(with_payload<std::monostate>("\x01")), UnpicklingError,
                 "invalid monostate byte in pickle data");
  using S = std::set<int>;
  REQUIRE_RAISES(pickle::loads<S>(with_payload<S>(u64(2) + u32(5) + u32(5))), UnpicklingError,
                 "duplicate key in pickled set<i32>");
  using M = std::unordered_map<std::string, int>;
  REQUIRE_RAISES(pickle::loads<M>(with_payload<M>(u64(2) + u64(1) + "k" + u32(1) + u64(1) + "k" + u32(2))),
                 UnpicklingError, "duplicate key in pickled unordered_map<string,i32>");
  using MS = std::multiset<int>;
  CHECK(pickle::loads<MS>(with_payload<MS>(u64(2) + u32(5) + u32(5))) == MS{5, 5});
  // An unordered set's keys come in any order.
  using US = std::set<int>;
  CHECK(pickle::loads<US>(with_payload<US>(u64(3) + u32(9) + u32(1) + u32(5))) == US{1, 5, 9});
}

TEST_CASE("pickle.nesting deeper than max_depth raises on both sides", "[pickle]") {
  const geo::Node deepest_allowed = chain(static_cast<int>(pickle::max_depth));
  CHECK(round_trip(deepest_allowed) == deepest_allowed);
  const geo::Node too_deep = chain(static_cast<int>(pickle::max_depth) + 1);
  REQUIRE_RAISES(pickle::dumps(too_deep), pickle::PicklingError,
                 "cannot pickle: values nested deeper than 1000 levels");
  // The same nesting, written by hand: value, one child, ... , then no children.
  std::string payload;
  for (std::size_t i = 0; i <= pickle::max_depth; ++i)
    payload += u32(static_cast<std::uint32_t>(i)) + u64(1);
  payload += u32(0) + u64(0);
  REQUIRE_RAISES(pickle::loads<geo::Node>(with_payload<geo::Node>(payload)), UnpicklingError,
                 "pickle data nested deeper than 1000 levels");
}

TEST_CASE("pickle.a valueless variant does not pickle", "[pickle]") {
  std::variant<int, geo::Fragile> v = 1;
  try {
    v.emplace<1>(0);
  } catch (const std::runtime_error&) {
  }
  REQUIRE(v.valueless_by_exception());
  REQUIRE_RAISES(pickle::dumps(v), pickle::PicklingError,
                 "cannot pickle a valueless variant<i32,Fragile{text:string}>");
}

// ---- exceptions ----------------------------------------------------------------------------

namespace {

std::exception_ptr exception_round_trip(const std::exception_ptr& e) {
  return pickle::loads<std::exception_ptr>(pickle::dumps(e));
}

template <class E>
std::exception_ptr pickled(E e) {
  return exception_round_trip(std::make_exception_ptr(std::move(e)));
}

/** "TypeName: what()" with the C++ type as typeid gives it, of what `ep` holds. */
std::string held(const std::exception_ptr& ep) {
  try {
    std::rethrow_exception(ep);
  } catch (const std::exception& e) {
    return pyconc_test::type_name_of(typeid(e)) + ": " + e.what();
  } catch (...) {
    return "not a std::exception";
  }
}

/** The exception `ep` holds, as an `E` (it stays alive as long as this does). */
template <class E>
struct Held {
  std::exception_ptr ep;
  const E* object = nullptr;
  const E& operator*() const { return *object; }
  const E* operator->() const { return object; }
  /** The held exception's dynamic type. */
  [[nodiscard]] const std::type_info& type() const { return typeid(*object); }
};

template <class E>
Held<E> as(std::exception_ptr ep) {
  Held<E> held{std::move(ep)};
  try {
    std::rethrow_exception(held.ep);
  } catch (const E& e) {
    held.object = &e;  // rethrow_exception throws the held object itself, not a copy
  } catch (...) {
  }
  REQUIRE(held.object != nullptr);
  return held;
}

}  // namespace

TEST_CASE("pickle.an empty exception_ptr round trips", "[pickle]") {
  CHECK(exception_round_trip(nullptr) == nullptr);
}

TEMPLATE_TEST_CASE("pickle.pyconc's exceptions come back as themselves", "[pickle]", pyconc::Error, RuntimeError,
                   NotImplementedError, ValueError, TypeError, AttributeError, EOFError, ArithmeticError, OverflowError,
                   ZeroDivisionError, AssertionError, LookupError, IndexError, OSError, ConnectionError,
                   BrokenPipeError, ConnectionAbortedError, ConnectionRefusedError, ConnectionResetError,
                   FileNotFoundError, FileExistsError, IsADirectoryError, NotADirectoryError, PermissionError,
                   InterruptedError, BlockingIOError, ChildProcessError, ProcessLookupError, TimeoutError,
                   pickle::PickleError, pickle::PicklingError, pickle::UnpicklingError) {
  const auto back = pickled(TestType("it went wrong"));
  const auto e = as<TestType>(back);
  CHECK(e.type() == typeid(TestType));
  CHECK(std::string(e->what()) == "it went wrong");
  CHECK(std::string(e->type_name()) == TestType().type_name());
  const auto empty = pickled(TestType());
  CHECK(as<TestType>(empty).type() == typeid(TestType));
  CHECK(std::string(as<TestType>(empty)->what()).empty());
}

TEST_CASE("pickle.OSError keeps errno, strerror and filename", "[pickle]") {
  const auto back = pickled(FileNotFoundError(2, "No such file or directory", "a.txt"));
  const auto e = as<FileNotFoundError>(back);
  CHECK(e.type() == typeid(FileNotFoundError));
  CHECK(std::string(e->what()) == "[Errno 2] No such file or directory: 'a.txt'");
  CHECK(e->errno_() == 2);
  CHECK(e->strerror() == "No such file or directory");
  CHECK(e->filename() == "a.txt");

  const auto p = as<BrokenPipeError>(pickled(BrokenPipeError(32, "Broken pipe")));
  CHECK(p->errno_() == 32);
  CHECK_FALSE(p->filename().has_value());
  CHECK(p->repr() == "BrokenPipeError(32, 'Broken pipe')");

  const auto m = as<OSError>(pickled(OSError("handle is closed")));
  CHECK(m.type() == typeid(OSError));
  CHECK(std::string(m->what()) == "handle is closed");
  CHECK_FALSE(m->errno_().has_value());
  CHECK_FALSE(m->strerror().has_value());
}

TEST_CASE("pickle.SystemExit keeps its code, KeyError its key", "[pickle]") {
  const auto exit = as<SystemExit>(pickled(SystemExit(3)));
  CHECK(exit.type() == typeid(SystemExit));
  CHECK(exit->code() == 3);
  CHECK(std::string(exit->what()) == "3");
  CHECK(as<SystemExit>(pickled(SystemExit()))->code() == 0);

  const auto a = as<KeyError>(pickled(KeyError("a")));
  CHECK(a.type() == typeid(KeyError));
  CHECK(std::string(a->what()) == "'a'");
  CHECK(a->key() == "a");
  CHECK(a->repr() == "KeyError('a')");
  const auto five = as<KeyError>(pickled(KeyError(5)));
  CHECK(std::string(five->what()) == "5");
  CHECK(five->key() == "5");
  CHECK(five->repr() == "KeyError(5)");
  const auto quoted = as<KeyError>(pickled(KeyError("5")));
  CHECK(std::string(quoted->what()) == "'5'");
  const auto none = as<KeyError>(pickled(KeyError()));
  CHECK(none.type() == typeid(KeyError));
  CHECK(std::string(none->what()).empty());
}

TEST_CASE("pickle.the standard library's exceptions come back as themselves", "[pickle]") {
  CHECK(held(pickled(std::runtime_error("boom"))) == "std::runtime_error: boom");
  CHECK(held(pickled(std::logic_error("l"))) == "std::logic_error: l");
  CHECK(held(pickled(std::out_of_range("index 9"))) == "std::out_of_range: index 9");
  CHECK(held(pickled(std::invalid_argument("arg"))) == "std::invalid_argument: arg");
  CHECK(held(pickled(std::overflow_error("o"))) == "std::overflow_error: o");
  CHECK(held(pickled(std::bad_alloc())) == "std::bad_alloc: std::bad_alloc");
  CHECK(held(pickled(std::bad_optional_access())) == held(std::make_exception_ptr(std::bad_optional_access())));
  CHECK(held(pickled(std::exception())) == "std::exception: std::exception");

  const std::system_error with_what(std::make_error_code(std::errc::no_such_file_or_directory), "open");
  const auto s = as<std::system_error>(pickled(with_what));
  CHECK(s.type() == typeid(std::system_error));
  CHECK(std::string(s->what()) == with_what.what());
  CHECK(s->code() == std::make_error_code(std::errc::no_such_file_or_directory));
  const std::system_error bare(std::error_code(EPIPE, std::system_category()));
  const auto b = as<std::system_error>(pickled(bare));
  CHECK(std::string(b->what()) == bare.what());
  CHECK(b->code() == bare.code());
}

TEST_CASE("pickle.an unknown exception comes back as its nearest known base, with its name and message", "[pickle]") {
  const auto fetch = pickled(pickle_test::FetchError("cannot resolve b.invalid"));
  const auto f = as<pyconc::Error>(fetch);
  CHECK(f.type() == typeid(pickle::UnpickledException<pyconc::Error>));
  CHECK(std::string(f->type_name()) == "FetchError");
  CHECK(std::string(f->what()) == "cannot resolve b.invalid");
  CHECK(f->repr() == "FetchError('cannot resolve b.invalid')");
  CHECK(pyconc_test::raised([&] { std::rethrow_exception(fetch); }) == "FetchError: cannot resolve b.invalid");

  const auto http = pickled(pickle_test::HTTPError(404, "not found"));
  const auto h = as<OSError>(http);
  CHECK(h.type() == typeid(pickle::UnpickledException<OSError>));
  CHECK(std::string(h->type_name()) == "HTTPError");
  CHECK(std::string(h->what()) == "not found");

  const auto parse = pickled(pickle_test::ParseError("bad token"));
  const auto p = as<std::invalid_argument>(parse);
  CHECK(p.type() == typeid(pickle::UnpickledException<std::invalid_argument>));
  CHECK(std::string(p->what()) == "bad token");
  CHECK(dynamic_cast<const pickle::UnpickledException<std::invalid_argument>&>(*p).original_type_name() ==
        "pickle_test::ParseError");

  // Not a std::exception at all.
  const auto number = exception_round_trip(std::make_exception_ptr(42));
  const auto n = as<std::exception>(number);
  CHECK(dynamic_cast<const pickle::UnpickledException<std::exception>&>(*n).original_type_name() == "int");
  CHECK(std::string(n->what()).empty());

  // Pickled again, it keeps the original name.
  const auto again = as<pyconc::Error>(exception_round_trip(fetch));
  CHECK(std::string(again->type_name()) == "FetchError");
  CHECK(std::string(again->what()) == "cannot resolve b.invalid");
}

TEST_CASE("pickle.registered exceptions come back as themselves, the nearest registered base otherwise", "[pickle]") {
  const auto r = as<pickle_test::RegisteredError>(pickled(pickle_test::RegisteredError("bad value")));
  CHECK(r.type() == typeid(pickle_test::RegisteredError));
  CHECK(std::string(r->what()) == "bad value");

  CHECK(as<pickle_test::AppIOError>(pickled(pickle_test::AppIOError("io"))).type() == typeid(pickle_test::AppIOError));
  CHECK(as<pickle_test::AppError>(pickled(pickle_test::AppError("app"))).type() == typeid(pickle_test::AppError));
  const auto disk = as<pickle_test::AppIOError>(pickled(pickle_test::AppDiskError("disk full")));
  CHECK(disk.type() == typeid(pickle::UnpickledException<pickle_test::AppIOError>));
  CHECK(std::string(disk->type_name()) == "AppDiskError");
  CHECK(std::string(disk->what()) == "disk full");

  // Registering twice changes nothing.
  CHECK(pickle::register_exception<pickle_test::AppError>());
  CHECK(as<pickle_test::AppIOError>(pickled(pickle_test::AppDiskError("x"))).type() ==
        typeid(pickle::UnpickledException<pickle_test::AppIOError>));

  // Its constructor words the message differently: same type, message kept by the wrapper.
  const auto w = as<pickle_test::WordyError>(pickled(pickle_test::WordyError("x")));
  CHECK(std::string(w->what()) == "wordy: x");
  CHECK(std::string(w->type_name()) == "WordyError");
}

TEST_CASE("pickle.exceptions nest inside other values", "[pickle]") {
  using Result = std::variant<int, std::exception_ptr>;
  const auto back = round_trip(std::vector<Result>{Result(1), Result(std::make_exception_ptr(ValueError("v")))});
  REQUIRE(back.size() == 2);
  CHECK(std::get<0>(back[0]) == 1);
  CHECK(held(std::get<1>(back[1])) == "pyconc::v0::ValueError: v");
}

TEST_CASE("pickle.a corrupt exception raises UnpicklingError", "[pickle]") {
  using E = std::exception_ptr;
  const std::string good = pickle::dumps(std::make_exception_ptr(ValueError("v")));
  std::string payload = payload_of(good);
  // The key, the first string after the flag, names the known type: make it name none.
  payload[9] = static_cast<char>(payload[9] ^ 0x20);
  CHECK_THROWS_WITH(pickle::loads<E>(with_payload<E>(payload)),
                    Catch::StartsWith("unknown exception type in pickle data: "));
  // An errno that does not fit an int.
  const std::string os = payload_of(pickle::dumps(std::make_exception_ptr(OSError(2, "x"))));
  const std::size_t at = os.find(std::string("\x01\x02\0\0\0\0\0\0\0", 9));
  REQUIRE(at != std::string::npos);
  std::string bad = os;
  bad.replace(at + 1, 8, u64(std::uint64_t{1} << 40));
  REQUIRE_RAISES(pickle::loads<E>(with_payload<E>(bad)), UnpicklingError, "invalid errno 1099511627776 in pickle data");
}

// ---- mutations -------------------------------------------------------------------------

namespace {

using MutDeep =
    std::vector<std::map<std::string, std::optional<std::tuple<int, std::variant<std::string, std::vector<double>>>>>>;
using MutMixed =
    std::variant<std::monostate, std::exception_ptr, std::list<std::u32string>,
                 std::pair<std::multimap<long, std::chrono::milliseconds>, std::forward_list<std::vector<std::byte>>>>;
using MutSets = std::tuple<std::set<std::string>, std::unordered_map<int, std::deque<bool>>, std::array<char16_t, 3>,
                           std::unordered_multiset<std::int16_t>>;

/** Valid pickles of several nested types, and a function that loads each as its type. */
struct Sample {
  std::string bytes;
  void (*load)(std::string_view);
};

template <class T>
Sample sample(const T& value) {
  return {pickle::dumps(value), [](std::string_view b) { static_cast<void>(pickle::loads<T>(b)); }};
}

std::vector<Sample> samples() {
  MutDeep deep(2);
  deep[0]["alpha"] = std::tuple<int, std::variant<std::string, std::vector<double>>>{7, std::string("text")};
  deep[0]["beta"] = std::nullopt;
  deep[1]["gamma"] = std::tuple<int, std::variant<std::string, std::vector<double>>>{-1, std::vector<double>{1, 2}};
  geo::Shape shape{
      "shape", geo::Color::blue, {{1, 2, {"t"}}, {3, 4, {}}}, geo::Point{5, 6, {"c"}}, {{"s", geo::small}}};
  return {
      sample(deep),
      sample(shape),
      sample(tree(3, 2)),
      sample(MutMixed(std::make_exception_ptr(FileNotFoundError(2, "No such file", "f")))),
      sample(MutMixed(std::list<std::u32string>{U"ab", U"c"})),
      sample(
          MutMixed(std::pair<std::multimap<long, std::chrono::milliseconds>, std::forward_list<std::vector<std::byte>>>{
              {{1, 5ms}, {1, 6ms}}, {{std::byte{1}, std::byte{2}}, {}}})),
      sample(MutSets{{"a", "bb"}, {{1, {true, false}}}, {u'x', u'y', u'z'}, {3, 3, 4}}),
      sample(std::vector<std::exception_ptr>{std::make_exception_ptr(KeyError("k")), nullptr,
                                             std::make_exception_ptr(std::runtime_error("r"))}),
  };
}

}  // namespace

TEST_CASE("pickle.100000 mutations of valid pickles load or raise UnpicklingError, nothing else", "[pickle]") {
  const std::vector<Sample> valid = samples();
  std::mt19937_64 random(20261207);
  const auto below = [&random](std::size_t n) {
    return n == 0 ? std::size_t{0} : static_cast<std::size_t>(random() % n);
  };
  std::size_t loaded = 0;
  std::size_t rejected = 0;
  std::size_t other = 0;
  std::string first_other;
  constexpr std::size_t header = pyconc::detail::pickle_header_size;
  for (int i = 0; i < 100'000; ++i) {
    const Sample& s = valid[below(valid.size())];
    std::string b = s.bytes;
    switch (below(6)) {
      case 0:  // flip one to three bits
        for (std::size_t n = 1 + below(3); n > 0; --n) {
          const std::size_t at = below(b.size());
          b[at] = static_cast<char>(b[at] ^ (1 << below(8)));
        }
        break;
      case 1:  // truncate
        b.resize(below(b.size()));
        break;
      case 2:  // insert bytes
        b.insert(below(b.size() + 1), std::string(1 + below(8), static_cast<char>(random())));
        break;
      case 3:  // delete bytes
        b.erase(below(b.size()), 1 + below(8));
        break;
      case 4: {  // a huge length where a length might be
        static constexpr std::uint64_t huge[] = {std::uint64_t{1} << 60, ~std::uint64_t{0}, std::uint64_t{1} << 32,
                                                 std::uint64_t{1} << 63, 0xffffffff};
        const std::size_t at = header + below(b.size() - header);
        const std::string field = u64(huge[below(std::size(huge))]);
        b.replace(at, std::min<std::size_t>(8, b.size() - at),
                  field.substr(0, std::min<std::size_t>(8, b.size() - at)));
        break;
      }
      default:  // one byte of the payload replaced
        b[header + below(b.size() - header)] = static_cast<char>(random());
        break;
    }
    // Mostly keep the header's payload size right, so that the payload itself is read.
    if (b.size() >= header && below(4) != 0) {
      const std::string size = u64(b.size() - header);
      b.replace(header - 8, 8, size);
    }
    try {
      s.load(b);
      ++loaded;
    } catch (const UnpicklingError&) {
      ++rejected;
    } catch (const std::exception& e) {
      if (other++ == 0)
        first_other = pyconc_test::type_name_of(typeid(e)) + ": " + e.what();
    } catch (...) {
      if (other++ == 0)
        first_other = "not a std::exception";
    }
  }
  INFO("loaded " << loaded << ", rejected " << rejected << ", other " << other << " (first: " << first_other << ")");
  CHECK(other == 0);
  CHECK(loaded > 1000);  // the mutations reach values, not only the header
  CHECK(rejected > 50'000);
}
