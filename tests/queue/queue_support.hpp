// SPDX-License-Identifier: MIT
/**
`tests/queue/queue_support.hpp` — helpers for the tests of `pyconc::queue`.

- `pyconc_test::show(value)`        a value as text ("7", "a", "(1, a)", "*7" for a unique_ptr).
- `pyconc_test::outcome(f)`         what `f()` did, as text: "returned 7", "returned" (void),
                                    "Empty: " (Python's class name and the message).
- `pyconc_test::Call`               runs `f` in its own (daemon) thread and records its outcome;
                                    `finished()` tells whether it has returned yet, so a test can
                                    check that a call really blocks before waking it.
- `pyconc_test::settle()`           a short sleep that gives blocked threads the chance to
                                    (wrongly) go on; used only to make a bug visible, never to
                                    order the test.
- `pyconc_test::wait_for(pred, s)`  polls `pred` for at most `s` seconds.
- `pyconc_test::wait_single_threaded(s)`  waits (at most `s` seconds) until this process has one
                                    thread left, as a fork whose child starts threads needs under
                                    ThreadSanitizer (the threads of earlier tests linger a moment
                                    after `join()`).

Catch2's assertions are not thread-safe: threads only record (outcome strings, atomics,
vectors read after join) and the test thread asserts.
*/
#ifndef PYCONC_TESTS_QUEUE_QUEUE_SUPPORT_HPP_INCLUDED
#define PYCONC_TESTS_QUEUE_QUEUE_SUPPORT_HPP_INCLUDED

#include <pyconc/threading.hpp>
#include <pyconc/time.hpp>

#include <dirent.h>  // opendir, readdir, closedir

#include <functional>   // std::function
#include <memory>       // std::shared_ptr, std::unique_ptr
#include <string>       // std::string
#include <type_traits>  // std::is_void_v, std::invoke_result_t
#include <utility>      // std::pair, std::move

#include "support.hpp"

namespace pyconc_test {

inline std::string show(const std::string& s) { return s; }
inline std::string show(const char* s) { return s; }
template <class T>
  requires std::is_arithmetic_v<T>
std::string show(T v) {
  return std::to_string(v);
}
template <class T>
std::string show(const std::unique_ptr<T>& p) {
  return p ? "*" + show(*p) : std::string("null");
}
template <class A, class B>
std::string show(const std::pair<A, B>& p) {
  return "(" + show(p.first) + ", " + show(p.second) + ")";
}

/** "returned <value>", "returned" for a void call, or "<PythonName>: <what()>" if it threw. */
template <class F>
std::string outcome(F&& f) {
  std::string value;
  const std::string thrown = raised([&] {
    if constexpr (std::is_void_v<std::invoke_result_t<F&>>) {
      f();
      value = "returned";
    } else {
      value = "returned " + show(f());
    }
  });
  return thrown == "no exception" ? value : thrown;
}

/** Gives blocked threads a chance to (wrongly) proceed: 50 ms. */
inline void settle() { pyconc::time::sleep(0.05); }

/** Polls `pred` every millisecond for at most `seconds`; returns its last value. */
template <class Pred>
bool wait_for(Pred&& pred, double seconds = 10.0) {
  const Stopwatch clock;
  while (!pred()) {
    if (clock.elapsed() > seconds) return pred();
    pyconc::time::sleep(0.001);
  }
  return true;
}

/** The number of threads of this process (entries of /proc/self/task); 0 if unknown. */
inline int thread_count() {
  DIR* dir = ::opendir("/proc/self/task");
  if (dir == nullptr) return 0;
  int n = 0;
  while (const dirent* entry = ::readdir(dir))
    if (entry->d_name[0] != '.') ++n;
  ::closedir(dir);
  return n;
}

/** Waits at most `seconds` until this process has a single thread; whether it has. */
inline bool wait_single_threaded(double seconds = 5.0) {
  return wait_for([] { return thread_count() == 1; }, seconds);
}

/**
A call made in a thread of its own. The constructor returns once the thread is about to make
the call. `finished()` is whether the call has returned (or thrown); `outcome()` joins the thread
and returns `pyconc_test::outcome` of the call. The thread is a daemon thread, so a test that
fails while the call is still blocked does not also hang the program at exit.
*/
class Call {
 public:
  template <class F>
  explicit Call(F body) : state_(std::make_shared<State>()) {
    thread_ = pyconc::threading::Thread(
        [state = state_, body = std::move(body)]() mutable {
          state->started.set();
          const Stopwatch clock;
          state->result = pyconc_test::outcome(body);
          state->seconds = clock.elapsed();
          state->done.set();
        },
        {.daemon = true});
    thread_.start();
    state_->started.wait();
  }

  /** Whether the call has returned or thrown. Never blocks. */
  [[nodiscard]] bool finished() const { return state_->done.is_set(); }
  /** Waits at most `seconds` for the call to end; whether it has. */
  bool wait(double seconds) { return state_->done.wait(seconds); }
  /**
  Waits (at most `seconds`, default 10) for the call to end, then joins the thread; the outcome,
  or "still running" when it has not ended.
  */
  std::string outcome(double seconds = 10.0) {
    if (!state_->done.wait(seconds)) return "still running";
    thread_.join();
    return state_->result;
  }
  /** How many seconds the call took (valid once `outcome()` has returned it). */
  [[nodiscard]] double seconds() const { return state_->seconds; }

 private:
  struct State {
    pyconc::threading::Event started;
    pyconc::threading::Event done;
    std::string result;
    double seconds = 0;
  };
  std::shared_ptr<State> state_;
  pyconc::threading::Thread thread_;
};

}  // namespace pyconc_test

#endif  // PYCONC_TESTS_QUEUE_QUEUE_SUPPORT_HPP_INCLUDED
