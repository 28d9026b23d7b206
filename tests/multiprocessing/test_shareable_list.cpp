// SPDX-License-Identifier: MIT
// multiprocessing.shared_memory.ShareableList, after CPython's _test_multiprocessing.py
// (_TestSharedMemory.test_shared_memory_ShareableList_basics, _pickling, _empty) and the
// semantics reference (§1.4, §2.4): CPython's values, formats, repr and messages, the
// segment layout against a real python3 process both ways, and fork and spawn children.
#include <pyconc/multiprocessing.hpp>
#include <pyconc/multiprocessing/shared_memory.hpp>

#include "multiprocessing/process_support.hpp"
#include "support.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <tuple>
#include <vector>

extern char** environ;

namespace mp = pyconc::multiprocessing;
using mp::shared_memory::Bytes;
using mp::shared_memory::ShareableList;
using mp::shared_memory::ShareableValue;
using mp::shared_memory::SharedMemory;
using pyconc_test::ProcessGuard;

namespace {

// Stops the resource tracker at the end of a test, before the ProcessGuard's checks.
struct TrackerStop {
  TrackerStop() = default;
  TrackerStop(const TrackerStop&) = delete;
  TrackerStop& operator=(const TrackerStop&) = delete;
  ~TrackerStop() { pyconc::detail::stop_resource_tracker(); }
};

std::string unique_name(const std::string& tag) {
  return "pyconc_test_" + std::to_string(::getpid()) + "_" + tag;
}

using pyconc_test::PythonRun;
using pyconc_test::run_python;

bool python_available() {
  static const bool available = run_python("import multiprocessing.shared_memory").status == 0;
  return available;
}

// A spawnable target: the list arrives by name.
void spawn_doubler(ShareableList sl) {
  sl.set(0, std::get<std::int64_t>(sl[0]) * 2);
  sl.set(1, "spawned");
}

}  // namespace

TEST_CASE("values of every type read back as written, with CPython's formats and repr", "[shareable_list]") {
  ProcessGuard guard;
  TrackerStop stop;
  ShareableList sl({1, 2.5, true, "howdy", Bytes("raw"), nullptr, -42, ""});
  CHECK(sl.size() == 8);
  CHECK(sl[0] == ShareableValue(std::int64_t{1}));
  CHECK(sl[1] == ShareableValue(2.5));
  CHECK(sl[2] == ShareableValue(true));
  CHECK(sl[3] == ShareableValue(std::string("howdy")));
  CHECK(sl[4] == ShareableValue(Bytes("raw")));
  CHECK(sl[5] == ShareableValue(nullptr));
  CHECK(sl[6] == ShareableValue(std::int64_t{-42}));
  CHECK(sl[7] == ShareableValue(std::string()));
  CHECK(sl[-1] == sl[7]);  // negative indices as Python's
  CHECK(sl[-8] == sl[0]);
  CHECK(sl.format() == "qdxxxxxxx?8s8sxxxxxx?xq8s");
  CHECK(sl.repr() == "ShareableList([1, 2.5, True, 'howdy', b'raw', None, -42, ''], name='" + sl.shm().name() + "')");
  CHECK(pyconc::str(sl) == sl.repr());
  CHECK(pyconc::str(sl[3]) == "howdy");
  CHECK(pyconc::repr(sl[4]) == "b'raw'");
  // The segment's size is CPython's struct.calcsize of the layout.
  CHECK(sl.shm().size() == 8 + 8 * 9 + 64 + 8 * 8 + 8);
  std::vector<ShareableValue> seen(sl.begin(), sl.end());
  CHECK(seen == sl.list());
  CHECK(seen.size() == 8);
  sl.shm().close();
  sl.shm().unlink();
}

TEST_CASE("a slot changes type when set, and str and bytes slots keep their rounded-up room", "[shareable_list]") {
  ProcessGuard guard;
  TrackerStop stop;
  ShareableList sl({"abc", Bytes("0123456789"), 7});
  CHECK(sl.format() == "8s16sq");
  sl.set(0, "12345678");  // 3 characters got 8 bytes of room
  CHECK(sl[0] == ShareableValue(std::string("12345678")));
  sl.set(0, 3.25);
  CHECK(sl[0] == ShareableValue(3.25));
  CHECK(sl.format() == "d16sq");
  sl.set(0, "back");  // a str again: the room of the slot, 8 bytes
  CHECK(sl.format() == "8s16sq");
  sl.set(2, "int to s");  // an 8-byte slot takes 8 bytes of text
  CHECK(sl.format() == "8s16s8s");
  sl.set(2, nullptr);
  CHECK(sl[2] == ShareableValue(nullptr));
  sl.set(2, false);
  CHECK(sl[2] == ShareableValue(false));
  sl.set(-2, Bytes(std::string("ab\0\0", 4)));  // trailing NUL bytes are not kept (CPython's rstrip)
  CHECK(sl[1] == ShareableValue(Bytes("ab")));
  sl.set(1, std::string_view("sixteen chars!!!"));
  CHECK(sl[1] == ShareableValue(std::string("sixteen chars!!!")));
  sl.set(2, 5u);
  CHECK(sl[2] == ShareableValue(std::int64_t{5}));
  REQUIRE_RAISES(sl.set(0, "123456789"), pyconc::ValueError, "bytes/str item exceeds available storage");
  REQUIRE_RAISES(sl.set(1, Bytes(std::string(17, 'x'))), pyconc::ValueError,
                 "bytes/str item exceeds available storage");
  REQUIRE_RAISES(sl.set(2, "123456789"), pyconc::ValueError, "bytes/str item exceeds available storage");
  sl.shm().unlink();
}

