// SPDX-License-Identifier: MIT
// Tests of pyconc::threading::Thread and the module's thread functions (Python: threading.Thread,
// current_thread, main_thread, active_count, enumerate, get_ident, get_native_id, stack_size).
#include <pyconc/os.hpp>
#include <pyconc/threading.hpp>
#include <pyconc/time.hpp>

#include <catch2/catch.hpp>

#include <pthread.h>  // pthread_getname_np, pthread_getattr_np

#include <algorithm>   // std::find
#include <atomic>      // std::atomic
#include <cstddef>     // std::size_t
#include <functional>  // std::ref
#include <memory>      // std::make_shared, std::make_unique
#include <optional>    // std::optional
#include <sstream>     // std::ostringstream
#include <string>      // std::string
#include <thread>      // std::thread
#include <tuple>       // std::tuple
#include <vector>      // std::vector

#include "support.hpp"

using namespace pyconc;

namespace {

// N of a "Thread-N" or "Dummy-N" name.
long name_number(const std::string& name, const std::string& prefix) {
  INFO("name: " << name);
  REQUIRE(name.rfind(prefix, 0) == 0);
  REQUIRE(name.size() > prefix.size());
  return std::stol(name.substr(prefix.size()));
}

bool contains(const std::vector<threading::Thread>& threads, const threading::Thread& t) {
  return std::find(threads.begin(), threads.end(), t) != threads.end();
}

std::string os_thread_name() {
  char buffer[64] = {};
  ::pthread_getname_np(::pthread_self(), buffer, sizeof buffer);
  return buffer;
}

// A Thread subclass, as Python's `class Worker(threading.Thread)` with its own run().
struct Worker : threading::Thread {
  explicit Worker(int n) : Thread({.name = "Worker"}), n(n) {}
  void run() override {
    result = 2 * n;
    same_as_current = threading::current_thread() == *this;
    name_inside = threading::current_thread().name();
  }
  int n;
  int result = 0;
  bool same_as_current = false;
  std::string name_inside;
};

// A subclass that calls the base run(), which calls the target.
struct Around : threading::Thread {
  explicit Around(std::function<void()> target) : Thread(std::move(target)) {}
  void run() override {
    before = true;
    Thread::run();
    after = true;
  }
  bool before = false;
  bool after = false;
};

}  // namespace

// ---- construction: target, args, Options ---------------------------------------------------

TEST_CASE("Thread runs its target once in a new thread", "[thread]") {
  std::atomic<int> calls{0};
  unsigned long ident_inside = 0;
  threading::Thread t([&] {
    ++calls;
    ident_inside = threading::get_ident();
  });
  t.start();
  t.join();
  REQUIRE(calls == 1);
  REQUIRE(ident_inside != threading::get_ident());
}

TEST_CASE("Thread passes an args tuple to its target", "[thread]") {
  int number = 0;
  std::string text;
  threading::Thread t(
      [&](int n, const std::string& s) {
        number = n;
        text = s;
      },
      std::tuple{7, std::string("seven")});
  t.start();
  t.join();
  REQUIRE(number == 7);
  REQUIRE(text == "seven");
}

TEST_CASE("Thread copies its args unless given std::ref", "[thread]") {
  std::string original = "before";
  std::string seen;
  threading::Thread copied([&seen](const std::string& s) { seen = s; }, std::tuple{original});
  original = "after";
  copied.start();
  copied.join();
  REQUIRE(seen == "before");

  int counter = 0;
  threading::Thread shared([](int& c, int by) { c += by; }, std::tuple{std::ref(counter), 5});
  shared.start();
  shared.join();
  REQUIRE(counter == 5);
}

TEST_CASE("Thread takes name and daemon from Options", "[thread]") {
  std::atomic<int> calls{0};
  auto f = [&] { ++calls; };

  threading::Thread loop(f, {.name = "LoopThread", .daemon = true});
  REQUIRE(loop.name() == "LoopThread");
  REQUIRE(loop.daemon());

  threading::Thread keyword({.target = f, .name = "x"});
  REQUIRE(keyword.name() == "x");
  REQUIRE_FALSE(keyword.daemon());

  threading::Thread explicit_false(f, {.daemon = false});
  REQUIRE_FALSE(explicit_false.daemon());

  loop.start();
  keyword.start();
  explicit_false.start();
  loop.join();
  keyword.join();
  explicit_false.join();
  REQUIRE(calls == 3);
}

