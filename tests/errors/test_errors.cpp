// SPDX-License-Identifier: MIT
// Tests for pyconc's exception classes: Python's names, class hierarchy, str() and repr(), as
// CPython 3.11 gives them (each expected value was printed by python3).
#include <pyconc/errors.hpp>

#include <catch2/catch.hpp>

#include <cerrno>
#include <optional>
#include <string>
#include <type_traits>
#include <typeinfo>

#include "support.hpp"

using namespace pyconc;

namespace {

// Python's type(exc).__name__ for what `f()` throws, after catching it as `Base`.
template <class Base, class F>
std::string caught_as(F&& f) {
  try {
    f();
  } catch (const Base& e) {
    return e.type_name();
  } catch (...) {
    return "not a " + std::string(typeid(Base).name());
  }
  return "nothing thrown";
}

// A user-declared exception, as the header comment shows.
PYCONC_DEFINE_ERROR(MyError, Error, "MyError");
PYCONC_DEFINE_ERROR(MyLookupError, KeyError, "MyLookupError");

class HTTPError : public OSError {
 public:
  HTTPError(int code, std::string message) : OSError(std::move(message)), code_(code) {}
  [[nodiscard]] const char* type_name() const noexcept override { return "HTTPError"; }
  [[nodiscard]] int code() const noexcept { return code_; }

 private:
  int code_;
};

}  // namespace

TEST_CASE("the new exception classes mirror CPython's hierarchy", "[errors]") {
  // KeyError.__mro__ == (KeyError, LookupError, Exception, BaseException, object), etc.
  STATIC_REQUIRE(std::is_base_of_v<LookupError, KeyError>);
  STATIC_REQUIRE(std::is_base_of_v<LookupError, IndexError>);
  STATIC_REQUIRE(std::is_base_of_v<Error, LookupError>);
  STATIC_REQUIRE(std::is_base_of_v<Error, AttributeError>);
  STATIC_REQUIRE(std::is_base_of_v<RuntimeError, NotImplementedError>);
  STATIC_REQUIRE(std::is_base_of_v<Error, OSError>);
  STATIC_REQUIRE(std::is_base_of_v<Error, EOFError>);
  STATIC_REQUIRE(!std::is_base_of_v<OSError, EOFError>);
  STATIC_REQUIRE(std::is_base_of_v<ConnectionError, BrokenPipeError>);
  STATIC_REQUIRE(std::is_base_of_v<ConnectionError, ConnectionResetError>);
  STATIC_REQUIRE(std::is_base_of_v<ConnectionError, ConnectionRefusedError>);
  STATIC_REQUIRE(std::is_base_of_v<ConnectionError, ConnectionAbortedError>);
  STATIC_REQUIRE(std::is_base_of_v<OSError, ConnectionError>);
  STATIC_REQUIRE(std::is_base_of_v<OSError, FileNotFoundError>);
  STATIC_REQUIRE(std::is_base_of_v<OSError, FileExistsError>);
  STATIC_REQUIRE(std::is_base_of_v<OSError, PermissionError>);
  STATIC_REQUIRE(std::is_base_of_v<OSError, ProcessLookupError>);
  STATIC_REQUIRE(std::is_base_of_v<OSError, TimeoutError>);  // since Python 3.3
  STATIC_REQUIRE(std::is_base_of_v<ArithmeticError, OverflowError>);
  STATIC_REQUIRE(std::is_base_of_v<ArithmeticError, ZeroDivisionError>);
  STATIC_REQUIRE(!std::is_base_of_v<OSError, KeyError>);
  STATIC_REQUIRE(!std::is_base_of_v<RuntimeError, OSError>);

  // except LookupError: / except OSError: / except ConnectionError: catch the subclasses.
  CHECK(caught_as<LookupError>([] { throw KeyError("a"); }) == "KeyError");
  CHECK(caught_as<LookupError>([] { throw IndexError("list index out of range"); }) == "IndexError");
  CHECK(caught_as<RuntimeError>([] { throw NotImplementedError(); }) == "NotImplementedError");
  CHECK(caught_as<OSError>([] { throw BrokenPipeError(32, "Broken pipe"); }) == "BrokenPipeError");
  CHECK(caught_as<ConnectionError>([] { throw BrokenPipeError(32, "Broken pipe"); }) == "BrokenPipeError");
  CHECK(caught_as<OSError>([] { throw TimeoutError(); }) == "TimeoutError");
  CHECK(caught_as<Error>([] { throw EOFError(); }) == "EOFError");
  CHECK(caught_as<OSError>([] { throw EOFError(); }).rfind("not a ", 0) == 0);
}

