// SPDX-License-Identifier: MIT
/**
`pyconc/errors.hpp` — Python's exception names for C++.

Defines, with CPython's class hierarchy as C++ inheritance (`catch (const LookupError&)`
catches a `KeyError`, as `except LookupError:` does):

```
Error (Python's Exception)
├── RuntimeError ── NotImplementedError
├── ValueError, TypeError, AssertionError, AttributeError, EOFError, StopIteration
├── ArithmeticError ── OverflowError, ZeroDivisionError
├── LookupError ── KeyError, IndexError
├── OSError ── ConnectionError ── BrokenPipeError, ConnectionAbortedError,
│   │                             ConnectionRefusedError, ConnectionResetError
│   ├── FileNotFoundError, FileExistsError, IsADirectoryError, NotADirectoryError
│   ├── PermissionError, InterruptedError, BlockingIOError
│   ├── ChildProcessError, ProcessLookupError
│   └── TimeoutError
└── SystemExit
```

- `pyconc::Error`           base of every exception pyconc raises (`std::exception`).
- the classes above         Python's built-in exceptions of the same names.
- `PYCONC_DEFINE_ERROR(Name, Base, "PyName")`   declares an exception class of your own.
- `pyconc::detail::raise<E>(message)` — the single place pyconc throws from.
- `pyconc::detail::raise_errno(error_number, filename)`   throws the `OSError` subclass CPython picks
  for an `errno` value (`ENOENT`: `FileNotFoundError`), as `PyErr_SetFromErrno` does.

`what()` returns exactly the text CPython gives `str(exc)`, often empty; `type_name()` returns
Python's class name, as used in tracebacks (`"ValueError"`); `repr()` is Python's `repr(exc)`
(`"ValueError('boom')"`).

Your own Python-named exceptions: `class MyError(Exception): pass` ports as

```cpp
PYCONC_DEFINE_ERROR(MyError, pyconc::Error, "MyError");  // class MyError(Exception): pass
PYCONC_DEFINE_ERROR(MyKeyError, pyconc::KeyError, "MyKeyError");  // any pyconc class as base
```

which declares `class MyError : public pyconc::Error` with the base's constructors and
`type_name()` returning `"MyError"`. A class with its own members is ordinary subclassing:
derive from the Python base and override `type_name()` (and `args_repr()` if its `repr()`
shows more than the message):

```cpp
class HTTPError : public pyconc::OSError {
 public:
  HTTPError(int code, std::string message) : OSError(std::move(message)), code_(code) {}
  const char* type_name() const noexcept override { return "HTTPError"; }
  int code() const noexcept { return code_; }
 private:
  int code_;
};
```

Reports (`threading::excepthook`, `print(type_name(f.exception()))`) then show the Python name.

Differs from Python: an exception carries one message, not `args`: `KeyError('a', 'b')` and
`ValueError(1, 2)` have no port. `OSError(2, "x")` stays an `OSError` (CPython returns a
`FileNotFoundError`): throw the subclass, or use `detail::raise_errno`. `errno` is a C macro,
so `e.errno` is `e.errno_()`. `SystemExit` derives from `Error` (Python: `BaseException`).
*/
#ifndef PYCONC_ERRORS_HPP_INCLUDED
#define PYCONC_ERRORS_HPP_INCLUDED

#include <cerrno>        // ENOENT, EEXIST, EPIPE, ...
#include <concepts>      // std::integral
#include <exception>     // std::exception
#include <optional>      // std::optional
#include <string>        // std::string, std::to_string
#include <string_view>   // std::string_view
#include <system_error>  // std::generic_category
#include <type_traits>   // std::is_same_v
#include <utility>       // std::move

namespace pyconc {
inline namespace v0 {

namespace detail {

/** Python's `repr(str)`: quoted (single quotes unless the text has only single ones), escaped. */
inline std::string string_repr(std::string_view s) {
  const bool has_single = s.find('\'') != std::string_view::npos;
  const bool has_double = s.find('"') != std::string_view::npos;
  const char quote = has_single && !has_double ? '"' : '\'';
  std::string out(1, quote);
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
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
        if (c == static_cast<unsigned char>(quote)) {
          out += '\\';
          out += ch;
        } else if (c < 0x20 || c == 0x7f) {
          static constexpr char hex[] = "0123456789abcdef";
          out += "\\x";
          out += hex[c >> 4];
          out += hex[c & 0xf];
        } else {
          out += ch;
        }
    }
  }
  return out + quote;
}

}  // namespace detail

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
  /** Python: `repr(exc)`, e.g. `"ValueError('boom')"`, `"KeyError('a')"`, `"EOFError()"`. */
  [[nodiscard]] std::string repr() const { return type_name() + ("(" + args_repr() + ")"); }

 protected:
  /** What `repr()` shows between the parentheses: the message as a Python string, or nothing. */
  [[nodiscard]] virtual std::string args_repr() const {
    return message_.empty() ? std::string() : detail::string_repr(message_);
  }

 private:
  std::string message_;
};

