// SPDX-License-Identifier: MIT
/**
`pyconc/builtins.hpp` — Python's `print`, and the `str`/`repr` it relies on.

Defines:
- `pyconc::print(values..., kw::sep = " ", kw::end = "\n", kw::file = stdout, kw::flush = false)`
- `pyconc::str(value)`, `pyconc::repr(value)`   Python's text for C++ values.
- `pyconc::list(range)`   Python's `list(iterable)`: the items in a `std::vector`.
- `pyconc::type_name(exc)`   Python's `type(exc).__name__` for an exception or `std::exception_ptr`.
- `pyconc::kw::sep`, `kw::end`, `kw::file`, `kw::flush`   print's keyword arguments.

What Python prints, C++ values print the same: `print(std::vector{1, 2})` is `[1, 2]`,
`print(std::set{1, 2})` is `{1, 2}`, `print(std::map<int, std::string>{{1, "a"}})` is
`{1: 'a'}`, `print(f.exception())` is the exception's message (`None` when there is none), and
`print(type_name(f.exception()), f.exception())` is Python's
`print(type(f.exception()).__name__, f.exception())`.

A range that can be iterated only once (`Executor::map`'s results, `as_completed(fs)`) prints
as Python prints the generator (`<generator object as_completed at 0x7f...>`), not its items:
`print(list(ex.map(f, xs)))` prints them, as in Python.
*/
#ifndef PYCONC_BUILTINS_HPP_INCLUDED
#define PYCONC_BUILTINS_HPP_INCLUDED

#include <charconv>     // std::to_chars
#include <cstdio>       // FILE, std::fwrite
#include <cstdlib>      // std::atoi
#include <exception>    // std::exception, std::exception_ptr
#include <iterator>     // std::ranges::range (<ranges>' views are not needed)
#include <optional>     // std::optional
#include <sstream>      // std::ostringstream
#include <string>       // std::string
#include <string_view>  // std::string_view
#include <tuple>        // std::tuple
#include <type_traits>  // std::is_same_v
#include <typeinfo>     // typeid
#include <utility>      // std::pair
#include <variant>      // std::monostate, std::variant
#include <vector>       // std::vector

#include <pyconc/detail/exception_text.hpp>
#include <pyconc/errors.hpp>

