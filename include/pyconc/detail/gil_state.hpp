// SPDX-License-Identifier: MIT
/**
`pyconc/detail/gil_state.hpp` — the GIL's machinery (the public face is `pyconc/gil.hpp`).

Defines:
- `detail::GilThread`      what the GIL knows about one thread (recycled, never freed).
- `detail::GilState`       the GIL itself: owner word, waiters, last holder, switch number,
                           policy, switch interval, check interval, statistics.
- `detail::gil_take`, `gil_release`, `gil_checkpoint_slow`   the algorithms.
- `detail::gil_thread_begin`, `gil_thread_end`   what pyconc threads do at start and end.
- `detail::GilTimeline`    the recorded state changes of every thread (for `gil::timeline`).

Algorithm ("new GIL", CPython 3.2+): a thread that finds the GIL held sleeps on a futex word
that every release bumps, for one switch interval at a time. When a whole interval passes
with the GIL held and no change of owner, it sets a drop request on the holder. The holder
sees it at its next checkpoint, releases, and waits until another thread has taken the GIL
(forced switching); then it queues for the GIL again. A release for a blocking call does not
wait for a taker unless a drop request is pending.

"Old GIL" (CPython <= 3.1): every `check interval` checkpoints the holder releases and at once
takes the GIL again; waiters sleep until a release wakes one of them, and whoever gets there
first wins.

Generations: each `enable()` starts a new generation (a nonzero number kept in
`detail::gil_on`). A thread holds the GIL only if it took it in the current generation, so a
`disable()` followed by `enable()` never leaves two holders.
*/
#ifndef PYCONC_DETAIL_GIL_STATE_HPP_INCLUDED
#define PYCONC_DETAIL_GIL_STATE_HPP_INCLUDED

#include <algorithm>  // std::max
#include <atomic>     // std::atomic
#include <chrono>     // std::chrono
#include <cstdint>    // std::uint32_t, std::uint64_t, std::int64_t
#include <cstdio>     // std::snprintf
#include <memory>     // std::shared_ptr
#include <string>     // std::string
#include <utility>    // std::move
#include <vector>     // std::vector

#include <pyconc/detail/futex.hpp>
#include <pyconc/detail/futex_lock.hpp>
#include <pyconc/detail/lifecycle.hpp>
#include <pyconc/detail/thread_records.hpp>
#include <pyconc/detail/thread_state.hpp>
#include <pyconc/detail/wait.hpp>

