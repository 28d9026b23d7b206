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
- `pyconc_test::blocked_call(body, wake)`  runs `body` in a `Call`, notes whether it ended
                                    before `settle()` was over, runs `wake()`: a `Woken` record.
- `pyconc_test::start_calls(n, body)`  `n` `Call`s of `body`.
- `pyconc_test::count_finished(calls)`, `count_stuck(calls, s)`, `outcomes(calls, s)`,
  `longest(calls)`, `tally_returned(results, n)`   the same for many calls at once.
- `REQUIRE_RAISES_AFTER(expr, Type, message, T)`  `REQUIRE_RAISES`, and it took about `T`
                                    seconds (CPython's tolerance, as `REQUIRE_TIMING`).

For tests shared by several queue classes (as `TEMPLATE_TEST_CASE`s):

- `PYCONC_TEST_TASK_QUEUES`, `PYCONC_TEST_ALL_QUEUES`  the queues of `int` with task tracking
                                    (Queue, LifoQueue, PriorityQueue), and those plus SimpleQueue;
                                    spelt `queue::...`, for files that use `namespace pyconc`.
- `pyconc_test::QueueTraits<Q>`     per queue class: its `order`, whether it `has_tasks` (maxsize,
                                    full, task_done, join, shutdown) and `Of<U>` (or `QueueOf<Q, U>`),
                                    the same class for items of type `U`.
- `pyconc_test::Model<T>`           a plain vector that gives items back in a queue's order: the
                                    expected result of the same puts and gets (`model_of<Q>()`);
                                    `order_of<Q>(items)`: what the gets return after these puts.
- `pyconc_test::make_queue<Q>(maxsize)`  `Q(maxsize)`, or `Q()` for SimpleQueue.
- `pyconc_test::release_getters(q, n)`   wakes `n` getters stuck on `q` (a failed test's cleanup).

Catch2's assertions are not thread-safe: threads only record (outcome strings, atomics,
vectors read after join) and the test thread asserts.
*/
#ifndef PYCONC_TESTS_QUEUE_QUEUE_SUPPORT_HPP_INCLUDED
#define PYCONC_TESTS_QUEUE_QUEUE_SUPPORT_HPP_INCLUDED

#include <pyconc/queue.hpp>
#include <pyconc/threading.hpp>
#include <pyconc/time.hpp>

#include <dirent.h>  // opendir, readdir, closedir

#include <algorithm>    // std::min_element, std::max
#include <cstddef>      // std::size_t
#include <functional>   // std::function
#include <memory>       // std::shared_ptr, std::unique_ptr
#include <string>       // std::string, std::stoi
#include <type_traits>  // std::is_void_v, std::invoke_result_t
#include <utility>      // std::pair, std::move
#include <vector>       // std::vector

#include "support.hpp"

namespace pyconc_test {

inline std::string show(const std::string& s) {
  return s;
}
inline std::string show(const char* s) {
  return s;
}
template <class T>
requires std::is_arithmetic_v<T> std::string show(T v) {
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
inline void settle() {
  pyconc::time::sleep(0.05);
}

/** Polls `pred` every millisecond for at most `seconds`; returns its last value. */
template <class Pred>
bool wait_for(Pred&& pred, double seconds = 10.0) {
  const Stopwatch clock;
  while (!pred()) {
    if (clock.elapsed() > seconds)
      return pred();
    pyconc::time::sleep(0.001);
  }
  return true;
}

/** The number of threads of this process (entries of /proc/self/task); 0 if unknown. */
inline int thread_count() {
  DIR* dir = ::opendir("/proc/self/task");
  if (dir == nullptr)
    return 0;
  int n = 0;
  while (const dirent* entry = ::readdir(dir))
    if (entry->d_name[0] != '.')
      ++n;
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
    if (!state_->done.wait(seconds))
      return "still running";
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

/** `n` calls of `body`, each in a thread of its own (a `Call`). */
template <class F>
std::vector<Call> start_calls(int n, const F& body) {
  std::vector<Call> calls;
  for (int i = 0; i < n; ++i)
    calls.emplace_back(body);
  return calls;
}

/** What `blocked_call` saw: whether the call ended before `wake()`, its outcome and duration. */
struct Woken {
  bool finished_early = false;
  std::string outcome;
  double seconds = 0;
};

/**
Calls `body()` in a `Call`, lets it `settle()`, notes whether it has (wrongly) finished already,
then runs `wake()` in this thread and waits (at most 10 s) for the call to end. Asserts nothing.
*/
template <class Body, class Wake>
Woken blocked_call(Body body, Wake wake) {
  Call call(std::move(body));
  settle();
  Woken woken;
  woken.finished_early = call.finished();
  wake();
  woken.outcome = call.outcome();
  woken.seconds = call.seconds();
  return woken;
}

/** How many of `calls` have ended. Never blocks. */
inline int count_finished(const std::vector<Call>& calls) {
  int n = 0;
  for (const auto& c : calls)
    n += c.finished() ? 1 : 0;
  return n;
}

/** Waits at most `seconds` for each of `calls`; how many have not ended. */
inline int count_stuck(std::vector<Call>& calls, double seconds = 10.0) {
  int n = 0;
  for (auto& c : calls)
    n += c.wait(seconds) ? 0 : 1;
  return n;
}

/** `Call::outcome(seconds)` of each of `calls`, in order. */
inline std::vector<std::string> outcomes(std::vector<Call>& calls, double seconds = 10.0) {
  std::vector<std::string> results;
  for (auto& c : calls)
    results.push_back(c.outcome(seconds));
  return results;
}

/** The longest `seconds()` of `calls` (once their outcomes have been taken). */
inline double longest(const std::vector<Call>& calls) {
  double most = 0;
  for (const auto& c : calls)
    most = std::max(most, c.seconds());
  return most;
}

/** How often each of 0..n-1 was returned ("returned 3"), and the results that are neither. */
struct Returned {
  std::vector<int> seen;
  std::vector<std::string> odd;
};

inline Returned tally_returned(const std::vector<std::string>& results, int n) {
  Returned tally{std::vector<int>(static_cast<std::size_t>(n), 0), {}};
  for (const auto& r : results) {
    if (r.rfind("returned ", 0) != 0) {
      tally.odd.push_back(r);
      continue;
    }
    const int v = std::stoi(r.substr(9));
    if (v < 0 || v >= n) {
      tally.odd.push_back(r);
    } else {
      ++tally.seen[static_cast<std::size_t>(v)];
    }
  }
  return tally;
}

// ---- Tests shared by several queue classes ----------------------------------------------

/** The order in which a queue gives its items back. */
enum class Order {
  fifo,      // oldest first
  lifo,      // newest first
  smallest,  // smallest first; of equal items, the oldest
};

/** Orders by `<`, and unique_ptrs by what they point to (null first): PriorityQueue's Compare. */
struct Smaller {
  template <class U>
  bool operator()(const U& a, const U& b) const {
    return a < b;
  }
  template <class U>
  bool operator()(const std::unique_ptr<U>& a, const std::unique_ptr<U>& b) const {
    return b != nullptr && (a == nullptr || *a < *b);
  }
};

/** The traits of a queue class: see `QueueTraits`. */
template <Order O, bool Tasks, template <class> class Class>
struct QueueTraitsOf {
  static constexpr Order order = O;
  static constexpr bool has_tasks = Tasks;  // maxsize, full, task_done, join, shutdown
  template <class U>
  using Of = Class<U>;
};

/** A PriorityQueue of `U` by `Smaller`. */
template <class U>
using PriorityQueueOf = pyconc::queue::PriorityQueue<U, Smaller>;

template <class Q>
struct QueueTraits;
template <class T>
struct QueueTraits<pyconc::queue::Queue<T>> : QueueTraitsOf<Order::fifo, true, pyconc::queue::Queue> {};
template <class T>
struct QueueTraits<pyconc::queue::LifoQueue<T>> : QueueTraitsOf<Order::lifo, true, pyconc::queue::LifoQueue> {};
template <class T, class Compare>
struct QueueTraits<pyconc::queue::PriorityQueue<T, Compare>> : QueueTraitsOf<Order::smallest, true, PriorityQueueOf> {};
template <class T>
struct QueueTraits<pyconc::queue::SimpleQueue<T>> : QueueTraitsOf<Order::fifo, false, pyconc::queue::SimpleQueue> {};

/** The queue class of `Q` for items of type `U`. */
template <class Q, class U>
using QueueOf = typename QueueTraits<Q>::template Of<U>;

/** What a queue of `order` holds after the same puts and gets: the expected results. */
template <class T>
class Model {
 public:
  explicit Model(Order order) : order_(order) {}

  void put(T item) { items_.push_back(std::move(item)); }
  /** The item the queue's `get()` should return now. Call only when not empty. */
  T get() {
    auto next = items_.begin();
    if (order_ == Order::lifo)
      next = items_.end() - 1;
    if (order_ == Order::smallest)
      next = std::min_element(items_.begin(), items_.end());
    T item = std::move(*next);
    items_.erase(next);
    return item;
  }
  /** Every item left, in the order of `get()`. */
  std::vector<T> drain() {
    std::vector<T> out;
    while (!items_.empty())
      out.push_back(get());
    return out;
  }
  [[nodiscard]] std::size_t size() const { return items_.size(); }

 private:
  Order order_;
  std::vector<T> items_;
};

/** A `Model` for the queue class `Q`. */
template <class Q, class T = int>
Model<T> model_of() {
  return Model<T>(QueueTraits<Q>::order);
}

/** What the gets of the queue class `Q` return after `items` were put, in this order. */
template <class Q, class T = int>
std::vector<T> order_of(std::vector<T> items) {
  Model<T> model(QueueTraits<Q>::order);
  for (auto& item : items)
    model.put(std::move(item));
  return model.drain();
}

/** `Q(maxsize)`, or `Q()` for a queue that takes no maxsize (SimpleQueue). */
template <class Q>
Q make_queue(long long maxsize) {
  if constexpr (QueueTraits<Q>::has_tasks) {
    return Q(maxsize);
  } else {
    return Q();
  }
}

/** Wakes up to `stuck` getters blocked on `q`: by `shutdown()`, or by putting -1 for each. */
template <class Q>
void release_getters(Q& q, int stuck) {
  if (stuck == 0)
    return;
  if constexpr (QueueTraits<Q>::has_tasks) {
    q.shutdown();
  } else {
    for (int i = 0; i < stuck; ++i)
      q.put(-1);
  }
}

}  // namespace pyconc_test

/** The queues of `int` with task tracking, for `TEMPLATE_TEST_CASE` (after `using namespace pyconc`). */
#define PYCONC_TEST_TASK_QUEUES queue::Queue<int>, queue::LifoQueue<int>, queue::PriorityQueue<int>
/** Those and SimpleQueue. */
#define PYCONC_TEST_ALL_QUEUES PYCONC_TEST_TASK_QUEUES, queue::SimpleQueue<int>

/** `REQUIRE_RAISES(expr, Type, message)`, after about `T` seconds (as `REQUIRE_TIMING`). */
#define REQUIRE_RAISES_AFTER(expr, Type, message, T)   \
  do {                                                 \
    const ::pyconc_test::Stopwatch pyconc_test_clock_; \
    REQUIRE_RAISES(expr, Type, message);               \
    REQUIRE_TIMING(pyconc_test_clock_.elapsed(), T);   \
  } while (false)

#endif  // PYCONC_TESTS_QUEUE_QUEUE_SUPPORT_HPP_INCLUDED