TEST_CASE("Thread without a target runs nothing and ends", "[thread]") {
  threading::Thread idle;
  idle.start();
  idle.join();
  REQUIRE_FALSE(idle.is_alive());
}

TEST_CASE("Thread default names are Thread-N with N increasing", "[thread]") {
  threading::Thread first;
  threading::Thread named({.name = "Named"});  // a named thread takes no number
  threading::Thread second;
  threading::Thread empty_name({.name = ""});  // as Python's name="": a Thread-N name
  threading::Thread third([] {});
  const long n = name_number(first.name(), "Thread-");
  REQUIRE(named.name() == "Named");
  REQUIRE(name_number(second.name(), "Thread-") == n + 1);
  REQUIRE(name_number(empty_name.name(), "Thread-") == n + 2);
  REQUIRE(name_number(third.name(), "Thread-") == n + 3);
}

TEST_CASE("Thread.name can be changed", "[thread]") {
  threading::Event release;
  threading::Thread t([&] { release.wait(); }, {.name = "old"});
  t.name("new");
  REQUIRE(t.name() == "new");
  t.start();
  t.name("newer");
  REQUIRE(t.name() == "newer");
  threading::Thread copy = t;  // copies are handles to the same thread
  REQUIRE(copy.name() == "newer");
  release.set();
  t.join();
}

// ---- misuse --------------------------------------------------------------------------------

TEST_CASE("Thread.start twice raises", "[thread]") {
  threading::Event release;
  threading::Thread t([&] { release.wait(); });
  t.start();
  REQUIRE_RAISES(t.start(), RuntimeError, "threads can only be started once");
  threading::Thread copy = t;
  REQUIRE_RAISES(copy.start(), RuntimeError, "threads can only be started once");
  release.set();
  t.join();
  REQUIRE_RAISES(t.start(), RuntimeError, "threads can only be started once");
  REQUIRE_RAISES(t.start(), threading::ThreadError, "threads can only be started once");
}

TEST_CASE("Thread.start from many threads at once starts it exactly once", "[thread]") {
  std::atomic<int> runs{0};
  threading::Thread target([&] { ++runs; });
  constexpr int starters = 8;
  threading::Barrier together(starters);
  std::vector<std::string> outcomes(starters);
  std::vector<threading::Thread> threads;
  for (int i = 0; i < starters; ++i) {
    threads.emplace_back(
        [&](int index) {
          together.wait();
          outcomes[static_cast<std::size_t>(index)] = pyconc_test::raised([&] { target.start(); });
        },
        std::tuple{i});
  }
  for (auto& t : threads)
    t.start();
  for (auto& t : threads)
    t.join();
  target.join();
  REQUIRE(runs == 1);
  REQUIRE(std::count(outcomes.begin(), outcomes.end(), "no exception") == 1);
  REQUIRE(std::count(outcomes.begin(), outcomes.end(), "RuntimeError: threads can only be started once") ==
          starters - 1);
}

TEST_CASE("Thread.join before start raises", "[thread]") {
  threading::Thread t([] {});
  REQUIRE_RAISES(t.join(), RuntimeError, "cannot join thread before it is started");
  REQUIRE_RAISES(t.join(0.1), RuntimeError, "cannot join thread before it is started");
  REQUIRE_RAISES(t.join(-1), RuntimeError, "cannot join thread before it is started");
  REQUIRE_FALSE(t.is_alive());
}

