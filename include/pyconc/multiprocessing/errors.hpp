// SPDX-License-Identifier: MIT
/**
`pyconc/multiprocessing/errors.hpp` — the exceptions of Python's `multiprocessing`.

Defines (Python's `multiprocessing.context` classes, all under `pyconc::Error`):
- `multiprocessing::ProcessError`          base of the others.
- `multiprocessing::BufferTooShort`        `Connection::recv_bytes_into` got a message longer
                                           than the buffer; carries the whole message.
- `multiprocessing::TimeoutError`          a timed wait of a pool result expired. Not the
                                           built-in `pyconc::TimeoutError`, as in CPython.
- `multiprocessing::AuthenticationError`   a connection's authentication failed.
- `multiprocessing::AbandonedLockError`    (not in Python) a Lock's holder died holding it.
*/
#ifndef PYCONC_MULTIPROCESSING_ERRORS_HPP_INCLUDED
#define PYCONC_MULTIPROCESSING_ERRORS_HPP_INCLUDED

#include <string>       // std::string
#include <string_view>  // std::string_view
#include <utility>      // std::move

#include <pyconc/errors.hpp>

namespace pyconc {
inline namespace v0 {
namespace detail {

/** Python's `repr()` of a `bytes` object: `b'ab\x00'`. */
inline std::string bytes_repr(std::string_view b) {
  static constexpr char hex[] = "0123456789abcdef";
  const bool has_single = b.find('\'') != std::string_view::npos;
  const bool has_double = b.find('"') != std::string_view::npos;
  const char quote = has_single && !has_double ? '"' : '\'';
  std::string out = "b";
  out += quote;
  for (const char ch : b) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '\\' || c == static_cast<unsigned char>(quote)) {
      out += '\\';
      out += ch;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c >= 0x7f) {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += ch;
    }
  }
  out += quote;
  return out;
}

}  // namespace detail

namespace multiprocessing {

/** Python: `multiprocessing.ProcessError`. */
PYCONC_DEFINE_ERROR(ProcessError, Error, "ProcessError");

/**
Python: `multiprocessing.BufferTooShort(message)`: `recv_bytes_into` received a message that
does not fit the buffer. `message()` is the whole message (Python's `e.args[0]`); `what()` is
its `repr`, as `str(e)` is.
*/
class BufferTooShort : public ProcessError {
 public:
  explicit BufferTooShort(std::string message)
      : ProcessError(detail::bytes_repr(message)), message_(std::move(message)) {}
  [[nodiscard]] const char* type_name() const noexcept override { return "BufferTooShort"; }
  /** The message that did not fit. */
  [[nodiscard]] const std::string& message() const noexcept { return message_; }

 protected:
  [[nodiscard]] std::string args_repr() const override { return what(); }

 private:
  std::string message_;
};

/** Python: `multiprocessing.TimeoutError`, a `ProcessError` (not the built-in `TimeoutError`). */
PYCONC_DEFINE_ERROR(TimeoutError, ProcessError, "TimeoutError");

/** Python: `multiprocessing.AuthenticationError`. */
PYCONC_DEFINE_ERROR(AuthenticationError, ProcessError, "AuthenticationError");

/**
Not in Python (where a dead holder keeps a `multiprocessing.Lock` held forever): the process
that held a `Lock` or `RLock` exited without releasing it. Raised to exactly one acquirer per
such death; that acquirer does not hold the lock afterwards, and the lock works normally
again. What the lock protected may be half updated: the one who catches this repairs it.
`pid()` is the dead holder's pid.
*/
class AbandonedLockError : public ProcessError {
 public:
  explicit AbandonedLockError(long pid)
      : ProcessError("the lock was abandoned: process " + std::to_string(pid) + " exited while holding it"),
        pid_(pid) {}
  [[nodiscard]] const char* type_name() const noexcept override { return "AbandonedLockError"; }
  /** The pid of the process that died holding the lock. */
  [[nodiscard]] long pid() const noexcept { return pid_; }

 private:
  long pid_;
};

}  // namespace multiprocessing
}  // namespace v0
}  // namespace pyconc

#endif  // PYCONC_MULTIPROCESSING_ERRORS_HPP_INCLUDED