TEST_CASE("type_name is Python's class name", "[errors]") {
  CHECK(std::string(KeyError().type_name()) == "KeyError");
  CHECK(std::string(IndexError().type_name()) == "IndexError");
  CHECK(std::string(LookupError().type_name()) == "LookupError");
  CHECK(std::string(AttributeError().type_name()) == "AttributeError");
  CHECK(std::string(NotImplementedError().type_name()) == "NotImplementedError");
  CHECK(std::string(OSError().type_name()) == "OSError");
  CHECK(std::string(EOFError().type_name()) == "EOFError");
  CHECK(std::string(ConnectionError().type_name()) == "ConnectionError");
  CHECK(std::string(BrokenPipeError().type_name()) == "BrokenPipeError");
  CHECK(std::string(FileNotFoundError().type_name()) == "FileNotFoundError");
  CHECK(std::string(FileExistsError().type_name()) == "FileExistsError");
  CHECK(std::string(TimeoutError().type_name()) == "TimeoutError");
  CHECK(std::string(ZeroDivisionError().type_name()) == "ZeroDivisionError");
  const Error& as_base = BrokenPipeError(32, "Broken pipe");
  CHECK(std::string(as_base.type_name()) == "BrokenPipeError");  // virtual, as type(exc)
}

TEST_CASE("KeyError's str is the repr of the key, as in Python", "[errors][str]") {
  // str(KeyError('a')) == "'a'", str(KeyError(5)) == '5', str(KeyError()) == ''
  CHECK(std::string(KeyError("a").what()) == "'a'");
  CHECK(KeyError("a").key() == "a");
  CHECK(std::string(KeyError(std::string("it's")).what()) == "\"it's\"");
  CHECK(std::string(KeyError(5).what()) == "5");
  CHECK(KeyError(5).key() == "5");
  CHECK(std::string(KeyError().what()).empty());
  // raise<KeyError>(key) quotes it too: what CPython's dict lookup reports.
  REQUIRE_RAISES(detail::raise<KeyError>("missing"), KeyError, "'missing'");
}

TEST_CASE("OSError's str follows CPython's [Errno N] format", "[errors][str]") {
  // str(OSError(22, 'Invalid argument')) == '[Errno 22] Invalid argument'
  const OSError with_errno(22, "Invalid argument");
  CHECK(std::string(with_errno.what()) == "[Errno 22] Invalid argument");
  CHECK(with_errno.errno_() == 22);
  CHECK(with_errno.strerror() == "Invalid argument");
  CHECK(with_errno.filename() == std::nullopt);

  // str(FileNotFoundError(2, 'No such file or directory', 'a.txt'))
  const FileNotFoundError with_file(2, "No such file or directory", "a.txt");
  CHECK(std::string(with_file.what()) == "[Errno 2] No such file or directory: 'a.txt'");
  CHECK(with_file.filename() == "a.txt");

  // OSError('handle is closed'): the message alone; errno and strerror are None.
  const OSError message_only("handle is closed");
  CHECK(std::string(message_only.what()) == "handle is closed");
  CHECK(message_only.errno_() == std::nullopt);
  CHECK(message_only.strerror() == std::nullopt);

  CHECK(std::string(OSError().what()).empty());
  CHECK(std::string(BrokenPipeError(32, "Broken pipe").what()) == "[Errno 32] Broken pipe");
  CHECK(BrokenPipeError(32, "Broken pipe").errno_() == 32);
}

