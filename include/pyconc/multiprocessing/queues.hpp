// SPDX-License-Identifier: MIT
/**
`pyconc/multiprocessing/queues.hpp` — Python's `multiprocessing.queues`: FIFO queues between
processes.

Defines (namespace `pyconc::multiprocessing`):
- `Queue<T>(maxsize)`      put/get with block and timeout, qsize, empty, full, close,
                           join_thread, cancel_join_thread.
- `JoinableQueue<T>`       adds task_done and join.
- `SimpleQueue<T>`         put, get, empty, close: no size limit, no background thread.

## The channel

CPython's queue is a pipe: one system call per item each way, and a feeder thread that
writes what `put` buffered. pyconc's queue is a byte ring in memory shared by the processes
(`heap.hpp`), 256 KiB by default. A message is an 8-byte length and the pickled item. One
producer at a time writes (the write lock) and one consumer at a time reads (the read lock);
both are robust locks (`detail/robust_lock.hpp`). A message that fits the ring is published
whole, with one store of the head counter, and consumed whole, with one store of the tail
counter: no reader ever sees half a message, and an item is taken out only by the store
that ends its read. Nothing makes a system call unless someone sleeps: a reader waiting for
data (or a writer waiting for room) looks again every 2 us for up to 50 us, then sleeps on a
futex word that the other side bumps only when someone sleeps there. The two sides' counters
and locks lie on separate cache lines.

A message larger than the ring streams through it in pieces, followed by a one-byte trailer
that says it was written whole.

## `put` never waits for a reader

As in CPython, `put` returns once the item is queued in this process: written into the ring
at once when there is room and no other producer is writing, else appended to this process's
buffer, which a daemon thread named `QueueFeederThread` writes in order, a batch at a time
(the whole buffer under one hold of the write lock). A process that ends
(returning from `main`, or a child finishing its target) first waits until its buffered
items are in the ring, unless `cancel_join_thread()` was called, as in CPython; so a child
whose items nobody reads can block at exit, as in CPython ("joining processes that use
queues").

## When a process dies

- a consumer killed in the middle of a `get`: the next consumer takes over the read lock
  (robust), finds where the dead one stopped, and goes on; no consumer hangs. The item the
  dead consumer was taking is lost only if its read had ended (it then belonged to that
  consumer); otherwise it stays in the queue. A large (streamed) message being read is lost.
- a producer killed while writing a large message: the next writer (or the reader waiting
  for it) completes the message as broken, and its reader gets `pickle::UnpicklingError`.
- corrupt bytes in the channel: the reader gets `pickle::UnpicklingError`; the queue goes on.
- a `Queue(maxsize)` slot held by a consumer killed between its read and giving the slot
  back is lost (the queue holds one fewer item from then on).

Differs from Python: items are pickled in `put` (an unpicklable item cannot compile; a
pickling error is raised by `put`, where CPython's feeder thread prints it and drops the
item); the queue holds one `T` type; `empty()` sees an item as soon as it is in the ring.
*/
#ifndef PYCONC_MULTIPROCESSING_QUEUES_HPP_INCLUDED
#define PYCONC_MULTIPROCESSING_QUEUES_HPP_INCLUDED

#include <algorithm>  // std::min, std::max
#include <atomic>     // std::atomic
#include <chrono>     // std::chrono
#include <climits>    // INT_MAX
#include <cstddef>    // std::size_t
#include <cstdint>    // std::uint64_t
#include <cstdio>     // std::snprintf
#include <cstring>    // std::memcpy
#include <deque>      // std::deque
#include <memory>     // std::shared_ptr, std::weak_ptr
#include <mutex>      // std::lock_guard
#include <optional>   // std::optional
#include <ostream>    // std::ostream
#include <string>     // std::string
#include <utility>    // std::move
#include <vector>     // std::vector

#include <pyconc/detail/deadline.hpp>
#include <pyconc/detail/fork_gate.hpp>
#include <pyconc/detail/futex.hpp>
#include <pyconc/detail/lifecycle.hpp>
#include <pyconc/detail/process_identity.hpp>
#include <pyconc/detail/robust_lock.hpp>
#include <pyconc/detail/wait_word.hpp>
#include <pyconc/errors.hpp>
#include <pyconc/multiprocessing/heap.hpp>
#include <pyconc/multiprocessing/synchronize.hpp>
#include <pyconc/pickle.hpp>
#include <pyconc/queue/base.hpp>
#include <pyconc/threading/semaphore.hpp>
#include <pyconc/threading/thread.hpp>
#include <pyconc/timeout.hpp>

