// SPDX-License-Identifier: MIT
/**
`pyconc/pickle.hpp` — Python's `pickle.dumps` / `pickle.loads` for the values that cross a
process boundary (`multiprocessing` arguments, results, queue items and exceptions).

```cpp
std::string bytes = pickle::dumps(std::map<std::string, int>{{"a", 1}});
auto m = pickle::loads<std::map<std::string, int>>(bytes);   // {{"a", 1}}
```

Defines:
- `pickle::dumps(value)` → `std::string`   the bytes (what `Connection::send_bytes` carries).
- `pickle::loads<T>(bytes)` → `T`            the value back; `UnpicklingError` when `bytes` is
                                             not a pickle of a `T` (another type, truncated,
                                             corrupt, bytes left over).
- `pickle::picklable<T>`                     a concept: whether `dumps` and `loads` take `T`.
- `pickle::type_description<T>()`, `pickle::type_fingerprint<T>()`   what the header checks.
- `PYCONC_PICKLE_FIELDS(Type, field...)`     opts a struct of your own in (below).
- `pickle::PickleError`, `PicklingError`, `UnpicklingError`   (`<pyconc/pickle/format.hpp>`)
- `PYCONC_PICKLE_EXCEPTION(E)`, `pickle::UnpickledException<Base>`   (`<pyconc/pickle/exceptions.hpp>`)

What pickles: `bool`, the character and integer types, `float`, `double`, `long double`,
`std::byte`, enums with a fixed underlying type (`enum class E`, `enum E : int`),
`std::string` (and the other `std::basic_string`s of character types), `std::vector`,
`std::deque`, `std::list`, `std::forward_list`, `std::array`, `std::set`, `std::multiset`,
`std::unordered_set`, `std::unordered_multiset`, `std::map`, `std::multimap`,
`std::unordered_map`, `std::unordered_multimap`, `std::pair`, `std::tuple`, `std::optional`,
`std::variant`, `std::monostate`, `std::chrono::duration`, `std::chrono::time_point`,
`std::exception_ptr` (see `<pyconc/pickle/exceptions.hpp>`), and your own structs, nested to
any depth: `std::vector<std::map<std::string, std::optional<Point>>>`. A struct opts in with
one line at namespace scope (the namespace of the struct, or the global one) naming its fields:

```cpp
namespace geo {
struct Point { int x; double y; std::vector<std::string> tags; };
PYCONC_PICKLE_FIELDS(Point, x, y, tags);
}  // namespace geo
```

The struct must be default-constructible, and its listed fields assignable (not bit-fields);
a field may be of the struct's own type inside a container (a tree). Anything else fails to
compile: `dumps` and `loads` `static_assert` with "pyconc::pickle cannot serialize this type",
and the compiler's instantiation notes name the type (`pickle_unsupported<Widget>`).
`pickle::picklable<T>` tells the same at compile time without failing.

The format (version 1): a 21-byte header, "PYCK", the version, a 64-bit fingerprint of the
type and the payload's size (`<pyconc/pickle/format.hpp>`), then the value: integers and
floating-point numbers little-endian at their own width (`int` 4 bytes, `long` 8 where it is
64-bit, so the fingerprint tells them apart), `bool` one byte (0 or 1), strings and containers a
u64 element count then the elements, `std::optional` a 0/1 byte then the value, `std::variant`
a u32 index then the alternative, pairs, tuples, arrays and structs their members in order.
A vector, array or string of integers, floats or doubles is one `memcpy`. The fingerprint is
FNV-1a of a structural description built once per type (`type_description`:
"vector<map<string,i32>>", "Point{x:i32,y:f64,tags:vector<string>}"), so `loads<T>` of
another type's pickle raises `UnpicklingError` rather than misreading it.

Hostile input raises `UnpicklingError` and nothing else: every read is bounds-checked, an
element count is checked against the bytes left before anything is reserved (a count of 2^60
fails at once), nested structs are limited to `pickle::max_depth` levels, `bool`s, optional
flags and variant indexes are validated, a set or map with a duplicate key is rejected, and
bytes left over after the value are an error. Memory allocated while loading stays
proportional to the input.

Why not an existing serializer (Debian 12's, each read for this):
- cereal 1.3 (`libcereal-dev`): header-only, but its binary archive resizes a vector or string
  to the 64-bit count it reads before reading the elements (2^40 is a terabyte allocation), has
  no header, version or type check, and fails with `cereal::Exception`, `std::length_error` or
  `std::bad_alloc`.
- msgpack-c 4.1 (`libmsgpack-cxx-dev`): self-describing but not type-checked (a `set<int>`
  reads as a `vector<int>`), allocates `count * 24` bytes for an array header before its
  elements arrive (5 bytes ask for 96 GiB), needs Boost headers unless `MSGPACK_NO_BOOST`, and
  encodes a vector of doubles element by element.
- Boost.Serialization 1.74: a compiled library (`libboost_serialization`), not header-only;
  its collections `reserve`/`resize` to the count they read, and the archive header carries a
  library version, not the type.
None carries a fingerprint of the C++ type, nor bounds allocations by the input's size.

Differs from Python: only the types above pickle (no arbitrary objects, no references between
objects: a value shared twice is written twice); the bytes are pyconc's own format, not
Python's pickle protocol, and are meant for processes running the same program.
`loads<T>` names the type it expects, as a C++ API must.
*/
#ifndef PYCONC_PICKLE_HPP_INCLUDED
#define PYCONC_PICKLE_HPP_INCLUDED

#include <algorithm>      // std::min, std::max
#include <array>          // std::array
#include <bit>            // std::endian
#include <chrono>         // std::chrono::duration, std::chrono::time_point
#include <compare>        // operator<=>
#include <concepts>       // std::default_initializable, std::convertible_to
#include <cstddef>        // std::size_t, std::byte
#include <cstdint>        // std::uint8_t, std::uint32_t, std::uint64_t
#include <cstring>        // std::memcpy
#include <deque>          // std::deque
#include <exception>      // std::exception_ptr
#include <forward_list>   // std::forward_list
#include <iterator>       // std::random_access_iterator_tag, std::distance
#include <limits>         // std::numeric_limits
#include <list>           // std::list
#include <map>            // std::map, std::multimap
#include <optional>       // std::optional
#include <set>            // std::set, std::multiset
#include <string>         // std::string, std::basic_string
#include <string_view>    // std::string_view
#include <tuple>          // std::tuple, std::tie, std::apply
#include <type_traits>    // std::is_arithmetic_v, std::type_identity, ...
#include <unordered_map>  // std::unordered_map, std::unordered_multimap
#include <unordered_set>  // std::unordered_set, std::unordered_multiset
#include <utility>        // std::pair, std::index_sequence, std::move
#include <variant>        // std::variant, std::monostate
#include <vector>         // std::vector

