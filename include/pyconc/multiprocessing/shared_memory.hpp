// SPDX-License-Identifier: MIT
/**
`pyconc/multiprocessing/shared_memory.hpp` — Python's `multiprocessing.shared_memory`:
memory that several processes map, found by name.

Defines:
- `multiprocessing::shared_memory::SharedMemory`    a named POSIX shared memory segment,
                                                    created or attached (`SharedMemoryOptions`).
- `multiprocessing::shared_memory::ShareableList`   a fixed-length list of int, float, bool,
                                                    str, bytes and None values in a segment.
- `multiprocessing::shared_memory::ShareableValue`  what a `ShareableList` slot holds: a
                                                    `std::variant` of `std::int64_t`, `double`,
                                                    `bool`, `std::string`, `Bytes`, `std::nullptr_t`.
- `multiprocessing::shared_memory::Bytes`           Python's `bytes` for `ShareableList` slots.

```cpp
using multiprocessing::shared_memory::SharedMemory;
SharedMemory shm({.create = true, .size = 10});   # SharedMemory(create=True, size=10)
shm.buf()[0] = std::byte{42};
SharedMemory other(shm.name());                    # SharedMemory(shm.name): the same bytes
other.close();
shm.close();
shm.unlink();
```

Segments are CPython's: `shm_open("/" + name)` with mode 0600, `ftruncate` to the size on
create, the whole segment mapped shared; a name not given is `psm_` and 8 random hex digits,
as CPython's. A Python process attaches a segment a pyconc program made with
`SharedMemory(name)` and sees the same bytes, and the other way round; a `ShareableList` has
CPython's layout, so `ShareableList(name=...)` in Python reads what pyconc wrote.

Tracking, as CPython 3.13's `track=True` (the default): creating or attaching registers the
segment with the process tree's resource tracker (`resource_tracker.hpp`), `unlink()`
unregisters it, and a segment still registered when the whole tree has ended (normally, or
killed) is unlinked by the tracker with CPython's warning. `track = false` leaves the segment
to whoever unlinks it (for a segment that must outlive the program, or one another program owns).
*/
#ifndef PYCONC_MULTIPROCESSING_SHARED_MEMORY_HPP_INCLUDED
#define PYCONC_MULTIPROCESSING_SHARED_MEMORY_HPP_INCLUDED

#include <concepts>          // std::integral, std::floating_point
#include <cstddef>           // std::byte, std::size_t
#include <cstdint>           // std::int64_t, std::uint64_t
#include <cstring>           // std::memcpy, std::memset
#include <initializer_list>  // std::initializer_list
#include <iosfwd>            // std::ostream
#include <iterator>          // std::input_iterator_tag
#include <limits>            // std::numeric_limits
#include <memory>            // std::shared_ptr, std::make_shared
#include <mutex>             // std::lock_guard
#include <optional>          // std::optional, std::nullopt
#include <random>            // std::random_device
#include <ranges>            // std::ranges
#include <span>              // std::span
#include <string>            // std::string
#include <string_view>       // std::string_view
#include <type_traits>       // std::is_same_v
#include <utility>           // std::move, std::exchange
#include <variant>           // std::variant, std::visit
#include <vector>            // std::vector

#include <fcntl.h>       // O_CREAT, O_EXCL, O_RDWR
#include <sys/mman.h>    // shm_open, shm_unlink, mmap, munmap
#include <sys/random.h>  // getrandom
#include <sys/stat.h>    // fstat
#include <unistd.h>      // ftruncate, close

#include <pyconc/builtins.hpp>
#include <pyconc/detail/fd.hpp>
#include <pyconc/detail/fork_gate.hpp>
#include <pyconc/errors.hpp>
#include <pyconc/multiprocessing/errors.hpp>
#include <pyconc/multiprocessing/resource_tracker.hpp>
#include <pyconc/pickle.hpp>