namespace pyconc {
inline namespace v0 {
namespace detail {

template <class Q>
struct QueueAccess;

/** A queue's channel in shared memory; the ring's bytes follow it. See the file comment. */
struct QueueChannelState {
  explicit QueueChannelState(std::uint64_t ring, std::uint32_t max) : capacity(ring), maxsize(max), slots(max) {}

  // Each side's fields share a cache line with nothing the other side writes: a producer and a
  // consumer on two cores would otherwise pass the line back and forth on every item.
  const std::uint64_t capacity;
  const std::uint32_t maxsize;  // INT_MAX: unbounded, counted by puts and gets
  // The writers' side. A streamed message being written: where it starts and ends (0: none).
  alignas(64) RobustLock write_lock;
  std::uint64_t write_frame_start = 0;
  std::uint64_t write_frame_end = 0;
  std::atomic<std::uint64_t> puts{0};  // unbounded queues: items put
  // The readers' side. A streamed message being read: where it ends (0: none).
  alignas(64) RobustLock read_lock;
  std::uint64_t read_frame_end = 0;
  std::atomic<std::uint64_t> gets{0};              // unbounded queues: items got
  alignas(64) std::atomic<std::uint64_t> head{0};  // bytes published
  alignas(64) std::atomic<std::uint64_t> tail{0};  // bytes consumed
  alignas(64) WaitWord<FutexScope::process_shared> published;
  alignas(64) WaitWord<FutexScope::process_shared> consumed;
  std::atomic<std::uint64_t> room_wanted{0};                    // free bytes a sleeping writer waits for
  alignas(64) SemaphoreCore<FutexScope::process_shared> slots;  // Queue(maxsize > 0): free places
  alignas(64) WaitWord<FutexScope::process_shared> unfinished;  // JoinableQueue: tasks not done
};

/** The ring's operations; the caller holds the write lock (writers) or the read lock (readers). */
class QueueChannel {
 public:
  static constexpr std::uint64_t kDefaultRing = 256 * 1024;
  static constexpr std::uint64_t kHeader = 8;

  QueueChannel() = default;
  explicit QueueChannel(Shared<QueueChannelState> state) : state_(std::move(state)) {}

  static QueueChannel make(std::uint32_t maxsize, std::uint64_t ring = kDefaultRing) {
    return QueueChannel(Shared<QueueChannelState>::make(ring, ring, maxsize));
  }

  [[nodiscard]] QueueChannelState& state() const noexcept { return *state_; }
  [[nodiscard]] const Shared<QueueChannelState>& shared() const noexcept { return state_; }

  /** Whether a message of `size` bytes streams through the ring (it cannot be published whole). */
  [[nodiscard]] bool streamed(std::uint64_t size) const noexcept { return kHeader + size + 1 > state_->capacity; }
  [[nodiscard]] bool empty() const noexcept {
    return state_->head.load(std::memory_order_acquire) == state_->tail.load(std::memory_order_acquire);
  }

  // ---- writers (holding the write lock) ----

  /** Takes the write lock until `deadline`; completes what a dead writer left. */
  bool lock_writer(const Deadline& deadline) {
    const Acquired got = state_->write_lock.acquire(self_identity(), deadline);
    if (got == Acquired::abandoned)
      finish_dead_writer();
    return got != Acquired::no;
  }
  /** Takes the write lock if it is free now (no clock read, no waiting). */
  bool try_lock_writer() {
    const Acquired got = state_->write_lock.try_acquire(self_identity());
    if (got == Acquired::abandoned)
      finish_dead_writer();
    return got != Acquired::no;
  }
  void unlock_writer() noexcept { state_->write_lock.release(); }

  /** Writes a message that fits in the free room now; false (nothing written) otherwise. */
  bool try_write_whole(const std::string& message) noexcept {
    auto& s = *state_;
    if (streamed(message.size()))
      return false;
    const std::uint64_t head = s.head.load(std::memory_order_relaxed);
    const std::uint64_t need = kHeader + message.size();
    // The tail seen last is a lower bound of the real one: look again only when short of room.
    // (Another writer may have moved the head far past it: then look again too.)
    if (head - seen_tail_ > s.capacity || s.capacity - (head - seen_tail_) < need) {
      seen_tail_ = s.tail.load(std::memory_order_acquire);
      if (s.capacity - (head - seen_tail_) < need)
        return false;
    }
    const std::uint64_t length = message.size();
    copy_in(head, &length, kHeader);
    copy_in(head + kHeader, message.data(), message.size());
    publish(head + need);
    return true;
  }

  /** Writes a message, waiting for room as long as it takes (streaming a large one). Blocks. */
  void write(const std::string& message) {
    if (!streamed(message.size())) {
      while (!try_write_whole(message))
        wait_for_room(kHeader + message.size());
      return;
    }
    auto& s = *state_;
    const std::uint64_t start = s.head.load(std::memory_order_relaxed);
    const std::uint64_t frame = kHeader + message.size() + 1;
    wait_for_room(kHeader);  // the header goes out with the first piece
    s.write_frame_start = start;
    s.write_frame_end = start + frame;
    const std::uint64_t length = message.size();
    const char trailer = 1;
    std::uint64_t done = 0;
    while (done < frame) {
      wait_for_room(1);
      const std::uint64_t head = s.head.load(std::memory_order_relaxed);
      std::uint64_t room = s.capacity - (head - s.tail.load(std::memory_order_acquire));
      std::uint64_t n = 0;
      while (n < room && done + n < frame) {
        // The frame is header, payload, trailer: copy the part of each that fits.
        const std::uint64_t at = done + n;
        if (at < kHeader) {
          const std::uint64_t k = std::min(kHeader - at, room - n);
          copy_in(head + n, reinterpret_cast<const char*>(&length) + at, k);
          n += k;
        } else if (at < kHeader + message.size()) {
          const std::uint64_t k = std::min(kHeader + message.size() - at, room - n);
          copy_in(head + n, message.data() + (at - kHeader), k);
          n += k;
        } else {
          copy_in(head + n, &trailer, 1);
          n += 1;
        }
      }
      publish(head + n);
      done += n;
    }
    s.write_frame_end = 0;
  }

  // ---- readers (holding the read lock) ----

  /** Takes the read lock until `deadline`; skips what a dead reader left half read. */
  bool lock_reader(const Deadline& deadline) {
    const Acquired got = state_->read_lock.acquire(self_identity(), deadline);
    if (got == Acquired::abandoned)
      skip_dead_reader();
    return got != Acquired::no;
  }
  void unlock_reader() noexcept { state_->read_lock.release(); }

  /**
  Reads one message into `out`, waiting for one until `deadline`; false when none came. Once a
  streamed message has begun it is read to its end whatever the deadline. Raises
  `pickle::UnpicklingError` for a message a dead producer left broken (it is consumed). Blocks.
  */
  bool read(std::string& out, const Deadline& deadline) {
    auto& s = *state_;
    const std::uint64_t tail = s.tail.load(std::memory_order_relaxed);
    // The head seen last is a lower bound of the real one: look again only when it shows no message.
    if (seen_head_ - tail < kHeader || seen_head_ < tail) {
      if (!spin_then_wait(
              s.published,
              [&] {
                seen_head_ = s.head.load(std::memory_order_acquire);
                return seen_head_ - tail >= kHeader;
              },
              deadline))
        return false;
    }
    std::uint64_t length = 0;
    copy_out(tail, &length, kHeader);
    if (!streamed(length)) {
      out.resize(length);
      copy_out(tail + kHeader, out.data(), length);
      consume(tail + kHeader + length);
      return true;
    }
    s.read_frame_end = tail + kHeader + length + 1;
    consume(tail + kHeader);
    out.resize(length);
    std::uint64_t got = 0;
    char trailer = 0;
    bool broken = false;
    while (got < length + 1) {
      const std::uint64_t t = s.tail.load(std::memory_order_relaxed);
      std::uint64_t available = s.head.load(std::memory_order_acquire) - t;
      if (available == 0) {
        broken = wait_for_data_or_dead_writer(t) || broken;
        if (broken)
          break;
        continue;
      }
      available = std::min(available, length + 1 - got);
      std::uint64_t payload = std::min(available, length - std::min(got, length));
      copy_out(t, out.data() + got, payload);
      if (payload < available) {
        copy_out(t + payload, &trailer, 1);
      }
      got += available;
      consume(t + available);
    }
    s.read_frame_end = 0;
    if (broken || trailer != 1)
      raise<pickle::UnpicklingError>("a queue message was cut short: its writer died while sending it");
    return true;
  }

  /** Test hook: writes raw bytes as one message (to check how readers handle corrupt data). */
  void write_raw_for_test(const std::string& bytes) {
    lock_writer(Deadline::forever());
    write(bytes);
    unlock_writer();
  }

 private:
  std::byte* ring() const noexcept { return state_.extra(); }

  void copy_in(std::uint64_t position, const void* data, std::uint64_t size) const noexcept {
    const std::uint64_t mask = state_->capacity - 1;
    const std::uint64_t at = position & mask;
    const std::uint64_t first = std::min(size, state_->capacity - at);
    std::memcpy(ring() + at, data, first);
    if (first < size)
      std::memcpy(ring(), static_cast<const char*>(data) + first, size - first);
  }
  void copy_out(std::uint64_t position, void* data, std::uint64_t size) const noexcept {
    const std::uint64_t mask = state_->capacity - 1;
    const std::uint64_t at = position & mask;
    const std::uint64_t first = std::min(size, state_->capacity - at);
    std::memcpy(data, ring() + at, first);
    if (first < size)
      std::memcpy(static_cast<char*>(data) + first, ring(), size - first);
  }

  // N1-N3 of detail/wait_word.hpp: the state (head or tail) changes first; the futex word
  // changes, and a wake is made, only when someone sleeps. A waiter reads the word before it
  // looks at the state, so a change it missed bumps the word before it can sleep on it.
  void publish(std::uint64_t head) noexcept {
    auto& s = *state_;
    s.head.store(head, std::memory_order_seq_cst);
    if (s.published.has_sleepers()) {
      s.published.word().fetch_add(1, std::memory_order_seq_cst);
      s.published.wake_all();
    }
  }
  void consume(std::uint64_t tail) noexcept {
    auto& s = *state_;
    s.tail.store(tail, std::memory_order_seq_cst);
    // A sleeping writer waits for half the ring (or its message) to be free: one wake-up per
    // half ring, not one per item read.
    if (s.consumed.has_sleepers() &&
        s.capacity - (s.head.load(std::memory_order_seq_cst) - tail) >= s.room_wanted.load(std::memory_order_seq_cst)) {
      s.consumed.word().fetch_add(1, std::memory_order_seq_cst);
      s.consumed.wake_all();
    }
  }

  /**
  Waits until `ready()` or `deadline` on `word`: first polls for up to 50 us (the other side
  usually runs on another core and is about to deliver), then sleeps on the futex. It looks
  every 2 us, not continuously: each look pulls the other side's cache line over, which slows
  the very writer it waits for, and a reader that lets a few items gather reads them with one
  look (a producer of small items goes 2-3x faster than with a reader that looks non-stop).
  */
  template <class Ready>
  static bool spin_then_wait(WaitWord<FutexScope::process_shared>& word, Ready ready, const Deadline& deadline) {
    if (ready())
      return true;
    const auto start = Clock::now();
    const auto give_up = start + std::chrono::microseconds(50);
    for (auto next = start + std::chrono::microseconds(2);; next += std::chrono::microseconds(2)) {
      auto now = Clock::now();
      while (now < next) {
        for (int k = 0; k < 16; ++k) {
#if defined(__x86_64__) || defined(__i386__)
          __builtin_ia32_pause();
#endif
        }
        now = Clock::now();
      }
      if (ready())
        return true;
      if (now >= give_up || deadline.expired())
        break;
    }
    return word.wait([&](std::uint32_t) { return ready(); }, deadline);
  }

  /** Waits until `need` bytes are free. A reader that died is replaced by the next one. Blocks. */
  void wait_for_room(std::uint64_t need) {
    auto& s = *state_;
    const auto free = [&] {
      return s.capacity - (s.head.load(std::memory_order_relaxed) - s.tail.load(std::memory_order_seq_cst));
    };
    if (free() >= need)
      return;
    const std::uint64_t wanted = std::max(need, s.capacity / 2);
    s.room_wanted.store(wanted, std::memory_order_seq_cst);
    spin_then_wait(
        s.consumed, [&] { return free() >= wanted; }, Deadline::forever());
  }

  /**
  Waits (holding the read lock, in the middle of a streamed message) for more of it. Every
  100 ms checks that its writer lives: if it died, takes the write lock from it and ends the
  message as broken; returns true then.
  */
  bool wait_for_data_or_dead_writer(std::uint64_t tail) {
    auto& s = *state_;
    const auto slice = Deadline::after(std::chrono::duration<double>(RobustLock::kSlice).count());
    if (spin_then_wait(
            s.published, [&] { return s.head.load(std::memory_order_acquire) != tail; }, slice))
      return false;
    const Acquired got = s.write_lock.try_acquire(self_identity());
    if (got == Acquired::no)
      return false;
    bool broken = false;
    if (got == Acquired::abandoned && s.write_frame_end != 0 && s.head.load() != s.write_frame_start) {
      // Its writer is gone: what it did not write is skipped (the reader consumes to the end).
      const std::uint64_t end = s.write_frame_end;
      s.write_frame_end = 0;
      s.head.store(end, std::memory_order_seq_cst);
      s.tail.store(end, std::memory_order_seq_cst);
      s.read_frame_end = 0;
      s.consumed.word().fetch_add(1, std::memory_order_seq_cst);
      s.consumed.wake_all();
      broken = true;
    } else if (got == Acquired::abandoned) {
      s.write_frame_end = 0;
    }
    s.write_lock.release();
    return broken;
  }

  /** After taking the write lock from a dead writer: ends its message as broken, if it began one. */
  void finish_dead_writer() {
    auto& s = *state_;
    const std::uint64_t end = s.write_frame_end;
    s.write_frame_end = 0;
    if (end == 0 || s.head.load(std::memory_order_relaxed) == s.write_frame_start)
      return;  // nothing of it was published
    // Fill the rest with zeros: its trailer is then 0, which its reader reports as broken.
    const char zeros[256] = {};
    while (s.head.load(std::memory_order_relaxed) < end) {
      wait_for_room(1);
      const std::uint64_t head = s.head.load(std::memory_order_relaxed);
      const std::uint64_t room = s.capacity - (head - s.tail.load(std::memory_order_acquire));
      const std::uint64_t n = std::min({room, end - head, std::uint64_t{sizeof zeros}});
      copy_in(head, zeros, n);
      publish(head + n);
    }
  }

  /** After taking the read lock from a dead reader: skips the rest of the message it was reading. */
  void skip_dead_reader() {
    auto& s = *state_;
    const std::uint64_t end = s.read_frame_end;
    if (end == 0)
      return;
    while (s.tail.load(std::memory_order_relaxed) < end) {
      const std::uint64_t t = s.tail.load(std::memory_order_relaxed);
      if (s.head.load(std::memory_order_acquire) == t) {
        wait_for_data_or_dead_writer(t);
        continue;
      }
      consume(std::min(end, s.head.load(std::memory_order_acquire)));
    }
    s.read_frame_end = 0;
  }

  Shared<QueueChannelState> state_;
  // Lower bounds of the head and tail, read only by the holder of the read or write lock.
  std::uint64_t seen_head_ = 0;
  std::uint64_t seen_tail_ = 0;
};

/** This process's side of a queue: items `put` buffered for the feeder thread. */
struct LocalQueue {
  InternalLock lock;
  std::deque<std::string> buffer;         // items for the feeder, in order
  std::size_t in_flight = 0;              // items the feeder has taken and is writing
  std::atomic<std::size_t> unwritten{0};  // buffer.size() + in_flight, readable without the lock
  WaitWord<> pending;                     // bumped when an item is buffered or the queue closes
  WaitWord<> flushed;                     // bumped when the buffer empties
  std::optional<threading::Thread> feeder;
  bool closed = false;
  std::atomic<bool> closed_flag{false};  // `closed`, readable without the lock
  bool cancelled = false;                // cancel_join_thread(): exit does not wait for the buffer
  std::atomic<bool> used{false};         // put() was called (then close() closes the reading end too)
};

/** Every live `LocalQueue` of this process, for the exit flush and the fork child's reset. */
struct LocalQueueRegistry {
  InternalLock lock;
  std::vector<std::weak_ptr<LocalQueue>> queues;
};
inline LocalQueueRegistry& local_queues() {
  static auto* registry = new LocalQueueRegistry;  // never destroyed: used at exit
  return *registry;
}

/** At exit: waits until every queue's buffered items are in its channel (CPython's join_thread). */
inline void flush_queues_at_exit() {
  std::vector<std::shared_ptr<LocalQueue>> live;
  {
    std::lock_guard hold(local_queues().lock);
    for (const auto& weak : local_queues().queues) {
      if (auto q = weak.lock())
        live.push_back(std::move(q));
    }
  }
  for (const auto& q : live) {
    q->flushed.wait(
        [&](std::uint32_t) {
          std::lock_guard hold(q->lock);
          return q->cancelled || (q->buffer.empty() && q->in_flight == 0) || !q->feeder;
        },
        Deadline::forever());
  }
}

/** In a forked child: the parent's buffered items and feeder threads are not the child's. */
inline void forget_local_queues_in_child() noexcept {
  for (const auto& weak : local_queues().queues) {
    if (auto q = weak.lock()) {
      q->buffer.clear();
      q->in_flight = 0;
      q->unwritten.store(0, std::memory_order_relaxed);
      q->feeder.reset();
      q->pending.at_fork_reset();
      q->flushed.at_fork_reset();
    }
  }
}

/** Held by a process's handles to one queue: when the last goes, the queue closes there. */
struct LocalQueueOwner {
  std::shared_ptr<LocalQueue> queue;
  explicit LocalQueueOwner(std::shared_ptr<LocalQueue> q) : queue(std::move(q)) {}
  LocalQueueOwner(const LocalQueueOwner&) = delete;
  LocalQueueOwner& operator=(const LocalQueueOwner&) = delete;
  ~LocalQueueOwner() {
    {
      std::lock_guard hold(queue->lock);
      queue->closed = true;
    }
    queue->pending.word().fetch_add(1, std::memory_order_seq_cst);
    queue->pending.wake_all();
  }
};

inline std::shared_ptr<LocalQueue> make_local_queue() {
  auto q = std::make_shared<LocalQueue>();
  on_fork(ForkPhase::queues, {.child = &forget_local_queues_in_child});
  on_exit(ExitPhase::queues_flushed, &flush_queues_at_exit);
  std::lock_guard hold(local_queues().lock);
  auto& all = local_queues().queues;
  std::erase_if(all, [](const std::weak_ptr<LocalQueue>& w) { return w.expired(); });
  all.push_back(q);
  return q;
}

/**
The feeder thread's loop: takes every buffered item at once and writes them in order, holding
the write lock once per batch, until the queue is closed and its buffer empty.
*/
inline void run_feeder(std::shared_ptr<LocalQueue> local, QueueChannel channel) {
  std::deque<std::string> batch;
  for (;;) {
    local->pending.wait(
        [&](std::uint32_t) {
          std::lock_guard hold(local->lock);
          if (!local->buffer.empty()) {
            batch.swap(local->buffer);
            local->in_flight = batch.size();
            return true;
          }
          return local->closed;
        },
        Deadline::forever());
    if (batch.empty())
      return;  // closed and flushed
    channel.lock_writer(Deadline::forever());
    for (const std::string& item : batch)
      channel.write(item);
    channel.unlock_writer();
    batch.clear();
    bool drained = false;
    {
      std::lock_guard hold(local->lock);
      local->unwritten.fetch_sub(local->in_flight, std::memory_order_release);
      local->in_flight = 0;
      drained = local->buffer.empty();
    }
    if (drained) {
      local->flushed.word().fetch_add(1, std::memory_order_seq_cst);
      local->flushed.wake_all();
    }
  }
}

/**
The bytes of the message being received, per thread: kept from one `get` to the next so that a
stream of large items does not allocate (and page-fault in) a new buffer for each.
*/
inline std::string& receive_buffer() {
  thread_local std::string buffer;
  return buffer;
}

/** Frees a receive buffer that grew past 16 MiB once the item is unpickled. */
struct ReceiveBufferTrim {
  explicit ReceiveBufferTrim(std::string& b) noexcept : buffer(b) {}
  std::string& buffer;
  ReceiveBufferTrim(const ReceiveBufferTrim&) = delete;
  ReceiveBufferTrim& operator=(const ReceiveBufferTrim&) = delete;
  ~ReceiveBufferTrim() {
    if (buffer.capacity() > (std::size_t{16} << 20))
      std::string().swap(buffer);
  }
};

/** CPython's `<multiprocessing.queues.Queue object at 0x...>`. */
inline std::string queue_repr(const char* type, const void* address) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "<multiprocessing.queues.%s object at %p>", type, address);
  return buf;
}

}  // namespace detail