#include <pyconc/detail/exception_text.hpp>
#include <pyconc/errors.hpp>
#include <pyconc/pickle/exceptions.hpp>
#include <pyconc/pickle/format.hpp>

namespace pyconc {
inline namespace v0 {
namespace detail {

template <class T>
inline constexpr bool pickle_always_false = false;

/** The compile-time error for a type that does not pickle; the instantiation notes name `T`. */
template <class T>
void pickle_unsupported() {
  static_assert(!std::is_enum_v<T>,
                "pyconc::pickle cannot serialize this enum: give it a fixed underlying type "
                "(enum class E { ... } or enum E : int { ... })");
  static_assert(!std::is_array_v<T>, "pyconc::pickle cannot serialize a C array: use std::array or std::vector");
  static_assert(std::is_enum_v<T> || std::is_array_v<T> || pickle_always_false<T>,
                "pyconc::pickle cannot serialize this type. It pickles arithmetic types, enums with a fixed "
                "underlying type, std::string, the standard containers, pair, tuple, optional, variant, "
                "monostate, chrono durations and time_points and std::exception_ptr; for a struct of your own "
                "add PYCONC_PICKLE_FIELDS(Type, field1, field2, ...) at namespace scope");
}

template <class T>
struct PickleCodec;

/**
The part of `T` that does not pickle, for the error: the first template argument of `T` that
does not (searched in turn), else `T` itself. `std::vector<Widget>` gives `Widget`.
*/
template <class T>
struct PickleCulprit {
  using type = T;
};
template <class Whole, class... Args>
struct PickleFirstCulprit {
  using type = Whole;
};
template <class Whole, class A, class... Rest>
struct PickleFirstCulprit<Whole, A, Rest...> {
  using type = typename std::conditional_t<PickleCodec<A>::supported, PickleFirstCulprit<Whole, Rest...>,
                                           PickleCulprit<A>>::type;
};
template <template <class...> class Template, class... Args>
struct PickleCulprit<Template<Args...>> : PickleFirstCulprit<Template<Args...>, Args...> {};

/**
How one type is pickled. A specialization has `supported = true` and
`static std::string describe()`          its part of the type description;
`static constexpr std::size_t min_size()` the fewest bytes it takes (at least 1);
`static void dump(PickleWriter&, const T&)`, `static T load(PickleReader&)`.
The primary template is every type that does not pickle.
*/
template <class T>
struct PickleCodec {
  static constexpr bool supported = false;
};

template <class T>
inline constexpr bool pickle_supported = PickleCodec<T>::supported;

template <class T>
std::string pickle_describe() {
  if constexpr (pickle_supported<T>)
    return PickleCodec<T>::describe();
  else
    return "?";
}

template <class T>
constexpr std::size_t pickle_min_size() {
  if constexpr (pickle_supported<T>)
    return PickleCodec<T>::min_size();
  else
    return 1;
}

template <class T>
void pickle_dump(PickleWriter& w, const T& value) {
  if constexpr (pickle_supported<T>)
    PickleCodec<T>::dump(w, value);
  else
    pickle_unsupported<typename PickleCulprit<T>::type>();
}

template <class T>
auto pickle_load(PickleReader& r) {
  if constexpr (pickle_supported<T>)
    return PickleCodec<T>::load(r);
  else
    pickle_unsupported<typename PickleCulprit<T>::type>();
}

// ---- numbers ---------------------------------------------------------------------------

/** The bytes a `long double` takes: 10 for x87's 80-bit format (the rest is padding). */
inline constexpr std::size_t pickle_long_double_size =
    std::numeric_limits<long double>::digits == 64 && std::endian::native == std::endian::little ? 10
                                                                                                 : sizeof(long double);

template <class T>
inline constexpr bool pickle_is_char =
    std::is_same_v<T, char> || std::is_same_v<T, wchar_t> || std::is_same_v<T, char8_t> ||
    std::is_same_v<T, char16_t> || std::is_same_v<T, char32_t>;

template <class T>
std::string pickle_number_name() {
  if constexpr (std::is_same_v<T, bool>) {
    return "bool";
  } else if constexpr (std::is_same_v<T, char>) {
    return "char";
  } else if constexpr (std::is_same_v<T, wchar_t>) {
    return "wchar_t";
  } else if constexpr (std::is_same_v<T, char8_t>) {
    return "char8_t";
  } else if constexpr (std::is_same_v<T, char16_t>) {
    return "char16_t";
  } else if constexpr (std::is_same_v<T, char32_t>) {
    return "char32_t";
  } else if constexpr (std::is_integral_v<T>) {
    return pickle_join({std::is_signed_v<T> ? "i" : "u", std::to_string(8 * sizeof(T))});
  } else if constexpr (std::is_same_v<T, long double>) {
    constexpr int digits = std::numeric_limits<long double>::digits;
    return digits == 53 ? "f64" : digits == 64 ? "f80" : digits == 113 ? "f128" : "long double";
  } else {
    return pickle_join({"f", std::to_string(8 * sizeof(T))});
  }
}

/** An unsigned integer of `Size` bytes, for a floating-point number's bits. */
template <std::size_t Size>
using PickleBits = std::conditional_t<Size == 4, std::uint32_t, std::uint64_t>;

/** A type without `const` or `volatile`: only those pickle (`std::pair<const int, int>` does not). */
template <class T>
concept pickle_unqualified = std::is_same_v<T, std::remove_cv_t<T>>;

template <class T>
requires std::is_arithmetic_v<T> && pickle_unqualified<T>
struct PickleCodec<T> {
  static constexpr bool supported = true;
  static constexpr std::size_t min_size() {
    if constexpr (std::is_same_v<T, long double>)
      return pickle_long_double_size;
    else
      return sizeof(T);
  }
  static std::string describe() { return pickle_number_name<T>(); }

  static void dump(PickleWriter& w, T value) {
    if constexpr (std::is_same_v<T, bool>) {
      w.flag(value);
    } else if constexpr (std::is_integral_v<T>) {
      w.integer(value);
    } else if constexpr (std::is_same_v<T, long double>) {
      unsigned char bytes[sizeof(long double)];
      std::memcpy(bytes, &value, sizeof value);
      if constexpr (std::endian::native == std::endian::big)
        reverse(bytes);
      w.bytes(bytes, pickle_long_double_size);
    } else {
      static_assert(std::numeric_limits<T>::is_iec559 && (sizeof(T) == 4 || sizeof(T) == 8));
      PickleBits<sizeof(T)> bits;
      std::memcpy(&bits, &value, sizeof value);
      w.integer(bits);
    }
  }

  static T load(PickleReader& r) {
    if constexpr (std::is_same_v<T, bool>) {
      return r.flag("bool");
    } else if constexpr (std::is_integral_v<T>) {
      return r.integer<T>();
    } else if constexpr (std::is_same_v<T, long double>) {
      unsigned char bytes[sizeof(long double)] = {};
      std::memcpy(bytes, r.take(pickle_long_double_size), pickle_long_double_size);
      if constexpr (std::endian::native == std::endian::big)
        reverse(bytes);
      long double value;
      std::memcpy(&value, bytes, sizeof value);
      return value;
    } else {
      const auto bits = r.integer<PickleBits<sizeof(T)>>();
      T value;
      std::memcpy(&value, &bits, sizeof value);
      return value;
    }
  }

 private:
  static void reverse(unsigned char (&bytes)[sizeof(long double)]) noexcept {
    for (std::size_t i = 0, j = sizeof bytes - 1; i < j; ++i, --j) {
      const unsigned char c = bytes[i];
      bytes[i] = bytes[j];
      bytes[j] = c;
    }
  }
};

template <>
struct PickleCodec<std::byte> {
  static constexpr bool supported = true;
  static constexpr std::size_t min_size() { return 1; }
  static std::string describe() { return "byte"; }
  static void dump(PickleWriter& w, std::byte value) { w.integer(static_cast<std::uint8_t>(value)); }
  static std::byte load(PickleReader& r) { return static_cast<std::byte>(r.integer<std::uint8_t>()); }
};

/** An enum whose every value of the underlying type is a valid value (C++17's `E{u}` test). */
template <class T>
concept pickle_fixed_enum = std::is_enum_v<T> && pickle_unqualified<T> && requires {
  T{std::underlying_type_t<T>{}};
};

template <pickle_fixed_enum T>
struct PickleCodec<T> {
  using Underlying = std::underlying_type_t<T>;
  static constexpr bool supported = true;
  static constexpr std::size_t min_size() { return sizeof(Underlying); }
  static std::string describe() {
    return pickle_join({"enum ", demangle(typeid(T)), ":", pickle_describe<Underlying>()});
  }
  static void dump(PickleWriter& w, T value) { PickleCodec<Underlying>::dump(w, static_cast<Underlying>(value)); }
  static T load(PickleReader& r) { return static_cast<T>(PickleCodec<Underlying>::load(r)); }
};

// ---- one memcpy for contiguous numbers -------------------------------------------------

/**
Whether a `T`'s bytes in memory are its pickle, on a little-endian host: integers (not
`bool`), `float`, `double`, `std::byte`, enums of those, and `std::array`s and durations of
them. A vector, array or string of such a `T` is written and read with one copy.
*/
template <class T>
struct PickleBulk
    : std::bool_constant<(std::is_integral_v<T> && !std::is_same_v<T, bool>) || std::is_same_v<T, float> ||
                         std::is_same_v<T, double> || std::is_same_v<T, std::byte>> {};
template <pickle_fixed_enum T>
struct PickleBulk<T> : PickleBulk<std::underlying_type_t<T>> {};
template <class T, std::size_t N>
struct PickleBulk<std::array<T, N>>
    : std::bool_constant<N != 0 && PickleBulk<T>::value && sizeof(std::array<T, N>) == N * sizeof(T)> {};
template <class Rep, class Period>
struct PickleBulk<std::chrono::duration<Rep, Period>>
    : std::bool_constant<PickleBulk<Rep>::value && sizeof(std::chrono::duration<Rep, Period>) == sizeof(Rep)> {};

template <class T>
inline constexpr bool pickle_bulk =
    std::endian::native == std::endian::little&& PickleBulk<T>::value&& std::is_trivially_copyable_v<T>;

/** Reads `T`s from unaligned pickle bytes: builds a vector or string in one pass. */
template <class T>
class PickleBulkIterator {
 public:
  using iterator_category = std::random_access_iterator_tag;
  using value_type = T;
  using difference_type = std::ptrdiff_t;
  using pointer = const T*;
  using reference = T;

  PickleBulkIterator() = default;
  explicit PickleBulkIterator(const char* at) noexcept : at_(at) {}

  T operator*() const noexcept {
    T value;
    std::memcpy(&value, at_, sizeof value);
    return value;
  }
  T operator[](difference_type n) const noexcept { return *(*this + n); }
  PickleBulkIterator& operator++() noexcept {
    at_ += sizeof(T);
    return *this;
  }
  PickleBulkIterator operator++(int) noexcept {
    PickleBulkIterator old = *this;
    ++*this;
    return old;
  }
  PickleBulkIterator& operator--() noexcept {
    at_ -= sizeof(T);
    return *this;
  }
  PickleBulkIterator operator--(int) noexcept {
    PickleBulkIterator old = *this;
    --*this;
    return old;
  }
  PickleBulkIterator& operator+=(difference_type n) noexcept {
    at_ += n * static_cast<difference_type>(sizeof(T));
    return *this;
  }
  PickleBulkIterator& operator-=(difference_type n) noexcept { return *this += -n; }
  friend PickleBulkIterator operator+(PickleBulkIterator it, difference_type n) noexcept { return it += n; }
  friend PickleBulkIterator operator+(difference_type n, PickleBulkIterator it) noexcept { return it += n; }
  friend PickleBulkIterator operator-(PickleBulkIterator it, difference_type n) noexcept { return it -= n; }
  friend difference_type operator-(const PickleBulkIterator& a, const PickleBulkIterator& b) noexcept {
    return (a.at_ - b.at_) / static_cast<difference_type>(sizeof(T));
  }
  friend bool operator==(const PickleBulkIterator&, const PickleBulkIterator&) = default;
  friend auto operator<=>(const PickleBulkIterator&, const PickleBulkIterator&) = default;

 private:
  const char* at_ = nullptr;
};

// ---- strings and sequences ---------------------------------------------------------------

template <class C, class A>
requires pickle_is_char<C>
struct PickleCodec<std::basic_string<C, std::char_traits<C>, A>> {
  using String = std::basic_string<C, std::char_traits<C>, A>;
  static constexpr bool supported = true;
  static constexpr std::size_t min_size() { return 8; }
  static std::string describe() {
    return std::is_same_v<C, char> ? std::string("string") : pickle_join({"basic_string<", pickle_describe<C>(), ">"});
  }
  static void dump(PickleWriter& w, const String& s) {
    w.size(s.size());
    if constexpr (sizeof(C) == 1 || std::endian::native == std::endian::little) {
      if (!s.empty())
        w.bytes(s.data(), s.size() * sizeof(C));
    } else {
      for (const C c : s)
        w.integer(c);
    }
  }
  static String load(PickleReader& r) {
    const std::size_t n = r.count(sizeof(C), &describe);
    if constexpr (std::is_same_v<C, char>) {
      return String(r.take(n), n);
    } else if constexpr (sizeof(C) == 1 || std::endian::native == std::endian::little) {
      const char* at = r.take(n * sizeof(C));
      return String(PickleBulkIterator<C>(at), PickleBulkIterator<C>(at + n * sizeof(C)));
    } else {
      String s;
      s.reserve(n);
      for (std::size_t i = 0; i < n; ++i)
        s.push_back(r.integer<C>());
      return s;
    }
  }
};

/** A container's element count, then its elements. */
template <class C>
void pickle_dump_elements(PickleWriter& w, const C& c, std::size_t n) {
  w.size(n);
  for (const auto& element : c)
    pickle_dump(w, element);
}

/** A vector, deque or list: its elements appended in order. */
template <class C>
C pickle_load_sequence(PickleReader& r) {
  using T = typename C::value_type;
  const std::size_t n = r.count(pickle_min_size<T>(), &PickleCodec<C>::describe);
  C c;
  if constexpr (requires { c.reserve(n); })
    c.reserve(n);
  for (std::size_t i = 0; i < n; ++i)
    c.push_back(pickle_load<T>(r));
  return c;
}

template <class T, class A>
requires pickle_supported<T>
struct PickleCodec<std::vector<T, A>> {
  using Vector = std::vector<T, A>;
  static constexpr bool supported = true;
  static constexpr std::size_t min_size() { return 8; }
  static std::string describe() { return pickle_join({"vector<", pickle_describe<T>(), ">"}); }
  static void dump(PickleWriter& w, const Vector& v) {
    if constexpr (pickle_bulk<T>) {
      w.size(v.size());
      if (!v.empty())
        w.bytes(v.data(), v.size() * sizeof(T));
    } else {
      pickle_dump_elements(w, v, v.size());
    }
  }
  static Vector load(PickleReader& r) {
    if constexpr (pickle_bulk<T>) {
      static_assert(pickle_min_size<T>() == sizeof(T));
      const std::size_t n = r.count(sizeof(T), &describe);
      const char* at = r.take(n * sizeof(T));
      return Vector(PickleBulkIterator<T>(at), PickleBulkIterator<T>(at + n * sizeof(T)));
    } else {
      return pickle_load_sequence<Vector>(r);
    }
  }
};

template <class T, class A>
requires pickle_supported<T>
struct PickleCodec<std::deque<T, A>> {
  static constexpr bool supported = true;
  static constexpr std::size_t min_size() { return 8; }
  static std::string describe() { return pickle_join({"deque<", pickle_describe<T>(), ">"}); }
  static void dump(PickleWriter& w, const std::deque<T, A>& d) { pickle_dump_elements(w, d, d.size()); }
  static std::deque<T, A> load(PickleReader& r) { return pickle_load_sequence<std::deque<T, A>>(r); }
};

template <class T, class A>
requires pickle_supported<T>
struct PickleCodec<std::list<T, A>> {
  static constexpr bool supported = true;
  static constexpr std::size_t min_size() { return 8; }
  static std::string describe() { return pickle_join({"list<", pickle_describe<T>(), ">"}); }
  static void dump(PickleWriter& w, const std::list<T, A>& l) { pickle_dump_elements(w, l, l.size()); }
  static std::list<T, A> load(PickleReader& r) { return pickle_load_sequence<std::list<T, A>>(r); }
};

template <class T, class A>
requires pickle_supported<T>
struct PickleCodec<std::forward_list<T, A>> {
  using List = std::forward_list<T, A>;
  static constexpr bool supported = true;
  static constexpr std::size_t min_size() { return 8; }
  static std::string describe() { return pickle_join({"forward_list<", pickle_describe<T>(), ">"}); }
  static void dump(PickleWriter& w, const List& l) {
    pickle_dump_elements(w, l, static_cast<std::size_t>(std::distance(l.begin(), l.end())));
  }
  static List load(PickleReader& r) {
    const std::size_t n = r.count(pickle_min_size<T>(), &describe);
    List l;
    auto last = l.before_begin();
    for (std::size_t i = 0; i < n; ++i)
      last = l.insert_after(last, pickle_load<T>(r));
    return l;
  }
};

template <class T, std::size_t N>
requires pickle_supported<T> && std::default_initializable<T>
struct PickleCodec<std::array<T, N>> {
  using Array = std::array<T, N>;
  static constexpr bool supported = true;
  static constexpr std::size_t min_size() { return N == 0 ? 1 : N * pickle_min_size<T>(); }
  static std::string describe() { return pickle_join({"array<", pickle_describe<T>(), ",", std::to_string(N), ">"}); }
  static void dump(PickleWriter& w, const Array& a) {
    if constexpr (N == 0) {
      w.integer<std::uint8_t>(0);  // every value takes a byte at least (see PickleReader::count)
    } else if constexpr (pickle_bulk<T>) {
      w.bytes(a.data(), N * sizeof(T));
    } else {
      for (const auto& element : a)
        pickle_dump(w, element);
    }
  }
  static Array load(PickleReader& r) {
    Array a{};
    if constexpr (N == 0) {
      pickle_marker(r, "array<T,0>");
    } else if constexpr (pickle_bulk<T>) {
      std::memcpy(static_cast<void*>(a.data()), r.take(N * sizeof(T)), N * sizeof(T));
    } else {
      for (auto& element : a)
        element = pickle_load<T>(r);
    }
    return a;
  }

 private:
  static void pickle_marker(PickleReader& r, const char* what) {
    if (r.integer<std::uint8_t>() != 0)
      raise<pickle::UnpicklingError>(pickle_join({"invalid ", what, " byte in pickle data"}));
  }
};

// ---- sets and maps -----------------------------------------------------------------------

[[noreturn]] inline void pickle_duplicate_key(const std::string& container) {
  raise<pickle::UnpicklingError>(pickle_join({"duplicate key in pickled ", container}));
}

template <class C>
void pickle_dump_map(PickleWriter& w, const C& c) {
  w.size(c.size());
  for (const auto& [key, value] : c) {
    pickle_dump(w, key);
    pickle_dump(w, value);
  }
}

/** A set (`Unique`: no two equal keys may come) read element by element. */
template <class C, bool Unique>
C pickle_load_set(PickleReader& r) {
  using K = typename C::key_type;
  const std::size_t n = r.count(pickle_min_size<K>(), &PickleCodec<C>::describe);
  C c;
  if constexpr (requires { c.reserve(n); })
    c.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t before = c.size();
    c.emplace_hint(c.end(), pickle_load<K>(r));  // pickled in order: each key goes at the end
    if (Unique && c.size() == before)
      pickle_duplicate_key(PickleCodec<C>::describe());
  }
  return c;
}

template <class C, bool Unique>
C pickle_load_map(PickleReader& r) {
  using K = typename C::key_type;
  using V = typename C::mapped_type;
  const std::size_t n = r.count(pickle_min_size<K>() + pickle_min_size<V>(), &PickleCodec<C>::describe);
  C c;
  if constexpr (requires { c.reserve(n); })
    c.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    K key = pickle_load<K>(r);
    V value = pickle_load<V>(r);
    const std::size_t before = c.size();
    c.emplace_hint(c.end(), std::move(key), std::move(value));
    if (Unique && c.size() == before)
      pickle_duplicate_key(PickleCodec<C>::describe());
  }
  return c;
}

template <class K, class Compare, class A>
requires pickle_supported<K>
struct PickleCodec<std::set<K, Compare, A>> {
  using Set = std::set<K, Compare, A>;
  static constexpr bool supported = true;
  static constexpr std::size_t min_size() { return 8; }
  static std::string describe() { return pickle_join({"set<", pickle_describe<K>(), ">"}); }
  static void dump(PickleWriter& w, const Set& s) { pickle_dump_elements(w, s, s.size()); }
  static Set load(PickleReader& r) { return pickle_load_set<Set, true>(r); }
};

template <class K, class Compare, class A>
requires pickle_supported<K>
struct PickleCodec<std::multiset<K, Compare, A>> {
  using Set = std::multiset<K, Compare, A>;
  static constexpr bool supported = true;
  static constexpr std::size_t min_size() { return 8; }
  static std::string describe() { return pickle_join({"multiset<", pickle_describe<K>(), ">"}); }
  static void dump(PickleWriter& w, const Set& s) { pickle_dump_elements(w, s, s.size()); }
  static Set load(PickleReader& r) { return pickle_load_set<Set, false>(r); }
};

template <class K, class Hash, class Equal, class A>
requires pickle_supported<K>
struct PickleCodec<std::unordered_set<K, Hash, Equal, A>> {
  using Set = std::unordered_set<K, Hash, Equal, A>;
  static constexpr bool supported = true;
  static constexpr std::size_t min_size() { return 8; }
  static std::string describe() { return pickle_join({"unordered_set<", pickle_describe<K>(), ">"}); }
  static void dump(PickleWriter& w, const Set& s) { pickle_dump_elements(w, s, s.size()); }
  static Set load(PickleReader& r) { return pickle_load_set<Set, true>(r); }
};

template <class K, class Hash, class Equal, class A>
requires pickle_supported<K>
struct PickleCodec<std::unordered_multiset<K, Hash, Equal, A>> {
  using Set = std::unordered_multiset<K, Hash, Equal, A>;
  static constexpr bool supported = true;
  static constexpr std::size_t min_size() { return 8; }
  static std::string describe() { return pickle_join({"unordered_multiset<", pickle_describe<K>(), ">"}); }
  static void dump(PickleWriter& w, const Set& s) { pickle_dump_elements(w, s, s.size()); }
  static Set load(PickleReader& r) { return pickle_load_set<Set, false>(r); }
};

template <class K, class V, class Compare, class A>
requires pickle_supported<K> && pickle_supported<V>
struct PickleCodec<std::map<K, V, Compare, A>> {
  using Map = std::map<K, V, Compare, A>;
  static constexpr bool supported = true;
  static constexpr std::size_t min_size() { return 8; }
  static std::string describe() { return pickle_join({"map<", pickle_describe<K>(), ",", pickle_describe<V>(), ">"}); }
  static void dump(PickleWriter& w, const Map& m) { pickle_dump_map(w, m); }
  static Map load(PickleReader& r) { return pickle_load_map<Map, true>(r); }
};

template <class K, class V, class Compare, class A>
requires pickle_supported<K> && pickle_supported<V>
struct PickleCodec<std::multimap<K, V, Compare, A>> {
  using Map = std::multimap<K, V, Compare, A>;
  static constexpr bool supported = true;
  static constexpr std::size_t min_size() { return 8; }
  static std::string describe() {
    return pickle_join({"multimap<", pickle_describe<K>(), ",", pickle_describe<V>(), ">"});
  }
  static void dump(PickleWriter& w, const Map& m) { pickle_dump_map(w, m); }
  static Map load(PickleReader& r) { return pickle_load_map<Map, false>(r); }
};

template <class K, class V, class Hash, class Equal, class A>
requires pickle_supported<K> && pickle_supported<V>
struct PickleCodec<std::unordered_map<K, V, Hash, Equal, A>> {
  using Map = std::unordered_map<K, V, Hash, Equal, A>;
  static constexpr bool supported = true;
  static constexpr std::size_t min_size() { return 8; }
  static std::string describe() {
    return pickle_join({"unordered_map<", pickle_describe<K>(), ",", pickle_describe<V>(), ">"});
  }
  static void dump(PickleWriter& w, const Map& m) { pickle_dump_map(w, m); }
  static Map load(PickleReader& r) { return pickle_load_map<Map, true>(r); }
};

template <class K, class V, class Hash, class Equal, class A>
requires pickle_supported<K> && pickle_supported<V>
struct PickleCodec<std::unordered_multimap<K, V, Hash, Equal, A>> {
  using Map = std::unordered_multimap<K, V, Hash, Equal, A>;
  static constexpr bool supported = true;
  static constexpr std::size_t min_size() { return 8; }
  static std::string describe() {
    return pickle_join({"unordered_multimap<", pickle_describe<K>(), ",", pickle_describe<V>(), ">"});
  }
  static void dump(PickleWriter& w, const Map& m) { pickle_dump_map(w, m); }
  static Map load(PickleReader& r) { return pickle_load_map<Map, false>(r); }
};

// ---- pair, tuple, optional, variant, monostate -------------------------------------------

/** "a,b,c": the descriptions of `Ts`, comma-separated. */
template <class... Ts>
std::string pickle_describe_list() {
  std::string out;
  ((out += (out.empty() ? "" : ","), out += pickle_describe<Ts>()), ...);
  return out;
}

template <class A, class B>
requires pickle_supported<A> && pickle_supported<B>
struct PickleCodec<std::pair<A, B>> {
  static constexpr bool supported = true;
  static constexpr std::size_t min_size() { return pickle_min_size<A>() + pickle_min_size<B>(); }
  static std::string describe() { return pickle_join({"pair<", pickle_describe_list<A, B>(), ">"}); }
  static void dump(PickleWriter& w, const std::pair<A, B>& p) {
    pickle_dump(w, p.first);
    pickle_dump(w, p.second);
  }
  static std::pair<A, B> load(PickleReader& r) {
    return std::pair<A, B>{pickle_load<A>(r), pickle_load<B>(r)};  // braces: read in order
  }
};

template <class... Ts>
requires(pickle_supported<Ts>&&...) struct PickleCodec<std::tuple<Ts...>> {
  static constexpr bool supported = true;
  static constexpr std::size_t min_size() {
    if constexpr (sizeof...(Ts) == 0)
      return 1;
    else
      return (pickle_min_size<Ts>() + ...);
  }
  static std::string describe() { return pickle_join({"tuple<", pickle_describe_list<Ts...>(), ">"}); }
  static void dump(PickleWriter& w, const std::tuple<Ts...>& t) {
    if constexpr (sizeof...(Ts) == 0)
      w.integer<std::uint8_t>(0);
    else
      std::apply([&w](const Ts&... element) { (pickle_dump(w, element), ...); }, t);
  }
  static std::tuple<Ts...> load(PickleReader& r) {
    if constexpr (sizeof...(Ts) == 0) {
      if (r.integer<std::uint8_t>() != 0)
        raise<pickle::UnpicklingError>("invalid tuple<> byte in pickle data");
      return {};
    } else {
      return std::tuple<Ts...>{pickle_load<Ts>(r)...};  // braces: read in order
    }
  }
};

template <class T>
requires pickle_supported<T>
struct PickleCodec<std::optional<T>> {
  static constexpr bool supported = true;
  static constexpr std::size_t min_size() { return 1; }
  static std::string describe() { return pickle_join({"optional<", pickle_describe<T>(), ">"}); }
  static void dump(PickleWriter& w, const std::optional<T>& o) {
    w.flag(o.has_value());
    if (o)
      pickle_dump(w, *o);
  }
  static std::optional<T> load(PickleReader& r) {
    if (!r.flag("optional"))
      return std::nullopt;
    return std::optional<T>(pickle_load<T>(r));
  }
};

template <class... Ts>
requires(pickle_supported<Ts>&&...) struct PickleCodec<std::variant<Ts...>> {
  using Variant = std::variant<Ts...>;
  static constexpr bool supported = true;
  static constexpr std::size_t min_size() { return 4 + std::min({pickle_min_size<Ts>()...}); }
  static std::string describe() { return pickle_join({"variant<", pickle_describe_list<Ts...>(), ">"}); }
  static void dump(PickleWriter& w, const Variant& v) {
    if (v.valueless_by_exception())
      raise<pickle::PicklingError>(pickle_join({"cannot pickle a valueless ", describe()}));
    w.integer(static_cast<std::uint32_t>(v.index()));
    std::visit([&w](const auto& alternative) { pickle_dump(w, alternative); }, v);
  }
  static Variant load(PickleReader& r) {
    const auto index = r.integer<std::uint32_t>();
    if (index >= sizeof...(Ts))
      raise<pickle::UnpicklingError>(
          pickle_join({"invalid variant index ", std::to_string(index), " for ", describe()}));
    return load_alternative(r, index, std::index_sequence_for<Ts...>());
  }

 private:
  template <std::size_t... I>
  static Variant load_alternative(PickleReader& r, std::size_t index, std::index_sequence<I...>) {
    using Load = Variant (*)(PickleReader&);
    static constexpr Load table[] = {[](PickleReader& reader) {
      return Variant(std::in_place_index<I>, pickle_load<std::variant_alternative_t<I, Variant>>(reader));
    }...};
    return table[index](r);
  }
};

template <>
struct PickleCodec<std::monostate> {
  static constexpr bool supported = true;
  static constexpr std::size_t min_size() { return 1; }
  static std::string describe() { return "monostate"; }
  static void dump(PickleWriter& w, std::monostate) { w.integer<std::uint8_t>(0); }
  static std::monostate load(PickleReader& r) {
    if (r.integer<std::uint8_t>() != 0)
      raise<pickle::UnpicklingError>("invalid monostate byte in pickle data");
    return {};
  }
};

// ---- chrono ----------------------------------------------------------------------------

template <class Rep, class Period>
requires std::is_arithmetic_v<Rep>
struct PickleCodec<std::chrono::duration<Rep, Period>> {
  using Duration = std::chrono::duration<Rep, Period>;
  static constexpr bool supported = true;
  static constexpr std::size_t min_size() { return pickle_min_size<Rep>(); }
  static std::string describe() {
    return pickle_join(
        {"duration<", pickle_describe<Rep>(), ",", std::to_string(Period::num), "/", std::to_string(Period::den), ">"});
  }
  static void dump(PickleWriter& w, const Duration& d) { PickleCodec<Rep>::dump(w, d.count()); }
  static Duration load(PickleReader& r) { return Duration(PickleCodec<Rep>::load(r)); }
};

template <class Clock, class Duration>
requires pickle_supported<Duration>
struct PickleCodec<std::chrono::time_point<Clock, Duration>> {
  using TimePoint = std::chrono::time_point<Clock, Duration>;
  static constexpr bool supported = true;
  static constexpr std::size_t min_size() { return pickle_min_size<Duration>(); }
  static std::string describe() {
    std::string clock;
    if constexpr (std::is_same_v<Clock, std::chrono::system_clock>)
      clock = "system_clock";
    else if constexpr (std::is_same_v<Clock, std::chrono::steady_clock>)
      clock = "steady_clock";
    else
      clock = demangle(typeid(Clock));
    return pickle_join({"time_point<", clock, ",", pickle_describe<Duration>(), ">"});
  }
  static void dump(PickleWriter& w, const TimePoint& t) { PickleCodec<Duration>::dump(w, t.time_since_epoch()); }
  static TimePoint load(PickleReader& r) { return TimePoint(PickleCodec<Duration>::load(r)); }
};

// ---- exceptions --------------------------------------------------------------------------

template <>
struct PickleCodec<std::exception_ptr> {
  static constexpr bool supported = true;
  static constexpr std::size_t min_size() { return 1; }
  static std::string describe() { return "exception_ptr"; }
  static void dump(PickleWriter& w, const std::exception_ptr& e) { pickle_dump_exception(w, e); }
  static std::exception_ptr load(PickleReader& r) { return pickle_load_exception(r); }
};

// ---- structs of your own (PYCONC_PICKLE_FIELDS) ------------------------------------------

/** Whether `PYCONC_PICKLE_FIELDS(T, ...)` was given for `T` (found by argument-dependent lookup). */
template <class T>
concept pickle_has_fields = std::is_class_v<T> && requires(T& object, const T& value) {
  pyconc_pickle_fields(std::type_identity<T>{}, object);
  pyconc_pickle_fields(std::type_identity<T>{}, value);
  { pyconc_pickle_name(std::type_identity<T>{}) } -> std::convertible_to<const char*>;
};

template <pickle_has_fields T>
struct PickleCodec<T> {
  // std::tuple<F&...>: references to the fields PYCONC_PICKLE_FIELDS names.
  using Fields = decltype(pyconc_pickle_fields(std::type_identity<T>{}, std::declval<T&>()));
  static constexpr std::size_t field_count = std::tuple_size_v<Fields>;
  template <std::size_t I>
  using Field = std::remove_cvref_t<std::tuple_element_t<I, Fields>>;