namespace pyconc {
inline namespace v0 {
namespace detail {

/** A mapped segment, shared by the copies of a `SharedMemory` handle; unmapped by `close()` or with the last copy. */
struct SharedMemoryState {
  SharedMemoryState() = default;
  SharedMemoryState(const SharedMemoryState&) = delete;
  SharedMemoryState& operator=(const SharedMemoryState&) = delete;
  ~SharedMemoryState() {
    if (data != nullptr)
      ::munmap(data, size);
  }

  InternalLock lock;
  std::string name;  // as shm_open takes it: with the leading slash (CPython's `_name`)
  std::size_t size = 0;
  std::byte* data = nullptr;  // nullptr once closed
  bool track = true;
};

/** CPython's `_make_filename()`: `/psm_` and 4 random bytes in hex. */
inline std::string random_segment_name() {
  unsigned char bytes[4] = {};
  if (::getrandom(bytes, sizeof bytes, 0) != static_cast<ssize_t>(sizeof bytes)) {
    std::random_device device;
    for (unsigned char& b : bytes)
      b = static_cast<unsigned char>(device());
  }
  static constexpr char hex[] = "0123456789abcdef";
  std::string name = "/psm_";
  for (const unsigned char b : bytes) {
    name += hex[b >> 4];
    name += hex[b & 0xf];
  }
  return name;
}

}  // namespace detail

namespace multiprocessing {
namespace shared_memory {

/** Python's keyword arguments of `SharedMemory(name=None, create=False, size=0, *, track=True)`. */
struct SharedMemoryOptions {
  std::optional<std::string> name = std::nullopt;  ///< without the leading slash; unset: a new `psm_...` name
  bool create = false;                             ///< create a new segment (fails if the name exists)
  long long size = 0;                              ///< bytes, on create; attaching uses the segment's size
  bool track = true;                               ///< register with the resource tracker (Python 3.13)
};

/**
Python: `multiprocessing.shared_memory.SharedMemory(name=None, create=False, size=0, *, track=True)`.

```cpp
SharedMemory a({.create = true, .size = 4096});   // SharedMemory(create=True, size=4096)
SharedMemory b({.name = "x", .create = true, .size = 10});
SharedMemory c("x");                              // SharedMemory("x"): attach
SharedMemory d("x", false, 0);                    // SharedMemory("x", False, 0)
```

`name()` is the name without its leading slash (`psm_1a2b3c4d`), `size()` the segment's size
in bytes (on attach, the segment's own: `size` is ignored), `buf()` the mapped bytes.
`close()` unmaps them in this process; `unlink()` removes the name from the system (the
memory goes when the last process has closed it). Raises as CPython 3.13:
`ValueError("'size' must be a positive integer")` for a negative size,
`ValueError("'size' must be a positive number different from zero")` for create with size 0,
`ValueError("'name' can only be None if create=True")`, `FileNotFoundError` ("[Errno 2] No such
file or directory: '/name'") attaching a missing segment or unlinking one already unlinked,
`FileExistsError` ("[Errno 17] File exists: '/name'") creating one that exists.

A copyable handle, as pyconc's `Process` and `Connection`: copies refer to the same mapping
(Python's references to one object), `close()` through any copy unmaps it for all, and the
last copy unmaps it when destroyed. A handle to one mapping is what Python code passes
around (a `ShareableList` holds one, a closure captures one); a move-only type would make
each of those a second attach. A child started by fork inherits the mapping; one started by
spawn or the forkserver attaches by name (the handle pickles as its name, as CPython's
`__reduce__`), and so does a process that receives it through a `Connection`.

Thread safety: `close()` is safe beside other calls; the bytes themselves are not
synchronised (as in Python): writers and readers agree on their own protocol.

Differs from Python: `buf()` is a `std::span<std::byte>`, empty after `close()` (Python:
`None`); a span taken earlier dangles after `close()` (Python raises `BufferError` on close
while a view exists); the segment's descriptor is closed once it is mapped; a handle received
by a child keeps its `track` setting (CPython re-attaches with `track=True`).
*/
class SharedMemory {
 public:
  using Options = SharedMemoryOptions;

  /** Python: `SharedMemory(name=..., create=..., size=..., track=...)` with keywords. */
  explicit SharedMemory(Options options) : state_(std::make_shared<pyconc::detail::SharedMemoryState>()) {
    open(std::move(options));
  }
  /** Python: `SharedMemory(name, create=False, size=0)`; `std::nullopt` is `None`. */
  explicit SharedMemory(std::optional<std::string> name, bool create = false, long long size = 0)
      : SharedMemory(Options{.name = std::move(name), .create = create, .size = size}) {}
  explicit SharedMemory(const char* name, bool create = false, long long size = 0)
      : SharedMemory(Options{.name = std::string(name), .create = create, .size = size}) {}

  /** Python: `name`: the segment's name, without the leading slash. */
  [[nodiscard]] std::string name() const {
    const std::string& n = state_->name;
    return !n.empty() && n.front() == '/' ? n.substr(1) : n;
  }
  /** Python: `size`: the segment's size in bytes. */
  [[nodiscard]] std::size_t size() const noexcept { return state_->size; }
  /** Python: `buf`: the mapped bytes (empty after `close()`). */
  [[nodiscard]] std::span<std::byte> buf() const noexcept {
    std::lock_guard hold(state_->lock);
    if (state_->data == nullptr)
      return {};
    return {state_->data, state_->size};
  }
  /** Python: `close()`: unmaps the segment in this process. Idempotent. */
  void close() const noexcept {
    std::byte* data = nullptr;
    {
      std::lock_guard hold(state_->lock);
      data = std::exchange(state_->data, nullptr);
    }
    if (data != nullptr)
      ::munmap(data, state_->size);
  }

  /**
  Python: `unlink()`: removes the segment's name (`shm_unlink`) and, when tracked, unregisters
  it. Call it once across all processes. Raises `FileNotFoundError` when it is gone already.
  */
  void unlink() const {
    if (::shm_unlink(state_->name.c_str()) != 0)
      pyconc::detail::raise_errno(errno, state_->name);
    if (state_->track)
      resource_tracker::unregister(state_->name, "shared_memory");
  }

  /** Python's `repr()`: `SharedMemory('psm_1a2b3c4d', size=10)`. */
  [[nodiscard]] std::string repr() const {
    return "SharedMemory(" + pyconc::detail::string_repr(name()) + ", size=" + std::to_string(size()) + ")";
  }
  friend std::ostream& operator<<(std::ostream& os, const SharedMemory& s) { return os << s.repr(); }

  /** Whether two handles refer to the same mapping (Python's `is`). */
  friend bool operator==(const SharedMemory& a, const SharedMemory& b) noexcept { return a.state_ == b.state_; }

  /** Whether this handle registered the segment with the resource tracker. */
  [[nodiscard]] bool track() const noexcept { return state_->track; }

 private:
  void open(Options options) {
    namespace d = pyconc::detail;
    if (options.size < 0)
      d::raise<ValueError>("'size' must be a positive integer");
    int flags = O_RDWR;
    if (options.create) {
      flags |= O_CREAT | O_EXCL;
      if (options.size == 0)
        d::raise<ValueError>("'size' must be a positive number different from zero");
    }
    if (!options.name && !options.create)
      d::raise<ValueError>("'name' can only be None if create=True");
    state_->track = options.track;
    d::Fd fd;
    std::string name;
    if (!options.name) {
      for (;;) {
        name = d::random_segment_name();
        fd.reset(::shm_open(name.c_str(), flags, 0600));
        if (fd)
          break;
        if (errno != EEXIST)
          d::raise_errno(errno, name);
      }
    } else {
      name = "/" + *options.name;
      fd.reset(::shm_open(name.c_str(), flags, 0600));
      if (!fd)
        d::raise_errno(errno, name);
    }
    state_->name = name;
    struct stat st {};
    int error = 0;
    if (options.create) {
      while (::ftruncate(fd.get(), static_cast<off_t>(options.size)) != 0) {
        if (errno != EINTR) {
          error = errno;
          break;
        }
      }
    }
    if (error == 0 && ::fstat(fd.get(), &st) != 0)
      error = errno;
    if (error == 0 && st.st_size == 0)
      d::raise<ValueError>("cannot mmap an empty file");  // CPython's mmap; the segment stays
    void* data = MAP_FAILED;
    if (error == 0) {
      data = ::mmap(nullptr, static_cast<std::size_t>(st.st_size), PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
      if (data == MAP_FAILED)
        error = errno;
    }
    if (error != 0) {
      if (options.create)
        ::shm_unlink(name.c_str());  // CPython unlinks what it could not set up
      d::raise_errno(error);
    }
    state_->data = static_cast<std::byte*>(data);
    state_->size = static_cast<std::size_t>(st.st_size);
    if (state_->track)
      resource_tracker::register_(state_->name, "shared_memory");
  }

  std::shared_ptr<pyconc::detail::SharedMemoryState> state_;
};

/**
Python's `bytes`, as a `ShareableList` slot holds it (a `std::string` slot is a `str`).
`Bytes("ab")`; `data` is the bytes; `repr()` is `b'ab'`.
*/
struct Bytes {
  std::string data;

  Bytes() = default;
  explicit Bytes(std::string bytes) : data(std::move(bytes)) {}
  explicit Bytes(const char* bytes) : data(bytes) {}
  explicit Bytes(std::string_view bytes) : data(bytes) {}

  /** Python's `repr(b)`: `b'ab\x00'`. */
  [[nodiscard]] std::string repr() const { return pyconc::detail::bytes_repr(data); }
  [[nodiscard]] std::size_t size() const noexcept { return data.size(); }
  friend bool operator==(const Bytes&, const Bytes&) = default;
  friend std::ostream& operator<<(std::ostream& os, const Bytes& b) { return os << b.repr(); }
};

/**
A `ShareableList` slot's value: Python's `int` (`std::int64_t`), `float` (`double`), `bool`,
`str` (`std::string`), `bytes` (`Bytes`) or `None` (`nullptr`). `print` and `repr` show it
as Python does.
*/
using ShareableValue = std::variant<std::int64_t, double, bool, std::string, Bytes, std::nullptr_t>;

/** A C++ value that a `ShareableList` slot takes (converted by `to_shareable`). */
template <class T>
concept shareable = std::is_same_v<std::remove_cvref_t<T>, ShareableValue> || std::is_same_v < std::remove_cvref_t<T>,
bool > || std::is_same_v<std::remove_cvref_t<T>, std::nullptr_t> || std::is_same_v<std::remove_cvref_t<T>, Bytes> ||
    (std::integral<std::remove_cvref_t<T>> && !pyconc::detail::pickle_is_char<std::remove_cvref_t<T>>) ||
    std::floating_point<std::remove_cvref_t<T>> || std::convertible_to<const T&, std::string_view>;

/** The slot value of `v`: integers as `std::int64_t`, floating point as `double`, text as `str`. */
template <shareable T>
[[nodiscard]] ShareableValue to_shareable(T&& v) {
  using U = std::remove_cvref_t<T>;
  if constexpr (std::is_same_v<U, ShareableValue>) {
    return std::forward<T>(v);
  } else if constexpr (std::is_same_v<U, bool> || std::is_same_v<U, std::nullptr_t>) {
    return ShareableValue(v);
  } else if constexpr (std::is_same_v<U, Bytes>) {
    return ShareableValue(std::forward<T>(v));
  } else if constexpr (std::integral<U>) {
    if constexpr (std::is_unsigned_v<U> && sizeof(U) >= sizeof(std::int64_t)) {
      if (v > static_cast<U>(std::numeric_limits<std::int64_t>::max()))
        pyconc::detail::raise<OverflowError>("int too large to convert");
    }
    return ShareableValue(static_cast<std::int64_t>(v));
  } else if constexpr (std::floating_point<U>) {
    return ShareableValue(static_cast<double>(v));
  } else {
    return ShareableValue(std::string(std::string_view(v)));
  }
}

/** Python's `==` between two slot values: numbers (int, float, bool) by value, else same type and value. */
[[nodiscard]] inline bool shareable_equal(const ShareableValue& a, const ShareableValue& b) noexcept {
  const auto numeric = [](const ShareableValue& v) { return v.index() <= 2; };
  if (numeric(a) && numeric(b)) {
    const auto as_int = [](const ShareableValue& v, std::int64_t& out) {
      if (const auto* i = std::get_if<std::int64_t>(&v))
        out = *i;
      else if (const auto* f = std::get_if<bool>(&v))
        out = *f ? 1 : 0;
      else
        return false;
      return true;
    };
    std::int64_t x = 0;
    std::int64_t y = 0;
    const bool xi = as_int(a, x);
    const bool yi = as_int(b, y);
    if (xi && yi)
      return x == y;
    if (!xi && !yi)
      return std::get<double>(a) == std::get<double>(b);
    // An int and a float: equal only when the float is that integer exactly (as Python compares).
    const double d = xi ? std::get<double>(b) : std::get<double>(a);
    const std::int64_t i = xi ? x : y;
    if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0))
      return false;
    const auto t = static_cast<std::int64_t>(d);
    return static_cast<double>(t) == d && t == i;
  }
  return a == b;
}

/** Python's keyword arguments of `ShareableList(sequence=None, *, name=None)`. */
struct ShareableListOptions {
  std::optional<std::string> name = std::nullopt;  ///< with a sequence: the new segment's name; alone: attach
};

class ShareableList;

}  // namespace shared_memory
}  // namespace multiprocessing

namespace detail {

/** CPython's slot formats: "q", "d", "xxxxxxx?", "xxxxxx?x", and "<n>s" for str and bytes. */
inline constexpr std::string_view sl_int = "q";
inline constexpr std::string_view sl_float = "d";
inline constexpr std::string_view sl_bool = "xxxxxxx?";
inline constexpr std::string_view sl_none = "xxxxxx?x";

/** CPython's back-transform codes. */
enum class SlCode : signed char { plain = 0, str = 1, bytes = 2, none = 3 };

/** The byte size of the text format "<n>s", or 0 when `format` is not one. */
inline std::size_t sl_text_size(std::string_view format) noexcept {
  if (format.size() < 2 || format.back() != 's')
    return 0;
  std::size_t n = 0;
  for (std::size_t i = 0; i + 1 < format.size(); ++i) {
    if (format[i] < '0' || format[i] > '9')
      return 0;
    n = n * 10 + static_cast<std::size_t>(format[i] - '0');
  }
  return n;
}

/** The format, code and encoded bytes of a value for a new list; text rounded up as CPython's. */
struct SlItem {
  std::string format;
  SlCode code = SlCode::plain;
  std::size_t size = 8;  // bytes of the data area it takes
};

inline SlItem sl_item_for(const multiprocessing::shared_memory::ShareableValue& v) {
  using multiprocessing::shared_memory::Bytes;
  SlItem item;
  if (std::holds_alternative<std::int64_t>(v)) {
    item.format = sl_int;
  } else if (std::holds_alternative<double>(v)) {
    item.format = sl_float;
  } else if (std::holds_alternative<bool>(v)) {
    item.format = sl_bool;
  } else if (std::holds_alternative<std::nullptr_t>(v)) {
    item.format = sl_none;
    item.code = SlCode::none;
  } else {
    const std::size_t length =
        std::holds_alternative<std::string>(v) ? std::get<std::string>(v).size() : std::get<Bytes>(v).size();
    item.size = 8 * (length / 8 + 1);
    item.format = std::to_string(item.size) + "s";
    item.code = std::holds_alternative<std::string>(v) ? SlCode::str : SlCode::bytes;
    if (item.format.size() > 8)
      raise<AssertionError>();  // CPython asserts that every format fits its 8 bytes
  }
  return item;
}

}  // namespace detail

namespace multiprocessing {
namespace shared_memory {

/**
Python: `multiprocessing.shared_memory.ShareableList(sequence=None, *, name=None)`: a list of
fixed length whose values live in a `SharedMemory` segment, with CPython's layout (a Python
process's `ShareableList(name=...)` reads it, and pyconc reads Python's).

```cpp
ShareableList sl({1, 2.5, true, "text", Bytes("raw"), nullptr});  // ShareableList([1, 2.5, True, 'text', b'raw', None])
ShareableList same({.name = sl.shm().name()});                    // ShareableList(name=sl.shm.name)
same.set(0, 99);                                                  // same[0] = 99
print(sl[0]);                                                     // 99
print(sl);  // ShareableList([99, 2.5, True, 'text', b'raw', None], name='psm_...')
```

Each slot holds an int (`std::int64_t`), float (`double`), bool, str (`std::string`), bytes
(`Bytes`) or None (`nullptr`), and may change type; a str or bytes slot keeps the room it was
created with (its length rounded up to the next multiple of 8, counting one more byte), and a
longer value raises `ValueError("bytes/str item exceeds available storage")`. `sl[i]` reads
(negative indices count from the end; out of range: `IndexError("index out of range")`),
`sl.set(i, v)` writes (`IndexError("assignment index out of range")`). `count(v)` and
`index(v)` compare as Python's `==` (1 == 1.0 == True); `index` of a missing value raises
`ValueError("99 not in this container")` with the value's `repr()`. As in CPython, trailing
NUL bytes of a str or bytes value are not kept.

A copyable handle: copies share the segment (`shm()`), as Python references do. It pickles as
its segment's name (CPython's `__reduce__`): a child started by spawn or the forkserver, or a
process receiving it through a `Connection`, attaches by name.

Differs from Python: writing is `sl.set(i, v)` (Python's `sl[i] = v`) and `sl[i]` returns the
value (a `ShareableValue`); a str slot's room is counted in UTF-8 bytes (CPython counts code
points and cuts a longer encoding short); a segment whose header does not describe a list
that fits raises `ValueError` where CPython's `struct` would raise `struct.error`; reading
after `shm().close()` raises `TypeError` as CPython's `struct` does on `None`.
*/
class ShareableList {
 public:
  using value_type = ShareableValue;
  using Options = ShareableListOptions;