TEST_CASE("Thread.join of the current thread raises", "[thread]") {
  REQUIRE_RAISES(threading::current_thread().join(), RuntimeError, "cannot join current thread");
  REQUIRE_RAISES(threading::current_thread().join(0.1), RuntimeError, "cannot join current thread");
  REQUIRE_RAISES(threading::main_thread().join(), RuntimeError, "cannot join current thread");

  std::string via_handle;
  std::string via_current;
  threading::Thread t;
  t = threading::Thread([&] {
    via_handle = pyconc_test::raised([&] { t.join(); });
    via_current = pyconc_test::raised([] { threading::current_thread().join(1.0); });
  });
  t.start();
  t.join();
  REQUIRE(via_handle == "RuntimeError: cannot join current thread");
  REQUIRE(via_current == "RuntimeError: cannot join current thread");
}

// ---- join ----------------------------------------------------------------------------------

TEST_CASE("Thread.join with a timeout returns while the thread still runs", "[thread][timing]") {
  threading::Event release;
  threading::Thread t([&] { release.wait(); });
  t.start();

  pyconc_test::Stopwatch seconds;
  t.join(0.1);
  REQUIRE_TIMING(seconds.elapsed(), 0.1);
  REQUIRE(t.is_alive());

  pyconc_test::Stopwatch chrono_seconds;
  t.join(std::chrono::milliseconds(100));
  REQUIRE_TIMING(chrono_seconds.elapsed(), 0.1);
  REQUIRE(t.is_alive());

  release.set();
  t.join();
  REQUIRE_FALSE(t.is_alive());
  t.join(0.5);  // joining an ended thread again returns at once
  t.join();
  REQUIRE_FALSE(t.is_alive());
}

TEST_CASE("Thread.join with a negative timeout returns at once", "[thread]") {
  threading::Event release;
  threading::Thread t([&] { release.wait(); });
  t.start();
  pyconc_test::Stopwatch seconds;
  t.join(-5);
  t.join(-5.0);
  t.join(std::chrono::seconds(-5));
  t.join(0);
  REQUIRE(seconds.elapsed() < 1.0);
  REQUIRE(t.is_alive());
  release.set();
  t.join();
  REQUIRE_FALSE(t.is_alive());
}

TEST_CASE("Many threads join the same thread concurrently", "[thread]") {
  threading::Event release;
  threading::Thread target([&] { release.wait(); });
  target.start();

  constexpr int joiners = 8;
  threading::Barrier ready(joiners + 1);
  std::atomic<int> returned{0};
  std::atomic<int> saw_alive_after_join{0};
  std::vector<threading::Thread> threads;
  for (int i = 0; i < joiners; ++i) {
    threads.emplace_back(
        [&](int index) {
          ready.wait();
          if (index % 2 == 0) {
            target.join();
          } else {
            target.join(30.0);
          }
          if (target.is_alive())
            ++saw_alive_after_join;
          ++returned;
        },
        std::tuple{i});
  }
  for (auto& t : threads)
    t.start();
  ready.wait();
  pyconc::time::sleep(0.05);  // gives a joiner the chance to (wrongly) return early
  REQUIRE(returned == 0);
  release.set();
  for (auto& t : threads)
    t.join();
  REQUIRE(returned == joiners);
  REQUIRE(saw_alive_after_join == 0);
  target.join();
}

// ---- daemon --------------------------------------------------------------------------------

TEST_CASE("Thread.daemon cannot be set after start", "[thread]") {
  threading::Event release;
  threading::Thread t([&] { release.wait(); });
  REQUIRE_FALSE(t.daemon());
  t.daemon(true);
  REQUIRE(t.daemon());
  t.daemon(false);
  REQUIRE_FALSE(t.daemon());
  t.start();
  REQUIRE_RAISES(t.daemon(true), RuntimeError, "cannot set daemon status of active thread");
  REQUIRE_FALSE(t.daemon());
  release.set();
  t.join();
  REQUIRE_RAISES(t.daemon(true), RuntimeError, "cannot set daemon status of active thread");
  REQUIRE_FALSE(t.daemon());
}