namespace multiprocessing {

/**
Python: `multiprocessing.Queue(maxsize=0)`. A FIFO queue of `T` between processes (and the
threads in them). Pass it to children as a `Process` argument.

Blocking and timeouts: `put(x)` waits while `maxsize` items are queued; `put(x, false)` or a
timeout raises `queue::Full`; `get()` waits for an item; `get(false)` or a timeout raises
`queue::Empty`; a negative timeout tries once. `maxsize <= 0`: no limit.

`put` never waits for a reader (see the file comment); `qsize()` counts items put and not
yet got; `empty()` whether nothing is in the channel. After `close()` this process's `put`
and `get` raise `ValueError("Queue <...> is closed")`.
*/
template <class T>
class Queue {
 public:
  using pyconc_inheritance_only = void;

  explicit Queue(long long maxsize = 0)
      : channel_(detail::QueueChannel::make(maxsize <= 0 || maxsize > INT_MAX ? INT_MAX
                                                                              : static_cast<std::uint32_t>(maxsize))),
        owner_(std::make_shared<detail::LocalQueueOwner>(detail::make_local_queue())),
        local_(owner_->queue),
        maxsize_(maxsize) {}

  /** Python: `put(obj, block=True, timeout=None)`. */
  void put(const T& obj, bool block = true) { put_until(obj, detail::semlock_deadline(block, std::nullopt)); }
  void put(const T& obj, bool block, Timeout timeout) {
    put_until(obj, detail::semlock_deadline(block, timeout.seconds));
  }
  void put_nowait(const T& obj) { put(obj, false); }