  /** Python: `ShareableList()` (a new empty list) or `ShareableList(name=...)` (attach). */
  explicit ShareableList(Options options = {}) {
    if (options.name)
      attach(SharedMemory(SharedMemoryOptions{.name = std::move(options.name)}));
    else
      create({}, std::nullopt);
  }
  /** Python: `ShareableList([...], name=None)`: a new list holding `sequence`. */
  ShareableList(std::initializer_list<ShareableValue> sequence, Options options = {}) {
    create(std::vector<ShareableValue>(sequence), std::move(options.name));
  }
  /** Python: `ShareableList(sequence, name=None)` from any range of shareable values. */
  template <std::ranges::input_range R>
  requires shareable<std::ranges::range_reference_t<const R&>> &&
      (!std::is_same_v<std::remove_cvref_t<R>, std::string>)explicit ShareableList(const R& sequence,
                                                                                   Options options = {}) {
    std::vector<ShareableValue> values;
    for (auto&& v : sequence)
      values.push_back(to_shareable(v));
    create(std::move(values), std::move(options.name));
  }
  /** Python: `sl[i]`. Raises `IndexError("index out of range")`. */
  [[nodiscard]] ShareableValue operator[](long long position) const {
    const std::size_t i = normalize(position, "index out of range");
    return read(i);
  }
  /** Python: `sl[i] = value`. Raises `IndexError("assignment index out of range")`, `ValueError` for text too long. */
  template <shareable T>
  void set(long long position, T&& value) const {
    const std::size_t i = normalize(position, "assignment index out of range");
    write(i, to_shareable(std::forward<T>(value)));
  }