TEST_CASE("Thread.daemon is inherited from the creating thread", "[thread]") {
  REQUIRE_FALSE(threading::main_thread().daemon());
  REQUIRE_FALSE(threading::Thread([] {}).daemon());

  std::optional<threading::Thread> made_in_daemon;
  std::optional<threading::Thread> made_in_daemon_not_daemon;
  bool grandchild_daemon_inside = false;
  threading::Thread daemon_parent(
      [&] {
        made_in_daemon = threading::Thread([] {});
        made_in_daemon_not_daemon = threading::Thread([] {}, {.daemon = false});
        threading::Thread grandchild([&] { grandchild_daemon_inside = threading::current_thread().daemon(); });
        grandchild.start();
        grandchild.join();
      },
      {.daemon = true});
  daemon_parent.start();
  daemon_parent.join();
  REQUIRE(made_in_daemon->daemon());
  REQUIRE_FALSE(made_in_daemon_not_daemon->daemon());
  REQUIRE(grandchild_daemon_inside);

  std::optional<threading::Thread> made_in_plain;
  threading::Thread plain_parent([&] { made_in_plain = threading::Thread([] {}); });
  plain_parent.start();
  plain_parent.join();
  REQUIRE_FALSE(made_in_plain->daemon());
}

// ---- ident, native_id, is_alive, current_thread -------------------------------------------

TEST_CASE("Thread.ident is nullopt before start and get_ident() of the thread after", "[thread]") {
  threading::Event release;
  unsigned long ident_inside = 0;
  threading::Thread t([&] {
    ident_inside = threading::get_ident();
    release.wait();
  });
  REQUIRE_FALSE(t.ident().has_value());
  t.start();
  REQUIRE(t.ident().has_value());
  REQUIRE(*t.ident() != 0);
  REQUIRE(*t.ident() != threading::get_ident());
  release.set();
  t.join();
  REQUIRE(*t.ident() == ident_inside);  // kept after the thread ended
}

TEST_CASE("Thread.ident is known inside the thread as soon as it runs", "[thread]") {
  // CPython's _bootstrap_inner sets ident before run(): current_thread().ident is never None there.
  // pyconc stores ident in start() after pthread_create returns, so the new thread may run first.
  constexpr int count = 100;
  std::atomic<int> wrong{0};
  std::vector<threading::Thread> threads;
  for (int i = 0; i < count; ++i) {
    threads.emplace_back([&] {
      if (threading::current_thread().ident() != std::optional<unsigned long>(threading::get_ident()))
        ++wrong;
    });
  }
  for (auto& t : threads)
    t.start();
  for (auto& t : threads)
    t.join();
  REQUIRE(wrong == 0);
}

TEST_CASE("Thread.native_id is get_native_id() of the thread", "[thread]") {
  threading::Event release;
  long native_inside = 0;
  std::optional<long> handle_native_inside;
  threading::Thread t([&] {
    native_inside = threading::get_native_id();
    handle_native_inside = threading::current_thread().native_id();
    release.wait();
  });
  REQUIRE_FALSE(t.native_id().has_value());
  t.start();
  const std::optional<long> native = t.native_id();  // waits until the thread has told it
  REQUIRE(native.has_value());
  REQUIRE(*native != threading::get_native_id());
  release.set();
  t.join();
  REQUIRE(*native == native_inside);
  REQUIRE(handle_native_inside == native);
  REQUIRE(t.native_id() == native);  // kept after the thread ended
}

TEST_CASE("Thread.is_alive is true from start until run() returns", "[thread]") {
  threading::Event started;
  threading::Event release;
  bool alive_inside = false;
  threading::Thread t([&] {
    alive_inside = threading::current_thread().is_alive();
    started.set();
    release.wait();
  });
  REQUIRE_FALSE(t.is_alive());
  t.start();
  REQUIRE(t.is_alive());
  started.wait();
  REQUIRE(t.is_alive());
  release.set();
  t.join();
  REQUIRE_FALSE(t.is_alive());
  REQUIRE(alive_inside);
}

TEST_CASE("current_thread() in a thread is that thread's handle", "[thread]") {
  bool same = false;
  bool main_differs = false;
  bool listed = false;
  std::string name_inside;
  threading::Thread t;
  t = threading::Thread(
      [&] {
        same = threading::current_thread() == t;
        main_differs = !(threading::current_thread() == threading::main_thread());
        listed = contains(threading::enumerate(), threading::current_thread());
        name_inside = threading::current_thread().name();
      },
      {.name = "Me"});
  t.start();
  t.join();
  REQUIRE(same);
  REQUIRE(main_differs);
  REQUIRE(listed);
  REQUIRE(name_inside == "Me");
}