  /** Python: `get(block=True, timeout=None)`. */
  [[nodiscard]] T get(bool block = true) { return get_until(detail::semlock_deadline(block, std::nullopt)); }
  [[nodiscard]] T get(bool block, Timeout timeout) {
    return get_until(detail::semlock_deadline(block, timeout.seconds));
  }
  [[nodiscard]] T get_nowait() { return get(false); }

  /** Python: `qsize()`. Items put and not yet got (those still in a feeder's buffer included). */
  [[nodiscard]] long long qsize() const noexcept {
    const auto& s = channel_.state();
    if (s.maxsize == INT_MAX) {
      const auto gets = s.gets.load(std::memory_order_relaxed);
      const auto puts = s.puts.load(std::memory_order_relaxed);
      return puts > gets ? static_cast<long long>(puts - gets) : 0;
    }
    return static_cast<long long>(s.maxsize) - static_cast<long long>(s.slots.value());
  }
  /** Python: `empty()`. Whether nothing is in the channel now. */
  [[nodiscard]] bool empty() const {
    {
      std::lock_guard hold(local_->lock);
      if (local_->closed && local_->used)
        detail::raise<OSError>("handle is closed");
    }
    return channel_.empty();
  }
  /** Python: `full()`. Whether `maxsize` items are queued. */
  [[nodiscard]] bool full() const noexcept {
    return channel_.state().maxsize != INT_MAX && channel_.state().slots.value() == 0;
  }