  /** Python: `len(sl)`: read from the segment, as CPython does. */
  [[nodiscard]] std::size_t size() const {
    std::int64_t n = 0;
    std::memcpy(&n, bytes(0, 8), 8);
    return static_cast<std::size_t>(n);
  }
  /** Python: `count(value)`: how many slots equal `value`. */
  template <shareable T>
  [[nodiscard]] std::size_t count(T&& value) const {
    const ShareableValue v = to_shareable(std::forward<T>(value));
    std::size_t n = 0;
    for (std::size_t i = 0; i < length_; ++i)
      n += shareable_equal(v, read(i)) ? 1 : 0;
    return n;
  }
  /** Python: `index(value)`: the first slot equal to `value`; `ValueError("<repr> not in this container")`. */
  template <shareable T>
  [[nodiscard]] std::size_t index(T&& value) const {
    const ShareableValue v = to_shareable(std::forward<T>(value));
    for (std::size_t i = 0; i < length_; ++i) {
      if (shareable_equal(v, read(i)))
        return i;
    }
    pyconc::detail::raise<ValueError>(pyconc::repr(v) + " not in this container");
  }

  /** Python: `shm`: the segment. */
  [[nodiscard]] const SharedMemory& shm() const noexcept { return *shm_; }
  /** Python: `format`: the `struct` formats of all slots, joined ("qdxxxxxxx?8s"). */
  [[nodiscard]] std::string format() const {
    std::string out;
    for (std::size_t i = 0; i < length_; ++i)
      out += format_of(i);
    return out;
  }

