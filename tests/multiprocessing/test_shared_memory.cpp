// SPDX-License-Identifier: MIT
// multiprocessing.shared_memory.SharedMemory and the resource tracker, after CPython's
// _test_multiprocessing.py (_TestSharedMemory: test_shared_memory_basics,
// test_shared_memory_across_processes, test_shared_memory_SharedMemoryServer..., the
// resource-tracker tests) and the semantics reference (§1.4, §2.4): create and attach, every
// misuse message, a python3 process on either side, fork and spawn children, pickling by
// name, and the tracker's cleanup after a SIGKILL.
#include <pyconc/multiprocessing.hpp>
#include <pyconc/multiprocessing/shared_memory.hpp>

#include "multiprocessing/process_support.hpp"
#include "support.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <tuple>
#include <vector>

extern char** environ;

namespace mp = pyconc::multiprocessing;
namespace rt = pyconc::multiprocessing::resource_tracker;
using mp::shared_memory::SharedMemory;
using pyconc_test::ProcessGuard;

namespace {

// Stops this process's resource tracker at the end of a test (declared after the
// ProcessGuard, so it runs first): the tracker has cleaned up and exited, and its pipe is
// closed, before the guard checks for leftover processes and descriptors.
struct TrackerStop {
  TrackerStop() = default;
  TrackerStop(const TrackerStop&) = delete;
  TrackerStop& operator=(const TrackerStop&) = delete;
  ~TrackerStop() { pyconc::detail::stop_resource_tracker(); }
};

std::string unique_name(const std::string& tag) {
  return "pyconc_test_" + std::to_string(::getpid()) + "_" + tag;
}

bool segment_exists(const std::string& name) {
  return ::access(("/dev/shm/" + name).c_str(), F_OK) == 0;
}

std::string text_of(std::span<std::byte> b, std::size_t n) {
  return std::string(reinterpret_cast<const char*>(b.data()), n);
}

void put_text(std::span<std::byte> b, const std::string& text) {
  std::memcpy(b.data(), text.data(), text.size());
}

// ---- python3 on the other side ----------------------------------------------------------

using pyconc_test::PythonRun;
using pyconc_test::run_python;

bool python_available() {
  static const bool available = run_python("import multiprocessing.shared_memory").status == 0;
  return available;
}

// Spawnable targets.
void spawn_writer(SharedMemory shm) {
  put_text(shm.buf(), "spawned");
  const auto& tracker = pyconc::detail::resource_tracker_g;
  // 1: this child writes to its parent's tracker (received with the argument), not its own.
  shm.buf()[10] = std::byte{static_cast<unsigned char>(tracker.fd >= 0 && tracker.owner == 0 ? 1 : 0)};
  shm.close();
}

}  // namespace

TEST_CASE("create, attach by name, write and read: name, size, buf, repr", "[shared_memory]") {
  ProcessGuard guard;
  TrackerStop stop;
  const std::string name = unique_name("basics");
  SharedMemory sms({.name = name, .create = true, .size = 512});
  CHECK(sms.name() == name);
  CHECK(sms.size() == 512);
  CHECK(sms.buf().size() == 512);
  CHECK(sms.repr() == "SharedMemory('" + name + "', size=512)");
  CHECK(segment_exists(name));
  // The segment starts zeroed; writes through one mapping are seen through another.
  CHECK(sms.buf()[0] == std::byte{0});
  put_text(sms.buf(), "hello");
  SharedMemory also(name);  // SharedMemory(name): attach; size comes from the segment
  CHECK(also.size() == 512);
  CHECK(text_of(also.buf(), 5) == "hello");
  SharedMemory same_size(name, false, 5000);  // attaching ignores size
  CHECK(same_size.size() == 512);
  also.buf()[1] = std::byte{'E'};
  CHECK(text_of(sms.buf(), 5) == "hEllo");
  // Copies of a handle share the mapping: close() through one closes it for all.
  SharedMemory copy = also;
  CHECK(copy == also);
  CHECK_FALSE(copy == same_size);
  copy.close();
  CHECK(also.buf().empty());
  also.close();  // idempotent
  CHECK(also.name() == name);
  CHECK(also.size() == 512);
  same_size.close();
  sms.close();
  sms.unlink();
  CHECK_FALSE(segment_exists(name));
}