  static constexpr bool supported = true;

  static constexpr std::size_t min_size() {
    return []<std::size_t... I>(std::index_sequence<I...>) {
      return std::max<std::size_t>(1, (std::size_t{0} + ... + pickle_min_size<Field<I>>()));
    }
    (std::make_index_sequence<field_count>());
  }

  /** "Name{a:i32,b:vector<string>}"; inside its own description (a tree), just "Name". */
  static std::string describe() {
    const std::string_view spelled = pyconc_pickle_name(std::type_identity<T>{});
    const std::size_t brace = spelled.find('{');
    std::string out(spelled.substr(0, brace));
    thread_local bool describing = false;
    if (describing || brace == std::string_view::npos)
      return out;
    describing = true;
    struct Done {
      bool& flag;
      ~Done() { flag = false; }
    } done{describing};
    std::string_view names = spelled.substr(brace + 1);
    names.remove_suffix(names.empty() ? 0 : 1);  // the closing brace
    const std::vector<std::string> types = []<std::size_t... I>(std::index_sequence<I...>) {
      return std::vector<std::string>{pickle_describe<Field<I>>()...};
    }
    (std::make_index_sequence<field_count>());
    out += '{';
    for (std::size_t i = 0; i < types.size(); ++i) {
      const std::size_t comma = names.find(',');
      std::string_view name = names.substr(0, comma);
      names = comma == std::string_view::npos ? std::string_view() : names.substr(comma + 1);
      while (!name.empty() && name.front() == ' ')
        name.remove_prefix(1);
      while (!name.empty() && name.back() == ' ')
        name.remove_suffix(1);
      out += (i == 0 ? "" : ",");
      out += name;
      out += ':';
      out += types[i];
    }
    return out + '}';
  }

