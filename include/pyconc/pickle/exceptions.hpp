// SPDX-License-Identifier: MIT
/**
`pyconc/pickle/exceptions.hpp` — exceptions across process boundaries.

Defines:
- `pickle::register_exception<E>()`, `PYCONC_PICKLE_EXCEPTION(E)`   make an exception type of
  your own come back from `loads` as itself.
- `pickle::UnpickledException<Base>`   what `loads` gives for an exception type it does not know:
  its nearest known base, with the original type's name and message.
- `detail::pickle_dump_exception`, `detail::pickle_load_exception`   the encoding of a
  `std::exception_ptr`, used by `<pyconc/pickle.hpp>`.

An exception is pickled as the type pickle knows that is nearest to its dynamic type (the
type itself when registered; else the first registered base that `dynamic_cast` finds, most
derived first), its Python name (`type_name()` for a `pyconc::Error`, the C++ name for other
exceptions), its `what()` and the state Python's constructors take: `errno`, `strerror` and
`filename` of an `OSError`, the code of a `SystemExit`, the key of a `KeyError`, the
`error_code` of a `std::system_error` (generic and system categories). pyconc's exceptions,
pickle's own and the standard library's of `<exception>`, `<new>`, `<typeinfo>`,
`<stdexcept>`, `<system_error>`, `<optional>` and `<variant>` are known from the start.

Your own type `E` comes back as an `E` once registered, at namespace scope in any one file
(or every file) of the program:

```cpp
using namespace pyconc;
PYCONC_DEFINE_ERROR(FetchError, Error, "FetchError");
PYCONC_PICKLE_EXCEPTION(FetchError);
```

`E` is rebuilt with the constructor its Python base would use: `E(errno, strerror[,
filename])` for an `OSError`, `E(key)` for a `KeyError`, `E(code)` for a `SystemExit`,
`E(error_code[, what])` for a `std::system_error`, else `E(message)`, else `E()`. Other members
are not kept. A type that is not registered comes back as an `UnpickledException<Base>`, Base
its nearest known base: `catch (const Base&)` catches it, `what()` is the original message and,
for a `pyconc::Error`, `type_name()` the original Python name (`original_type_name()` for any).
*/
#ifndef PYCONC_PICKLE_EXCEPTIONS_HPP_INCLUDED
#define PYCONC_PICKLE_EXCEPTIONS_HPP_INCLUDED

#include <algorithm>     // std::find_if
#include <charconv>      // std::from_chars
#include <cstdint>       // std::int64_t
#include <exception>     // std::exception, std::exception_ptr, std::bad_exception
#include <limits>        // std::numeric_limits
#include <mutex>         // std::lock_guard
#include <new>           // std::bad_alloc, std::bad_array_new_length
#include <optional>      // std::optional, std::bad_optional_access
#include <stdexcept>     // std::runtime_error, std::logic_error, ...
#include <string>        // std::string
#include <string_view>   // std::string_view
#include <system_error>  // std::system_error, std::error_code
#include <type_traits>   // std::is_constructible_v, std::is_base_of_v, std::is_final_v
#include <typeinfo>      // std::type_info, std::bad_cast, std::bad_typeid
#include <utility>       // std::move
#include <variant>       // std::bad_variant_access
#include <vector>        // std::vector

#include <cxxabi.h>  // abi::__cxa_current_exception_type

#include <pyconc/detail/exception_text.hpp>
#include <pyconc/detail/fork_gate.hpp>
#include <pyconc/errors.hpp>
#include <pyconc/pickle/format.hpp>