TEST_CASE("a name not given is CPython's psm_ and 8 hex digits, unique per segment", "[shared_memory]") {
  ProcessGuard guard;
  TrackerStop stop;
  SharedMemory a({.create = true, .size = 10});
  SharedMemory b(std::nullopt, true, 10);  // SharedMemory(None, True, 10)
  for (const auto& s : {a, b}) {
    const std::string n = s.name();
    REQUIRE(n.size() == 12);
    CHECK(n.rfind("psm_", 0) == 0);
    CHECK(n.find_first_not_of("0123456789abcdef", 4) == std::string::npos);
    CHECK(segment_exists(n));
  }
  CHECK(a.name() != b.name());
  CHECK(pyconc::str(a) == "SharedMemory('" + a.name() + "', size=10)");
  a.unlink();
  b.unlink();
  CHECK_FALSE(segment_exists(a.name()));
  CHECK_FALSE(segment_exists(b.name()));
}

TEST_CASE("misuse raises CPython's exceptions with CPython's messages", "[shared_memory]") {
  ProcessGuard guard;
  TrackerStop stop;
  REQUIRE_RAISES(SharedMemory({.create = true, .size = 0}), pyconc::ValueError,
                 "'size' must be a positive number different from zero");
  REQUIRE_RAISES(SharedMemory({.create = true}), pyconc::ValueError,
                 "'size' must be a positive number different from zero");
  REQUIRE_RAISES(SharedMemory({.create = true, .size = -1}), pyconc::ValueError, "'size' must be a positive integer");
  REQUIRE_RAISES(SharedMemory({.size = -1}), pyconc::ValueError, "'size' must be a positive integer");
  REQUIRE_RAISES(SharedMemory(SharedMemory::Options{}), pyconc::ValueError, "'name' can only be None if create=True");
  REQUIRE_RAISES(SharedMemory(std::nullopt), pyconc::ValueError, "'name' can only be None if create=True");
  REQUIRE_RAISES(SharedMemory("pyconc_nope_xyz"), pyconc::FileNotFoundError,
                 "[Errno 2] No such file or directory: '/pyconc_nope_xyz'");
  SharedMemory made({.create = true, .size = 10});
  REQUIRE_RAISES(SharedMemory(made.name(), true, 10), pyconc::FileExistsError,
                 "[Errno 17] File exists: '/" + made.name() + "'");
  try {
    SharedMemory again(made.name(), true, 10);
  } catch (const pyconc::FileExistsError& e) {
    CHECK(e.errno_() == EEXIST);
    CHECK(e.filename() == "/" + made.name());
  }
  made.unlink();
  REQUIRE_RAISES(made.unlink(), pyconc::FileNotFoundError,
                 "[Errno 2] No such file or directory: '/" + made.name() + "'");
  // The mapping stays usable after unlink, until close.
  made.buf()[9] = std::byte{1};
  CHECK(made.buf()[9] == std::byte{1});
  made.close();
}

TEST_CASE("a python3 process attaches a pyconc segment by name and sees and changes its bytes",
          "[shared_memory][python]") {
  ProcessGuard guard;
  TrackerStop stop;
  if (!python_available()) {
    WARN("python3 with multiprocessing.shared_memory not found: interop not tested");
    return;
  }
  SharedMemory shm({.create = true, .size = 10});
  put_text(shm.buf(), "hello");
  // Python's own tracker would unlink the segment when python exits: it unregisters
  // (Python 3.13 would say track=False).
  const auto run = run_python(
      "import sys\n"
      "from multiprocessing import resource_tracker, shared_memory\n"
      "s = shared_memory.SharedMemory(sys.argv[1])\n"
      "resource_tracker.unregister(s._name, 'shared_memory')\n"
      "print(s.name, s.size, bytes(s.buf[:5]).decode())\n"
      "s.buf[:5] = bytes(s.buf[:5]).upper()\n"
      "s.close()\n",
      {shm.name()});
  REQUIRE(run.status == 0);
  CHECK(run.out == shm.name() + " 10 hello\n");
  CHECK(text_of(shm.buf(), 5) == "HELLO");
  shm.close();
  shm.unlink();
}

TEST_CASE("pyconc attaches a segment a python3 process created and reads its bytes", "[shared_memory][python]") {
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
      "s = shared_memory.SharedMemory(sys.argv[1], create=True, size=100)\n"
      "resource_tracker.unregister(s._name, 'shared_memory')\n"
      "s.buf[:11] = b'from python'\n"
      "print(repr(s))\n"
      "s.close()\n",
      {name});
  REQUIRE(run.status == 0);
  SharedMemory shm(name);
  CHECK(run.out == shm.repr() + "\n");  // the same repr, character for character
  CHECK(shm.size() == 100);
  CHECK(text_of(shm.buf(), 11) == "from python");
  shm.close();
  shm.unlink();
  CHECK_FALSE(segment_exists(name));
}