/**
Declares `class Name : public Base` with `Base`'s constructors, whose `type_name()` is `PyName`:
`PYCONC_DEFINE_ERROR(MyError, pyconc::Error, "MyError");` is Python's
`class MyError(Exception): pass`. Use it at namespace scope, followed by a semicolon.
*/
#define PYCONC_DEFINE_ERROR(Name, Base, PyName)                                      \
  class Name : public Base {                                                         \
   public:                                                                           \
    using Base::Base;                                                                \
    [[nodiscard]] const char* type_name() const noexcept override { return PyName; } \
  }

/** Python: `RuntimeError`. Also `threading.ThreadError`. */
PYCONC_DEFINE_ERROR(RuntimeError, Error, "RuntimeError");
/** Python: `NotImplementedError`, a `RuntimeError` as in Python. */
PYCONC_DEFINE_ERROR(NotImplementedError, RuntimeError, "NotImplementedError");
/** Python: `ValueError`. */
PYCONC_DEFINE_ERROR(ValueError, Error, "ValueError");
/** Python: `TypeError`. */
PYCONC_DEFINE_ERROR(TypeError, Error, "TypeError");
/** Python: `AttributeError`. */
PYCONC_DEFINE_ERROR(AttributeError, Error, "AttributeError");
/** Python: `EOFError` (an `Exception`, not an `OSError`), e.g. `Connection.recv()` at end of input. */
PYCONC_DEFINE_ERROR(EOFError, Error, "EOFError");
/** Python: `ArithmeticError`, the base of `OverflowError` and `ZeroDivisionError`. */
PYCONC_DEFINE_ERROR(ArithmeticError, Error, "ArithmeticError");
/** Python: `OverflowError`. */
PYCONC_DEFINE_ERROR(OverflowError, ArithmeticError, "OverflowError");
/** Python: `ZeroDivisionError`. */
PYCONC_DEFINE_ERROR(ZeroDivisionError, ArithmeticError, "ZeroDivisionError");
/**
Python: `AssertionError`. Raised where CPython uses an `assert` statement; unlike Python's,
it does not disappear in optimised builds.
*/
PYCONC_DEFINE_ERROR(AssertionError, Error, "AssertionError");
/** Python: `LookupError`, the base of `KeyError` and `IndexError`. */
PYCONC_DEFINE_ERROR(LookupError, Error, "LookupError");

/**
Python: `KeyError(key)`. As in Python, `what()` (Python's `str(exc)`) is the key's `repr()`:
`KeyError("a").what()` is `'a'` with the quotes, `KeyError(5).what()` is `5`, so a report
reads `KeyError: 'a'`. `key()` is the key itself as text (Python's `exc.args[0]`).

Differs from Python: the key is a string or an integer (other keys: pass their text).
*/
class KeyError : public LookupError {
 public:
  /** Python: `KeyError()`: empty message and key. */
  KeyError() = default;
  /** Python: `KeyError('a')`: `what()` is `'a'` (quoted), `key()` is `a`. */
  explicit KeyError(std::string_view key) : LookupError(detail::string_repr(key)), key_(key) {}
  /** Python: `KeyError(5)`: `what()` and `key()` are `5`. */
  template <std::integral I>
  requires(!std::is_same_v<I, bool> && !std::is_same_v<I, char>) explicit KeyError(I key)
      : LookupError(std::to_string(key)), key_(std::to_string(key)) {}
  [[nodiscard]] const char* type_name() const noexcept override { return "KeyError"; }
  /** The key as given (unquoted), empty for `KeyError()`. */
  [[nodiscard]] const std::string& key() const noexcept { return key_; }

 protected:
  [[nodiscard]] std::string args_repr() const override { return what(); }

 private:
  std::string key_;
};

/** Python: `IndexError`, e.g. `IndexError("list index out of range")`. */
PYCONC_DEFINE_ERROR(IndexError, LookupError, "IndexError");
/** Python: `StopIteration`, raised by `next()` after an iterator's last item. */
PYCONC_DEFINE_ERROR(StopIteration, Error, "StopIteration");

