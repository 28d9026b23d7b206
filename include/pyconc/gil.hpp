// SPDX-License-Identifier: MIT
/**
`pyconc/gil.hpp` — an opt-in Global Interpreter Lock that makes C++ threads take turns as
CPython's threads do, and the `sys` functions that tune it.

Defines:
- `gil::enable`, `gil::disable`, `gil::enabled`, `gil::held`, `gil::policy`
                                  turn the GIL on and off; does the calling thread hold it?
- `gil::Policy`, `gil::EnableOptions`   "new GIL" (CPython 3.2+, the default) or "old GIL"
                                  (CPython <= 3.1).
- `gil::checkpoint`               the eval-breaker poll: call it where Python would run bytecode.
- `gil::gil_scoped_release`, `gil::gil_scoped_acquire`   pybind11's names, for your own
                                  blocking calls (also as `pyconc::gil_scoped_release`, ...).
- `gil::Stats`, `gil::stats`, `gil::reset_stats`, `gil::thread_wait_seconds`   switches, drop
                                  requests, time waited.
- `gil::timeline::start`, `stop`, `recording`, `chrome_trace`, `write_chrome_trace`
                                  each thread's state changes as Chrome trace-event JSON.
- `sys::setswitchinterval`, `sys::getswitchinterval`   CPython's `sys` functions (new GIL).
- `sys::setcheckinterval`, `sys::getcheckinterval`     CPython 2.7/3.1's (old GIL).

```cpp
gil::enable();                       // main holds the GIL from now on
threading::Thread t([] {             // takes the GIL before the target runs
  for (long n = 100'000'000; n > 0; --n) gil::checkpoint();  // may hand the GIL over here
});
t.start();
t.join();                            // a blocking call: releases the GIL while it waits
gil::disable();
```

Off (the default) it costs nothing: `checkpoint()` and every blocking call of pyconc pay one
relaxed atomic load, and nothing else.

On, the default policy follows CPython 3.2+ (`Python/ceval_gil.c`): a thread that wants the
GIL waits one switch interval (`sys::setswitchinterval`, 5 ms), then asks the holder to drop
it; the holder drops it at its next `checkpoint()` and waits until another thread has taken
it (forced switching), then queues again. A lone thread is never interrupted. A release for a
blocking call (every blocking call of pyconc: sleep, lock/condition/event/queue waits that
really block, join, future results; your own calls inside `gil_scoped_release`) does not
wait for a taker, so a thread whose call returns before any waiter ran takes the GIL back at
once; one whose call really blocked must wait a switch interval for it (the convoy effect).
Uncontended fast paths (a free Lock, a set Event) do not touch the GIL.
`Policy::old_gil` follows CPython <= 3.1: every `sys::getcheckinterval()` checkpoints (100)
the holder releases the GIL and at once takes it again, and the OS decides who wins.

Who holds it:
- `enable()` makes the calling thread the holder.
- Threads started by pyconc while it is on take it before running their target and release
  it when they end.
- Threads already running when it is enabled (and threads pyconc did not start) are not
  holders; they take it at their next `checkpoint()` (or `gil_scoped_acquire`). A blocking
  call releases and takes back the GIL only for a thread that holds it.
- Inside `gil_scoped_release`, `checkpoint()` does nothing.
- `disable()` wakes every thread waiting for it; all threads run freely again. Enabling it
  again starts a fresh GIL held by the caller: earlier holders are holders no more.
- After `fork()`, the child's GIL is fresh: held by the forking thread if it held it, free
  otherwise (CPython re-creates it and the forking thread takes it).

Differs from Python: C++ code is only interrupted where it calls `checkpoint()` or blocks in
pyconc; a loop without checkpoints is one long bytecode that keeps the GIL, like a C
extension that does not release it. `enable()` while enabled raises
`RuntimeError("the GIL is already enabled")`.
*/
#ifndef PYCONC_GIL_HPP_INCLUDED
#define PYCONC_GIL_HPP_INCLUDED

#include <algorithm>  // std::max
#include <atomic>     // std::atomic
#include <chrono>     // std::chrono
#include <cstdint>    // std::uint64_t
#include <cstdio>     // std::snprintf, std::FILE
#include <memory>     // std::shared_ptr
#include <string>     // std::string
#include <vector>     // std::vector

#include <pyconc/detail/gil_state.hpp>
#include <pyconc/detail/wait.hpp>
#include <pyconc/errors.hpp>