TEST_CASE("a fork child writes into a segment the parent reads", "[shared_memory][fork]") {
  ProcessGuard guard;
  TrackerStop stop;
  SharedMemory shm({.create = true, .size = 64});
  mp::ForkProcess p([shm] {
    put_text(shm.buf(), "from the child");
    SharedMemory again(shm.name());  // attaching in the child works too
    again.buf()[20] = std::byte{7};
    again.close();
  });
  p.start();
  p.join();
  CHECK(p.exitcode() == 0);
  CHECK(text_of(shm.buf(), 14) == "from the child");
  CHECK(shm.buf()[20] == std::byte{7});
  shm.close();
  shm.unlink();
}

TEST_CASE("spawn and forkserver children receive a SharedMemory argument by name and share the parent's tracker",
          "[shared_memory][spawn]") {
  ProcessGuard guard;
  TrackerStop stop;
  SharedMemory shm({.create = true, .size = 64});
  mp::SpawnProcess p(spawn_writer, std::tuple{shm});
  p.start();
  p.join();
  CHECK(p.exitcode() == 0);
  CHECK(text_of(shm.buf(), 7) == "spawned");
  CHECK(shm.buf()[10] == std::byte{1});
  put_text(shm.buf(), std::string(11, '.'));
  mp::ForkServerProcess f(spawn_writer, std::tuple{shm});  // the descriptor goes through the server
  f.start();
  f.join();
  CHECK(f.exitcode() == 0);
  CHECK(text_of(shm.buf(), 7) == "spawned");
  CHECK(shm.buf()[10] == std::byte{1});
  shm.close();
  shm.unlink();
}

TEST_CASE("a SharedMemory pickles as its name: a process receiving it through a Connection attaches",
          "[shared_memory][pickle]") {
  ProcessGuard guard;
  TrackerStop stop;
  SharedMemory shm({.create = true, .size = 32});
  put_text(shm.buf(), "pickled");
  // In one process: loads attaches a second mapping of the same segment.
  const auto copy = pyconc::pickle::loads<SharedMemory>(pyconc::pickle::dumps(shm));
  CHECK_FALSE(copy == shm);
  CHECK(copy.name() == shm.name());
  CHECK(text_of(copy.buf(), 7) == "pickled");
  copy.close();
  // Through a pipe, to a child started before the segment was sent.
  const auto pipe = mp::Pipe();
  mp::Connection parent_conn = pipe.first, child_conn = pipe.second;
  mp::ForkProcess p([child_conn = child_conn] {
    const auto received = child_conn.recv<SharedMemory>();
    put_text(received.buf(), "PICKLED");
    received.close();
  });
  p.start();
  parent_conn.send(shm);
  p.join();
  CHECK(p.exitcode() == 0);
  CHECK(text_of(shm.buf(), 7) == "PICKLED");
  shm.close();
  shm.unlink();
}

TEST_CASE("the tracker removes a SIGKILLed creator's segment when the tree ends, with CPython's warning",
          "[shared_memory][resource_tracker]") {
  ProcessGuard guard;
  TrackerStop stop;
  pyconc_test::CaptureFd err;  // the tracker writes to the stderr it was started with
  rt::ensure_running();        // the children share this process's tracker
  const auto pipe = mp::Pipe();
  mp::Connection parent_conn = pipe.first, child_conn = pipe.second;
  mp::ForkProcess killed([child_conn = child_conn] {
    SharedMemory leaked({.create = true, .size = 64});
    child_conn.send(leaked.name());
    static_cast<void>(child_conn.recv<int>());  // waits to be killed
  });
  mp::ForkProcess forgetful([child_conn = child_conn] {
    SharedMemory leaked({.create = true, .size = 64});  // never unlinked
    child_conn.send(leaked.name());
  });
  killed.start();
  const auto first = parent_conn.recv<std::string>();
  forgetful.start();
  const auto second = parent_conn.recv<std::string>();
  forgetful.join();
  killed.kill();
  killed.join();
  CHECK(killed.exitcode() == -SIGKILL);
  CHECK(forgetful.exitcode() == 0);
  // This process still holds the tracker's pipe: the tree has not ended, nothing is removed.
  CHECK(segment_exists(first));
  CHECK(segment_exists(second));
  pyconc::detail::stop_resource_tracker();  // the last holder: the tracker cleans up and exits
  CHECK_FALSE(segment_exists(first));
  CHECK_FALSE(segment_exists(second));
  const std::string text = err.text();
  CHECK_THAT(text, Catch::Contains("UserWarning: resource_tracker: There appear to be 2 leaked shared_memory "
                                   "objects to clean up at shutdown: {'/" +
                                   first + "', '/" + second + "'}\n"));
}