  static void dump(PickleWriter& w, const T& value) {
    w.enter();
    if constexpr (field_count == 0)
      w.integer<std::uint8_t>(0);
    else
      std::apply([&w](const auto&... field) { (pickle_dump(w, field), ...); },
                 pyconc_pickle_fields(std::type_identity<T>{}, value));
    w.leave();
  }

  static T load(PickleReader& r) {
    static_assert(std::is_default_constructible_v<T>,
                  "pyconc::pickle: a type given to PYCONC_PICKLE_FIELDS must be default-constructible");
    r.enter();
    T value{};
    if constexpr (field_count == 0) {
      if (r.integer<std::uint8_t>() != 0)
        raise<pickle::UnpicklingError>(pickle_join({"invalid byte in pickle data of ", describe()}));
    } else {
      std::apply(
          [&r](auto&... field) {
            static_assert((std::is_assignable_v<decltype(field), std::remove_cvref_t<decltype(field)>> && ...),
                          "pyconc::pickle: every field named in PYCONC_PICKLE_FIELDS must be assignable (not const)");
            ((field = pickle_load<std::remove_cvref_t<decltype(field)>>(r)), ...);  // in order
          },
          pyconc_pickle_fields(std::type_identity<T>{}, value));
    }
    r.leave();
    return value;
  }
};

/** The type `loads<T>` returns: `T`, or a placeholder when `T` does not pickle (so that the
static_assert, not the declaration, reports it). */
struct PickleUnsupported {};

}  // namespace detail

