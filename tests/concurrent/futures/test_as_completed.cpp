// SPDX-License-Identifier: MIT
// Tests for concurrent::futures::as_completed, after CPython's Lib/test/
// test_concurrent_futures/test_as_completed.py and the reference's sections 1.3 and 2.3.
#include <pyconc/builtins.hpp>
#include <pyconc/concurrent/futures.hpp>
#include <pyconc/threading.hpp>
#include <pyconc/time.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <cmath>
#include <iterator>
#include <list>
#include <map>
#include <ranges>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "futures_support.hpp"
#include "support.hpp"

using namespace pyconc;
namespace cf = pyconc::concurrent::futures;

using namespace futures_test;

TEST_CASE("as_completed yields every future when none times out", "[as_completed]") {
  // CPython's test_no_timeout.
  cf::ThreadPoolExecutor executor(2);
  auto f1 = executor.submit([] { return 1; });
  auto f2 = executor.submit([] { return 2; });
  const std::vector<cf::Future<int>> fs{cancelled_and_notified_future(), exception_future(), successful_future(), f1,
                                        f2};
  const auto got = collect(cf::as_completed(fs));
  CHECK(std::set<cf::Future<int>>(got.begin(), got.end()) == std::set<cf::Future<int>>(fs.begin(), fs.end()));
  CHECK(got.size() == fs.size());
}

TEST_CASE("as_completed yields the done futures then raises TimeoutError naming the unfinished",
          "[as_completed][timeout]") {
  // CPython's test_future_times_out.
  auto pending = pending_future();
  const std::vector<cf::Future<int>> done{cancelled_and_notified_future(), exception_future(), successful_future()};
  std::vector<cf::Future<int>> fs = done;
  fs.push_back(pending);
  std::vector<cf::Future<int>> got;
  std::string outcome = pyconc_test::raised([&] {
    for (const auto& f : cf::as_completed(fs, 0))
      got.push_back(f);
  });
  CHECK(outcome == "TimeoutError: 1 (of 4) futures unfinished");
  CHECK(std::set<cf::Future<int>>(got.begin(), got.end()) == std::set<cf::Future<int>>(done.begin(), done.end()));
}

TEST_CASE("as_completed TimeoutError counts the futures still unfinished", "[as_completed][timeout]") {
  // CPython's test_correct_timeout_exception_msg.
  const std::vector<cf::Future<int>> fs{pending_future(), running_future(), successful_future()};
  REQUIRE_RAISES(collect(cf::as_completed(fs, 0)), cf::TimeoutError, "2 (of 3) futures unfinished");
  const std::vector<cf::Future<int>> two{pending_future(), pending_future()};
  REQUIRE_RAISES(cf::as_completed(two, 0).begin(), cf::TimeoutError, "2 (of 2) futures unfinished");
}

TEST_CASE("as_completed with a timeout gives up after about that long", "[as_completed][timing]") {
  const std::vector<cf::Future<int>> fs{pending_future()};
  const double T = 0.1;
  pyconc_test::Stopwatch clock;
  REQUIRE_RAISES(collect(cf::as_completed(fs, T)), cf::TimeoutError, "1 (of 1) futures unfinished");
  REQUIRE_TIMING(clock.elapsed(), T);
}

TEST_CASE("as_completed counts its timeout from the first iteration as CPython's generator does",
          "[as_completed][timing]") {
  // CPython's as_completed is a generator: its body, the clock included, starts at next().
  const std::vector<cf::Future<int>> fs{pending_future()};
  const double T = 0.1;
  auto range = cf::as_completed(fs, T);
  time::sleep(2 * T);
  pyconc_test::Stopwatch clock;
  REQUIRE_RAISES(range.begin(), cf::TimeoutError, "1 (of 1) futures unfinished");
  REQUIRE_TIMING(clock.elapsed(), T);
}

TEST_CASE("as_completed looks at the futures only when iteration starts", "[as_completed]") {
  auto done_later = pending_future();
  const std::vector<cf::Future<int>> fs{done_later};
  auto range = cf::as_completed(fs, 0);
  done_later.set_result(1);  // before begin(): counted as already done, no timeout
  CHECK(collect(range) == fs);
}

TEST_CASE("as_completed yields duplicated futures once", "[as_completed]") {
  // CPython's test_duplicate_futures.
  cf::ThreadPoolExecutor executor(1);
  auto f = executor.submit([] { return 1; });
  const std::vector<cf::Future<int>> fs{f, f, f, f, f};
  const auto got = collect(cf::as_completed(fs));
  REQUIRE(got.size() == 1);
  CHECK(got[0] == f);
}