  /** Python: `close()`. This process puts and gets no more; its buffered items are still written. */
  void close() {
    {
      std::lock_guard hold(local_->lock);
      local_->closed = true;
      local_->closed_flag.store(true, std::memory_order_release);
    }
    local_->pending.word().fetch_add(1, std::memory_order_seq_cst);
    local_->pending.wake_all();
  }
  /** Python: `join_thread()`. After `close()`: waits until the feeder has written everything. */
  void join_thread() {
    std::optional<threading::Thread> feeder;
    {
      std::lock_guard hold(local_->lock);
      if (!local_->closed)
        detail::raise<AssertionError>("Queue " + repr() + " not closed");
      feeder = local_->feeder;
    }
    if (feeder)
      feeder->join();
  }
  /** Python: `cancel_join_thread()`. This process's exit does not wait for its buffered items. */
  void cancel_join_thread() {
    {
      std::lock_guard hold(local_->lock);
      local_->cancelled = true;
    }
    local_->flushed.word().fetch_add(1, std::memory_order_seq_cst);
    local_->flushed.wake_all();
  }

  [[nodiscard]] std::string repr() const { return detail::queue_repr(type_name(), local_.get()); }
  friend std::ostream& operator<<(std::ostream& os, const Queue& q) { return os << q.repr(); }