namespace pickle {

/** Whether `dumps` and `loads` take a `T` (cv-qualifiers and references ignored). */
template <class T>
concept picklable = detail::pickle_supported<std::remove_cvref_t<T>>;

/**
The structural description of `T` that its fingerprint hashes, e.g. "vector<map<string,i32>>",
"optional<tuple<i64,f64>>", "geo::Point{x:i32,y:f64}".
*/
template <class T>
std::string type_description() {
  if constexpr (picklable<T>)
    return detail::PickleCodec<std::remove_cvref_t<T>>::describe();
  else {
    detail::pickle_unsupported<typename detail::PickleCulprit<std::remove_cvref_t<T>>::type>();
    return {};
  }
}

/**
The 64-bit fingerprint of `T` that a pickle's header carries: FNV-1a of
`type_description<T>()` and the format version, computed once per type.
*/
template <class T>
std::uint64_t type_fingerprint() {
  static const std::uint64_t fingerprint = detail::pickle_hash(
      detail::pickle_join({type_description<T>(), "/pyconc.pickle.", std::to_string(format_version)}));
  return fingerprint;
}

}  // namespace pickle

namespace detail {

/** `pickle::dumps(value)` into `out` (replacing what it held, keeping its capacity). */
template <class T>
void dumps_into(std::string& out, const T& value) {
  out.clear();
  PickleWriter w(out);
  w.header(pickle::type_fingerprint<T>());
  pickle_dump(w, value);
  w.finish();
}

}  // namespace detail

