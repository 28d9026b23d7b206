// SPDX-License-Identifier: MIT
/**
`pyconc/pickle/format.hpp` — the bytes of a pyconc pickle, and the module's exceptions.

Defines:
- `pickle::PickleError`, `pickle::PicklingError`, `pickle::UnpicklingError`   Python's names.
- `pickle::format_version`, `pickle::max_depth`    the format's version and nesting limit.
- `detail::PickleWriter`, `detail::PickleReader`   little-endian, fixed-width, bounds-checked
                                                    reading and writing of a pickle's bytes.
- `detail::pickle_hash`                            FNV-1a (64 bits) of a type description.

The layout (see `<pyconc/pickle.hpp>` for what the payload holds):

```
offset  size  field
0       4     magic "PYCK"
4       1     format version (1)
5       8     fingerprint of the pickled type (u64, little-endian)
13      8     payload size in bytes (u64, little-endian)
21      ...   payload
```
*/
#ifndef PYCONC_PICKLE_FORMAT_HPP_INCLUDED
#define PYCONC_PICKLE_FORMAT_HPP_INCLUDED

#include <bit>               // std::endian
#include <cstddef>           // std::size_t
#include <cstdint>           // std::uint8_t, std::uint64_t
#include <cstring>           // std::memcpy, std::memcmp
#include <initializer_list>  // std::initializer_list
#include <string>            // std::string, std::to_string
#include <string_view>       // std::string_view
#include <type_traits>       // std::is_integral_v, std::make_unsigned_t

#include <pyconc/errors.hpp>

namespace pyconc {
inline namespace v0 {
namespace pickle {

/** Python: `pickle.PickleError`, the base of the module's exceptions. */
PYCONC_DEFINE_ERROR(PickleError, Error, "PickleError");
/** Python: `pickle.PicklingError`: `dumps` cannot encode the value. */
PYCONC_DEFINE_ERROR(PicklingError, PickleError, "PicklingError");
/**
Python: `pickle.UnpicklingError`: `loads` was given bytes that are not a pickle of the
requested type (truncated, corrupt, of another type, or with bytes left over).
*/
PYCONC_DEFINE_ERROR(UnpicklingError, PickleError, "UnpicklingError");

/** The version of the byte format that `dumps` writes and `loads` reads. */
inline constexpr int format_version = 1;

/**
How deeply values of `PYCONC_PICKLE_FIELDS` types may nest inside one another (a tree of a
recursive struct): deeper, `dumps` raises `PicklingError` and `loads` `UnpicklingError`, so
hostile input cannot exhaust the stack. Python's default recursion limit is the same.
*/
inline constexpr std::size_t max_depth = 1000;

}  // namespace pickle

namespace detail {

inline constexpr char pickle_magic[4] = {'P', 'Y', 'C', 'K'};
inline constexpr std::size_t pickle_header_size = 4 + 1 + 8 + 8;

/** FNV-1a, 64 bits: the fingerprint of a type description. */
constexpr std::uint64_t pickle_hash(std::string_view text) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (const char c : text) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}

/** The concatenation of `parts` (one allocation). */
inline std::string pickle_join(std::initializer_list<std::string_view> parts) {
  std::size_t size = 0;
  for (const std::string_view part : parts)
    size += part.size();
  std::string out;
  out.reserve(size);
  for (const std::string_view part : parts)
    out += part;
  return out;
}

/** `value` with its bytes reversed (for big-endian hosts). */
template <class U>
constexpr U pickle_byteswap(U value) noexcept {
  static_assert(std::is_integral_v<U>);
  using Bits = std::make_unsigned_t<U>;
  Bits in = static_cast<Bits>(value);
  Bits out = 0;
  for (std::size_t i = 0; i < sizeof(U); ++i) {
    out = static_cast<Bits>((out << 8) | (in & 0xffu));
    in = static_cast<Bits>(in >> 8);
  }
  return static_cast<U>(out);
}

/** "0x0123456789abcdef". */
inline std::string pickle_hex(std::uint64_t value) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out = "0x";
  for (int shift = 60; shift >= 0; shift -= 4)
    out += digits[(value >> shift) & 0xf];
  return out;
}

/** Appends a pickle's bytes to a `std::string`. */
class PickleWriter {
 public:
  explicit PickleWriter(std::string& out) noexcept : out_(out) {}

  void bytes(const void* data, std::size_t size) { out_.append(static_cast<const char*>(data), size); }

  /** An integer, little-endian, `sizeof(U)` bytes. */
  template <class U>
  void integer(U value) {
    static_assert(std::is_integral_v<U>);
    if constexpr (std::endian::native == std::endian::big && sizeof(U) > 1)
      value = pickle_byteswap(value);
    bytes(&value, sizeof value);
  }

  /** A length or an element count: u64. */
  void size(std::size_t n) { integer<std::uint64_t>(n); }

  /** A byte that is 0 or 1. */
  void flag(bool value) { integer<std::uint8_t>(value ? 1 : 0); }

  void string(std::string_view s) {
    size(s.size());
    bytes(s.data(), s.size());
  }

  /** The header, with the payload size to be filled in by `finish()`. */
  void header(std::uint64_t fingerprint) {
    start_ = out_.size();
    bytes(pickle_magic, sizeof pickle_magic);
    integer<std::uint8_t>(pickle::format_version);
    integer<std::uint64_t>(fingerprint);
    integer<std::uint64_t>(0);
  }

