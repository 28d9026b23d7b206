// SPDX-License-Identifier: MIT
// multiprocessing.Value and RawValue, after CPython's _test_multiprocessing.py (_TestValue:
// test_value, test_rawvalue, test_getobj_getlock) and the semantics reference (§1.4, §2.4):
// zero-filled, lock=True/False/a given lock, repr, fork and spawn children; 4 processes x
// 100,000 increments under get_lock() give exactly 400,000, and without it updates are lost.
#include <pyconc/multiprocessing.hpp>

#include "multiprocessing/process_support.hpp"
#include "support.hpp"

#include <mutex>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

namespace mp = pyconc::multiprocessing;
using pyconc_test::ProcessGuard;

namespace {

struct Point {
  int x;
  double y;
};

void set_values(mp::Value<int> i, mp::Value<double> d, mp::RawValue<char> c, mp::Value<Point> p) {
  i.value(-1);
  d.value(3.25);
  c.value('x');
  p.value(Point{7, 0.5});
}

void add_locked(mp::Value<long long> counter, int times) {
  for (int k = 0; k < times; ++k) {
    std::lock_guard with(counter.get_lock());
    counter.value(counter.value() + 1);
  }
}

void add_unlocked(mp::Value<long long> counter, int times) {
  for (int k = 0; k < times; ++k)
    counter.value(counter.value() + 1);  // two separate locked accesses: not atomic
}

long long run_four(void (*body)(mp::Value<long long>, int), mp::Value<long long> counter, int times) {
  std::vector<mp::Process> children;
  for (int i = 0; i < 4; ++i)
    children.emplace_back(body, std::tuple{counter, times});
  for (auto& c : children)
    c.start();
  for (auto& c : children) {
    c.join();
    CHECK(c.exitcode() == 0);
  }
  return counter.value();
}

}  // namespace

TEST_CASE("Value: initial values, zero fill, value() and value(x), repr (test_value)", "[value]") {
  mp::Value<int> i(5);
  CHECK(i.value() == 5);
  CHECK(i.repr() == "<Synchronized wrapper for c_int(5)>");
  i.value(-3);
  CHECK(i.value() == -3);
  CHECK(mp::Value<double>().value() == 0.0);
  CHECK(mp::Value<double>(1.5).repr() == "<Synchronized wrapper for c_double(1.5)>");
  CHECK(mp::Value<long>(7).repr() == "<Synchronized wrapper for c_long(7)>");
  CHECK(mp::Value<unsigned char>(200).repr() == "<Synchronized wrapper for c_ubyte(200)>");
  CHECK(mp::Value<char>('a').repr() == "<Synchronized wrapper for c_char(b'a')>");
  CHECK(mp::Value<bool>(true).repr() == "<Synchronized wrapper for c_bool(True)>");
  const mp::Value<Point> p;
  CHECK(p.value().x == 0);
  CHECK(p.value().y == 0.0);
}

TEST_CASE("Value: get_lock and get_obj, lock=false and a given lock (test_getobj_getlock)", "[value]") {
  mp::Value<int> v(5);
  CHECK(v.get_lock().repr() == "<RLock(None, 0)>");
  CHECK(v.get_obj() == 5);
  {
    std::lock_guard with(v.get_lock());
    CHECK(v.get_lock().repr() == "<RLock(MainProcess, 1)>");
    v.value(v.value() + 1);  // the RLock is taken again inside: no deadlock
  }
  CHECK(v.value() == 6);

  mp::Value<int> raw(1, {.lock = false});
  CHECK(raw.repr() == "c_int(1)");
  REQUIRE_RAISES(static_cast<void>(raw.get_lock()), pyconc::AttributeError,
                 "'c_int' object has no attribute 'get_lock'");
  mp::RawValue<int> rv(3);
  CHECK(rv.repr() == "c_int(3)");

  mp::Lock lock;
  mp::Value<double> given(0.0, {.lock = lock});
  CHECK(given.get_lock().repr() == "<Lock(owner=None)>");
  lock.acquire();
  CHECK(given.get_lock().repr() == "<Lock(owner=MainProcess)>");  // the same lock
  lock.release();
  mp::RLock rlock;
  mp::Value<double> given_r(0.0, {.lock = rlock});
  rlock.acquire();
  CHECK(given_r.get_lock().repr() == "<RLock(MainProcess, 1)>");
  rlock.release();
}

TEST_CASE("Value: fork, spawn and forkserver children write what the parent reads", "[value][spawn]") {
  ProcessGuard guard;
  for (const std::string method : {"fork", "spawn", "forkserver"}) {
    mp::Value<int> i(1);
    mp::Value<double> d(1.0);
    mp::RawValue<char> c('a');
    mp::Value<Point> p;
    auto child = mp::get_context(method).Process(set_values, std::tuple{i, d, c, p});
    child.start();
    child.join();
    CHECK(child.exitcode() == 0);
    CHECK(i.value() == -1);
    CHECK(d.value() == 3.25);
    CHECK(c.value() == 'x');
    CHECK(p.value().x == 7);
    CHECK(p.value().y == 0.5);
  }
}

TEST_CASE("Value: 4 processes x 100,000 increments under get_lock() give exactly 400,000", "[value]") {
  ProcessGuard guard;
  constexpr int kTimes = (PYCONC_TEST_TSAN || PYCONC_TEST_ASAN) ? 10'000 : 100'000;
  mp::Value<long long> counter(0);
  CHECK(run_four(add_locked, counter, kTimes) == 4LL * kTimes);
}

TEST_CASE("Value: without get_lock() the read and the write are separate and updates are lost", "[value]") {
  ProcessGuard guard;
  if (std::thread::hardware_concurrency() < 2) {
    WARN("one CPU: processes do not interleave finely enough to show lost updates");
    return;
  }
  constexpr int kTimes = (PYCONC_TEST_TSAN || PYCONC_TEST_ASAN) ? 20'000 : 100'000;
  bool lost = false;
  for (int attempt = 0; attempt < 5 && !lost; ++attempt) {
    mp::Value<long long> counter(0);
    const long long total = run_four(add_unlocked, counter, kTimes);
    CHECK(total <= 4LL * kTimes);
    lost = total < 4LL * kTimes;
  }
  CHECK(lost);
}