namespace pickle {

/**
Python: `pickle.dumps(value)`. The bytes of `value`, which `loads<T>` turns back into an equal
`T`. Raises `PicklingError` for a valueless `std::variant` and for structs nested deeper than
`max_depth`.
*/
template <class T>
[[nodiscard]] std::string dumps(const T& value) {
  if constexpr (!picklable<T>) {
    detail::pickle_unsupported<typename detail::PickleCulprit<T>::type>();
    return {};
  } else {
    std::string out;
    detail::dumps_into(out, value);
    return out;
  }
}

/**
Python: `pickle.loads(data)`. The `T` that `dumps` turned into `data`. Raises `UnpicklingError`
when `data` is not exactly that: the type's fingerprint differs, the data is truncated or
corrupt, or bytes are left over.
*/
template <class T>
[[nodiscard]] std::conditional_t<picklable<T>, T, detail::PickleUnsupported> loads(std::string_view data) {
  static_assert(!std::is_reference_v<T> && !std::is_const_v<T>, "pyconc::pickle::loads<T>: T must be a plain type");
  if constexpr (!picklable<T>) {
    detail::pickle_unsupported<typename detail::PickleCulprit<T>::type>();
    return {};
  } else {
    detail::PickleReader r(data);
    r.header(type_fingerprint<T>(), &type_description<T>);
    T value = detail::pickle_load<T>(r);
    r.finish();
    return value;
  }
}

}  // namespace pickle
}  // namespace v0
}  // namespace pyconc

