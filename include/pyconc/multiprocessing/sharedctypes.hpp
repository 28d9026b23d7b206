// SPDX-License-Identifier: MIT
/**
`pyconc/multiprocessing/sharedctypes.hpp` — Python's `multiprocessing.Value`, `Array`,
`RawValue` and `RawArray`: plain data in memory shared between processes.

Defines (namespace `pyconc::multiprocessing`):
- `Value<T>`, `Array<T>`         with a lock (by default a new `RLock`) that every access takes.
- `RawValue<T>`, `RawArray<T>`   without one.
- `SharedOptions`                `{.lock = true | false | a Lock | an RLock}`.

`T` is any trivially copyable type without pointers: the C types of Python's typecodes
(`'i'` is `int`, `'d'` is `double`, `'c'` is `char`, ...) and structs of them. A typecode
that does not exist cannot be written: the type does not compile. Memory is zero-filled.

As in CPython, each access takes the lock on its own, so `v.value(v.value() + 1)` is *not*
atomic: hold the lock around the pair (`std::lock_guard with(v.get_lock());`, Python's
`with v.get_lock():`). The lock is recursive (an `RLock`) unless another was given, so
accesses inside such a block take it again without deadlock.

Like the locks, these reach children only as `Process` arguments (fork, spawn, forkserver).

Differs from Python: `value()` / `value(x)` for the `.value` attribute; `a[i]` reads and
`a[i] = x` writes through a proxy (or `a.get(i)`, `a.set(i, x)`); slices are
`a.slice(start, stop[, step])` (copied out, as Python's list) and `a.assign(start, stop,
items)`; with `{.lock = false}` the object stays a `Value` whose `get_lock()` raises
`AttributeError`, where Python returns the bare ctypes object.
*/
#ifndef PYCONC_MULTIPROCESSING_SHAREDCTYPES_HPP_INCLUDED
#define PYCONC_MULTIPROCESSING_SHAREDCTYPES_HPP_INCLUDED

#include <cstddef>           // std::size_t
#include <cstdint>           // std::uint64_t
#include <cstdio>            // std::snprintf
#include <cstring>           // std::memcpy
#include <functional>        // std::function
#include <initializer_list>  // std::initializer_list
#include <mutex>             // std::lock_guard
#include <optional>          // std::optional
#include <ostream>           // std::ostream
#include <string>            // std::string
#include <type_traits>       // std::is_trivially_copyable_v
#include <typeinfo>          // typeid
#include <utility>           // std::pair, std::move
#include <variant>           // std::variant
#include <vector>            // std::vector

#include <pyconc/builtins.hpp>
#include <pyconc/detail/exception_text.hpp>
#include <pyconc/errors.hpp>
#include <pyconc/multiprocessing/heap.hpp>
#include <pyconc/multiprocessing/synchronize.hpp>
#include <pyconc/pickle.hpp>

