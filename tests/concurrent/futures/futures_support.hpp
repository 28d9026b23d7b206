// SPDX-License-Identifier: MIT
// Helpers shared by the concurrent.futures tests: futures in each of CPython's states (the
// fixtures of Lib/test/test_concurrent_futures/util.py) and small collectors.
#ifndef PYCONC_TESTS_CONCURRENT_FUTURES_FUTURES_SUPPORT_HPP_INCLUDED
#define PYCONC_TESTS_CONCURRENT_FUTURES_FUTURES_SUPPORT_HPP_INCLUDED

#include <pyconc/concurrent/futures.hpp>
#include <pyconc/errors.hpp>
#include <pyconc/threading.hpp>

#include <catch2/catch.hpp>

#include <set>
#include <vector>

namespace futures_test {

namespace cf = pyconc::concurrent::futures;

using Set = std::set<cf::Future<int>>;

inline cf::Future<int> pending_future() {
  return cf::Future<int>();
}

inline cf::Future<int> running_future() {
  cf::Future<int> f;
  f.set_running_or_notify_cancel();
  return f;
}

inline cf::Future<int> cancelled_future() {
  cf::Future<int> f;
  f.cancel();
  return f;
}

inline cf::Future<int> cancelled_and_notified_future() {
  cf::Future<int> f;
  f.cancel();
  f.set_running_or_notify_cancel();
  return f;
}

inline cf::Future<int> exception_future() {
  cf::Future<int> f;
  f.set_exception(pyconc::ValueError("boom"));
  return f;
}

inline cf::Future<int> successful_future(int value = 42) {
  cf::Future<int> f;
  f.set_result(value);
  return f;
}

/** Every future a range (an `as_completed()` range, say) yields, in order. */
template <class Range>
std::vector<cf::Future<int>> collect(Range&& range) {
  std::vector<cf::Future<int>> out;
  for (const auto& f : range)
    out.push_back(f);
  return out;
}

/** The futures of `fs` as a set, for order-free comparisons. */
template <class Range>
Set as_set(const Range& fs) {
  return Set(fs.begin(), fs.end());
}

/**
A pool of one worker, kept busy by `blocker` until `release()` (or the end of the scope): what
is submitted meanwhile stays queued. Build it in the test thread (it asserts that the
blocker started).
*/
class OneBusyWorker {
 public:
  OneBusyWorker() { REQUIRE(started_.wait(10.0)); }
  OneBusyWorker(const OneBusyWorker&) = delete;
  OneBusyWorker& operator=(const OneBusyWorker&) = delete;
  ~OneBusyWorker() { release(); }  // then the pool (declared after the events) shuts down first

  void release() { released_.set(); }

 private:
  pyconc::threading::Event started_;
  pyconc::threading::Event released_;

 public:
  cf::ThreadPoolExecutor executor{1};
  cf::Future<int> blocker = executor.submit([this] {
    started_.set();
    released_.wait(10.0);
    return 0;
  });
};

}  // namespace futures_test

#endif  // PYCONC_TESTS_CONCURRENT_FUTURES_FUTURES_SUPPORT_HPP_INCLUDED