namespace pyconc {
inline namespace v0 {

namespace kw {

struct SepArg {
  std::string_view value;
};
struct EndArg {
  std::string_view value;
};
struct FileArg {
  std::FILE* value;
};
struct FlushArg {
  bool value;
};

// Objects whose `operator=` builds a keyword argument: `print(x, kw::sep = ", ")`.
struct Sep {
  constexpr SepArg operator=(std::string_view v) const noexcept { return {v}; }
};  // NOLINT
struct End {
  constexpr EndArg operator=(std::string_view v) const noexcept { return {v}; }
};  // NOLINT
struct File {
  FileArg operator=(std::FILE* f) const noexcept { return {f}; }
};  // NOLINT
struct Flush {
  constexpr FlushArg operator=(bool b) const noexcept { return {b}; }
};  // NOLINT

/** `print(..., kw::sep = ", ")`: the text between values (default one space). */
inline constexpr Sep sep{};
/** `print(..., kw::end = "")`: the text after the last value (default a newline). */
inline constexpr End end{};
/** `print(..., kw::file = stderr)`: where to write (default stdout). */
inline constexpr File file{};
/** `print(..., kw::flush = true)`: flush the stream after writing. */
inline constexpr Flush flush{};

}  // namespace kw

namespace detail {

template <class T>
inline constexpr bool is_kwarg_v = std::is_same_v<T, kw::SepArg> || std::is_same_v<T, kw::EndArg> ||
                                   std::is_same_v<T, kw::FileArg> || std::is_same_v<T, kw::FlushArg>;

template <class T>
concept string_like = std::is_convertible_v<const T&, std::string_view>;

template <class T>
concept has_repr_member = requires(const T& t) {
  { t.repr() } -> std::convertible_to<std::string>;
};

template <class T>
concept streamable = requires(std::ostream& os, const T& t) {
  os << t;
};

template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};

template <class T>
struct is_tuple_like : std::false_type {};
template <class... Ts>
struct is_tuple_like<std::tuple<Ts...>> : std::true_type {};
template <class A, class B>
struct is_tuple_like<std::pair<A, B>> : std::true_type {};

template <class T>
struct is_variant : std::false_type {};
template <class... Ts>
struct is_variant<std::variant<Ts...>> : std::true_type {};

/** `std::map`, `std::unordered_map`, `std::multimap`, ...: printed as a Python dict. */
template <class T>
concept map_like = std::ranges::range<const T> && requires {
  typename T::key_type;
  typename T::mapped_type;
};

/** `std::set`, `std::unordered_set`, `std::multiset`, ...: printed as a Python set. */
template <class T>
concept set_like = std::ranges::range<const T> && !map_like<T> && requires {
  typename T::key_type;
}
&&std::is_same_v<typename T::key_type, typename T::value_type>;

template <class T>
inline constexpr bool dependent_false_v = false;

/** Python's `repr(float)`: the shortest text that reads back as the same double. */
inline std::string float_repr(double v) {
  if (__builtin_isnan(v))  // std::isnan and std::isinf without <cmath>
    return "nan";
  if (__builtin_isinf(v))
    return v > 0 ? "inf" : "-inf";
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  const std::string_view sci(buf, static_cast<std::size_t>(res.ptr - buf));  // e.g. "-1.25e+17"
  const std::size_t e = sci.find('e');
  std::string sign = sci[0] == '-' ? "-" : "";
  std::string digits;
  for (char c : sci.substr(sign.size(), e - sign.size())) {
    if (c != '.')
      digits += c;
  }
  const int exp = std::atoi(std::string(sci.substr(e + 1)).c_str());
  if (exp >= -4 && exp < 16) {  // positional notation, like Python
    if (exp >= 0) {
      const auto int_len = static_cast<std::size_t>(exp) + 1;
      if (digits.size() <= int_len)
        return sign + digits + std::string(int_len - digits.size(), '0') + ".0";
      return sign + digits.substr(0, int_len) + "." + digits.substr(int_len);
    }
    return sign + "0." + std::string(static_cast<std::size_t>(-exp - 1), '0') + digits;
  }
  std::string mantissa = digits.substr(0, 1);
  if (digits.size() > 1)
    mantissa += "." + digits.substr(1);
  const int abs_exp = exp < 0 ? -exp : exp;
  return sign + mantissa + (exp < 0 ? "e-" : "e+") + (abs_exp < 10 ? "0" : "") + std::to_string(abs_exp);
}

}  // namespace detail

template <class T>
std::string repr(const T& value);

/**
Python: `type(exc).__name__`. The Python name of the exception `ep` holds: `type_name()` of a
`pyconc::Error` (`"ValueError"`), the qualified C++ name of another `std::exception`
(`"std::runtime_error"`), `"NoneType"` for a null `exception_ptr` (Python's `type(None)`).
The same names `threading::excepthook` reports.

```cpp
print(type_name(f.exception()), f.exception());  // print(type(f.exception()).__name__, f.exception())
```
*/
inline std::string type_name(const std::exception_ptr& ep) {
  return ep ? pyconc::detail::exception_type_name(ep) : std::string("NoneType");
}
/** Python: `type(exc).__name__` for an exception object (see `type_name(std::exception_ptr)`). */
inline std::string type_name(const std::exception& e) {
  if (const auto* error = dynamic_cast<const Error*>(&e))
    return error->type_name();
  return pyconc::detail::demangle(typeid(e));
}

namespace detail {

/** Python's `str(exc)` of the exception `ep` holds: its `what()`; empty when it is not a `std::exception`. */
inline std::string exception_str(const std::exception_ptr& ep) {
  return exception_message(ep);
}

/** Python's `repr(exc)`: `ValueError('boom')`, `std::runtime_error('std')`. */
inline std::string exception_repr(const std::exception& e) {
  if (const auto* error = dynamic_cast<const Error*>(&e))
    return error->repr();
  const std::string_view message = e.what();
  return type_name(e) + "(" + (message.empty() ? std::string() : string_repr(message)) + ")";
}

}  // namespace detail

/**
Python's `str(value)` for C++ values: `bool` is `True`/`False`, floating point as Python's
`repr(float)`, strings as they are, `std::optional`/`nullptr`/`std::monostate` empty as
`None`, exceptions (and `std::exception_ptr`) as their message, sequences as lists
(`[1, 'a']`), sets as sets (`{1, 2}`, empty `set()`), maps as dicts (`{1: 'a'}`, empty `{}`),
tuples and pairs as tuples, a `std::variant` as its value, types with a `repr()` member
through it, and anything else that `operator<<` can print through that. Items inside
containers are shown with `repr()`, as Python does (`['a']`, not `[a]`).

A multiset prints as a set with its repeats (`{1, 1, 2}`), a multimap as a dict display with
repeated keys (`{1: 'a', 1: 'b'}`); unordered containers print in their iteration order (as
Python's sets do; Python's dicts keep insertion order, which `std::unordered_map` does not).
A range that cannot be iterated through a const reference (a single-pass generator) does not
compile here unless it has a `repr()`: `str(list(r))` shows its items.
*/
template <class T>
std::string str(const T& value) {
  if constexpr (std::is_same_v<T, bool>) {
    return value ? "True" : "False";
  } else if constexpr (std::is_same_v<T, char>) {
    return std::string(1, value);
  } else if constexpr (std::is_floating_point_v<T>) {
    return detail::float_repr(static_cast<double>(value));
  } else if constexpr (std::is_integral_v<T>) {
    return std::to_string(value);
  } else if constexpr (std::is_same_v<T, std::nullptr_t> || std::is_same_v<T, std::nullopt_t> ||
                       std::is_same_v<T, std::monostate>) {
    return "None";
  } else if constexpr (detail::string_like<T>) {
    return std::string(std::string_view(value));
  } else if constexpr (detail::is_optional<T>::value) {
    return value ? str(*value) : std::string("None");
  } else if constexpr (std::is_same_v<T, std::exception_ptr>) {
    return value ? detail::exception_str(value) : std::string("None");  // print(f.exception())
  } else if constexpr (std::is_base_of_v<std::exception, T>) {
    return value.what();  // str(exc) is the message
  } else if constexpr (detail::has_repr_member<T>) {
    return value.repr();
  } else if constexpr (detail::is_variant<T>::value) {
    return std::visit([](const auto& v) { return str(v); }, value);
  } else if constexpr (detail::is_tuple_like<T>::value) {
    std::string out = "(";
    std::size_t i = 0;
    std::apply([&](const auto&... items) { ((out += (i++ ? ", " : "") + repr(items)), ...); }, value);
    return out + (i == 1 ? ",)" : ")");
  } else if constexpr (detail::map_like<T>) {
    std::string out = "{";
    for (const auto& [key, mapped] : value) {
      if (out.size() > 1)
        out += ", ";
      out += repr(key) + ": " + repr(mapped);
    }
    return out + "}";
  } else if constexpr (detail::set_like<T>) {
    if (std::ranges::begin(value) == std::ranges::end(value))
      return "set()";
    std::string out = "{";
    for (const auto& item : value) {
      if (out.size() > 1)
        out += ", ";
      out += repr(item);
    }
    return out + "}";
  } else if constexpr (std::ranges::range<const T>) {
    std::string out = "[";
    bool first = true;
    for (const auto& item : value) {
      if (!first)
        out += ", ";
      first = false;
      out += repr(item);
    }
    return out + "]";
  } else if constexpr (std::ranges::range<T>) {
    static_assert(detail::dependent_false_v<T>,
                  "pyconc::str: this range cannot be iterated through a const reference (a single-pass "
                  "generator?): print pyconc::list(range) to show its items, as Python's print(list(gen))");
    return {};
  } else {
    static_assert(detail::streamable<T>, "pyconc::str: no Python text for this type; give it operator<< or repr()");
    std::ostringstream os;
    os << value;
    return os.str();
  }
}

/**
Python's `repr(value)`: like `str`, except that strings are quoted (`'a'`), exceptions show
their type (`ValueError('boom')`, `KeyError('a')`), and `std::optional` and `std::variant`
show their value's `repr()`.
*/
template <class T>
std::string repr(const T& value) {
  if constexpr (detail::string_like<T> && !std::is_same_v<T, std::nullptr_t>) {
    return detail::string_repr(std::string_view(value));
  } else if constexpr (std::is_same_v<T, char>) {
    return detail::string_repr(std::string_view(&value, 1));
  } else if constexpr (detail::is_optional<T>::value) {
    return value ? repr(*value) : std::string("None");
  } else if constexpr (detail::is_variant<T>::value) {
    return std::visit([](const auto& v) { return repr(v); }, value);
  } else if constexpr (std::is_same_v<T, std::exception_ptr>) {
    if (!value)
      return "None";
    try {
      std::rethrow_exception(value);
    } catch (const std::exception& e) {
      return detail::exception_repr(e);
    } catch (...) {
      return type_name(value) + "()";
    }
  } else if constexpr (std::is_base_of_v<std::exception, T>) {
    return detail::exception_repr(value);
  } else {
    return str(value);
  }
}

/**
Python: `list(iterable)`. The items of any range, in order, in a `std::vector`: containers,
views, and the single-pass ranges pyconc returns (`Executor::map`'s results, `as_completed()`),
which it consumes as Python's `list()` consumes a generator.

```cpp
print(list(ex.map(square, xs)));  // print(list(ex.map(square, xs)))  ->  [1, 4, 9]
```

Items are copied, except from single-pass ranges, whose items are moved out (move-only
results work). Whatever iterating raises propagates (a call's exception, `TimeoutError`).
*/
template <std::ranges::input_range R>
std::vector<std::ranges::range_value_t<R>> list(R&& range) {
  std::vector<std::ranges::range_value_t<R>> items;
  if constexpr (std::ranges::sized_range<R>)
    items.reserve(static_cast<std::size_t>(std::ranges::size(range)));
  auto it = std::ranges::begin(range);
  const auto end = std::ranges::end(range);
  for (; it != end; ++it) {
    if constexpr (std::ranges::forward_range<R>) {
      items.emplace_back(*it);
    } else {
      items.emplace_back(std::ranges::iter_move(it));
    }
  }
  return items;
}

/**
Python: `print(*objects, sep=' ', end='\n', file=sys.stdout, flush=False)`.

```cpp
print("balance", balance);                       // balance 0
print("a", "b", kw::sep = "-", kw::end = "");    // a-b
```
Each call writes its whole text with one write, so lines printed by different threads never
interleave. Thread-safe.
*/
template <class... Args>
void print(const Args&... args) {
  std::string_view sep = " ";
  std::string_view end = "\n";
  std::FILE* file = stdout;
  bool flush = false;
  std::string text;
  bool first = true;
  auto add = [&](const auto& arg) {
    using A = std::remove_cvref_t<decltype(arg)>;
    if constexpr (std::is_same_v<A, kw::SepArg>) {
      sep = arg.value;
    } else if constexpr (std::is_same_v<A, kw::EndArg>) {
      end = arg.value;
    } else if constexpr (std::is_same_v<A, kw::FileArg>) {
      file = arg.value;
    } else if constexpr (std::is_same_v<A, kw::FlushArg>) {
      flush = arg.value;
    }
  };
  (add(args), ...);  // keywords first: sep applies wherever it appears
  auto append = [&](const auto& arg) {
    using A = std::remove_cvref_t<decltype(arg)>;
    if constexpr (!detail::is_kwarg_v<A>) {
      if (!first)
        text += sep;
      first = false;
      text += str(arg);
    }
  };
  (append(args), ...);
  text += end;
  std::fwrite(text.data(), 1, text.size(), file);
  if (flush)
    std::fflush(file);
}

}  // namespace v0
}  // namespace pyconc

#endif  // PYCONC_BUILTINS_HPP_INCLUDED