TEST_CASE("main_thread() is the MainThread", "[thread]") {
  const threading::Thread main = threading::main_thread();
  REQUIRE(main.name() == "MainThread");
  REQUIRE(main == threading::current_thread());  // Catch2 runs the tests in the main thread
  REQUIRE(main.is_alive());
  REQUIRE_FALSE(main.daemon());
  REQUIRE(main.ident() == std::optional<unsigned long>(threading::get_ident()));
  REQUIRE(main.native_id() == std::optional<long>(os::getpid()));
  REQUIRE(main.native_id() == std::optional<long>(threading::get_native_id()));

  bool same_inside = false;
  std::string name_inside;
  threading::Thread t([&] {
    same_inside = threading::main_thread() == main;
    name_inside = threading::main_thread().name();
  });
  t.start();
  t.join();
  REQUIRE(same_inside);
  REQUIRE(name_inside == "MainThread");
}

TEST_CASE("active_count() is enumerate().size() and counts started threads until they end", "[thread]") {
  const std::size_t before = threading::active_count();
  REQUIRE(before == threading::enumerate().size());
  REQUIRE(before >= 1);
  REQUIRE(contains(threading::enumerate(), threading::main_thread()));

  threading::Event release;
  threading::Thread unstarted([] {});
  std::vector<threading::Thread> threads;
  for (int i = 0; i < 3; ++i)
    threads.emplace_back([&] { release.wait(); });
  for (auto& t : threads)
    t.start();

  REQUIRE(threading::active_count() == before + 3);
  const auto during = threading::enumerate();
  REQUIRE(during.size() == before + 3);
  for (const auto& t : threads)
    REQUIRE(contains(during, t));
  REQUIRE_FALSE(contains(during, unstarted));

  release.set();
  for (auto& t : threads)
    t.join();
  REQUIRE(threading::active_count() == before);
  const auto after = threading::enumerate();
  REQUIRE(after.size() == before);
  for (const auto& t : threads)
    REQUIRE_FALSE(contains(after, t));
}

// ---- threads pyconc did not start ----------------------------------------------------------

TEST_CASE("current_thread() in a foreign thread is a daemon Dummy-N that cannot be joined", "[thread]") {
  const std::size_t before = threading::active_count();
  std::string name;
  bool daemon = false;
  bool alive = false;
  bool listed = false;
  bool stable = false;
  bool ident_matches = false;
  bool native_matches = false;
  std::size_t count_inside = 0;
  std::string self_join;
  std::optional<threading::Thread> dummy;
  std::thread foreign([&] {
    const threading::Thread me = threading::current_thread();
    name = me.name();
    daemon = me.daemon();
    alive = me.is_alive();
    listed = contains(threading::enumerate(), me);
    count_inside = threading::active_count();
    stable = threading::current_thread() == me;
    ident_matches = me.ident() == std::optional<unsigned long>(threading::get_ident());
    native_matches = me.native_id() == std::optional<long>(threading::get_native_id());
    self_join = pyconc_test::raised([&] { threading::current_thread().join(); });
    dummy = me;
  });
  foreign.join();

  name_number(name, "Dummy-");
  REQUIRE(daemon);
  REQUIRE(alive);
  REQUIRE(listed);
  REQUIRE(count_inside == before + 1);
  REQUIRE(stable);
  REQUIRE(ident_matches);
  REQUIRE(native_matches);
  REQUIRE(self_join == "RuntimeError: cannot join a dummy thread");
  REQUIRE_RAISES(dummy->join(), RuntimeError, "cannot join a dummy thread");
  REQUIRE_RAISES(dummy->join(0.1), RuntimeError, "cannot join a dummy thread");
  // The dummy leaves the registry when its thread ends.
  REQUIRE_FALSE(dummy->is_alive());
  REQUIRE(threading::active_count() == before);
}