  /** The values, in order (Python's `list(sl)`). */
  [[nodiscard]] std::vector<ShareableValue> list() const {
    std::vector<ShareableValue> out;
    out.reserve(length_);
    for (std::size_t i = 0; i < length_; ++i)
      out.push_back(read(i));
    return out;
  }

  /** Python's `repr()`: `ShareableList([1, 'a', None], name='psm_1a2b3c4d')`. */
  [[nodiscard]] std::string repr() const {
    return "ShareableList(" + pyconc::repr(list()) + ", name=" + pyconc::detail::string_repr(shm_->name()) + ")";
  }
  friend std::ostream& operator<<(std::ostream& os, const ShareableList& s) { return os << s.repr(); }

  /** Iterates the values (each read when reached), as Python's `for v in sl`. */
  class iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = ShareableValue;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    iterator(const ShareableList* list, std::size_t i) : list_(list), i_(i) {}
    ShareableValue operator*() const { return list_->read(i_); }
    iterator& operator++() {
      ++i_;
      return *this;
    }
    iterator operator++(int) {
      iterator old = *this;
      ++i_;
      return old;
    }
    friend bool operator==(const iterator& a, const iterator& b) noexcept { return a.i_ == b.i_; }

   private:
    const ShareableList* list_ = nullptr;
    std::size_t i_ = 0;
  };
  [[nodiscard]] iterator begin() const { return iterator(this, 0); }
  [[nodiscard]] iterator end() const { return iterator(this, length_); }