TEST_CASE("unlinked and untracked segments are not reported, and attaching registers (Python 3.13's track)",
          "[shared_memory][resource_tracker]") {
  ProcessGuard guard;
  TrackerStop stop;
  pyconc_test::CaptureFd err;
  SharedMemory unlinked({.create = true, .size = 16});
  unlinked.unlink();
  SharedMemory untracked({.create = true, .size = 16, .track = false});
  CHECK_FALSE(untracked.track());
  const std::string attached_name = unique_name("attached");
  SharedMemory creator({.name = attached_name, .create = true, .size = 16, .track = false});
  SharedMemory attached(attached_name);  // track=True by default: registered by attaching
  CHECK(attached.track());
  unlinked.close();
  untracked.close();
  creator.close();
  attached.close();
  pyconc::detail::stop_resource_tracker();
  CHECK(segment_exists(untracked.name()));  // left to whoever unlinks it
  CHECK_FALSE(segment_exists(attached_name));
  const std::string text = err.text();
  CHECK_THAT(text, Catch::Contains("There appear to be 1 leaked shared_memory objects to clean up at shutdown: {'/" +
                                   attached_name + "'}"));
  CHECK_THAT(text, !Catch::Contains(unlinked.name()));
  CHECK_THAT(text, !Catch::Contains(untracked.name()));
  untracked.unlink();  // untracked: no tracker needed
}

TEST_CASE("the tracker is no child of the program, holds none of its pipes, and ignores SIGINT and SIGTERM",
          "[shared_memory][resource_tracker]") {
  ProcessGuard guard;
  TrackerStop stop;
  int fds[2];
  REQUIRE(::pipe(fds) == 0);  // inheritable: a tracker that kept it would hold the write end
  rt::ensure_running();
  const pid_t tracker = pyconc::detail::resource_tracker_g.pid;
  REQUIRE(tracker > 0);
  siginfo_t info{};
  CHECK(::waitid(P_PID, static_cast<id_t>(tracker), &info, WEXITED | WNOHANG | WNOWAIT) == -1);
  CHECK(errno == ECHILD);  // not a child: wait() in the program never sees it
  ::close(fds[1]);
  pollfd p{fds[0], POLLIN, 0};
  REQUIRE(::poll(&p, 1, 0) == 1);  // end of file at once: no other holder
  char c = 0;
  CHECK(::read(fds[0], &c, 1) == 0);
  ::close(fds[0]);
  CHECK(::kill(tracker, SIGTERM) == 0);
  CHECK(::kill(tracker, SIGINT) == 0);
  pyconc_test::CaptureFd err;
  rt::ensure_running();  // the probe finds it alive: no relaunch, no warning
  CHECK(pyconc::detail::resource_tracker_g.pid == tracker);
  CHECK(err.text().empty());
}

TEST_CASE("a tracker found dead is relaunched with CPython's warning", "[shared_memory][resource_tracker]") {
  ProcessGuard guard;
  TrackerStop stop;
  rt::ensure_running();
  const pid_t tracker = pyconc::detail::resource_tracker_g.pid;
  REQUIRE(tracker > 0);
  const int pidfd = pyconc::detail::pidfd_open(tracker);
  REQUIRE(pidfd >= 0);
  REQUIRE(::kill(tracker, SIGKILL) == 0);
  pollfd p{pidfd, POLLIN, 0};
  REQUIRE(::poll(&p, 1, -1) == 1);  // it has exited
  ::close(pidfd);
  pyconc_test::CaptureFd err;
  rt::ensure_running();
  CHECK(pyconc::detail::resource_tracker_g.pid != tracker);
  CHECK(err.text() ==
        "UserWarning: resource_tracker: process died unexpectedly, relaunching.  Some resources might leak.\n");
  // The new tracker works.
  SharedMemory shm({.create = true, .size = 8});
  shm.unlink();
}

TEST_CASE("register_ and unregister check the resource type and the message length", "[shared_memory]") {
  ProcessGuard guard;
  TrackerStop stop;
  REQUIRE_RAISES(rt::register_("/x", "bogus"), pyconc::ValueError,
                 "Cannot register /x for automatic cleanup: unknown resource type bogus");
  REQUIRE_RAISES(rt::register_("/" + std::string(600, 'a'), "shared_memory"), pyconc::ValueError, "msg too long");
  CHECK(rt::getfd() >= 0);
}