TEST_CASE("Dummy-N and Thread-N names share one counter", "[thread]") {
  // CPython: _newname() draws both from one counter: Thread-1, Dummy-2, Thread-3.
  threading::Thread first;
  std::string dummy_name;
  std::thread foreign([&] { dummy_name = threading::current_thread().name(); });
  foreign.join();
  threading::Thread second;
  const long n = name_number(first.name(), "Thread-");
  REQUIRE(name_number(dummy_name, "Dummy-") == n + 1);
  REQUIRE(name_number(second.name(), "Thread-") == n + 2);
}

// ---- subclasses ----------------------------------------------------------------------------

TEST_CASE("Thread subclass overriding run() works when owned by make_shared", "[thread][subclass]") {
  auto w = std::make_shared<Worker>(21);
  REQUIRE(w->name() == "Worker");
  w->start();
  w->join();
  REQUIRE(w->result == 42);
  REQUIRE(w->same_as_current);
  REQUIRE(w->name_inside == "Worker");
  REQUIRE_FALSE(w->is_alive());
  REQUIRE_RAISES(w->start(), RuntimeError, "threads can only be started once");
}

TEST_CASE("Thread subclass run() may call the base run() which calls the target", "[thread][subclass]") {
  std::atomic<bool> target_ran{false};
  auto t = std::make_shared<Around>([&] { target_ran = true; });
  t->start();
  t->join();
  REQUIRE(t->before);
  REQUIRE(target_ran);
  REQUIRE(t->after);
}

TEST_CASE("Thread subclass start() on an object not owned by a shared_ptr raises", "[thread][subclass]") {
  const std::size_t before = threading::active_count();
  const char* message =
      "a Thread subclass must be owned by a std::shared_ptr to be started (create it with "
      "std::make_shared)";

  Worker on_stack(1);
  REQUIRE_RAISES(on_stack.start(), RuntimeError, message);
  REQUIRE_FALSE(on_stack.is_alive());
  REQUIRE_FALSE(on_stack.ident().has_value());
  REQUIRE(on_stack.result == 0);
  REQUIRE_RAISES(on_stack.join(), RuntimeError, "cannot join thread before it is started");
  REQUIRE(threading::active_count() == before);

  auto unique = std::make_unique<Worker>(2);
  REQUIRE_RAISES(unique->start(), RuntimeError, message);
  REQUIRE(unique->result == 0);
}

// ---- lifetime ------------------------------------------------------------------------------

TEST_CASE("Dropping every handle to a running thread neither blocks nor stops it", "[thread][lifetime]") {
  threading::Event started;
  threading::Event go;
  threading::Event done;
  std::atomic<bool> ran_to_end{false};
  std::optional<threading::Thread> handed_back;  // a new handle, taken once every other was gone
  {
    threading::Thread t([&] {
      started.set();
      go.wait();
      handed_back = threading::current_thread();
      ran_to_end = true;
      done.set();
    });
    t.start();
    started.wait();
  }  // the last handle dies here, while the thread is blocked
  REQUIRE_FALSE(done.is_set());
  go.set();
  REQUIRE(done.wait(5.0));
  REQUIRE(ran_to_end);
  handed_back->join();
  REQUIRE_FALSE(handed_back->is_alive());
}

namespace {
struct CountedThread : threading::Thread {
  CountedThread(threading::Event& go, std::atomic<int>& destroyed) : go(go), destroyed(destroyed) {}
  ~CountedThread() override { ++destroyed; }
  void run() override {
    go.wait();
    payload = std::string(64, 'x');  // touches the object after every owner outside let go
    length = payload.size();
  }
  threading::Event& go;
  std::atomic<int>& destroyed;
  std::string payload;
  std::size_t length = 0;
};
}  // namespace

TEST_CASE("Dropping the last shared_ptr to a running subclass keeps it alive until run() returns",
          "[thread][lifetime][subclass]") {
  threading::Event go;
  std::atomic<int> destroyed{0};
  auto owner = std::make_shared<CountedThread>(go, destroyed);
  owner->start();
  threading::Thread handle = *owner;  // a plain handle to the same thread
  owner.reset();
  REQUIRE(destroyed == 0);
  REQUIRE(handle.is_alive());
  go.set();
  handle.join();
  REQUIRE(destroyed == 1);  // destroyed in its thread once run() returned
}

