// SPDX-License-Identifier: MIT
/**
`pyconc/detail/exception_text.hpp` — exceptions as Python prints them.

Defines:
- `detail::demangle`, `detail::class_name`   C++ type names for reports and `repr()`.
- `detail::exception_type_name`, `detail::exception_message`   Python's `type(e).__name__` and
                                             `str(e)` of a held exception.
- `detail::format_exception_only`, `detail::report_exception`, `detail::write_stderr`
                                             the last line of a Python traceback, on stderr.
*/
#ifndef PYCONC_DETAIL_EXCEPTION_TEXT_HPP_INCLUDED
#define PYCONC_DETAIL_EXCEPTION_TEXT_HPP_INCLUDED

#include <cstdio>     // std::fwrite, std::fflush, stderr
#include <cstdlib>    // std::free
#include <exception>  // std::exception_ptr, std::rethrow_exception
#include <string>     // std::string
#include <typeinfo>   // std::type_info, typeid

#include <cxxabi.h>  // abi::__cxa_demangle

#include <pyconc/errors.hpp>

namespace pyconc {
inline namespace v0 {
namespace detail {

/** A type's name as written in C++, e.g. "std::runtime_error". */
inline std::string demangle(const std::type_info& type) {
  int status = 0;
  char* demangled = abi::__cxa_demangle(type.name(), nullptr, nullptr, &status);
  std::string name = status == 0 && demangled ? demangled : type.name();
  std::free(demangled);
  return name;
}

/** A class's unqualified name, e.g. "Timer" for `pyconc::v0::threading::Timer`. */
inline std::string class_name(const std::type_info& type) {
  std::string name = demangle(type);
  if (const auto colon = name.rfind("::"); colon != std::string::npos)
    name.erase(0, colon + 2);
  return name;
}

/** Python's name for the exception in flight inside a `catch (...)`. */
inline std::string exception_type_name(const std::exception_ptr& ep) {
  try {
    std::rethrow_exception(ep);
  } catch (const Error& e) {
    return e.type_name();
  } catch (const std::exception& e) {
    return demangle(typeid(e));  // qualified: "std::runtime_error"
  } catch (...) {
    return "unknown exception";
  }
}

/** Python's `str(exception)`: the held exception's `what()`, or empty when it is not a `std::exception`. */
inline std::string exception_message(const std::exception_ptr& ep) {
  try {
    if (ep)
      std::rethrow_exception(ep);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
  }
  return {};
}

/** Writes `text` to stderr at once (stderr may be a pipe shared with other processes). */
inline void write_stderr(const std::string& text) noexcept {
  std::fwrite(text.data(), 1, text.size(), stderr);
  std::fflush(stderr);
}

// "ValueError: message", or just "ValueError" when the message is empty (as Python prints).
inline std::string format_exception_only(const std::string& type, const std::string& message) {
  return message.empty() ? type + "\n" : type + ": " + message + "\n";
}

/**
Writes `header` and then `error` as Python's last traceback line ("ValueError: message") to
stderr: how pyconc reports an exception nobody can catch (an initializer's, a done-callback's,
an excepthook's). Never throws; out of memory, nothing is written.
*/
inline void report_exception(const std::string& header, const std::exception_ptr& error) noexcept {
  try {
    write_stderr(header + format_exception_only(exception_type_name(error), exception_message(error)));
  } catch (...) {
  }
}

}  // namespace detail
}  // namespace v0
}  // namespace pyconc

#endif  // PYCONC_DETAIL_EXCEPTION_TEXT_HPP_INCLUDED