namespace pyconc {
inline namespace v0 {
namespace gil {

/** Which CPython GIL to follow. */
enum class Policy {
  new_gil,  ///< CPython 3.2+: timed waits, drop requests, forced switching (the default)
  old_gil,  ///< CPython <= 3.1: release and re-take every check interval; the OS picks
};

/** The options of `gil::enable`: `gil::enable({.policy = gil::Policy::old_gil})`. */
struct EnableOptions {
  Policy policy = Policy::new_gil;
};

/** Whether the GIL is on. Never blocks. Thread-safe. */
[[nodiscard]] inline bool enabled() noexcept {
  return pyconc::detail::gil_on.load(std::memory_order_acquire) != 0;
}

/** Whether the calling thread holds the GIL (pybind11's `PyGILState_Check()`). Thread-safe. */
[[nodiscard]] inline bool held() noexcept {
  return pyconc::detail::gil_holds(pyconc::detail::tls_gil);
}

/** The policy of the GIL (the last one enabled). Thread-safe. */
[[nodiscard]] inline Policy policy() noexcept {
  return pyconc::detail::gil_g.policy.load(std::memory_order_relaxed) == 0 ? Policy::new_gil : Policy::old_gil;
}

/**
Turns the GIL on; the calling thread holds it when this returns. See the header comment for
what becomes of other threads. Raises `RuntimeError("the GIL is already enabled")` when it is
on. Thread-safe.
*/
inline void enable(EnableOptions options = {}) {
  namespace d = pyconc::detail;
  auto& g = d::gil_g;
  d::GilThread* me = d::gil_me();
  g.control.lock();
  if (d::gil_on.load(std::memory_order_relaxed) != 0) {
    g.control.unlock();
    d::raise<RuntimeError>("the GIL is already enabled");
  }
  d::gil_install_hooks();
  g.policy.store(
      static_cast<std::uint32_t>(options.policy == Policy::old_gil ? d::GilPolicy::old_gil : d::GilPolicy::new_gil),
      std::memory_order_relaxed);
  std::uint32_t epoch = g.epoch_counter.fetch_add(1, std::memory_order_relaxed) + 1;
  if (epoch == 0)
    epoch = g.epoch_counter.fetch_add(1, std::memory_order_relaxed) + 1;  // 0 means off
  g.locked.store(epoch, std::memory_order_seq_cst);                       // a fresh GIL, held by the caller
  if (g.last_holder.exchange(me, std::memory_order_seq_cst) != me)
    g.switch_number.fetch_add(1, std::memory_order_relaxed);
  me->held_epoch = epoch;
  me->breaker.store(0, std::memory_order_relaxed);
  me->ticker = g.check_interval.load(std::memory_order_relaxed);
  d::gil_on.store(epoch, std::memory_order_seq_cst);
  g.control.unlock();
  d::gil_record(me, d::GilActivity::running);
}

/**
Turns the GIL off: every thread waiting for it goes on at once, and from now on nobody holds
it. No-op when it is off. Thread-safe.
*/
inline void disable() noexcept {
  namespace d = pyconc::detail;
  auto& g = d::gil_g;
  g.control.lock();
  const std::uint32_t epoch = d::gil_on.load(std::memory_order_relaxed);
  if (epoch != 0) {
    d::gil_on.store(0, std::memory_order_seq_cst);
    std::uint32_t expected = epoch;
    g.locked.compare_exchange_strong(expected, 0, std::memory_order_seq_cst);
    g.drop_seq.fetch_add(1, std::memory_order_seq_cst);
    d::wake_all(g.drop_seq);
    g.switch_seq.fetch_add(1, std::memory_order_seq_cst);
    d::wake_all(g.switch_seq);
    if (d::GilThread* me = d::tls_gil) {
      if (me->held_epoch == epoch)
        d::gil_record(me, d::GilActivity::idle);
      me->held_epoch = 0;
    }
  }
  g.control.unlock();
}

/**
The eval breaker: call it where a Python program would run bytecode (loop back-edges, calls).
With the GIL off it is one relaxed atomic load. With it on, the holder hands the GIL over
here when a waiter asked (new policy) or every check interval (old policy), and a thread
that does not hold it takes it (waiting for it). With it on, a holder that nobody asked to
drop it (new policy) pays a few loads inline, like CPython's eval-breaker test. Never throws.
Thread-safe.
*/
inline void checkpoint() noexcept {
  namespace d = pyconc::detail;
  const std::uint32_t epoch = d::gil_on.load(std::memory_order_relaxed);
  if (epoch == 0) [[likely]]
    return;
  const d::GilThread* me = d::tls_gil;
  if (me != nullptr && me->held_epoch == epoch && me->breaker.load(std::memory_order_relaxed) == 0 &&
      d::gil_g.policy.load(std::memory_order_relaxed) == static_cast<std::uint32_t>(d::GilPolicy::new_gil)) {
    return;  // the holder, and no drop request
  }
  d::gil_checkpoint_slow();
}

/**
pybind11's `gil_scoped_release` (CPython's `Py_BEGIN_ALLOW_THREADS`): releases the GIL for
the scope, if the calling thread holds it, and takes it back at the end of the scope (also
when an exception leaves it). Inside, `checkpoint()` does nothing. Nests. Not copyable.

```cpp
{
  gil::gil_scoped_release nogil;
  n = ::read(fd, buffer, size);  // other threads run meanwhile
}
```
*/
class gil_scoped_release {
 public:
  gil_scoped_release() noexcept {
    if (pyconc::detail::gil_on.load(std::memory_order_relaxed) == 0)
      return;
    me_ = pyconc::detail::gil_me();
    ++me_->released_depth;
    released_ = pyconc::detail::gil_holds(me_);
    if (released_)
      pyconc::detail::gil_release(me_, pyconc::detail::GilActivity::io);
  }
  ~gil_scoped_release() {
    if (me_ == nullptr)
      return;
    --me_->released_depth;
    if (released_)
      pyconc::detail::gil_take(me_);
  }
  gil_scoped_release(const gil_scoped_release&) = delete;
  gil_scoped_release& operator=(const gil_scoped_release&) = delete;

 private:
  pyconc::detail::GilThread* me_ = nullptr;
  bool released_ = false;
};

/**
pybind11's `gil_scoped_acquire` (`PyGILState_Ensure`/`Release`): takes the GIL for the scope
if the calling thread does not hold it (waiting as the policy says), and releases it at the
end of the scope if it took it. Inside, `checkpoint()` works even within a
`gil_scoped_release`. No-op while the GIL is off. Nests. Not copyable.
*/
class gil_scoped_acquire {
 public:
  gil_scoped_acquire() noexcept {
    if (pyconc::detail::gil_on.load(std::memory_order_relaxed) == 0)
      return;
    me_ = pyconc::detail::gil_me();
    saved_depth_ = me_->released_depth;
    me_->released_depth = 0;
    if (!pyconc::detail::gil_holds(me_)) {
      pyconc::detail::gil_take(me_);
      acquired_ = pyconc::detail::gil_holds(me_);
    }
  }
  ~gil_scoped_acquire() {
    if (me_ == nullptr)
      return;
    if (acquired_)
      pyconc::detail::gil_release(me_, pyconc::detail::GilActivity::io);
    me_->released_depth = saved_depth_;
  }
  gil_scoped_acquire(const gil_scoped_acquire&) = delete;
  gil_scoped_acquire& operator=(const gil_scoped_acquire&) = delete;

 private:
  pyconc::detail::GilThread* me_ = nullptr;
  int saved_depth_ = 0;
  bool acquired_ = false;
};

/** What the GIL has done since the program started (or `reset_stats()`). */
struct Stats {
  std::uint64_t switches = 0;         ///< changes of holder (CPython's `switch_number`)
  std::uint64_t drop_requests = 0;    ///< waiters that asked the holder to drop it
  std::uint64_t forced_switches = 0;  ///< drops that waited until another thread took it
  std::uint64_t waits = 0;            ///< takes that found it held and had to wait
  double wait_seconds = 0;            ///< time all threads together spent waiting for it
};

/** The statistics so far. Thread-safe. */
[[nodiscard]] inline Stats stats() noexcept {
  const auto& g = pyconc::detail::gil_g;
  Stats s;
  s.switches = g.switch_number.load(std::memory_order_relaxed);
  s.drop_requests = g.drop_requests.load(std::memory_order_relaxed);
  s.forced_switches = g.forced_switches.load(std::memory_order_relaxed);
  s.waits = g.contended.load(std::memory_order_relaxed);
  s.wait_seconds = static_cast<double>(g.wait_ns.load(std::memory_order_relaxed)) * 1e-9;
  return s;
}

/** Sets every statistic back to zero. Thread-safe. */
inline void reset_stats() noexcept {
  auto& g = pyconc::detail::gil_g;
  g.switch_number.store(0, std::memory_order_relaxed);
  g.drop_requests.store(0, std::memory_order_relaxed);
  g.forced_switches.store(0, std::memory_order_relaxed);
  g.contended.store(0, std::memory_order_relaxed);
  g.wait_ns.store(0, std::memory_order_relaxed);
}

/** Seconds the calling thread has spent waiting for the GIL. */
[[nodiscard]] inline double thread_wait_seconds() noexcept {
  const auto* me = pyconc::detail::tls_gil;
  return me != nullptr ? me->wait_seconds : 0.0;
}

/**
A timeline of the GIL: for each thread, when it was running (holding the GIL), waiting for
it, or had released it for a blocking call ("io"). Written as Chrome trace-event JSON, which
Perfetto (ui.perfetto.dev) and chrome://tracing open; `scripts/gil_timeline.py` draws it as a
PNG. Not recording costs one relaxed atomic load per GIL state change.

```cpp
gil::timeline::start();
...  // the threaded program
gil::timeline::stop();
gil::timeline::write_chrome_trace("gil.json");
```
*/
namespace timeline {

/** Forgets what was recorded and starts recording. Thread-safe. */
inline void start() {
  namespace d = pyconc::detail;
  auto& tl = d::gil_timeline();
  tl.lock.lock();
  tl.tracks.clear();
  tl.t0 = d::Clock::now();
  tl.stopped = false;
  std::uint32_t gen = ++tl.generation;
  if (gen == 0)
    gen = ++tl.generation;
  tl.lock.unlock();
  d::gil_timeline_on.store(gen, std::memory_order_release);
  // The caller's current state opens its track.
  if (d::GilThread* me = d::tls_gil; me != nullptr && d::gil_holds(me))
    d::gil_record(me, d::GilActivity::running);
}

/** Stops recording; what was recorded stays until the next `start()`. Thread-safe. */
inline void stop() noexcept {
  namespace d = pyconc::detail;
  auto& tl = d::gil_timeline();
  d::gil_timeline_on.store(0, std::memory_order_release);
  tl.lock.lock();
  if (!tl.stopped) {
    tl.stopped = true;
    tl.stopped_at = d::Clock::now();
  }
  tl.lock.unlock();
}

/** Whether a timeline is being recorded. */
[[nodiscard]] inline bool recording() noexcept {
  return pyconc::detail::gil_timeline_on.load(std::memory_order_relaxed) != 0;
}

/**
What was recorded, as Chrome trace-event JSON: one track per thread (named after the thread),
one complete event ("ph": "X") per stretch of `running`, `waiting` or `io`. Thread-safe.
*/
[[nodiscard]] inline std::string chrome_trace() {
  namespace d = pyconc::detail;
  auto& tl = d::gil_timeline();
  tl.lock.lock();
  std::vector<std::shared_ptr<d::GilTrack>> tracks = tl.tracks;
  const auto t0 = tl.t0;
  const auto end_at = tl.stopped ? tl.stopped_at : d::Clock::now();
  tl.lock.unlock();
  const auto end_ns =
      static_cast<std::int64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(end_at - t0).count());

  std::string out = "{\"displayTimeUnit\": \"ms\", \"traceEvents\": [\n";
  bool first = true;
  auto add = [&](const std::string& event) {
    if (!first)
      out += ",\n";
    first = false;
    out += event;
  };
  add("{\"name\": \"process_name\", \"ph\": \"M\", \"pid\": 1, \"args\": {\"name\": \"pyconc GIL\"}}");
  int sort_index = 0;
  for (const auto& track : tracks) {
    track->lock.lock();
    std::vector<d::GilEvent> events = track->events;
    track->lock.unlock();
    const std::string tid = std::to_string(track->tid);
    add("{\"name\": \"thread_name\", \"ph\": \"M\", \"pid\": 1, \"tid\": " + tid +
        ", \"args\": {\"name\": " + pyconc::detail::json_string(track->name) + "}}");
    add("{\"name\": \"thread_sort_index\", \"ph\": \"M\", \"pid\": 1, \"tid\": " + tid +
        ", \"args\": {\"sort_index\": " + std::to_string(sort_index++) + "}}");
    for (std::size_t i = 0; i < events.size(); ++i) {
      const auto activity = events[i].activity;
      std::size_t j = i + 1;
      while (j < events.size() && events[j].activity == activity)
        ++j;  // one stretch
      const std::int64_t from = events[i].ns;
      const std::int64_t to = j < events.size() ? events[j].ns : std::max(end_ns, from);
      i = j - 1;
      const char* name = nullptr;
      const char* colour = nullptr;
      switch (activity) {
        case d::GilActivity::running:
          name = "running";
          colour = "good";
          break;
        case d::GilActivity::waiting:
          name = "waiting";
          colour = "terrible";
          break;
        case d::GilActivity::io:
          name = "io";
          colour = "grey";
          break;
        case d::GilActivity::idle:
          break;
      }
      if (name == nullptr)
        continue;
      add(std::string("{\"name\": \"") + name + "\", \"cat\": \"gil\", \"ph\": \"X\", \"pid\": 1, \"tid\": " + tid +
          ", \"ts\": " + pyconc::detail::microseconds(from) + ", \"dur\": " + pyconc::detail::microseconds(to - from) +
          ", \"cname\": \"" + colour + "\"}");
    }
  }
  out += "\n]}\n";
  return out;
}

/**
Writes `chrome_trace()` to the file `path`. Raises `RuntimeError("cannot write PATH")` when the
file cannot be written.
*/
inline void write_chrome_trace(const std::string& path) {
  const std::string json = chrome_trace();
  std::FILE* f = std::fopen(path.c_str(), "wb");
  bool ok = f != nullptr && std::fwrite(json.data(), 1, json.size(), f) == json.size();
  if (f != nullptr && std::fclose(f) != 0)
    ok = false;
  if (!ok)
    pyconc::detail::raise<RuntimeError>("cannot write " + path);
}

}  // namespace timeline
}  // namespace gil

using gil::gil_scoped_acquire;
using gil::gil_scoped_release;

/**
The part of Python's `sys` module that tunes the GIL.

Differs from Python: `setcheckinterval`/`getcheckinterval` exist in CPython only up to 3.8
(deprecated since 3.2, where they no longer did anything); here they tune `Policy::old_gil`.
*/
namespace sys {

/**
Python: `sys.setswitchinterval(interval)`. How long a thread waits for the GIL before it asks
the holder to drop it (new policy), in seconds. Stored as whole microseconds, truncated as
CPython does (`1e-9` becomes 0, which waits 1 µs). Raises
`ValueError("switch interval must be strictly positive")` when `interval <= 0`. Thread-safe.
*/
inline void setswitchinterval(double interval) {
  if (interval <= 0)
    pyconc::detail::raise<ValueError>("switch interval must be strictly positive");
  const double us = 1e6 * interval;
  std::uint64_t value = 0;
  // CPython converts with a C cast to unsigned long; these are what that gives on x86-64.
  if (__builtin_isnan(us)) {  // std::isnan without <cmath>
    value = std::uint64_t{1} << 63;
  } else if (us < 18446744073709551616.0) {  // 2**64
    value = static_cast<std::uint64_t>(us);
  }
  pyconc::detail::gil_g.interval_us.store(value, std::memory_order_relaxed);
}

/** `setswitchinterval` with the interval as a `std::chrono::duration`. */
inline void setswitchinterval(std::chrono::duration<double> interval) {
  setswitchinterval(interval.count());
}

/** Python: `sys.getswitchinterval()`. The switch interval in seconds (0.005 by default). Thread-safe. */
[[nodiscard]] inline double getswitchinterval() noexcept {
  return 1e-6 * static_cast<double>(pyconc::detail::gil_g.interval_us.load(std::memory_order_relaxed));
}

/**
Python 2.7/3.1: `sys.setcheckinterval(n)`. With `Policy::old_gil`, the holder releases and
re-takes the GIL every `n` checkpoints (every checkpoint when `n <= 0`). Thread-safe.
*/
inline void setcheckinterval(int n) noexcept {
  pyconc::detail::gil_g.check_interval.store(n, std::memory_order_relaxed);
}

/** Python 2.7/3.1: `sys.getcheckinterval()`. 100 by default. Thread-safe. */
[[nodiscard]] inline int getcheckinterval() noexcept {
  return static_cast<int>(pyconc::detail::gil_g.check_interval.load(std::memory_order_relaxed));
}

}  // namespace sys
}  // namespace v0
}  // namespace pyconc

#endif  // PYCONC_GIL_HPP_INCLUDED