TEST_CASE("Thread releases its target and args when run() ends before join returns", "[thread][lifetime]") {
  // CPython's run() deletes _target, _args and _kwargs, so what they hold dies with the thread.
  auto captured = std::make_shared<int>(1);
  auto passed = std::make_shared<int>(2);
  const std::weak_ptr<int> captured_watch = captured;
  const std::weak_ptr<int> passed_watch = passed;
  threading::Thread t([held = std::move(captured)](const std::shared_ptr<int>& p) { static_cast<void>(*held + *p); },
                      std::tuple{std::move(passed)});
  REQUIRE_FALSE(captured_watch.expired());
  REQUIRE_FALSE(passed_watch.expired());
  t.start();
  t.join();
  REQUIRE(captured_watch.expired());
  REQUIRE(passed_watch.expired());
}

TEST_CASE("a foreign thread can join a pyconc thread", "[thread]") {
  threading::Event release;
  threading::Thread t([&] { release.wait(); });
  t.start();
  bool alive_after_join = true;
  std::string outcome;
  std::thread foreign([&] {
    outcome = pyconc_test::raised([&] { t.join(); });
    alive_after_join = t.is_alive();
  });
  release.set();
  foreign.join();
  REQUIRE(outcome == "no exception");
  REQUIRE_FALSE(alive_after_join);
}

// ---- OS visibility -------------------------------------------------------------------------