TEST_CASE("as_completed yields pending futures in the order they finish", "[as_completed]") {
  auto a = pending_future();
  auto b = pending_future();
  auto c = pending_future();
  const std::vector<cf::Future<int>> fs{a, b, c};
  auto range = cf::as_completed(fs);
  b.set_result(2);
  auto it = range.begin();  // b was done when iteration began
  CHECK(*it == b);
  c.set_exception(ValueError("c"));
  a.set_result(1);
  ++it;
  REQUIRE(it != range.end());
  CHECK(*it == c);
  ++it;
  REQUIRE(it != range.end());
  CHECK(*it == a);
  ++it;
  CHECK(it == range.end());
}

TEST_CASE("as_completed blocks until the next future finishes", "[as_completed][blocking]") {
  auto a = pending_future();
  auto b = pending_future();
  const std::vector<cf::Future<int>> fs{a, b};
  std::vector<int> order;
  std::atomic<int> yielded{0};
  threading::Thread consumer([&] {
    for (const auto& f : cf::as_completed(fs, 10.0)) {
      order.push_back(f.result());
      ++yielded;
    }
  });
  consumer.start();
  time::sleep(0.05);
  CHECK(yielded.load() == 0);
  CHECK(consumer.is_alive());
  a.set_result(1);
  while (yielded.load() < 1)
    time::sleep(0.001);
  time::sleep(0.05);
  CHECK(yielded.load() == 1);
  CHECK(consumer.is_alive());
  b.set_result(2);
  consumer.join(10.0);
  REQUIRE_FALSE(consumer.is_alive());
  CHECK(order == std::vector<int>{1, 2});
}

TEST_CASE("as_completed waits for a cancelled future until its cancellation is notified", "[as_completed]") {
  auto f = cancelled_future();
  const std::vector<cf::Future<int>> fs{f};
  REQUIRE_RAISES(collect(cf::as_completed(fs, 0.05)), cf::TimeoutError, "1 (of 1) futures unfinished");
  auto range = cf::as_completed(fs, 10.0);
  threading::Thread notifier([f] {
    time::sleep(0.02);
    f.set_running_or_notify_cancel();
  });
  notifier.start();
  const auto got = collect(range);
  notifier.join();
  REQUIRE(got.size() == 1);
  CHECK(got[0].cancelled());
}

TEST_CASE("as_completed yields futures of a pool cancelled while queued", "[as_completed]") {
  futures_test::OneBusyWorker busy;
  const auto& blocker = busy.blocker;
  auto queued = busy.executor.submit([] { return 1; });
  REQUIRE(queued.cancel());
  const std::vector<cf::Future<int>> fs{blocker, queued};
  auto range = cf::as_completed(fs, 10.0);
  busy.release();  // the worker then notices the cancellation
  const auto got = collect(range);
  CHECK(std::set<cf::Future<int>>(got.begin(), got.end()) == std::set<cf::Future<int>>{blocker, queued});
}

TEST_CASE("as_completed accepts any range of futures", "[as_completed]") {
  const std::set<cf::Future<int>> set{successful_future(1), successful_future(2)};
  CHECK(collect(cf::as_completed(set)).size() == 2);
  const std::list<cf::Future<int>> list{successful_future(1), exception_future()};
  CHECK(collect(cf::as_completed(list, 1.0)).size() == 2);
  const std::vector<cf::Future<int>> none;
  CHECK(collect(cf::as_completed(none)).empty());
  CHECK(collect(cf::as_completed(none, 0)).empty());
  std::vector<cf::Future<void>> voids(2);
  for (auto& f : voids)
    f.set_result();
  int n = 0;
  for ([[maybe_unused]] const auto& f : cf::as_completed(voids))
    ++n;
  CHECK(n == 2);
}

TEST_CASE("as_completed iterates the keys of a map of futures, as of Python's dict", "[as_completed]") {
  // future_to_url = {executor.submit(load_url, url): url for url in URLS}
  // for future in as_completed(future_to_url): url = future_to_url[future]; data = future.result()
  cf::ThreadPoolExecutor executor(2);
  std::map<cf::Future<std::string>, std::string> future_to_url;
  for (const std::string url : {"http://a.org/", "http://b.org/", "http://c.org/"})
    future_to_url[executor.submit([url] { return "page of " + url; })] = url;
  std::set<std::string> seen;
  for (const auto& future : cf::as_completed(future_to_url, 10.0)) {
    const std::string& url = future_to_url.at(future);
    CHECK(future.result() == "page of " + url);
    seen.insert(url);
  }
  CHECK(seen == std::set<std::string>{"http://a.org/", "http://b.org/", "http://c.org/"});

  const auto ok = successful_future();
  const std::unordered_map<cf::Future<int>, int> hashed{{ok, 7}};
  const auto got = collect(cf::as_completed(hashed));
  REQUIRE(got.size() == 1);
  CHECK(hashed.at(got[0]) == 7);
}