TEST_CASE("index errors, count, index and its message, as CPython's", "[shareable_list]") {
  ProcessGuard guard;
  TrackerStop stop;
  ShareableList sl({1, 1.0, true, "a", Bytes("a"), nullptr, 2});
  REQUIRE_RAISES(static_cast<void>(sl[7]), pyconc::IndexError, "index out of range");
  REQUIRE_RAISES(static_cast<void>(sl[-8]), pyconc::IndexError, "index out of range");
  REQUIRE_RAISES(sl.set(7, 1), pyconc::IndexError, "assignment index out of range");
  REQUIRE_RAISES(sl.set(-8, 1), pyconc::IndexError, "assignment index out of range");
  // Python's ==: 1 == 1.0 == True; 'a' != b'a'.
  CHECK(sl.count(1) == 3);
  CHECK(sl.count(true) == 3);
  CHECK(sl.count(1.0) == 3);
  CHECK(sl.count("a") == 1);
  CHECK(sl.count(Bytes("a")) == 1);
  CHECK(sl.count(nullptr) == 1);
  CHECK(sl.count(3) == 0);
  CHECK(sl.index(2) == 6);
  CHECK(sl.index(2.0) == 6);
  CHECK(sl.index(Bytes("a")) == 4);
  CHECK(sl.index(nullptr) == 5);
  REQUIRE_RAISES(static_cast<void>(sl.index(99)), pyconc::ValueError, "99 not in this container");
  REQUIRE_RAISES(static_cast<void>(sl.index("zz")), pyconc::ValueError, "'zz' not in this container");
  REQUIRE_RAISES(static_cast<void>(sl.index(Bytes("zz"))), pyconc::ValueError, "b'zz' not in this container");
  REQUIRE_RAISES(static_cast<void>(sl.index(0.5)), pyconc::ValueError, "0.5 not in this container");
  sl.shm().close();
  REQUIRE_RAISES(static_cast<void>(sl[0]), pyconc::TypeError, "a bytes-like object is required, not 'NoneType'");
  sl.shm().unlink();
}

TEST_CASE("an empty list, a named list, and attaching by name", "[shareable_list]") {
  ProcessGuard guard;
  TrackerStop stop;
  ShareableList empty;  // ShareableList()
  CHECK(empty.size() == 0);
  CHECK(empty.format().empty());
  CHECK(empty.shm().size() == 16);
  CHECK(empty.repr() == "ShareableList([], name='" + empty.shm().name() + "')");
  empty.shm().unlink();
  const std::string name = unique_name("named");
  ShareableList sl(std::vector<int>{10, 20, 30}, {.name = name});  // ShareableList([10, 20, 30], name=name)
  CHECK(sl.shm().name() == name);
  ShareableList other({.name = name});  // ShareableList(name=name)
  CHECK(other.size() == 3);
  CHECK(other.list() == sl.list());
  other.set(1, "x");
  CHECK(sl[1] == ShareableValue(std::string("x")));
  CHECK(sl.format() == "q8sq");
  REQUIRE_RAISES(ShareableList({1}, {.name = name}), pyconc::FileExistsError,
                 "[Errno 17] File exists: '/" + name + "'");
  REQUIRE_RAISES(ShareableList({.name = "pyconc_nope_xyz"}), pyconc::FileNotFoundError,
                 "[Errno 2] No such file or directory: '/pyconc_nope_xyz'");
  // A segment that does not hold a list is refused, not misread.
  SharedMemory junk({.create = true, .size = 16});
  junk.buf()[0] = std::byte{0xff};
  REQUIRE_THROWS_AS(ShareableList({.name = junk.name()}), pyconc::ValueError);
  junk.unlink();
  sl.shm().unlink();
}