  /** Writes the payload size into the header. */
  void finish() {
    std::uint64_t payload = out_.size() - start_ - pickle_header_size;
    if constexpr (std::endian::native == std::endian::big)
      payload = pickle_byteswap(payload);
    std::memcpy(out_.data() + start_ + pickle_header_size - 8, &payload, 8);
  }

  /** Entering a value that may nest (a `PYCONC_PICKLE_FIELDS` type). */
  void enter() {
    if (++depth_ > pickle::max_depth)
      raise<pickle::PicklingError>(
          pickle_join({"cannot pickle: values nested deeper than ", std::to_string(pickle::max_depth), " levels"}));
  }
  void leave() noexcept { --depth_; }

 private:
  std::string& out_;
  std::size_t start_ = 0;
  std::size_t depth_ = 0;
};

/**
Reads a pickle's bytes, never past their end: every read checks what is left first and
raises `UnpicklingError` instead.
*/
class PickleReader {
 public:
  explicit PickleReader(std::string_view data) noexcept : next_(data.data()), end_(data.data() + data.size()) {}

  [[nodiscard]] std::size_t remaining() const noexcept { return static_cast<std::size_t>(end_ - next_); }

  /** The next `size` bytes. */
  const char* take(std::size_t size) {
    if (size > remaining())
      truncated();
    const char* at = next_;
    next_ += size;
    return at;
  }

  template <class U>
  U integer() {
    static_assert(std::is_integral_v<U>);
    U value;
    std::memcpy(&value, take(sizeof value), sizeof value);
    if constexpr (std::endian::native == std::endian::big && sizeof(U) > 1)
      value = pickle_byteswap(value);
    return value;
  }

  /** A byte that must be 0 or 1; `what` names it in the error. */
  bool flag(const char* what) {
    const auto byte = integer<std::uint8_t>();
    if (byte > 1)
      raise<pickle::UnpicklingError>(
          pickle_join({"invalid ", what, " byte ", std::to_string(byte), " in pickle data (expected 0 or 1)"}));
    return byte == 1;
  }

  /**
  An element count for a container whose elements take at least `min_element_size` bytes
  each: larger than what is left could hold, it raises. So no container reserves more than
  the input can fill. `describe` names the container in the error.
  */
  std::size_t count(std::size_t min_element_size, std::string (*describe)()) {
    const auto n = integer<std::uint64_t>();
    if (n > remaining() / min_element_size)
      raise<pickle::UnpicklingError>(pickle_join({"invalid length ", std::to_string(n), " for ", describe(), ": only ",
                                                  std::to_string(remaining()), " bytes of pickle data are left"}));
    return static_cast<std::size_t>(n);
  }

  std::string string() {
    const std::size_t n = count(1, [] { return std::string("a string"); });
    return std::string(take(n), n);
  }

  /** Checks the header against `fingerprint`, the type that `describe()` names. */
  void header(std::uint64_t fingerprint, std::string (*describe)()) {
    if (remaining() < pickle_header_size) {
      if (remaining() >= sizeof pickle_magic && std::memcmp(next_, pickle_magic, sizeof pickle_magic) != 0)
        bad_magic();
      truncated();
    }
    if (std::memcmp(take(sizeof pickle_magic), pickle_magic, sizeof pickle_magic) != 0)
      bad_magic();
    if (const auto version = integer<std::uint8_t>(); version != pickle::format_version)
      raise<pickle::UnpicklingError>(
          pickle_join({"unsupported pickle format version ", std::to_string(version), " (this build reads version ",
                       std::to_string(pickle::format_version), ")"}));
    if (const auto found = integer<std::uint64_t>(); found != fingerprint)
      raise<pickle::UnpicklingError>(pickle_join({"pickled type does not match: loads<", describe(),
                                                  "> was given data pickled from another type (type fingerprint ",
                                                  pickle_hex(found), ", expected ", pickle_hex(fingerprint), ")"}));
    const auto payload = integer<std::uint64_t>();
    if (payload > remaining())
      truncated();
    if (payload < remaining())
      trailing(remaining() - static_cast<std::size_t>(payload));
  }

  /** Checks that the payload has been read to its end. */
  void finish() const {
    if (remaining() != 0)
      trailing(remaining());
  }

  void enter() {
    if (++depth_ > pickle::max_depth)
      raise<pickle::UnpicklingError>(
          pickle_join({"pickle data nested deeper than ", std::to_string(pickle::max_depth), " levels"}));
  }
  void leave() noexcept { --depth_; }

  [[noreturn]] static void truncated() { raise<pickle::UnpicklingError>("pickle data was truncated"); }

 private:
  [[noreturn]] static void bad_magic() {
    raise<pickle::UnpicklingError>("invalid load key: not a pyconc pickle (no \"PYCK\" header)");
  }
  [[noreturn]] static void trailing(std::size_t extra) {
    raise<pickle::UnpicklingError>(
        pickle_join({std::to_string(extra), extra == 1 ? " byte" : " bytes", " of trailing data after the pickle"}));
  }

  const char* next_;
  const char* end_;
  std::size_t depth_ = 0;
};

}  // namespace detail
}  // namespace v0
}  // namespace pyconc

#endif  // PYCONC_PICKLE_FORMAT_HPP_INCLUDED