TEST_CASE("Thread gives the OS the first 15 bytes of its name", "[thread][os]") {
  std::string long_seen;
  std::string short_seen;
  std::string renamed_seen;
  std::string unnamed_seen;
  threading::Thread long_name([&] { long_seen = os_thread_name(); }, {.name = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"});
  threading::Thread short_name([&] { short_seen = os_thread_name(); }, {.name = "LoopThread"});
  threading::Thread renamed([&] { renamed_seen = os_thread_name(); }, {.name = "Original"});
  renamed.name("Renamed");
  threading::Thread unnamed([&] { unnamed_seen = os_thread_name(); });
  for (auto* t : {&long_name, &short_name, &renamed, &unnamed})
    t->start();
  for (auto* t : {&long_name, &short_name, &renamed, &unnamed})
    t->join();
  REQUIRE(long_seen == "ABCDEFGHIJKLMNO");
  REQUIRE(short_seen == "LoopThread");
  REQUIRE(renamed_seen == "Renamed");
  REQUIRE(unnamed_seen == unnamed.name().substr(0, 15));
}

// ---- stack_size ----------------------------------------------------------------------------

TEST_CASE("threading::stack_size validates and sets the stack size of new threads", "[thread][stack_size]") {
  struct Restore {
    ~Restore() { threading::stack_size(0); }
  } restore;

  REQUIRE(threading::stack_size() == 0);
  REQUIRE_RAISES(threading::stack_size(1), ValueError, "size not valid: 1 bytes");
  REQUIRE_RAISES(threading::stack_size(32767), ValueError, "size not valid: 32767 bytes");
  REQUIRE_RAISES(threading::stack_size(-1), ValueError, "size must be 0 or a positive value");
  REQUIRE(threading::stack_size() == 0);  // failed calls change nothing

  REQUIRE(threading::stack_size(65536) == 0);
  REQUIRE(threading::stack_size() == 65536);

  bool ran = false;
  std::size_t size = 0;
  threading::Thread t([&] {
    pthread_attr_t attr;
    if (::pthread_getattr_np(::pthread_self(), &attr) == 0) {
      ::pthread_attr_getstacksize(&attr, &size);
      ::pthread_attr_destroy(&attr);
    }
    ran = true;
  });
  t.start();
  t.join();
  REQUIRE(ran);
  REQUIRE(size >= 65536);
  REQUIRE(size < 1024 * 1024);  // not the OS default (8 MiB)

  REQUIRE(threading::stack_size(32768) == 65536);
  REQUIRE(threading::stack_size(0) == 32768);
  REQUIRE(threading::stack_size() == 0);
}

TEST_CASE("Thread.start raises RuntimeError when the OS cannot create the thread", "[thread][stack_size]") {
  struct Restore {
    ~Restore() { threading::stack_size(0); }
  } restore;
  const std::size_t before = threading::active_count();
  std::atomic<int> runs{0};
  threading::Thread t([&] { ++runs; });
  threading::stack_size(1LL << 50);  // more than the address space: pthread_create fails
  REQUIRE_RAISES(t.start(), RuntimeError, "can't start new thread");
  REQUIRE_FALSE(t.is_alive());
  REQUIRE_FALSE(t.ident().has_value());
  REQUIRE(threading::active_count() == before);
  REQUIRE_RAISES(t.join(), RuntimeError, "cannot join thread before it is started");

  threading::stack_size(0);
  t.start();  // as CPython: a start() that failed may be tried again
  t.join();
  REQUIRE(runs == 1);
}

// ---- repr ----------------------------------------------------------------------------------

TEST_CASE("Thread.repr shows the name and the state with daemon flag and ident", "[thread][repr]") {
  threading::Event release;
  threading::Thread t([&] { release.wait(); }, {.name = "x"});
  REQUIRE(t.repr() == "<Thread(x, initial)>");
  t.daemon(true);
  REQUIRE(t.repr() == "<Thread(x, initial daemon)>");
  t.start();
  const std::string id = std::to_string(*t.ident());
  REQUIRE(t.repr() == "<Thread(x, started daemon " + id + ")>");
  std::ostringstream streamed;
  streamed << t;
  REQUIRE(streamed.str() == t.repr());
  release.set();
  t.join();
  REQUIRE(t.repr() == "<Thread(x, stopped daemon " + id + ")>");

  threading::Thread plain([] {}, {.name = "y"});
  plain.start();
  plain.join();
  REQUIRE(plain.repr() == "<Thread(y, stopped " + std::to_string(*plain.ident()) + ")>");
}

TEST_CASE("Thread.repr of main and dummy threads and of a Timer names their classes", "[thread][repr]") {
  // CPython: repr() uses the class name: _MainThread, _DummyThread, Timer.
  const threading::Thread main = threading::main_thread();
  CHECK(main.repr() == "<_MainThread(MainThread, started " + std::to_string(*main.ident()) + ")>");

  std::string dummy_repr;
  std::string dummy_expected;
  std::thread foreign([&] {
    const threading::Thread me = threading::current_thread();
    dummy_repr = me.repr();
    dummy_expected = "<_DummyThread(" + me.name() + ", started daemon " + std::to_string(*me.ident()) + ")>";
  });
  foreign.join();
  CHECK(dummy_repr == dummy_expected);

  threading::Timer timer(1.0, [] {});
  CHECK(timer.repr() == "<Timer(" + timer.name() + ", initial)>");
}

// ---- stress --------------------------------------------------------------------------------

TEST_CASE("Thread stress: 100 threads increment one counter", "[thread][stress]") {
  constexpr int count = 100;
  const std::size_t before = threading::active_count();
  std::atomic<int> counter{0};
  std::vector<int> slots(count, 0);  // plain ints: join() must publish each thread's write
  std::vector<threading::Thread> threads;
  threads.reserve(count);
  for (int i = 0; i < count; ++i) {
    threads.emplace_back(
        [&](int index) {
          counter.fetch_add(1, std::memory_order_relaxed);
          slots[static_cast<std::size_t>(index)] = index + 1;
        },
        std::tuple{i});
  }
  for (auto& t : threads)
    t.start();
  for (auto& t : threads)
    t.join();
  REQUIRE(counter == count);
  for (int i = 0; i < count; ++i)
    REQUIRE(slots[static_cast<std::size_t>(i)] == i + 1);
  for (const auto& t : threads)
    REQUIRE_FALSE(t.is_alive());
  REQUIRE(threading::active_count() == before);
}