TEST_CASE("python3 reads and changes a list pyconc made (CPython's layout)", "[shareable_list][python]") {
  ProcessGuard guard;
  TrackerStop stop;
  if (!python_available()) {
    WARN("python3 with multiprocessing.shared_memory not found: interop not tested");
    return;
  }
  ShareableList sl({1, 2.5, true, "howdy", Bytes("b\x01"), nullptr, -7, "é"});
  const auto run = run_python(
      "import sys\n"
      "from multiprocessing import resource_tracker, shared_memory\n"
      "sl = shared_memory.ShareableList(name=sys.argv[1])\n"
      "resource_tracker.unregister(sl.shm._name, 'shared_memory')\n"
      "print(repr(sl))\n"
      "print(sl.format, len(sl))\n"
      "sl[0] = 'py'\n"
      "sl[5] = 12345678901\n"
      "sl[6] = None\n"
      "sl.shm.close()\n",
      {sl.shm().name()});
  REQUIRE(run.status == 0);
  CHECK(run.out == "ShareableList([1, 2.5, True, 'howdy', b'b\\x01', None, -7, 'é'], name='" + sl.shm().name() +
                       "')\nqdxxxxxxx?8s8sxxxxxx?xq8s 8\n");
  CHECK(sl[0] == ShareableValue(std::string("py")));
  CHECK(sl[5] == ShareableValue(std::int64_t{12345678901}));
  CHECK(sl[6] == ShareableValue(nullptr));
  CHECK(sl.format() == "8sdxxxxxxx?8s8sqxxxxxx?x8s");
  sl.shm().unlink();
}

TEST_CASE("pyconc reads and changes a list python3 made", "[shareable_list][python]") {
  ProcessGuard guard;
  TrackerStop stop;
  if (!python_available()) {
    WARN("python3 with multiprocessing.shared_memory not found: interop not tested");
    return;
  }
  const std::string name = unique_name("from_python");
  const auto run = run_python(
      "import sys\n"
      "from multiprocessing import resource_tracker, shared_memory\n"
      "sl = shared_memory.ShareableList([3, -1.5, False, 'text', b'\\x00b', None, 'x' * 20], name=sys.argv[1])\n"
      "resource_tracker.unregister(sl.shm._name, 'shared_memory')\n"
      "print(repr(sl))\n"
      "sl.shm.close()\n",
      {name});
  REQUIRE(run.status == 0);
  ShareableList sl({.name = name});
  CHECK(run.out == sl.repr() + "\n");  // the same values, and the same repr
  CHECK(sl.size() == 7);
  CHECK(sl[0] == ShareableValue(std::int64_t{3}));
  CHECK(sl[1] == ShareableValue(-1.5));
  CHECK(sl[2] == ShareableValue(false));
  CHECK(sl[3] == ShareableValue(std::string("text")));
  CHECK(sl[4] == ShareableValue(Bytes(std::string("\0b", 2))));
  CHECK(sl[5] == ShareableValue(nullptr));
  CHECK(sl[6] == ShareableValue(std::string(20, 'x')));
  CHECK(sl.format() == "qdxxxxxxx?8s8sxxxxxx?x24s");
  sl.set(6, std::string(24, 'y'));  // the room python gave it: 24 bytes
  REQUIRE_RAISES(sl.set(6, std::string(25, 'y')), pyconc::ValueError, "bytes/str item exceeds available storage");
  const auto back = run_python(
      "import sys\n"
      "from multiprocessing import resource_tracker, shared_memory\n"
      "sl = shared_memory.ShareableList(name=sys.argv[1])\n"
      "resource_tracker.unregister(sl.shm._name, 'shared_memory')\n"
      "print(sl[6])\n"
      "sl.shm.close()\n",
      {name});
  REQUIRE(back.status == 0);
  CHECK(back.out == std::string(24, 'y') + "\n");
  sl.shm().unlink();
}

TEST_CASE("fork and spawn children change a list the parent reads, and it pickles by name", "[shareable_list][spawn]") {
  ProcessGuard guard;
  TrackerStop stop;
  ShareableList sl({21, "........"});
  mp::ForkProcess forked([sl] { sl.set(1, "forked"); });
  forked.start();
  forked.join();
  CHECK(forked.exitcode() == 0);
  CHECK(sl[1] == ShareableValue(std::string("forked")));
  mp::SpawnProcess spawned(spawn_doubler, std::tuple{sl});
  spawned.start();
  spawned.join();
  CHECK(spawned.exitcode() == 0);
  CHECK(sl[0] == ShareableValue(std::int64_t{42}));
  CHECK(sl[1] == ShareableValue(std::string("spawned")));
  const auto copy = pyconc::pickle::loads<ShareableList>(pyconc::pickle::dumps(sl));
  CHECK(copy.shm().name() == sl.shm().name());
  CHECK(copy.list() == sl.list());
  copy.shm().close();
  sl.shm().close();
  sl.shm().unlink();
}