 private:
  friend struct pyconc::detail::PickleCodec<ShareableList>;

  /** The list in a segment already attached (what unpickling makes). */
  explicit ShareableList(SharedMemory shm) { attach(std::move(shm)); }

  // Offsets, as CPython's properties.
  [[nodiscard]] std::size_t data_start() const noexcept { return (length_ + 2) * 8; }
  [[nodiscard]] std::size_t formats_start() const noexcept { return data_start() + offsets_.back(); }
  [[nodiscard]] std::size_t codes_start() const noexcept { return formats_start() + length_ * 8; }

  /** `n` bytes of the segment at `at`, checked against its size and its state. */
  [[nodiscard]] std::byte* bytes(std::size_t at, std::size_t n) const {
    const std::span<std::byte> b = shm_->buf();
    if (b.empty())
      pyconc::detail::raise<TypeError>("a bytes-like object is required, not 'NoneType'");
    if (at > b.size() || n > b.size() - at)
      pyconc::detail::raise<ValueError>("the shared memory is too small for this ShareableList");
    return b.data() + at;
  }

  [[nodiscard]] std::size_t normalize(long long position, const char* message) const {
    const auto n = static_cast<long long>(length_);
    if (position < 0)
      position += n;
    if (position < 0 || position >= n)
      pyconc::detail::raise<IndexError>(message);
    return static_cast<std::size_t>(position);
  }