namespace pyconc {
inline namespace v0 {
namespace multiprocessing {

/** Python's `lock=` keyword of `Value` and `Array`: `true` (a new RLock), `false`, or a lock. */
struct SharedOptions {
  std::variant<bool, Lock, RLock> lock = true;
};

}  // namespace multiprocessing

namespace detail {

/** Types that may live in shared memory as a Value or an Array element. */
template <class T>
concept shared_ctype = std::is_trivially_copyable_v<T> && !std::is_pointer_v<T> && !std::is_member_pointer_v<T> &&
                       std::is_same_v<T, std::remove_cv_t<T>>;

/** ctypes' name of `T` (`c_int`, `c_double`); a struct's C++ name otherwise. */
template <class T>
std::string ctype_name() {
  if constexpr (std::is_same_v<T, bool>)
    return "c_bool";
  else if constexpr (std::is_same_v<T, char>)
    return "c_char";
  else if constexpr (std::is_same_v<T, wchar_t>)
    return "c_wchar";
  else if constexpr (std::is_same_v<T, float>)
    return "c_float";
  else if constexpr (std::is_same_v<T, double>)
    return "c_double";
  else if constexpr (std::is_same_v<T, long double>)
    return "c_longdouble";
  else if constexpr (std::is_integral_v<T>) {
    const char* names[] = {"c_byte", "c_short", "c_int", "c_long"};  // by size: 1, 2, 4, 8 bytes
    const int index = sizeof(T) == 1 ? 0 : sizeof(T) == 2 ? 1 : sizeof(T) == 4 ? 2 : 3;
    return std::string(std::is_signed_v<T> ? "c_" : "c_u") + (names[index] + 2);
  } else {
    return demangle(typeid(T));
  }
}

/** ctypes' `repr` of a value: `c_int(5)`, `c_double(1.5)`, `c_char(b'a')`. */
template <class T>
std::string ctype_repr(const T& value) {
  if constexpr (std::is_same_v<T, char>)
    return "c_char(" + bytes_repr(std::string(1, value)) + ")";
  else if constexpr (std::is_arithmetic_v<T>)
    return ctype_name<T>() + "(" + pyconc::repr(value) + ")";
  else
    return "<" + ctype_name<T>() + " object>";
}

/** A Value's memory: its own RLock (unused when another lock was given) and the value. */
template <class T>
struct SharedValueState {
  SharedRLockState lock;
  T value{};
};

/** An Array's memory: its own RLock, the length, then the elements (in the block's extra bytes). */
struct SharedArrayHeader {
  SharedRLockState lock;
  std::uint64_t size = 0;
};

/** How a Value or Array is locked: not at all, by its own RLock, or by a given lock. */
using SharedLocking = std::optional<multiprocessing::AnyLock>;

inline SharedLocking make_locking(const std::variant<bool, multiprocessing::Lock, multiprocessing::RLock>& option,
                                  const std::function<multiprocessing::RLock()>& own) {
  if (const bool* flag = std::get_if<bool>(&option))
    return *flag ? SharedLocking(own()) : std::nullopt;
  if (const auto* lock = std::get_if<multiprocessing::Lock>(&option))
    return SharedLocking(*lock);
  return SharedLocking(std::get<multiprocessing::RLock>(option));
}

/** `Python: get_lock()` of a Value or Array made with `lock=False`. */
[[noreturn]] inline void raise_no_lock(const std::string& ctype) {
  raise<AttributeError>("'" + ctype + "' object has no attribute 'get_lock'");
}

}  // namespace detail

namespace multiprocessing {

/**
Python: `multiprocessing.Value(typecode, value, lock=True)`. One `T` in shared memory, with a
lock (see the file comment). `value()` reads and `value(x)` writes, each under the lock.

```cpp
multiprocessing::Value<int> counter(0);
{
  std::lock_guard with(counter.get_lock());  // with counter.get_lock():
  counter.value(counter.value() + 1);        //     counter.value += 1
}
```
*/
template <class T>
class Value {
  static_assert(detail::shared_ctype<T>, "a shared Value holds a trivially copyable type without pointers");

 public:
  using pyconc_inheritance_only = void;
  using value_type = T;

  explicit Value(const T& initial = T{}, SharedOptions options = {})
      : state_(detail::Shared<detail::SharedValueState<T>>::make(0)) {
    state_->value = initial;
    locking_ = detail::make_locking(options.lock, [this] { return RLock(state_.alias(&state_->lock)); });
  }

  /** Python: `.value`. Reads under the lock. */
  [[nodiscard]] T value() const {
    if (!locking_)
      return state_->value;
    std::lock_guard with(*locking_);
    return state_->value;
  }
  /** Python: `.value = x`. Writes under the lock. */
  void value(const T& x) {
    if (!locking_) {
      state_->value = x;
      return;
    }
    std::lock_guard with(*locking_);
    state_->value = x;
  }

  /** Python: `get_lock()`. The lock every access takes (`std::lock_guard with(v.get_lock());`). */
  [[nodiscard]] AnyLock& get_lock() const {
    if (!locking_)
      detail::raise_no_lock(detail::ctype_name<T>());
    return *locking_;
  }
  /** Python: `get_obj()`. The value itself, unlocked: hold `get_lock()` while using it. */
  [[nodiscard]] T& get_obj() const noexcept { return state_->value; }

  /** Python's `repr`: `<Synchronized wrapper for c_int(5)>`, or `c_int(5)` without a lock. */
  [[nodiscard]] std::string repr() const {
    const std::string inner = detail::ctype_repr(value());
    return locking_ ? "<Synchronized wrapper for " + inner + ">" : inner;
  }
  friend std::ostream& operator<<(std::ostream& os, const Value& v) { return os << v.repr(); }

 private:
  friend struct pyconc::detail::PickleCodec<Value>;
  Value(detail::Shared<detail::SharedValueState<T>> state, detail::SharedLocking locking)
      : state_(std::move(state)), locking_(std::move(locking)) {}

  detail::Shared<detail::SharedValueState<T>> state_;
  mutable detail::SharedLocking locking_;  // locking is not a change of the value
};

/**
Python: `multiprocessing.RawValue(typecode, value)`: a `Value` without a lock. `value()` and
`value(x)` are plain loads and stores of shared memory: synchronise them yourself.
*/
template <class T>
class RawValue : public Value<T> {
 public:
  explicit RawValue(const T& initial = T{}) : Value<T>(initial, {.lock = false}) {}

 private:
  friend struct pyconc::detail::PickleCodec<RawValue>;
  explicit RawValue(Value<T> v) : Value<T>(std::move(v)) {}
};

template <class T>
class Array;

/** `a[i]`: reads (`T x = a[i]`) and writes (`a[i] = x`) one element under the lock. */
template <class T>
class ArrayItem {
 public:
  operator T() const { return array_.get(index_); }  // NOLINT: reads like Python's a[i]
  ArrayItem& operator=(const T& x) {
    array_.set(index_, x);
    return *this;
  }
  ArrayItem& operator=(const ArrayItem& other) { return *this = static_cast<T>(other); }

 private:
  friend class Array<T>;
  ArrayItem(Array<T>& array, long long index) : array_(array), index_(index) {}
  Array<T>& array_;
  long long index_;
};

/**
Python: `multiprocessing.Array(typecode, size_or_initializer, lock=True)`. A fixed number of
`T` in shared memory, zero-filled or copied from a sequence, with a lock every access takes.
Indexes as Python's (negative from the end); out of range raises `IndexError("invalid index")`.
`slice(start, stop, step)` copies elements out; `assign(start, stop, items)` writes a slice of
the same length (else `ValueError("Can only assign sequence of same size")`). For `char`,
`value()` is the bytes up to the first NUL and `raw()` all of them, as Python's `c` arrays.
*/
template <class T>
class Array {
  static_assert(detail::shared_ctype<T>, "a shared Array holds a trivially copyable type without pointers");

 public:
  using pyconc_inheritance_only = void;
  using value_type = T;

  /** `size` zero-filled elements. */
  explicit Array(std::size_t size, SharedOptions options = {}) : Array(make(size), std::move(options)) {}
  /** A copy of `items`. */
  explicit Array(const std::vector<T>& items, SharedOptions options = {}) : Array(items.size(), std::move(options)) {
    if (!items.empty())
      std::memcpy(data(), items.data(), items.size() * sizeof(T));
  }
  Array(std::initializer_list<T> items, SharedOptions options = {})
      : Array(std::vector<T>(items), std::move(options)) {}
  /** For `char`: the bytes of `text` (Python's `Array('c', b'hello')`). */
  explicit Array(const std::string& text, SharedOptions options = {}) requires std::is_same_v<T, char>
      : Array(std::vector<char>(text.begin(), text.end()), std::move(options)) {}

  /** Python: `len(a)`. */
  [[nodiscard]] std::size_t size() const noexcept { return static_cast<std::size_t>(state_->size); }

  /** Python: `a[i]`. */
  [[nodiscard]] T get(long long index) const {
    const std::size_t i = position(index);
    Hold hold(locking_);
    return data()[i];
  }
  /** Python: `a[i] = x`. */
  void set(long long index, const T& x) {
    const std::size_t i = position(index);
    Hold hold(locking_);
    data()[i] = x;
  }
  [[nodiscard]] ArrayItem<T> operator[](long long index) { return ArrayItem<T>(*this, index); }
  [[nodiscard]] T operator[](long long index) const { return get(index); }

  /** Python: `a[start:stop:step]`, copied out (clamped as Python's slices). */
  [[nodiscard]] std::vector<T> slice(std::optional<long long> start, std::optional<long long> stop,
                                     long long step = 1) const {
    if (step == 0)
      detail::raise<ValueError>("slice step cannot be zero");
    const auto idx = indices(start, stop, step);
    std::vector<T> out;
    Hold hold(locking_);
    for (long long i = idx.first; step > 0 ? i < idx.second : i > idx.second; i += step)
      out.push_back(data()[i]);
    return out;
  }
  /** Python: `a[:]`. */
  [[nodiscard]] std::vector<T> to_list() const { return slice(std::nullopt, std::nullopt); }
  /** Python: `a[start:stop] = items`; the lengths must match. */
  void assign(std::optional<long long> start, std::optional<long long> stop, const std::vector<T>& items) {
    const auto idx = indices(start, stop, 1);
    const long long length = idx.second > idx.first ? idx.second - idx.first : 0;
    if (static_cast<long long>(items.size()) != length)
      detail::raise<ValueError>("Can only assign sequence of same size");
    Hold hold(locking_);
    for (long long i = 0; i < length; ++i)
      data()[idx.first + i] = items[static_cast<std::size_t>(i)];
  }

  /** For `char` arrays, Python's `.value`: the bytes before the first NUL. */
  [[nodiscard]] std::string value() const requires std::is_same_v<T, char> {
    const std::string all = raw();
    return all.substr(0, all.find('\0'));
  }
  /** For `char` arrays, Python's `.raw`: every byte. */
  [[nodiscard]] std::string raw() const requires std::is_same_v<T, char> {
    Hold hold(locking_);
    return std::string(data(), size());
  }

  [[nodiscard]] AnyLock& get_lock() const {
    if (!locking_)
      detail::raise_no_lock(detail::ctype_name<T>() + "_Array_" + std::to_string(size()));
    return *locking_;
  }
  /** Python: `get_obj()`. The elements, unlocked: hold `get_lock()` while using them. */
  [[nodiscard]] T* get_obj() const noexcept { return data(); }

  /** Python's `repr`: `<SynchronizedArray wrapper for <multiprocessing.sharedctypes.c_double_Array_3 object at
   * 0x...>>`. */
  [[nodiscard]] std::string repr() const {
    char address[32];
    std::snprintf(address, sizeof address, "%p", static_cast<const void*>(data()));
    const std::string inner = "<multiprocessing.sharedctypes." + detail::ctype_name<T>() + "_Array_" +
                              std::to_string(size()) + " object at " + address + ">";
    if (!locking_)
      return inner;
    return std::string(std::is_same_v<T, char> ? "<SynchronizedString wrapper for "
                                               : "<SynchronizedArray wrapper for ") +
           inner + ">";
  }
  friend std::ostream& operator<<(std::ostream& os, const Array& a) { return os << a.repr(); }

 protected:
  friend struct pyconc::detail::PickleCodec<Array>;
  using State = detail::Shared<detail::SharedArrayHeader>;

  static State make(std::size_t size) {
    // The elements follow the header, aligned for T.
    State s = State::make(size * sizeof(T) + alignof(T));
    s->size = size;
    return s;
  }
  Array(State state, SharedOptions options) : state_(std::move(state)) {
    locking_ = detail::make_locking(options.lock, [this] { return RLock(state_.alias(&state_->lock)); });
  }
  Array(State state, detail::SharedLocking locking) : state_(std::move(state)), locking_(std::move(locking)) {}

 private:
  /** Holds the lock, if there is one, for one access. */
  class Hold {
   public:
    explicit Hold(detail::SharedLocking& locking) : lock_(locking ? &*locking : nullptr) {
      if (lock_ != nullptr)
        lock_->acquire();
    }
    ~Hold() {
      if (lock_ != nullptr)
        lock_->release();
    }
    Hold(const Hold&) = delete;
    Hold& operator=(const Hold&) = delete;

   private:
    AnyLock* lock_;
  };

  [[nodiscard]] T* data() const noexcept {
    auto address = reinterpret_cast<std::uintptr_t>(state_.extra());
    address = (address + alignof(T) - 1) / alignof(T) * alignof(T);
    return reinterpret_cast<T*>(address);
  }
  [[nodiscard]] std::size_t position(long long index) const {
    const auto n = static_cast<long long>(size());
    if (index < 0)
      index += n;
    if (index < 0 || index >= n)
      detail::raise<IndexError>("invalid index");
    return static_cast<std::size_t>(index);
  }
  /** Python's `slice.indices(len)`: the clamped start and stop. */
  [[nodiscard]] std::pair<long long, long long> indices(std::optional<long long> start, std::optional<long long> stop,
                                                        long long step) const {
    const auto n = static_cast<long long>(size());
    const auto clamp = [&](std::optional<long long> v, long long fallback) {
      if (!v)
        return fallback;
      long long x = *v < 0 ? *v + n : *v;
      if (step > 0)
        return x < 0 ? 0 : (x > n ? n : x);
      return x < 0 ? -1 : (x >= n ? n - 1 : x);
    };
    return step > 0 ? std::pair{clamp(start, 0), clamp(stop, n)} : std::pair{clamp(start, n - 1), clamp(stop, -1)};
  }

  State state_;
  mutable detail::SharedLocking locking_;  // locking is not a change of the elements
};

/** Python: `multiprocessing.RawArray(typecode, size_or_initializer)`: an `Array` without a lock. */
template <class T>
class RawArray : public Array<T> {
 public:
  explicit RawArray(std::size_t size) : Array<T>(size, {.lock = false}) {}
  explicit RawArray(const std::vector<T>& items) : Array<T>(items, {.lock = false}) {}
  RawArray(std::initializer_list<T> items) : Array<T>(items, {.lock = false}) {}

 private:
  friend struct pyconc::detail::PickleCodec<RawArray>;
  explicit RawArray(Array<T> a) : Array<T>(std::move(a)) {}
};

}  // namespace multiprocessing

namespace detail {

/** How a Value's or Array's lock pickles: none, its own RLock (in the same block), or a given one. */
inline void dump_locking(PickleWriter& w, const SharedLocking& locking) {
  if (!locking) {
    w.integer<std::uint8_t>(0);
    return;
  }
  const auto& lock = locking->get();
  if (const auto* r = std::get_if<multiprocessing::RLock>(&lock)) {
    w.integer<std::uint8_t>(2);
    PickleCodec<multiprocessing::RLock>::dump(w, *r);
  } else {
    w.integer<std::uint8_t>(1);
    PickleCodec<multiprocessing::Lock>::dump(w, std::get<multiprocessing::Lock>(lock));
  }
}

inline SharedLocking load_locking(PickleReader& r) {
  switch (r.integer<std::uint8_t>()) {
    case 0:
      return std::nullopt;
    case 1:
      return SharedLocking(PickleCodec<multiprocessing::Lock>::load(r));
    case 2:
      return SharedLocking(PickleCodec<multiprocessing::RLock>::load(r));
    default:
      raise<pickle::UnpicklingError>("a shared Value's lock kind is not known");
  }
}

template <class T>
struct PickleCodec<multiprocessing::Value<T>> {
  static constexpr bool supported = true;
  static constexpr std::size_t min_size() { return 2; }
  static std::string describe() { return "Value"; }
  static void dump(PickleWriter& w, const multiprocessing::Value<T>& v) {
    dump_shared(w, v.state_, "Synchronized");
    dump_locking(w, v.locking_);
  }
  static multiprocessing::Value<T> load(PickleReader& r) {
    auto state = load_shared<SharedValueState<T>>(r, "Synchronized");
    auto locking = load_locking(r);
    return multiprocessing::Value<T>(std::move(state), std::move(locking));
  }
};

template <class T>
struct PickleCodec<multiprocessing::RawValue<T>> {
  static constexpr bool supported = true;
  static constexpr std::size_t min_size() { return 2; }
  static std::string describe() { return "RawValue"; }
  static void dump(PickleWriter& w, const multiprocessing::RawValue<T>& v) {
    PickleCodec<multiprocessing::Value<T>>::dump(w, v);
  }
  static multiprocessing::RawValue<T> load(PickleReader& r) {
    return multiprocessing::RawValue<T>(PickleCodec<multiprocessing::Value<T>>::load(r));
  }
};

template <class T>
struct PickleCodec<multiprocessing::Array<T>> {
  static constexpr bool supported = true;
  static constexpr std::size_t min_size() { return 2; }
  static std::string describe() { return "Array"; }
  static void dump(PickleWriter& w, const multiprocessing::Array<T>& a) {
    dump_shared(w, a.state_, "SynchronizedArray");
    dump_locking(w, a.locking_);
  }
  static multiprocessing::Array<T> load(PickleReader& r) {
    auto state = load_shared<SharedArrayHeader>(r, "SynchronizedArray");
    auto locking = load_locking(r);
    return multiprocessing::Array<T>(std::move(state), std::move(locking));
  }
};

template <class T>
struct PickleCodec<multiprocessing::RawArray<T>> {
  static constexpr bool supported = true;
  static constexpr std::size_t min_size() { return 2; }
  static std::string describe() { return "RawArray"; }
  static void dump(PickleWriter& w, const multiprocessing::RawArray<T>& a) {
    PickleCodec<multiprocessing::Array<T>>::dump(w, a);
  }
  static multiprocessing::RawArray<T> load(PickleReader& r) {
    return multiprocessing::RawArray<T>(PickleCodec<multiprocessing::Array<T>>::load(r));
  }
};

}  // namespace detail
}  // namespace v0
}  // namespace pyconc

#endif  // PYCONC_MULTIPROCESSING_SHAREDCTYPES_HPP_INCLUDED