TEST_CASE("the other new exceptions carry their message as str", "[errors][str]") {
  CHECK(std::string(IndexError("list index out of range").what()) == "list index out of range");
  CHECK(std::string(AttributeError("'Thread' object has no attribute 'x'").what()) ==
        "'Thread' object has no attribute 'x'");
  CHECK(std::string(NotImplementedError("nope").what()) == "nope");
  CHECK(std::string(EOFError().what()).empty());
}

TEST_CASE("repr of an exception is Python's", "[errors][repr]") {
  CHECK(ValueError("boom").repr() == "ValueError('boom')");
  CHECK(KeyError("a").repr() == "KeyError('a')");
  CHECK(KeyError(5).repr() == "KeyError(5)");
  CHECK(KeyError(std::string("it's")).repr() == "KeyError(\"it's\")");
  CHECK(KeyError().repr() == "KeyError()");
  CHECK(EOFError().repr() == "EOFError()");
  CHECK(OSError("handle is closed").repr() == "OSError('handle is closed')");
  CHECK(OSError(22, "Invalid argument").repr() == "OSError(22, 'Invalid argument')");
  CHECK(FileNotFoundError(2, "No such file or directory", "a.txt").repr() ==
        "FileNotFoundError(2, 'No such file or directory')");
  CHECK(AttributeError("'Thread' object has no attribute 'x'").repr() ==
        "AttributeError(\"'Thread' object has no attribute 'x'\")");
  CHECK(SystemExit(3).repr() == "SystemExit(3)");
  CHECK(SystemExit().repr() == "SystemExit()");
  CHECK(TimeoutError().repr() == "TimeoutError()");
}

TEST_CASE("raise_errno throws the OSError subclass CPython picks for the errno", "[errors]") {
  // type(OSError(errno.ENOENT, os.strerror(errno.ENOENT))).__name__ == 'FileNotFoundError'
  REQUIRE_RAISES(detail::raise_errno(ENOENT), FileNotFoundError, "[Errno 2] No such file or directory");
  REQUIRE_RAISES(detail::raise_errno(ENOENT, "a.txt"), FileNotFoundError,
                 "[Errno 2] No such file or directory: 'a.txt'");
  REQUIRE_RAISES(detail::raise_errno(EPIPE), BrokenPipeError, "[Errno 32] Broken pipe");
  REQUIRE_RAISES(detail::raise_errno(EEXIST), FileExistsError, "[Errno 17] File exists");
  REQUIRE_RAISES(detail::raise_errno(ECONNRESET), ConnectionResetError, "[Errno 104] Connection reset by peer");
  REQUIRE_RAISES(detail::raise_errno(EACCES), PermissionError, "[Errno 13] Permission denied");
  REQUIRE_RAISES(detail::raise_errno(ESRCH), ProcessLookupError, "[Errno 3] No such process");
  REQUIRE_RAISES(detail::raise_errno(EINVAL), OSError, "[Errno 22] Invalid argument");
  try {
    detail::raise_errno(EPIPE);
  } catch (const OSError& e) {
    CHECK(e.errno_() == EPIPE);
    CHECK(e.strerror() == "Broken pipe");
  }
}

TEST_CASE("a user declares a Python-named exception with PYCONC_DEFINE_ERROR or by subclassing", "[errors]") {
  // class MyError(Exception): pass
  STATIC_REQUIRE(std::is_base_of_v<Error, MyError>);
  const MyError mine("custom");
  CHECK(std::string(mine.type_name()) == "MyError");
  CHECK(std::string(mine.what()) == "custom");
  CHECK(mine.repr() == "MyError('custom')");
  // The base's constructors come along: a KeyError subclass quotes its key.
  CHECK(std::string(MyLookupError("k").what()) == "'k'");
  CHECK(caught_as<LookupError>([] { throw MyLookupError("k"); }) == "MyLookupError");

  const HTTPError http(404, "Not Found");
  CHECK(std::string(http.type_name()) == "HTTPError");
  CHECK(std::string(http.what()) == "Not Found");
  CHECK(http.code() == 404);
  CHECK(caught_as<OSError>([] { throw HTTPError(500, "boom"); }) == "HTTPError");
}