  void create(std::vector<ShareableValue> values, std::optional<std::string> name) {
    namespace d = pyconc::detail;
    std::vector<d::SlItem> items;
    items.reserve(values.size());
    for (const auto& v : values)
      items.push_back(d::sl_item_for(v));
    length_ = values.size();
    offsets_.assign(1, 0);
    for (const auto& item : items)
      offsets_.push_back(offsets_.back() + item.size);
    const std::size_t requested = 8 + 8 * (length_ + 1) + offsets_.back() + 8 * length_ + length_;
    shm_.emplace(
        SharedMemoryOptions{.name = std::move(name), .create = true, .size = static_cast<long long>(requested)});
    const auto n = static_cast<std::int64_t>(length_);
    std::memcpy(bytes(0, 8), &n, 8);
    for (std::size_t i = 0; i <= length_; ++i) {
      const auto o = static_cast<std::int64_t>(offsets_[i]);
      std::memcpy(bytes(8 + 8 * i, 8), &o, 8);
    }
    for (std::size_t i = 0; i < length_; ++i)
      store(i, items[i].format, items[i].code, values[i]);
  }

  void attach(SharedMemory shm) {
    shm_.emplace(std::move(shm));
    const std::size_t size = shm_->size();
    std::int64_t n = 0;
    std::memcpy(&n, bytes(0, 8), 8);
    if (n < 0 || static_cast<std::uint64_t>(n) > size / 17)
      pyconc::detail::raise<ValueError>("the shared memory does not hold a ShareableList");
    length_ = static_cast<std::size_t>(n);
    offsets_.resize(length_ + 1);
    for (std::size_t i = 0; i <= length_; ++i) {
      std::int64_t o = 0;
      std::memcpy(&o, bytes(8 + 8 * i, 8), 8);
      if (o < 0 || static_cast<std::uint64_t>(o) > size || (i > 0 && static_cast<std::size_t>(o) < offsets_[i - 1]))
        pyconc::detail::raise<ValueError>("the shared memory does not hold a ShareableList");
      offsets_[i] = static_cast<std::size_t>(o);
    }
    static_cast<void>(bytes(codes_start(), length_));  // the whole layout fits the segment
  }

  [[nodiscard]] std::string format_of(std::size_t i) const {
    const auto* f = reinterpret_cast<const char*>(bytes(formats_start() + 8 * i, 8));
    std::size_t n = 8;
    while (n > 0 && f[n - 1] == '\0')
      --n;
    return std::string(f, n);
  }

  [[nodiscard]] pyconc::detail::SlCode code_of(std::size_t i) const {
    return static_cast<pyconc::detail::SlCode>(*bytes(codes_start() + i, 1));
  }

  [[nodiscard]] ShareableValue read(std::size_t i) const {
    namespace d = pyconc::detail;
    const std::string format = format_of(i);
    const d::SlCode code = code_of(i);
    const std::size_t at = data_start() + offsets_[i];
    if (code == d::SlCode::none) {
      static_cast<void>(bytes(at, 8));
      return nullptr;
    }
    if (const std::size_t n = d::sl_text_size(format); n > 0) {
      const auto* p = reinterpret_cast<const char*>(bytes(at, n));
      std::size_t length = n;
      if (code == d::SlCode::str || code == d::SlCode::bytes) {
        while (length > 0 && p[length - 1] == '\0')  // CPython: value.rstrip(b'\x00')
          --length;
      }
      std::string text(p, length);
      if (code == d::SlCode::str)
        return text;
      return Bytes(std::move(text));
    }
    if (code == d::SlCode::plain) {
      const std::byte* p = bytes(at, 8);
      if (format == d::sl_int) {
        std::int64_t v = 0;
        std::memcpy(&v, p, 8);
        return v;
      }
      if (format == d::sl_float) {
        double v = 0;
        std::memcpy(&v, p, 8);
        return v;
      }
      if (format == d::sl_bool)
        return p[7] != std::byte{0};
      if (format == d::sl_none)
        return p[6] != std::byte{0};
    }
    pyconc::detail::raise<ValueError>("unsupported ShareableList slot format " + d::string_repr(format));
  }