/**
Python: `OSError`, the base of the system-call errors. Built as in Python from a message
(`OSError("handle is closed")`: `errno_()` is `None`) or from an errno value and its text,
optionally a file name:

```cpp
OSError(2, "No such file").what()                   // "[Errno 2] No such file"
FileNotFoundError(2, "No such file", "a.txt").what()  // "[Errno 2] No such file: 'a.txt'"
```

Differs from Python: `e.errno` is `e.errno_()` (`errno` is a C macro); `OSError(2, ...)`
does not turn itself into a `FileNotFoundError` (see `detail::raise_errno`).
*/
class OSError : public Error {
 public:
  /** Python: `OSError()`. */
  OSError() = default;
  /** Python: `OSError('message')`: `what()` is the message; `errno_()` and `strerror()` are `None`. */
  explicit OSError(std::string message) : Error(std::move(message)) {}
  /** Python: `OSError(errno, strerror)`: `what()` is `[Errno 2] strerror`. */
  OSError(int error_number, std::string strerror)
      : Error("[Errno " + std::to_string(error_number) + "] " + strerror),
        error_number_(error_number),
        strerror_(std::move(strerror)) {}
  /** Python: `OSError(errno, strerror, filename)`: `what()` is `[Errno 2] strerror: 'filename'`. */
  OSError(int error_number, std::string strerror, std::string filename)
      : Error("[Errno " + std::to_string(error_number) + "] " + strerror + ": " + detail::string_repr(filename)),
        error_number_(error_number),
        strerror_(std::move(strerror)),
        filename_(std::move(filename)) {}

  [[nodiscard]] const char* type_name() const noexcept override { return "OSError"; }
  /** Python: `exc.errno`: the error number, `None` when built from a message. */
  [[nodiscard]] std::optional<int> errno_() const noexcept { return error_number_; }
  /** Python: `exc.strerror`: the error's text, `None` when built from a message. */
  [[nodiscard]] const std::optional<std::string>& strerror() const noexcept { return strerror_; }
  /** Python: `exc.filename`, `None` when not given. */
  [[nodiscard]] const std::optional<std::string>& filename() const noexcept { return filename_; }

 protected:
  /** As Python's: `FileNotFoundError(2, 'No such file')`, without the file name. */
  [[nodiscard]] std::string args_repr() const override {
    if (error_number_ && strerror_)
      return std::to_string(*error_number_) + ", " + detail::string_repr(*strerror_);
    return Error::args_repr();
  }

 private:
  std::optional<int> error_number_;
  std::optional<std::string> strerror_;
  std::optional<std::string> filename_;
};

/** Python: `ConnectionError`, an `OSError`. */
PYCONC_DEFINE_ERROR(ConnectionError, OSError, "ConnectionError");
/** Python: `BrokenPipeError` (`EPIPE`, `ESHUTDOWN`), a `ConnectionError`. */
PYCONC_DEFINE_ERROR(BrokenPipeError, ConnectionError, "BrokenPipeError");
/** Python: `ConnectionAbortedError` (`ECONNABORTED`), a `ConnectionError`. */
PYCONC_DEFINE_ERROR(ConnectionAbortedError, ConnectionError, "ConnectionAbortedError");
/** Python: `ConnectionRefusedError` (`ECONNREFUSED`), a `ConnectionError`. */
PYCONC_DEFINE_ERROR(ConnectionRefusedError, ConnectionError, "ConnectionRefusedError");
/** Python: `ConnectionResetError` (`ECONNRESET`), a `ConnectionError`. */
PYCONC_DEFINE_ERROR(ConnectionResetError, ConnectionError, "ConnectionResetError");
/** Python: `FileNotFoundError` (`ENOENT`), an `OSError`. */
PYCONC_DEFINE_ERROR(FileNotFoundError, OSError, "FileNotFoundError");
/** Python: `FileExistsError` (`EEXIST`), an `OSError`. */
PYCONC_DEFINE_ERROR(FileExistsError, OSError, "FileExistsError");
/** Python: `IsADirectoryError` (`EISDIR`), an `OSError`. */
PYCONC_DEFINE_ERROR(IsADirectoryError, OSError, "IsADirectoryError");
/** Python: `NotADirectoryError` (`ENOTDIR`), an `OSError`. */
PYCONC_DEFINE_ERROR(NotADirectoryError, OSError, "NotADirectoryError");
/** Python: `PermissionError` (`EACCES`, `EPERM`), an `OSError`. */
PYCONC_DEFINE_ERROR(PermissionError, OSError, "PermissionError");
/** Python: `InterruptedError` (`EINTR`), an `OSError`. */
PYCONC_DEFINE_ERROR(InterruptedError, OSError, "InterruptedError");
/** Python: `BlockingIOError` (`EAGAIN`, `EALREADY`, `EINPROGRESS`), an `OSError`. */
PYCONC_DEFINE_ERROR(BlockingIOError, OSError, "BlockingIOError");
/** Python: `ChildProcessError` (`ECHILD`), an `OSError`. */
PYCONC_DEFINE_ERROR(ChildProcessError, OSError, "ChildProcessError");
/** Python: `ProcessLookupError` (`ESRCH`), an `OSError`. */
PYCONC_DEFINE_ERROR(ProcessLookupError, OSError, "ProcessLookupError");
/**
Python: builtin `TimeoutError` (`ETIMEDOUT`), an `OSError` as in Python; also
`concurrent.futures.TimeoutError`, which is the same class since 3.11.
*/
PYCONC_DEFINE_ERROR(TimeoutError, OSError, "TimeoutError");

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

 protected:
  [[nodiscard]] std::string args_repr() const override { return code_ == 0 ? std::string() : what(); }

 private:
  int code_;
};