// ---- PYCONC_PICKLE_FIELDS ----------------------------------------------------------------

// `object.a, object.b, ...` for the fields a, b, ...: a macro that calls itself once per field
// through deferred expansion (PYCONC_PICKLE_DETAIL_EXPAND rescans 81 times: up to 80 fields).
#define PYCONC_PICKLE_DETAIL_PARENS ()
#define PYCONC_PICKLE_DETAIL_EXPAND(...) \
  PYCONC_PICKLE_DETAIL_EXPAND4(PYCONC_PICKLE_DETAIL_EXPAND4(PYCONC_PICKLE_DETAIL_EXPAND4(__VA_ARGS__)))
#define PYCONC_PICKLE_DETAIL_EXPAND4(...) \
  PYCONC_PICKLE_DETAIL_EXPAND3(PYCONC_PICKLE_DETAIL_EXPAND3(PYCONC_PICKLE_DETAIL_EXPAND3(__VA_ARGS__)))
#define PYCONC_PICKLE_DETAIL_EXPAND3(...) \
  PYCONC_PICKLE_DETAIL_EXPAND2(PYCONC_PICKLE_DETAIL_EXPAND2(PYCONC_PICKLE_DETAIL_EXPAND2(__VA_ARGS__)))
#define PYCONC_PICKLE_DETAIL_EXPAND2(...) \
  PYCONC_PICKLE_DETAIL_EXPAND1(PYCONC_PICKLE_DETAIL_EXPAND1(PYCONC_PICKLE_DETAIL_EXPAND1(__VA_ARGS__)))
