// SPDX-License-Identifier: MIT
/**
`pyconc/builtins.hpp` — Python's `print`, and the `str`/`repr` it relies on.

Defines:
- `pyconc::print(values..., kw::sep = " ", kw::end = "\n", kw::file = stdout, kw::flush = false)`
- `pyconc::str(value)`, `pyconc::repr(value)`   Python's text for C++ values.
- `pyconc::kw::sep`, `kw::end`, `kw::file`, `kw::flush`   print's keyword arguments.
*/
#ifndef PYCONC_BUILTINS_HPP_INCLUDED
#define PYCONC_BUILTINS_HPP_INCLUDED

#include <charconv>     // std::to_chars
#include <cmath>        // std::isnan, std::isinf
#include <cstdio>       // FILE, std::fwrite
#include <cstdlib>      // std::atoi
#include <exception>    // std::exception
#include <optional>     // std::optional
#include <ranges>       // std::ranges::range
#include <sstream>      // std::ostringstream
#include <string>       // std::string
#include <string_view>  // std::string_view
#include <tuple>        // std::tuple
#include <type_traits>  // std::is_same_v
#include <utility>      // std::pair

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

/** Python's `repr(float)`: the shortest text that reads back as the same double. */
inline std::string float_repr(double v) {
  if (std::isnan(v))
    return "nan";
  if (std::isinf(v))
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

/** Python's `repr(str)`: quoted, with backslash escapes. */
inline std::string string_repr(std::string_view s) {
  const bool has_single = s.find('\'') != std::string_view::npos;
  const bool has_double = s.find('"') != std::string_view::npos;
  const char quote = has_single && !has_double ? '"' : '\'';
  std::string out(1, quote);
  for (unsigned char c : s) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c == quote) {
          out += '\\';
          out += static_cast<char>(c);
        } else if (c < 0x20 || c == 0x7f) {
          static constexpr char hex[] = "0123456789abcdef";
          out += "\\x";
          out += hex[c >> 4];
          out += hex[c & 0xf];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + quote;
}

}  // namespace detail

template <class T>
std::string repr(const T& value);

/**
Python's `str(value)` for C++ values: `bool` is `True`/`False`, floating point as Python's
`repr(float)`, strings as they are, `std::optional`/`nullptr` empty as `None`, ranges as
lists, tuples and pairs as tuples, types with a `repr()` member through it, and anything
else that `operator<<` can print through that.
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
  } else if constexpr (std::is_same_v<T, std::nullptr_t> || std::is_same_v<T, std::nullopt_t>) {
    return "None";
  } else if constexpr (detail::string_like<T>) {
    return std::string(std::string_view(value));
  } else if constexpr (detail::is_optional<T>::value) {
    return value ? str(*value) : std::string("None");
  } else if constexpr (detail::has_repr_member<T>) {
    return value.repr();
  } else if constexpr (std::is_base_of_v<std::exception, T>) {
    return value.what();  // str(exc) is the message
  } else if constexpr (detail::is_tuple_like<T>::value) {
    std::string out = "(";
    std::size_t i = 0;
    std::apply([&](const auto&... items) { ((out += (i++ ? ", " : "") + repr(items)), ...); }, value);
    return out + (i == 1 ? ",)" : ")");
  } else if constexpr (std::ranges::range<T>) {
    std::string out = "[";
    bool first = true;
    for (const auto& item : value) {
      if (!first)
        out += ", ";
      first = false;
      out += repr(item);
    }
    return out + "]";
  } else {
    static_assert(detail::streamable<T>, "pyconc::str: no Python text for this type; give it operator<< or repr()");
    std::ostringstream os;
    os << value;
    return os.str();
  }
}

/** Python's `repr(value)`: like `str`, except that strings are quoted. */
template <class T>
std::string repr(const T& value) {
  if constexpr (detail::string_like<T> && !std::is_same_v<T, std::nullptr_t>) {
    return detail::string_repr(std::string_view(value));
  } else if constexpr (std::is_same_v<T, char>) {
    return detail::string_repr(std::string_view(&value, 1));
  } else {
    return str(value);
  }
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