namespace pyconc {
inline namespace v0 {
namespace detail {

/** What a timeline records: the state a thread entered, and when (ns since `timeline::start`). */
enum class GilActivity : std::uint8_t { running, waiting, io, idle };

struct GilEvent {
  std::int64_t ns;
  GilActivity activity;
};

/** One thread's recorded events during one recording. */
struct GilTrack {
  long tid = 0;
  std::string name;
  RawLock lock;
  std::vector<GilEvent> events;
};

/** What the GIL knows about a thread. Records are recycled by later threads, never freed. */
struct GilThread {
  static constexpr std::uint32_t kDropRequest = 1;

  std::atomic<std::uint32_t> breaker{0};  // kDropRequest, set by a waiter (the eval breaker)
  std::atomic<std::uint32_t> in_use{0};   // owned by a live thread
  GilThread* next = nullptr;              // all records, newest first; immutable once published

  // Touched only by the owning thread.
  std::uint32_t held_epoch = 0;  // the generation in which this thread holds the GIL; 0: none
  int released_depth = 0;        // gil_scoped_release nesting: no lazy take at checkpoints
  long ticker = 0;               // old policy: checkpoints left before the next release
  std::uint32_t track_gen = 0;   // which recording `track` belongs to
  std::shared_ptr<GilTrack> track;
  double wait_seconds = 0;  // time this thread has spent waiting for the GIL
};

enum class GilPolicy : std::uint32_t { new_gil = 0, old_gil = 1 };

struct GilState {
  std::atomic<std::uint32_t> locked{0};          // 0 free; else the generation it was taken in
  std::atomic<std::uint32_t> drop_seq{0};        // bumped by every release; takers sleep on it
  std::atomic<std::uint32_t> switch_seq{0};      // bumped by takes a forced dropper waits for
  std::atomic<std::uint32_t> waiters{0};         // threads waiting to take
  std::atomic<std::uint32_t> switch_waiters{0};  // holders waiting for a forced hand-off
  std::atomic<GilThread*> last_holder{nullptr};
  std::atomic<std::uint32_t> policy{0};
  std::atomic<std::uint64_t> interval_us{5000};  // CPython's DEFAULT_INTERVAL
  std::atomic<long> check_interval{100};         // CPython 2.x's _Py_CheckInterval
  std::atomic<std::uint32_t> epoch_counter{0};
  std::atomic<GilThread*> records{nullptr};
  std::atomic<bool> atfork_installed{false};
  RawLock control;  // serialises enable/disable (and is held across fork)

  // Statistics.
  std::atomic<std::uint64_t> switch_number{0};
  std::atomic<std::uint64_t> drop_requests{0};
  std::atomic<std::uint64_t> forced_switches{0};
  std::atomic<std::uint64_t> contended{0};
  std::atomic<std::uint64_t> wait_ns{0};
};

/** The one GIL. Constant-initialised and trivially destructible: usable at any time. */
inline constinit GilState gil_g{};

/** The calling thread's record, or nullptr before it first needs one. */
inline constinit thread_local GilThread* tls_gil = nullptr;

/** Hands the record back (and the GIL, if still held) when a thread ends. */
struct GilThreadSlot {
  GilThread* record = nullptr;
  GilThreadSlot() = default;
  GilThreadSlot(const GilThreadSlot&) = delete;
  GilThreadSlot& operator=(const GilThreadSlot&) = delete;
  ~GilThreadSlot();
};
inline thread_local GilThreadSlot tls_gil_slot;

// ---- timeline ----------------------------------------------------------------------------

/** Nonzero while a timeline is recording: the recording's number. */
inline std::atomic<std::uint32_t> gil_timeline_on{0};

struct GilTimeline {
  RawLock lock;
  std::vector<std::shared_ptr<GilTrack>> tracks;
  std::uint32_t generation = 0;
  Clock::time_point t0{};
  Clock::time_point stopped_at{};
  bool stopped = false;
};

inline GilTimeline& gil_timeline() {
  static GilTimeline* const timeline = new GilTimeline;  // never deleted: threads may record at exit
  return *timeline;
}

inline void gil_record_slow(GilThread* me, GilActivity activity, std::uint32_t gen) noexcept {
  try {
    auto& tl = gil_timeline();
    if (me->track_gen != gen) {
      auto track = std::make_shared<GilTrack>();
      track->tid = native_thread_id();
      track->name = tls_current != nullptr ? tls_current->get_name() : "thread " + std::to_string(track->tid);
      tl.lock.lock();
      const bool current = tl.generation == gen;
      if (current)
        tl.tracks.push_back(track);
      tl.lock.unlock();
      if (!current)
        return;
      me->track = std::move(track);
      me->track_gen = gen;
    }
    tl.lock.lock();
    const auto t0 = tl.t0;
    tl.lock.unlock();
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count();
    GilTrack& track = *me->track;
    track.lock.lock();
    try {
      track.events.push_back({static_cast<std::int64_t>(ns), activity});
    } catch (...) {
      track.lock.unlock();
      throw;
    }
    track.lock.unlock();
  } catch (...) {
    // Out of memory: the event is not recorded.
  }
}

/** Records that the calling thread entered `activity`; one relaxed load when not recording. */
inline void gil_record(GilThread* me, GilActivity activity) noexcept {
  const std::uint32_t gen = gil_timeline_on.load(std::memory_order_relaxed);
  if (gen != 0) [[unlikely]]
    gil_record_slow(me, activity, gen);
}

// ---- timeline as Chrome trace JSON (gil::timeline::json)

/** `s` as a JSON string literal. */
inline std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buffer[8];
      std::snprintf(buffer, sizeof buffer, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
      out += buffer;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

/** `ns` nanoseconds as microseconds with three decimals (a trace event's time). */
inline std::string microseconds(std::int64_t ns) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.3f", static_cast<double>(ns) / 1e3);
  return buffer;
}

// ---- records -----------------------------------------------------------------------------

/** The calling thread's record, made (or recycled) on first use. */
inline GilThread* gil_me() noexcept {
  if (GilThread* me = tls_gil)
    return me;
  auto& g = gil_g;
  GilThread* me = claim_record(g.records);  // recycled when its thread ends, never freed
  // A recycled record is a new thread: its first take is a change of holder.
  GilThread* self = me;
  g.last_holder.compare_exchange_strong(self, nullptr, std::memory_order_seq_cst);
  me->breaker.store(0, std::memory_order_relaxed);
  me->held_epoch = 0;
  me->released_depth = 0;
  me->ticker = g.check_interval.load(std::memory_order_relaxed);
  me->track_gen = 0;
  me->track.reset();
  me->wait_seconds = 0;
  tls_gil = me;
  tls_gil_slot.record = me;  // its destructor hands the record back when the thread ends
  return me;
}

// ---- taking and releasing ----------------------------------------------------------------

/** Whether `me` holds the GIL of the current generation. */
inline bool gil_holds(const GilThread* me) noexcept {
  const std::uint32_t epoch = gil_on.load(std::memory_order_acquire);
  return epoch != 0 && me != nullptr && me->held_epoch == epoch;
}

// Takes the free GIL for generation `epoch`; false when it is held or the generation has ended.
inline bool gil_try_lock(std::uint32_t epoch) noexcept {
  auto& g = gil_g;
  std::uint32_t expected = 0;
  if (!g.locked.compare_exchange_strong(expected, epoch, std::memory_order_seq_cst, std::memory_order_relaxed)) {
    return false;
  }
  if (gil_on.load(std::memory_order_seq_cst) == epoch)
    return true;
  // disable() (and perhaps enable()) came in between: give it back to the new generation.
  expected = epoch;
  if (g.locked.compare_exchange_strong(expected, 0, std::memory_order_seq_cst)) {
    g.drop_seq.fetch_add(1, std::memory_order_seq_cst);
    wake_all(g.drop_seq);
  }
  return false;
}

// The bookkeeping of a successful take (CPython: under switch_mutex in take_gil).
inline void gil_took(GilThread* me, std::uint32_t epoch) noexcept {
  auto& g = gil_g;
  me->held_epoch = epoch;
  if (g.last_holder.load(std::memory_order_seq_cst) != me) {
    g.last_holder.store(me, std::memory_order_seq_cst);
    g.switch_number.fetch_add(1, std::memory_order_relaxed);
  }
  if (g.switch_waiters.load(std::memory_order_seq_cst) != 0) {  // a forced dropper waits for this
    g.switch_seq.fetch_add(1, std::memory_order_seq_cst);
    wake_all(g.switch_seq);
  }
  me->breaker.fetch_and(~GilThread::kDropRequest, std::memory_order_relaxed);
  me->ticker = g.check_interval.load(std::memory_order_relaxed);
}

// Waits until the GIL is free and takes it; false when the generation ended meanwhile.
inline bool gil_take_slow(GilThread* me, std::uint32_t epoch) noexcept {
  auto& g = gil_g;
  const auto since = Clock::now();
  gil_record(me, GilActivity::waiting);
  g.waiters.fetch_add(1, std::memory_order_seq_cst);
  bool got = false;
  for (;;) {
    const std::uint32_t seq = g.drop_seq.load(std::memory_order_seq_cst);
    if (gil_on.load(std::memory_order_seq_cst) != epoch)
      break;
    if (gil_try_lock(epoch)) {
      got = true;
      break;
    }
    if (static_cast<GilPolicy>(g.policy.load(std::memory_order_relaxed)) == GilPolicy::old_gil) {
      futex_wait(g.drop_seq, seq, Deadline::forever());  // a plain lock: wait for any release
      continue;
    }
    const std::uint64_t saved = g.switch_number.load(std::memory_order_relaxed);
    const std::uint64_t us = std::max<std::uint64_t>(g.interval_us.load(std::memory_order_relaxed), 1);
    const bool woken = futex_wait(g.drop_seq, seq, Deadline::after(static_cast<double>(us) * 1e-6));
    if (!woken && g.locked.load(std::memory_order_seq_cst) == epoch &&
        g.switch_number.load(std::memory_order_relaxed) == saved) {
      // A whole interval without a switch: ask the holder to drop it at its next checkpoint.
      if (GilThread* holder = g.last_holder.load(std::memory_order_seq_cst)) {
        holder->breaker.fetch_or(GilThread::kDropRequest, std::memory_order_relaxed);
        g.drop_requests.fetch_add(1, std::memory_order_relaxed);
      }
    }
  }
  g.waiters.fetch_sub(1, std::memory_order_seq_cst);
  const auto waited = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - since).count();
  g.wait_ns.fetch_add(static_cast<std::uint64_t>(waited), std::memory_order_relaxed);
  g.contended.fetch_add(1, std::memory_order_relaxed);
  me->wait_seconds += static_cast<double>(waited) * 1e-9;
  return got;
}

/** Takes the GIL for the calling thread (waiting as the policy says); no-op when it is off. */
inline void gil_take(GilThread* me) noexcept {
  const std::uint32_t epoch = gil_on.load(std::memory_order_acquire);
  if (epoch == 0 || me->held_epoch == epoch)
    return;
  if (!gil_try_lock(epoch) && !gil_take_slow(me, epoch))
    return;
  gil_took(me, epoch);
  gil_record(me, GilActivity::running);
}

/**
Releases the GIL held by `me`. With a drop request pending (new policy), waits until another
thread has taken it (CPython's FORCE_SWITCHING); a release for a blocking call has none
pending unless a waiter asked, so it does not wait.
*/
inline void gil_release(GilThread* me, GilActivity next, bool record = true) noexcept {
  auto& g = gil_g;
  const std::uint32_t epoch = me->held_epoch;
  me->held_epoch = 0;
  if (epoch == 0)
    return;
  if (record)
    gil_record(me, next);
  std::uint32_t expected = epoch;
  if (!g.locked.compare_exchange_strong(expected, 0, std::memory_order_seq_cst))
    return;  // a past generation
  g.drop_seq.fetch_add(1, std::memory_order_seq_cst);
  if (g.waiters.load(std::memory_order_seq_cst) != 0)
    wake_one(g.drop_seq);
  if ((me->breaker.load(std::memory_order_relaxed) & GilThread::kDropRequest) == 0)
    return;
  me->breaker.fetch_and(~GilThread::kDropRequest, std::memory_order_relaxed);
  if (static_cast<GilPolicy>(g.policy.load(std::memory_order_relaxed)) != GilPolicy::new_gil)
    return;
  g.forced_switches.fetch_add(1, std::memory_order_relaxed);
  g.switch_waiters.fetch_add(1, std::memory_order_seq_cst);
  for (;;) {
    const std::uint32_t seq = g.switch_seq.load(std::memory_order_seq_cst);
    if (g.last_holder.load(std::memory_order_seq_cst) != me || gil_on.load(std::memory_order_seq_cst) != epoch)
      break;
    futex_wait(g.switch_seq, seq, Deadline::forever());
  }
  g.switch_waiters.fetch_sub(1, std::memory_order_seq_cst);
}

/** The eval breaker's slow path: the GIL is on, so see what this thread must do. */
[[gnu::noinline]] inline void gil_checkpoint_slow() noexcept {
  const std::uint32_t epoch = gil_on.load(std::memory_order_acquire);
  if (epoch == 0)
    return;
  GilThread* me = gil_me();
  if (me->held_epoch != epoch) {  // not a holder (yet): take it, unless inside gil_scoped_release
    if (me->released_depth == 0)
      gil_take(me);
    return;
  }
  auto& g = gil_g;
  if (static_cast<GilPolicy>(g.policy.load(std::memory_order_relaxed)) == GilPolicy::old_gil) {
    if (--me->ticker >= 0)
      return;
    me->ticker = g.check_interval.load(std::memory_order_relaxed);
    // Release and at once take again: the OS decides whether a waiter gets in between. Only
    // a real change of hands goes on the timeline.
    gil_release(me, GilActivity::waiting, false);
    if (gil_try_lock(epoch)) {
      gil_took(me, epoch);
    } else if (gil_take_slow(me, epoch)) {
      gil_took(me, epoch);
      gil_record(me, GilActivity::running);
    }
    return;
  }
  if ((me->breaker.load(std::memory_order_relaxed) & GilThread::kDropRequest) != 0) {
    gil_release(me, GilActivity::waiting);
    gil_take(me);
  }
}

/** `BlockingRegion`'s entry with the GIL on: releases it if the calling thread holds it. */
inline bool gil_block_begin_impl() noexcept {
  GilThread* me = tls_gil;
  if (!gil_holds(me))
    return false;
  gil_release(me, GilActivity::io);
  return true;
}

/** `BlockingRegion`'s exit after `gil_block_begin_impl` released the GIL: takes it back. */
inline void gil_block_end_impl() noexcept {
  gil_take(tls_gil);
}

/** A pyconc thread starts: it takes the GIL before running its target (when the GIL is on). */
inline void gil_thread_begin() noexcept {
  if (gil_on.load(std::memory_order_relaxed) != 0) [[unlikely]]
    gil_take(gil_me());
}

/** A pyconc thread ends: it releases the GIL if it holds it. */
inline void gil_thread_end() noexcept {
  GilThread* me = tls_gil;
  if (me == nullptr)
    return;
  if (me->held_epoch != 0) {
    gil_release(me, GilActivity::idle);
  } else {
    gil_record(me, GilActivity::idle);
  }
}

inline GilThreadSlot::~GilThreadSlot() {
  if (record == nullptr)
    return;
  gil_release(record, GilActivity::idle);  // a foreign thread may end holding it
  record->track.reset();
  if (tls_gil == record)
    tls_gil = nullptr;
  record->in_use.store(0, std::memory_order_release);
  record = nullptr;
}

// ---- fork --------------------------------------------------------------------------------

// In the child only the forking thread exists: the GIL is made afresh, held by that thread if
// it held it in the parent, free otherwise (CPython's _PyEval_ReInitThreads takes it).
inline void gil_after_fork_in_child() noexcept {
  auto& g = gil_g;
  g.control.at_fork_reinit();
  GilThread* me = tls_gil;
  for (GilThread* r = g.records.load(std::memory_order_acquire); r != nullptr; r = r->next) {
    if (r != me) {
      r->in_use.store(0, std::memory_order_relaxed);
      r->breaker.store(0, std::memory_order_relaxed);
    }
  }
  g.waiters.store(0, std::memory_order_relaxed);
  g.switch_waiters.store(0, std::memory_order_relaxed);
  const std::uint32_t epoch = gil_on.load(std::memory_order_relaxed);
  const bool held = epoch != 0 && me != nullptr && me->held_epoch == epoch;
  if (me != nullptr)
    me->breaker.store(0, std::memory_order_relaxed);
  g.locked.store(held ? epoch : 0, std::memory_order_relaxed);
  g.last_holder.store(held ? me : nullptr, std::memory_order_relaxed);
  auto& tl = gil_timeline();
  tl.lock.at_fork_reinit();
  for (auto& track : tl.tracks)
    track->lock.at_fork_reinit();
}

inline void gil_install_hooks() {
  auto& g = gil_g;
  gil_block_begin.store(&gil_block_begin_impl, std::memory_order_release);
  gil_block_end.store(&gil_block_end_impl, std::memory_order_release);
  if (!g.atfork_installed.exchange(true)) {
    gil_timeline();  // built before any fork, so the child never allocates it half-way
    on_fork(ForkPhase::gil, {.prepare =
                                 []() noexcept {
                                   gil_g.control.lock();
                                   gil_timeline().lock.lock();
                                 },
                             .parent =
                                 []() noexcept {
                                   gil_timeline().lock.unlock();
                                   gil_g.control.unlock();
                                 },
                             .child = []() noexcept { gil_after_fork_in_child(); }});
  }
}

}  // namespace detail
}  // namespace v0
}  // namespace pyconc

#endif  // PYCONC_DETAIL_GIL_STATE_HPP_INCLUDED
