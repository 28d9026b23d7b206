// SPDX-License-Identifier: MIT
// libFuzzer target for pickle::loads: whatever the bytes, loads<T> returns a T or raises
// pickle::UnpicklingError; any other exception, a crash, a sanitizer report or an allocation
// above -malloc_limit_mb is a finding.
//
// The first byte picks the type (its low bits) and how the rest is used (its top bit): as a
// whole pickle, header included, or as a payload behind a valid header for the chosen type,
// so that the fuzzer reaches the payload's decoding without guessing a 64-bit fingerprint.
// With PYCONC_FUZZ_SEED_DIR set, valid pickles of every type are written there first, as seeds.
//
//   fuzz_pickle_loads -max_total_time=20 CORPUS_DIR     (tests/CMakeLists.txt runs it so)
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <exception>
#include <fstream>
#include <list>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <variant>
#include <vector>

#include <pyconc/errors.hpp>
#include <pyconc/pickle.hpp>

namespace fuzz {

struct Point {
  int x = 0;
  double y = 0;
  std::vector<std::string> tags;
};
PYCONC_PICKLE_FIELDS(Point, x, y, tags);

enum class Color : std::uint8_t { red, green };

struct Node {
  std::string name;
  Color color = Color::red;
  std::optional<Point> point;
  std::vector<Node> children;
};
PYCONC_PICKLE_FIELDS(Node, name, color, point, children);

using Deep =
    std::vector<std::map<std::string, std::optional<std::tuple<int, std::variant<std::string, std::vector<double>>>>>>;
using Mixed = std::variant<std::monostate, std::exception_ptr, std::list<std::u32string>,
                           std::pair<std::multimap<long, std::chrono::milliseconds>, std::deque<std::vector<bool>>>>;
using Sets = std::tuple<std::set<std::string>, std::unordered_map<int, std::unordered_multiset<char16_t>>,
                        std::array<long double, 2>>;

/** Calls `f.template operator()<T>()` for the type numbered `index`. */
template <class F>
void with_type(unsigned index, F&& f) {
  switch (index % 10) {
    case 0:
      return f.template operator()<std::vector<double>>();
    case 1:
      return f.template operator()<std::map<std::string, int>>();
    case 2:
      return f.template operator()<std::string>();
    case 3:
      return f.template operator()<Node>();
    case 4:
      return f.template operator()<std::exception_ptr>();
    case 5:
      return f.template operator()<Deep>();
    case 6:
      return f.template operator()<Mixed>();
    case 7:
      return f.template operator()<Sets>();
    case 8:
      return f.template operator()<std::vector<std::optional<std::array<char, 512>>>>();
    default:
      return f.template operator()<std::vector<std::exception_ptr>>();
  }
}

std::string u64(std::uint64_t v) {
  std::string out;
  for (int i = 0; i < 8; ++i)
    out += static_cast<char>((v >> (8 * i)) & 0xff);
  return out;
}

template <class T>
std::string with_header(std::string_view payload) {
  std::string out = "PYCK";
  out += static_cast<char>(pyconc::pickle::format_version);
  out += u64(pyconc::pickle::type_fingerprint<T>());
  out += u64(payload.size());
  out += payload;
  return out;
}

void write_seed(const std::string& dir, int n, const std::string& pickle) {
  std::ofstream(dir + "/seed_" + std::to_string(n), std::ios::binary) << pickle;
}

/** One valid pickle of each type, behind its type's selector byte. */
void write_seeds(const std::string& dir) {
  Node leaf{"leaf", Color::green, Point{1, 2.5, {"t"}}, {}};
  Node root{"root", Color::red, std::nullopt, {leaf, leaf}};
  Deep deep(1);
  deep[0]["k"] = std::tuple<int, std::variant<std::string, std::vector<double>>>{1, std::vector<double>{1, 2}};
  const std::string seeds[] = {
      pyconc::pickle::dumps(std::vector<double>{1, 2, 3}),
      pyconc::pickle::dumps(std::map<std::string, int>{{"a", 1}, {"bb", 2}}),
      pyconc::pickle::dumps(std::string("hello")),
      pyconc::pickle::dumps(root),
      pyconc::pickle::dumps(std::make_exception_ptr(pyconc::FileNotFoundError(2, "No such file", "f"))),
      pyconc::pickle::dumps(deep),
      pyconc::pickle::dumps(Mixed(std::list<std::u32string>{U"x"})),
      pyconc::pickle::dumps(Sets{{"s"}, {{1, {u'a', u'a'}}}, {1.5L, -2.0L}}),
      pyconc::pickle::dumps(std::vector<std::optional<std::array<char, 512>>>{std::nullopt, std::array<char, 512>{}}),
      pyconc::pickle::dumps(std::vector<std::exception_ptr>{std::make_exception_ptr(std::runtime_error("r")), nullptr,
                                                            std::make_exception_ptr(pyconc::KeyError(5))}),
  };
  int n = 0;
  for (const std::string& seed : seeds) {
    write_seed(dir, n, std::string(1, static_cast<char>(n)) + seed);  // whole pickle
    write_seed(
        dir, n + 100,
        std::string(1, static_cast<char>(0x80 | n)) + seed.substr(pyconc::detail::pickle_header_size));  // payload only
    ++n;
  }
}

}  // namespace fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* dir = std::getenv("PYCONC_FUZZ_SEED_DIR"))
    fuzz::write_seeds(dir);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0)
    return 0;
  const unsigned selector = data[0];
  const std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  fuzz::with_type(selector & 0x7f, [&]<class T>() {
    const std::string bytes = (selector & 0x80) != 0 ? fuzz::with_header<T>(rest) : std::string(rest);
    try {
      const T value = pyconc::pickle::loads<T>(bytes);
      // What loads, dumps and loads again.
      static_cast<void>(pyconc::pickle::loads<T>(pyconc::pickle::dumps(value)));
    } catch (const pyconc::pickle::UnpicklingError&) {
    }
  });
  return 0;
}