namespace pyconc {
inline namespace v0 {
namespace detail {

/** The name of the type an exception object had before it was pickled (see `UnpickledException`). */
class PickleOriginalName {
 public:
  [[nodiscard]] virtual const std::string& original_type_name() const noexcept = 0;

 protected:
  PickleOriginalName() = default;
  PickleOriginalName(const PickleOriginalName&) = default;
  PickleOriginalName& operator=(const PickleOriginalName&) = default;
  ~PickleOriginalName() = default;
};

/** The part of `pickle::UnpickledException` that does not depend on whether it is a `pyconc::Error`. */
template <class Base>
class PickleUnpickled : public Base, public PickleOriginalName {
 public:
  PickleUnpickled(Base base, std::string type_name, std::string message)
      : Base(std::move(base)), type_name_(std::move(type_name)), message_(std::move(message)) {}

  [[nodiscard]] const char* what() const noexcept override { return message_.c_str(); }
  [[nodiscard]] const std::string& original_type_name() const noexcept override { return type_name_; }

 private:
  std::string type_name_;
  std::string message_;
};

}  // namespace detail

namespace pickle {

/**
What `loads` gives for an exception of a type it does not know: an exception of its nearest
known base `Base` (its state, such as an `OSError`'s `errno`, kept), whose `what()` is the
original message and whose `original_type_name()` is the original type's Python name.
*/
template <class Base>
class UnpickledException final : public detail::PickleUnpickled<Base> {
 public:
  using detail::PickleUnpickled<Base>::PickleUnpickled;
};

/** For a `pyconc::Error` base, `type_name()` is the original type's Python name too. */
template <class Base>
requires std::is_base_of_v<Error, Base>
class UnpickledException<Base> final : public detail::PickleUnpickled<Base> {
 public:
  using detail::PickleUnpickled<Base>::PickleUnpickled;
  [[nodiscard]] const char* type_name() const noexcept override { return this->original_type_name().c_str(); }
};

}  // namespace pickle

namespace detail {

/** An exception as pickled. */
struct PickledException {
  std::string key;                     // which known type rebuilds it: that type's mangled name
  std::string name;                    // the Python name of the original type
  std::string message;                 // what()
  bool exact = false;                  // the original's type is the known type itself
  std::optional<std::int64_t> number;  // errno, exit code, error_code value
  std::optional<std::string> text;     // strerror, KeyError's key, error category
  std::optional<std::string> filename;
};

/** `E` rebuilt from `data` (without the original's name: see `pickle_restore_exception`). */
template <class E>
E pickle_build_exception(const PickledException& data) {
  if constexpr (std::is_base_of_v<KeyError, E> && std::is_constructible_v<E, std::string_view> &&
                std::is_default_constructible_v<E>) {
    if (data.text) {
      const std::string& key = *data.text;
      if (data.message == string_repr(key))
        return E(std::string_view(key));
      long long number = 0;
      const auto [end, error] = std::from_chars(key.data(), key.data() + key.size(), number);
      if (error == std::errc() && end == key.data() + key.size() && data.message == key &&
          std::to_string(number) == key) {
        if constexpr (std::is_constructible_v<E, long long>)
          return E(number);
      }
    }
    return E();
  } else if constexpr (std::is_base_of_v<OSError, E> && std::is_constructible_v<E, int, std::string> &&
                       std::is_constructible_v<E, int, std::string, std::string> &&
                       std::is_constructible_v<E, std::string>) {
    if (data.number && data.text) {
      if (*data.number < std::numeric_limits<int>::min() || *data.number > std::numeric_limits<int>::max())
        raise<pickle::UnpicklingError>(
            pickle_join({"invalid errno ", std::to_string(*data.number), " in pickle data"}));
      const int error_number = static_cast<int>(*data.number);
      if (data.filename)
        return E(error_number, *data.text, *data.filename);
      return E(error_number, *data.text);
    }
    return E(data.message);
  } else if constexpr (std::is_base_of_v<SystemExit, E> && std::is_constructible_v<E, int>) {
    const std::int64_t code = data.number.value_or(0);
    if (code < std::numeric_limits<int>::min() || code > std::numeric_limits<int>::max())
      raise<pickle::UnpicklingError>(pickle_join({"invalid exit code ", std::to_string(code), " in pickle data"}));
    return E(static_cast<int>(code));
  } else if constexpr (std::is_base_of_v<std::system_error, E> && std::is_constructible_v<E, std::error_code> &&
                       std::is_constructible_v<E, std::error_code, std::string>) {
    const std::int64_t value = data.number.value_or(0);
    if (value < std::numeric_limits<int>::min() || value > std::numeric_limits<int>::max())
      raise<pickle::UnpicklingError>(pickle_join({"invalid error code ", std::to_string(value), " in pickle data"}));
    const std::error_category& category =
        data.text && *data.text == std::system_category().name() ? std::system_category() : std::generic_category();
    const std::error_code code(static_cast<int>(value), category);
    // what() is "<what_arg>: <message>", or "<message>" alone without a what_arg (libstdc++).
    const std::string text = code.message();
    if (data.message == text)
      return E(code);
    const std::string suffix = pickle_join({": ", text});
    if (data.message.size() >= suffix.size() && data.message.ends_with(suffix))
      return E(code, data.message.substr(0, data.message.size() - suffix.size()));
    return E(code, data.message);
  } else if constexpr (std::is_constructible_v<E, std::string>) {
    return E(data.message);
  } else if constexpr (std::is_constructible_v<E, const char*>) {
    return E(data.message.c_str());
  } else {
    static_assert(std::is_default_constructible_v<E>,
                  "pyconc::pickle::register_exception<E>: E needs a constructor taking its message "
                  "(std::string or const char*), or a default constructor");
    return E();
  }
}

/** The state of `e`, an `E`, that `pickle_build_exception<E>` needs. */
template <class E>
void pickle_save_exception(const std::exception& e, PickledException& data) {
  const auto& object = dynamic_cast<const E&>(e);
  if constexpr (std::is_base_of_v<KeyError, E>) {
    data.text = object.key();
  } else if constexpr (std::is_base_of_v<OSError, E>) {
    if (const auto error_number = object.errno_())
      data.number = *error_number;
    data.text = object.strerror();
    data.filename = object.filename();
  } else if constexpr (std::is_base_of_v<SystemExit, E>) {
    data.number = object.code();
  } else if constexpr (std::is_base_of_v<std::system_error, E>) {
    data.number = object.code().value();
    data.text = object.code().category().name();
  } else {
    static_cast<void>(object);
  }
}

/** The exception `data` describes, as an `E` or an `UnpickledException<E>`. */
template <class E>
std::exception_ptr pickle_restore_exception(const PickledException& data) {
  E object = pickle_build_exception<E>(data);
  if constexpr (std::is_final_v<E>) {
    return std::make_exception_ptr(std::move(object));
  } else {
    if (data.exact && std::string_view(object.what()) == data.message)
      return std::make_exception_ptr(std::move(object));
    return std::make_exception_ptr(pickle::UnpickledException<E>(std::move(object), data.name, data.message));
  }
}

/** One exception type that pickle knows. */
struct PickleExceptionType {
  const std::type_info* type;
  bool (*is_instance)(const std::exception&) noexcept;
  void (*throw_pointer)();                     // throws a null E*
  bool (*catches_pointer)(void (*thrower)());  // whether `catch (E*)` catches what thrower throws
  void (*save)(const std::exception&, PickledException&);
  std::exception_ptr (*restore)(const PickledException&);
};

template <class E>
PickleExceptionType pickle_exception_type() {
  static_assert(std::is_base_of_v<std::exception, E>,
                "pyconc::pickle: an exception type must derive from std::exception");
  return {
      &typeid(E),
      [](const std::exception& e) noexcept {
        if constexpr (std::is_same_v<E, std::exception>)
          return true;
        else
          return dynamic_cast<const E*>(&e) != nullptr;
      },
      [] { throw static_cast<E*>(nullptr); },
      [](void (*thrower)()) {
        try {
          thrower();
        } catch (E*) {
          return true;
        } catch (...) {
        }
        return false;
      },
      &pickle_save_exception<E>,
      &pickle_restore_exception<E>,
  };
}

/**
The exception types pickle knows, most derived first: a type comes before all of its bases,
so the first entry an exception is an instance of is its nearest known type.
*/
class PickleExceptionRegistry {
 public:
  static PickleExceptionRegistry& instance() {
    static PickleExceptionRegistry registry;
    return registry;
  }

  /** Adds `E` before the first of its bases (once). */
  template <class E>
  void add() {
    const PickleExceptionType entry = pickle_exception_type<E>();
    const std::lock_guard hold(lock_);
    for (const auto& known : types_)
      if (*known.type == typeid(E))
        return;
    auto at = std::find_if(types_.begin(), types_.end(), [&](const PickleExceptionType& known) {
      return known.catches_pointer(entry.throw_pointer);
    });
    types_.insert(at, entry);
  }

  /** The entry for `e`'s type, else for its nearest known base; never none (std::exception is known). */
  PickleExceptionType nearest(const std::exception& e, bool& exact) {
    const std::lock_guard hold(lock_);
    for (const auto& known : types_)
      if (*known.type == typeid(e)) {
        exact = true;
        return known;
      }
    exact = false;
    for (const auto& known : types_)
      if (known.is_instance(e))
        return known;
    return types_.back();  // std::exception
  }

  /** The entry whose key is `key`, if any. */
  std::optional<PickleExceptionType> find(std::string_view key) {
    const std::lock_guard hold(lock_);
    for (const auto& known : types_)
      if (key == known.type->name())
        return known;
    return std::nullopt;
  }

  /** The entry for std::exception, for thrown objects that are not exceptions. */
  PickleExceptionType root() {
    const std::lock_guard hold(lock_);
    return types_.back();
  }

 private:
  template <class... Es>
  void append() {
    (types_.push_back(pickle_exception_type<Es>()), ...);
  }

  PickleExceptionRegistry() {
    // Most derived first, by hand: each type precedes its bases.
    append<pickle::UnpicklingError, pickle::PicklingError, pickle::PickleError>();
    append<BrokenPipeError, ConnectionAbortedError, ConnectionRefusedError, ConnectionResetError, ConnectionError,
           FileNotFoundError, FileExistsError, IsADirectoryError, NotADirectoryError, PermissionError, InterruptedError,
           BlockingIOError, ChildProcessError, ProcessLookupError, TimeoutError, OSError>();
    append<NotImplementedError, RuntimeError, ValueError, TypeError, AttributeError, EOFError, OverflowError,
           ZeroDivisionError, ArithmeticError, AssertionError, KeyError, IndexError, LookupError, StopIteration,
           SystemExit, Error>();
    append<std::bad_array_new_length, std::bad_alloc, std::bad_cast, std::bad_typeid, std::bad_exception,
           std::bad_optional_access, std::bad_variant_access>();
    append<std::invalid_argument, std::domain_error, std::length_error, std::out_of_range, std::logic_error>();
    append<std::range_error, std::overflow_error, std::underflow_error, std::system_error, std::runtime_error>();
    append<std::exception>();
  }

  InternalLock lock_;  // never held across fork(): a child can pickle exceptions
  std::vector<PickleExceptionType> types_;
};

/** Python's name for `e`'s type: `type_name()` of a `pyconc::Error`, else the C++ name. */
inline std::string pickle_exception_name(const std::exception& e) {
  if (const auto* unpickled = dynamic_cast<const PickleOriginalName*>(&e))
    return unpickled->original_type_name();
  if (const auto* error = dynamic_cast<const Error*>(&e))
    return error->type_name();
  return demangle(typeid(e));
}

inline void pickle_write_optional(PickleWriter& w, const std::optional<std::string>& text) {
  w.flag(text.has_value());
  if (text)
    w.string(*text);
}

inline std::optional<std::string> pickle_read_optional(PickleReader& r) {
  if (!r.flag("optional"))
    return std::nullopt;
  return r.string();
}

/**
Writes `error`: a flag (0 for an empty `exception_ptr`), then the known type's key, the
original's Python name, its message, whether the type was the known type itself, and the
optional number, text and file name.
*/
inline void pickle_dump_exception(PickleWriter& w, const std::exception_ptr& error) {
  w.flag(static_cast<bool>(error));
  if (!error)
    return;
  PickledException data;
  auto& registry = PickleExceptionRegistry::instance();
  PickleExceptionType type{};
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    type = registry.nearest(e, data.exact);
    data.name = pickle_exception_name(e);
    data.message = e.what();
    type.save(e, data);
  } catch (...) {
    // Not a std::exception (`throw 42;`): it comes back as a std::exception named after it.
    type = registry.root();
    const std::type_info* thrown = abi::__cxa_current_exception_type();
    data.name = thrown != nullptr ? demangle(*thrown) : "unknown exception";
  }
  data.key = type.type->name();
  w.string(data.key);
  w.string(data.name);
  w.string(data.message);
  w.flag(data.exact);
  w.flag(data.number.has_value());
  if (data.number)
    w.integer<std::int64_t>(*data.number);
  pickle_write_optional(w, data.text);
  pickle_write_optional(w, data.filename);
}

inline std::exception_ptr pickle_load_exception(PickleReader& r) {
  if (!r.flag("exception_ptr"))
    return nullptr;
  PickledException data;
  data.key = r.string();
  data.name = r.string();
  data.message = r.string();
  data.exact = r.flag("exception kind");
  if (r.flag("optional"))
    data.number = r.integer<std::int64_t>();
  data.text = pickle_read_optional(r);
  data.filename = pickle_read_optional(r);
  const auto type = PickleExceptionRegistry::instance().find(data.key);
  if (!type)
    raise<pickle::UnpicklingError>(pickle_join({"unknown exception type in pickle data: ", string_repr(data.key),
                                                " (register it with PYCONC_PICKLE_EXCEPTION)"}));
  try {
    return type->restore(data);
  } catch (const pickle::UnpicklingError&) {
    throw;
  } catch (const std::exception& e) {
    raise<pickle::UnpicklingError>(pickle_join({"cannot rebuild the pickled ", data.name, ": ", e.what()}));
  }
}

}  // namespace detail

namespace pickle {

/**
Makes `E`, an exception type of your own, come back from `loads` as an `E` (not as its
nearest known base). Idempotent and thread-safe; `PYCONC_PICKLE_EXCEPTION(E)` calls it before
`main`. Returns `true`.
*/
template <class E>
bool register_exception() {
  detail::PickleExceptionRegistry::instance().add<E>();
  return true;
}

}  // namespace pickle
}  // namespace v0
}  // namespace pyconc

#define PYCONC_PICKLE_DETAIL_CAT2(a, b) a##b
#define PYCONC_PICKLE_DETAIL_CAT(a, b) PYCONC_PICKLE_DETAIL_CAT2(a, b)

/**
`PYCONC_PICKLE_EXCEPTION(E);` at namespace scope: registers the exception type `E` with pickle
before `main` (see `pickle::register_exception`).
*/
#define PYCONC_PICKLE_EXCEPTION(E)                                                                  \
  [[maybe_unused]] static const bool PYCONC_PICKLE_DETAIL_CAT(pyconc_pickle_exception_, __LINE__) = \
      ::pyconc::pickle::register_exception<E>()

#endif  // PYCONC_PICKLE_EXCEPTIONS_HPP_INCLUDED