TEST_CASE("as_completed accepts a braced list of futures", "[as_completed]") {
  const auto a = successful_future(1);
  const auto b = exception_future();
  CHECK(as_set(collect(cf::as_completed({a, b}))) == Set{a, b});
  auto pending = pending_future();
  REQUIRE_RAISES(collect(cf::as_completed({a, pending}, 0)), cf::TimeoutError, "1 (of 2) futures unfinished");
}

TEST_CASE("as_completed is a common range that list() and iterator pairs consume", "[as_completed]") {
  using Range = cf::AsCompleted<int>;
  STATIC_REQUIRE(std::ranges::input_range<Range>);
  STATIC_REQUIRE(std::ranges::common_range<Range>);
  const auto a = successful_future(1);
  const auto b = successful_future(2);
  // list(as_completed([a, b])) holds both futures.
  const std::vector<cf::Future<int>> listed = list(cf::as_completed({a, b}));
  CHECK(as_set(listed) == Set{a, b});
  CHECK(listed.size() == 2);
  auto range = cf::as_completed(std::vector{a, b, a});
  const std::vector<cf::Future<int>> paired(range.begin(), range.end());
  CHECK(as_set(paired) == Set{a, b});
  CHECK(paired.size() == 2);
  CHECK(range.begin() == range.end());
}

TEST_CASE("print of an as_completed range is CPython's generator repr", "[as_completed]") {
  // print(as_completed(fs)) -> <generator object as_completed at 0x7f...>
  auto range = cf::as_completed({successful_future()});
  const std::string text = str(range);
  CHECK(text.rfind("<generator object as_completed at 0x", 0) == 0);
  CHECK(text.back() == '>');
  CHECK(collect(range).size() == 1);  // printing started nothing
}

TEST_CASE("as_completed range destroyed early leaves the futures usable", "[as_completed][misuse]") {
  std::vector<cf::Future<int>> fs{pending_future(), pending_future(), pending_future()};
  {
    auto range = cf::as_completed(fs);
    fs[1].set_result(1);
    auto it = range.begin();
    CHECK(*it == fs[1]);
  }  // destroyed while two futures are still pending: its waiter must be gone from them
  fs[0].set_result(0);
  fs[2].set_exception(ValueError("late"));
  CHECK(fs[0].result() == 0);
  {
    auto moved_from = cf::as_completed(fs);
    auto it = moved_from.begin();
    auto range = std::move(moved_from);  // iterators survive a move of the range
    int n = 0;
    for (; it != range.end(); ++it)
      ++n;
    CHECK(n == 3);
  }
}

TEST_CASE("as_completed yields each of many futures completed by many threads exactly once", "[as_completed][stress]") {
  constexpr int n = 2000;
  std::vector<cf::Future<int>> fs(n);
  auto range = cf::as_completed(fs, 60.0);
  std::vector<threading::Thread> setters;
  for (int t = 0; t < 8; ++t) {
    setters.emplace_back([&, t] {
      for (int i = t; i < n; i += 8) {
        if (i % 7 == 0) {
          fs[static_cast<std::size_t>(i)].cancel();
          fs[static_cast<std::size_t>(i)].set_running_or_notify_cancel();
        } else {
          fs[static_cast<std::size_t>(i)].set_result(i);
        }
      }
    });
  }
  for (auto& s : setters)
    s.start();
  std::set<cf::Future<int>> seen;
  int count = 0;
  for (const auto& f : range) {
    seen.insert(f);
    ++count;
  }
  for (auto& s : setters)
    s.join();
  CHECK(count == n);
  CHECK(seen.size() == static_cast<std::size_t>(n));
}

TEST_CASE("as_completed does not yield futures cancelled by shutdown with cancel_futures",
          "[as_completed][thread_pool_executor]") {
  // As CPython: shutdown(cancel_futures=True) cancels queued futures without notifying them.
  futures_test::OneBusyWorker busy;
  auto& executor = busy.executor;
  const auto& blocker = busy.blocker;
  const std::vector<cf::Future<int>> queued{executor.submit([] { return 1; }), executor.submit([] { return 2; })};
  std::vector<cf::Future<int>> fs = queued;
  fs.push_back(blocker);
  std::vector<cf::Future<int>> got;
  std::string outcome;
  threading::Thread consumer([&] {
    outcome = pyconc_test::raised([&] {
      for (const auto& f : cf::as_completed(fs, 0.5))
        got.push_back(f);
    });
  });
  consumer.start();
  time::sleep(0.05);  // most likely waiting by now; the outcome is the same either way
  executor.shutdown(false, true);
  for (const auto& f : queued)
    CHECK(f.cancelled());
  busy.release();
  consumer.join(10.0);
  REQUIRE_FALSE(consumer.is_alive());
  CHECK(got == std::vector<cf::Future<int>>{blocker});
  CHECK(outcome == "TimeoutError: 2 (of 3) futures unfinished");
}