 protected:
  friend struct pyconc::detail::PickleCodec<Queue>;
  template <class>
  friend struct pyconc::detail::QueueAccess;
  Queue(detail::QueueChannel channel, long long maxsize)
      : channel_(std::move(channel)),
        owner_(std::make_shared<detail::LocalQueueOwner>(detail::make_local_queue())),
        local_(owner_->queue),
        maxsize_(maxsize) {}

  [[nodiscard]] virtual const char* type_name() const noexcept { return "Queue"; }
  virtual void on_put() {}

  void check_closed() const {
    if (local_->closed_flag.load(std::memory_order_acquire))
      detail::raise<ValueError>("Queue " + repr() + " is closed");
  }

  void put_until(const T& obj, const detail::Deadline& deadline) {
    detail::assert_sendable<T>();
    check_closed();
    // Pickled into this thread's scratch buffer: an item written at once allocates nothing.
    thread_local std::string scratch;
    detail::dumps_into(scratch, obj);
    auto& s = channel_.state();
    if (s.maxsize == INT_MAX)
      s.puts.fetch_add(1, std::memory_order_relaxed);
    else if (!s.slots.take(deadline))
      throw queue::Full();
    on_put();
    enqueue(scratch);
  }

  /** An unbounded queue counts an item got; the caller holds the read lock (no other writer). */
  void count_got() noexcept {
    auto& s = channel_.state();
    if (s.maxsize == INT_MAX)
      s.gets.store(s.gets.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
  /** A bounded queue's place is free again (an item was got): wakes a waiting `put`. */
  void give_slot() noexcept {
    auto& s = channel_.state();
    if (s.maxsize != INT_MAX)
      s.slots.give(1, s.maxsize);
  }

  /** Into the channel at once when possible, else into the feeder's buffer (in order). */
  void enqueue(std::string& bytes) {
    local_->used.store(true, std::memory_order_relaxed);
    // Straight into the channel when nothing of this process waits to be written before it
    // (then the calling thread's earlier items are all in) and no other producer is writing.
    // The write lock orders this with the feeder and the other threads, as with other processes.
    if (local_->unwritten.load(std::memory_order_acquire) == 0 && channel_.try_lock_writer()) {
      const bool written = channel_.try_write_whole(bytes);
      channel_.unlock_writer();
      if (written)
        return;
    }
    std::lock_guard hold(local_->lock);
    local_->buffer.push_back(std::move(bytes));  // the scratch buffer starts again empty
    local_->unwritten.fetch_add(1, std::memory_order_release);
    if (!local_->feeder) {
      local_->feeder.emplace([local = local_, channel = channel_] { detail::run_feeder(local, channel); },
                             threading::ThreadOptions{.name = "QueueFeederThread", .daemon = true});
      local_->feeder->start();
    }
    local_->pending.word().fetch_add(1, std::memory_order_seq_cst);
    local_->pending.wake_all();
  }

  T get_until(const detail::Deadline& deadline) {
    check_closed();
    std::string& bytes = detail::receive_buffer();
    if (!channel_.lock_reader(deadline))
      throw queue::Empty();
    bool got = false;
    try {
      got = channel_.read(bytes, deadline);
    } catch (...) {
      count_got();
      channel_.unlock_reader();
      give_slot();
      throw;
    }
    if (got)
      count_got();
    channel_.unlock_reader();
    if (!got)
      throw queue::Empty();
    give_slot();
    detail::ReceiveBufferTrim trim(bytes);
    return pickle::loads<T>(bytes);
  }

  detail::QueueChannel channel_;
  std::shared_ptr<detail::LocalQueueOwner> owner_;  // the last handle of this process closes the queue here
  std::shared_ptr<detail::LocalQueue> local_;       // shared with the feeder thread
  long long maxsize_;
};

/**
Python: `multiprocessing.JoinableQueue(maxsize=0)`: a `Queue` that counts unfinished tasks.
Each `put` adds one; `task_done()` ends one (`ValueError("task_done() called too many
times")` past zero); `join()` waits until none is left.
*/
template <class T>
class JoinableQueue : public Queue<T> {
 public:
  explicit JoinableQueue(long long maxsize = 0) : Queue<T>(maxsize) {}

  /** Python: `task_done()`. Ends one task; wakes `join()` when none is left. */
  void task_done() {
    auto& word = this->channel_.state().unfinished;
    std::uint32_t now = word.word().load(std::memory_order_relaxed);
    do {
      if (now == 0)
        detail::raise<ValueError>("task_done() called too many times");
    } while (!word.word().compare_exchange_weak(now, now - 1, std::memory_order_seq_cst));
    if (now == 1)
      word.wake_all();
  }
  /** Python: `join()`. Waits until every item put has been marked done. Blocks. */
  void join() {
    this->channel_.state().unfinished.wait([](std::uint32_t n) { return n == 0; }, detail::Deadline::forever());
  }

 private:
  friend struct pyconc::detail::PickleCodec<JoinableQueue>;
  JoinableQueue(detail::QueueChannel channel, long long maxsize) : Queue<T>(std::move(channel), maxsize) {}
  [[nodiscard]] const char* type_name() const noexcept override { return "JoinableQueue"; }
  void on_put() override { this->channel_.state().unfinished.word().fetch_add(1, std::memory_order_seq_cst); }
};

/**
Python: `multiprocessing.SimpleQueue()`. An unbounded FIFO queue between processes without a
feeder thread: `put` writes into the channel itself (waiting for room if it is full), `get`
waits for an item. After `close()`: `OSError("handle is closed")`.
*/
template <class T>
class SimpleQueue {
 public:
  using pyconc_inheritance_only = void;

  SimpleQueue() : channel_(detail::QueueChannel::make(INT_MAX)), closed_(std::make_shared<std::atomic<bool>>(false)) {}

  void put(const T& obj) {
    detail::assert_sendable<T>();
    check_closed();
    const std::string bytes = pickle::dumps(obj);
    channel_.lock_writer(detail::Deadline::forever());
    struct Unlock {
      detail::QueueChannel& c;
      ~Unlock() { c.unlock_writer(); }
    } unlock{channel_};
    channel_.write(bytes);
  }
  [[nodiscard]] T get() {
    check_closed();
    std::string bytes;
    channel_.lock_reader(detail::Deadline::forever());
    struct Unlock {
      detail::QueueChannel& c;
      ~Unlock() { c.unlock_reader(); }
    } unlock{channel_};
    channel_.read(bytes, detail::Deadline::forever());
    return pickle::loads<T>(bytes);
  }
  [[nodiscard]] bool empty() const {
    check_closed();
    return channel_.empty();
  }
  void close() noexcept { closed_->store(true); }

  [[nodiscard]] std::string repr() const { return detail::queue_repr("SimpleQueue", closed_.get()); }
  friend std::ostream& operator<<(std::ostream& os, const SimpleQueue& q) { return os << q.repr(); }

 private:
  friend struct pyconc::detail::PickleCodec<SimpleQueue>;
  template <class>
  friend struct pyconc::detail::QueueAccess;
  explicit SimpleQueue(detail::QueueChannel channel)
      : channel_(std::move(channel)), closed_(std::make_shared<std::atomic<bool>>(false)) {}
  void check_closed() const {
    if (closed_->load())
      detail::raise<OSError>("handle is closed");
  }

  detail::QueueChannel channel_;
  std::shared_ptr<std::atomic<bool>> closed_;
};

}  // namespace multiprocessing

namespace detail {

/** Test hook: writes raw bytes into a queue's channel as one message. */
template <class Q>
struct QueueAccess {
  static void write_raw(Q& q, const std::string& bytes) { q.channel_.write_raw_for_test(bytes); }
};

template <class T>
struct PickleCodec<multiprocessing::Queue<T>> {
  static constexpr bool supported = true;
  static constexpr std::size_t min_size() { return 2; }
  static std::string describe() { return "Queue"; }
  static void dump(PickleWriter& w, const multiprocessing::Queue<T>& q) {
    dump_shared(w, q.channel_.shared(), "Queue");
    w.integer(static_cast<std::int64_t>(q.maxsize_));
  }
  static multiprocessing::Queue<T> load(PickleReader& r) {
    auto state = load_shared<QueueChannelState>(r, "Queue");
    const auto maxsize = r.integer<std::int64_t>();
    return multiprocessing::Queue<T>(QueueChannel(std::move(state)), maxsize);
  }
};

template <class T>
struct PickleCodec<multiprocessing::JoinableQueue<T>> {
  static constexpr bool supported = true;
  static constexpr std::size_t min_size() { return 2; }
  static std::string describe() { return "JoinableQueue"; }
  static void dump(PickleWriter& w, const multiprocessing::JoinableQueue<T>& q) {
    PickleCodec<multiprocessing::Queue<T>>::dump(w, q);
  }
  static multiprocessing::JoinableQueue<T> load(PickleReader& r) {
    auto state = load_shared<QueueChannelState>(r, "JoinableQueue");
    const auto maxsize = r.integer<std::int64_t>();
    return multiprocessing::JoinableQueue<T>(QueueChannel(std::move(state)), maxsize);
  }
};

template <class T>
struct PickleCodec<multiprocessing::SimpleQueue<T>> {
  static constexpr bool supported = true;
  static constexpr std::size_t min_size() { return 1; }
  static std::string describe() { return "SimpleQueue"; }
  static void dump(PickleWriter& w, const multiprocessing::SimpleQueue<T>& q) {
    dump_shared(w, q.channel_.shared(), "SimpleQueue");
  }
  static multiprocessing::SimpleQueue<T> load(PickleReader& r) {
    return multiprocessing::SimpleQueue<T>(QueueChannel(load_shared<QueueChannelState>(r, "SimpleQueue")));
  }
};

}  // namespace detail
}  // namespace v0
}  // namespace pyconc

#endif  // PYCONC_MULTIPROCESSING_QUEUES_HPP_INCLUDED