  /** Writes a slot's format, code and value (CPython's `_set_packing_format_and_transform` and `pack_into`). */
  void store(std::size_t i, const std::string& format, pyconc::detail::SlCode code, const ShareableValue& v) const {
    namespace d = pyconc::detail;
    std::byte* f = bytes(formats_start() + 8 * i, 8);
    std::memset(f, 0, 8);
    std::memcpy(f, format.data(), format.size());
    *bytes(codes_start() + i, 1) = static_cast<std::byte>(code);
    const std::size_t at = data_start() + offsets_[i];
    const std::size_t text = d::sl_text_size(format);
    std::byte* p = bytes(at, text > 0 ? text : 8);
    std::memset(p, 0, text > 0 ? text : 8);
    if (const auto* x = std::get_if<std::int64_t>(&v)) {
      std::memcpy(p, x, 8);
    } else if (const auto* y = std::get_if<double>(&v)) {
      std::memcpy(p, y, 8);
    } else if (const auto* b = std::get_if<bool>(&v)) {
      p[7] = std::byte{static_cast<unsigned char>(*b ? 1 : 0)};
    } else if (const auto* s = std::get_if<std::string>(&v)) {
      std::memcpy(p, s->data(), std::min(s->size(), text));
    } else if (const auto* r = std::get_if<Bytes>(&v)) {
      std::memcpy(p, r->data.data(), std::min(r->data.size(), text));
    }
  }

  void write(std::size_t i, const ShareableValue& v) const {
    namespace d = pyconc::detail;
    const std::string current = format_of(i);
    const bool text = std::holds_alternative<std::string>(v) || std::holds_alternative<Bytes>(v);
    if (!text) {
      const d::SlItem item = d::sl_item_for(v);
      store(i, item.format, item.code, v);
      return;
    }
    const std::size_t allocated = offsets_[i + 1] - offsets_[i];
    const std::size_t length =
        std::holds_alternative<std::string>(v) ? std::get<std::string>(v).size() : std::get<Bytes>(v).size();
    if (length > allocated)
      d::raise<ValueError>("bytes/str item exceeds available storage");
    const std::string format = !current.empty() && current.back() == 's' ? current : std::to_string(allocated) + "s";
    store(i, format, std::holds_alternative<std::string>(v) ? d::SlCode::str : d::SlCode::bytes, v);
  }

  std::optional<SharedMemory> shm_;  // set by every constructor
  std::size_t length_ = 0;
  std::vector<std::size_t> offsets_{0};
};

}  // namespace shared_memory
}  // namespace multiprocessing

namespace detail {

/**
A `SharedMemory` pickles as its name and size (CPython's `__reduce__`: the receiver attaches
by name) and its `track` flag. As an argument of a process being started by spawn or the
forkserver, a tracked segment also carries the resource tracker's descriptor, so the child
shares its parent's tracker.
*/
template <>
struct PickleCodec<multiprocessing::shared_memory::SharedMemory> {
  static constexpr bool supported = true;
  static constexpr std::size_t min_size() { return 8 + 8 + 1 + 4; }
  static std::string describe() { return "SharedMemory"; }
  static void dump(PickleWriter& w, const multiprocessing::shared_memory::SharedMemory& shm) {
    w.string(shm.name());
    w.integer(static_cast<std::uint64_t>(shm.size()));
    w.flag(shm.track());
    std::int32_t tracker = -1;
    if (std::vector<int>* collect = inherited_fds().collect; collect != nullptr && shm.track()) {
      collect->push_back(multiprocessing::resource_tracker::getfd());
      tracker = static_cast<std::int32_t>(collect->size() - 1);
    }
    w.integer(tracker);
  }
  static multiprocessing::shared_memory::SharedMemory load(PickleReader& r) {
    std::string name = r.string();
    const auto size = r.integer<std::uint64_t>();
    const bool track = r.flag("SharedMemory track");
    const auto tracker = r.integer<std::int32_t>();
    if (std::vector<int>* table = inherited_fds().table; tracker >= 0 && table != nullptr &&
                                                         static_cast<std::size_t>(tracker) < table->size() &&
                                                         (*table)[static_cast<std::size_t>(tracker)] >= 0) {
      adopt_resource_tracker(std::exchange((*table)[static_cast<std::size_t>(tracker)], -1));
    }
    return multiprocessing::shared_memory::SharedMemory(multiprocessing::shared_memory::SharedMemoryOptions{
        .name = std::move(name), .create = false, .size = static_cast<long long>(size), .track = track});
  }
};

/** A `ShareableList` pickles as its segment (CPython's `__reduce__`: attach by name). */
template <>
struct PickleCodec<multiprocessing::shared_memory::ShareableList> {
  using Shm = PickleCodec<multiprocessing::shared_memory::SharedMemory>;
  static constexpr bool supported = true;
  static constexpr std::size_t min_size() { return Shm::min_size(); }
  static std::string describe() { return "ShareableList"; }
  static void dump(PickleWriter& w, const multiprocessing::shared_memory::ShareableList& sl) { Shm::dump(w, sl.shm()); }
  static multiprocessing::shared_memory::ShareableList load(PickleReader& r) {
    return multiprocessing::shared_memory::ShareableList(Shm::load(r));
  }
};

}  // namespace detail
}  // namespace v0
}  // namespace pyconc

#endif  // PYCONC_MULTIPROCESSING_SHARED_MEMORY_HPP_INCLUDED