namespace sys {

/**
Python: `sys.exit(code)`: raises `SystemExit(code)`. In a `multiprocessing::Process` target
the process ends with exit code `code`; in a thread's target, the thread ends quietly. (In
`main`, return the code instead: nothing catches it there.)
*/
[[noreturn]] inline void exit(int code = 0) {
  throw SystemExit(code);
}

}  // namespace sys

namespace detail {

/** Throws `E(message)`. Every exception pyconc raises goes through here. */
template <class E>
[[noreturn]] inline void raise(std::string message = {}) {
  throw E(std::move(message));
}

/** Throws `E(error_number, text)`, or `E(error_number, text, filename)`. */
template <class E>
[[noreturn]] void raise_os_error(int error_number, std::string text, std::optional<std::string> filename) {
  if (filename)
    throw E(error_number, std::move(text), std::move(*filename));
  throw E(error_number, std::move(text));
}

/**
CPython's `PyErr_SetFromErrno`: throws `OSError(error_number, strerror(error_number))`, or the
`OSError` subclass CPython picks for that errno (`ENOENT`: `FileNotFoundError`, `EPIPE`:
`BrokenPipeError`, ...). With a file name, as `PyErr_SetFromErrnoWithFilename`.
*/
[[noreturn]] inline void raise_errno(int error_number, std::optional<std::string> filename = std::nullopt) {
  auto text = std::generic_category().message(error_number);  // strerror(), thread-safe
  switch (error_number) {
    case EPIPE:
    case ESHUTDOWN:
      raise_os_error<BrokenPipeError>(error_number, std::move(text), std::move(filename));
    case ECONNABORTED:
      raise_os_error<ConnectionAbortedError>(error_number, std::move(text), std::move(filename));
    case ECONNREFUSED:
      raise_os_error<ConnectionRefusedError>(error_number, std::move(text), std::move(filename));
    case ECONNRESET:
      raise_os_error<ConnectionResetError>(error_number, std::move(text), std::move(filename));
    case ENOENT:
      raise_os_error<FileNotFoundError>(error_number, std::move(text), std::move(filename));
    case EEXIST:
      raise_os_error<FileExistsError>(error_number, std::move(text), std::move(filename));
    case EISDIR:
      raise_os_error<IsADirectoryError>(error_number, std::move(text), std::move(filename));
    case ENOTDIR:
      raise_os_error<NotADirectoryError>(error_number, std::move(text), std::move(filename));
    case EACCES:
    case EPERM:
      raise_os_error<PermissionError>(error_number, std::move(text), std::move(filename));
    case EINTR:
      raise_os_error<InterruptedError>(error_number, std::move(text), std::move(filename));
    case EAGAIN:
    case EALREADY:
    case EINPROGRESS:
      raise_os_error<BlockingIOError>(error_number, std::move(text), std::move(filename));
    case ECHILD:
      raise_os_error<ChildProcessError>(error_number, std::move(text), std::move(filename));
    case ESRCH:
      raise_os_error<ProcessLookupError>(error_number, std::move(text), std::move(filename));
    case ETIMEDOUT:
      raise_os_error<TimeoutError>(error_number, std::move(text), std::move(filename));
    default:
      raise_os_error<OSError>(error_number, std::move(text), std::move(filename));
  }
}

}  // namespace detail
}  // namespace v0
}  // namespace pyconc

#endif  // PYCONC_ERRORS_HPP_INCLUDED
