// SPDX-License-Identifier: MIT
/**
`pyconc/errors.hpp` — Python's exception names for C++.

Defines:
- `pyconc::Error`           base of every exception pyconc raises (`std::exception`).
- `pyconc::RuntimeError`, `ValueError`, `TypeError`, `OverflowError`, `AssertionError`,
  `TimeoutError`, `SystemExit` — Python's built-in exceptions of the same names.
- `pyconc::detail::raise<E>(message)` — the single place pyconc throws from.

`what()` returns exactly the text CPython puts in the exception (`str(exc)`), often empty;
`type_name()` returns Python's class name, as used in tracebacks (`"ValueError"`).
*/
#ifndef PYCONC_ERRORS_HPP_INCLUDED
#define PYCONC_ERRORS_HPP_INCLUDED

#include <exception>  // std::exception
#include <string>     // std::string
#include <utility>    // std::move

namespace pyconc {
inline namespace v0 {

/**
Python: `Exception`. The base of every exception pyconc raises.

`what()` is CPython's message for the same misuse, character for character (it may be empty,
as `str(queue.Empty())` is). `type_name()` is the Python class name, for reports.
*/
class Error : public std::exception {
 public:
  explicit Error(std::string message = {}) : message_(std::move(message)) {}
  [[nodiscard]] const char* what() const noexcept override { return message_.c_str(); }
  /** Python's name for the exception class, e.g. `"RuntimeError"`. */
  [[nodiscard]] virtual const char* type_name() const noexcept { return "Exception"; }

 private:
  std::string message_;
};

// Declares `class Name : public Base` whose `type_name()` is `PyName`.
#define PYCONC_DEFINE_ERROR(Name, Base, PyName)                                      \
  class Name : public Base {                                                         \
   public:                                                                           \
    using Base::Base;                                                                \
    [[nodiscard]] const char* type_name() const noexcept override { return PyName; } \
  }

/** Python: `RuntimeError`. Also `threading.ThreadError`. */
PYCONC_DEFINE_ERROR(RuntimeError, Error, "RuntimeError");
/** Python: `ValueError`. */
PYCONC_DEFINE_ERROR(ValueError, Error, "ValueError");
/** Python: `TypeError`. */
PYCONC_DEFINE_ERROR(TypeError, Error, "TypeError");
/** Python: `OverflowError`. */
PYCONC_DEFINE_ERROR(OverflowError, Error, "OverflowError");
/**
Python: `AssertionError`. Raised where CPython uses an `assert` statement; unlike Python's,
it does not disappear in optimised builds.
*/
PYCONC_DEFINE_ERROR(AssertionError, Error, "AssertionError");
/** Python: builtin `TimeoutError` (which `concurrent.futures.TimeoutError` is, since 3.11). */
PYCONC_DEFINE_ERROR(TimeoutError, Error, "TimeoutError");

/**
Python: `SystemExit`. Throw it from a thread's target to end the thread quietly: the default
`threading::excepthook` ignores it, as CPython's does.
*/
class SystemExit : public Error {
 public:
  explicit SystemExit(int code = 0) : Error(code == 0 ? "" : std::to_string(code)), code_(code) {}
  [[nodiscard]] const char* type_name() const noexcept override { return "SystemExit"; }
  /** The exit status given to the constructor. */
  [[nodiscard]] int code() const noexcept { return code_; }

 private:
  int code_;
};

namespace detail {

/** Throws `E(message)`. Every exception pyconc raises goes through here. */
template <class E>
[[noreturn]] inline void raise(std::string message = {}) {
  throw E(std::move(message));
}

}  // namespace detail
}  // namespace v0
}  // namespace pyconc

#endif  // PYCONC_ERRORS_HPP_INCLUDED