#define PYCONC_PICKLE_DETAIL_EXPAND1(...) __VA_ARGS__
#define PYCONC_PICKLE_DETAIL_MEMBERS(object, ...) \
  __VA_OPT__(PYCONC_PICKLE_DETAIL_EXPAND(PYCONC_PICKLE_DETAIL_MEMBERS_STEP(object, __VA_ARGS__)))
#define PYCONC_PICKLE_DETAIL_MEMBERS_STEP(object, field, ...) \
  object.field __VA_OPT__(, PYCONC_PICKLE_DETAIL_MEMBERS_AGAIN PYCONC_PICKLE_DETAIL_PARENS(object, __VA_ARGS__))
#define PYCONC_PICKLE_DETAIL_MEMBERS_AGAIN() PYCONC_PICKLE_DETAIL_MEMBERS_STEP

/**
`PYCONC_PICKLE_FIELDS(Type, field1, field2, ...);` at namespace scope, in `Type`'s namespace (or
the global one): `pickle::dumps` and `loads` then take a `Type`, field by field in the order
listed (up to 80 fields). It declares, for argument-dependent lookup,
`pyconc_pickle_fields(std::type_identity<Type>, [const] Type&)` (a `std::tuple` of references to
the fields) and `pyconc_pickle_name(std::type_identity<Type>)` ("Type{field1, field2}").
*/
#define PYCONC_PICKLE_FIELDS(Type, ...)                                                                             \
  inline auto pyconc_pickle_fields(::std::type_identity<Type>, [[maybe_unused]] Type& pyconc_pickle_object) {       \
    return ::std::tie(PYCONC_PICKLE_DETAIL_MEMBERS(pyconc_pickle_object, __VA_ARGS__));                             \
  }                                                                                                                 \
  inline auto pyconc_pickle_fields(::std::type_identity<Type>, [[maybe_unused]] const Type& pyconc_pickle_object) { \
    return ::std::tie(PYCONC_PICKLE_DETAIL_MEMBERS(pyconc_pickle_object, __VA_ARGS__));                             \
  }                                                                                                                 \
  constexpr const char* pyconc_pickle_name(::std::type_identity<Type>) noexcept {                                   \
    return #Type "{" #__VA_ARGS__ "}";                                                                              \
  }                                                                                                                 \
  static_assert(::std::is_class_v<Type>, "PYCONC_PICKLE_FIELDS(Type, ...): Type must be a class or struct")

#endif  // PYCONC_PICKLE_HPP_INCLUDED
