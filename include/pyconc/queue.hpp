// SPDX-License-Identifier: MIT
/**
`pyconc/queue.hpp` — C++20 counterpart of Python's `queue` module.

Defines:
- `queue::Queue<T>`                 a FIFO queue for many producers and consumers, optionally bounded.
- `queue::LifoQueue<T>`             the same, last in first out.
- `queue::PriorityQueue<T, Compare>` the same, smallest item first.
- `queue::SimpleQueue<T>`           an unbounded FIFO queue without task tracking.
- `queue::Empty`, `queue::Full`, `queue::ShutDown`   the module's exceptions.
*/
#ifndef PYCONC_QUEUE_HPP_INCLUDED
#define PYCONC_QUEUE_HPP_INCLUDED

#include <algorithm>   // std::push_heap, std::pop_heap
#include <atomic>      // std::atomic
#include <cstddef>     // std::size_t, std::byte
#include <cstdint>     // std::uint32_t, std::uint64_t
#include <functional>  // std::less
#include <memory>      // std::shared_ptr
#include <mutex>       // std::lock_guard
#include <new>         // std::launder, placement new
#include <utility>     // std::move, std::exchange
#include <vector>      // std::vector

#include <pyconc/detail/fork_gate.hpp>
#include <pyconc/detail/thread_state.hpp>
#include <pyconc/detail/wait.hpp>
#include <pyconc/detail/wait_list.hpp>
#include <pyconc/detail/wait_word.hpp>
#include <pyconc/errors.hpp>
#include <pyconc/threading/lock.hpp>

namespace pyconc {
inline namespace v0 {
namespace queue {

/** Python: `queue.Empty`, raised (with an empty message) by a `get` that finds nothing. */
PYCONC_DEFINE_ERROR(Empty, Error, "Empty");
/** Python: `queue.Full`, raised (with an empty message) by a `put` into a full queue. */
PYCONC_DEFINE_ERROR(Full, Error, "Full");
/** Python: `queue.ShutDown` (3.13), raised by `put`, and by `get` once empty, after `shutdown()`. */
PYCONC_DEFINE_ERROR(ShutDown, Error, "ShutDown");

}  // namespace queue

namespace detail {

using QueueLock = InternalLock;  // never held across fork(): see detail/fork_gate.hpp
using Hold = std::lock_guard<QueueLock>;

/**
Threads waiting for one condition of a queue: a `WaitList` guarded by one of the queue's
locks, plus a `SleeperCount` that a notifier reads without the lock. This is the waiter
protocol of `detail/wait_word.hpp` with the state outside the futex word: a sleeper counts
itself, then re-checks its condition before it sleeps; a notifier changes the state, then
reads the count, and wakes under the lock, so a notifier that sees no sleeper skips the lock.
*/
class Sleepers {
 public:
  /**
  With `guard` held: unless `ready()`, sleeps until notified or `deadline`, releasing `guard`
  meanwhile. `guard` is held again on return.
  */
  template <class Ready>
  void sleep_unless(QueueLock& guard, Ready&& ready, const Deadline& deadline) {
    count_.enter();
    if (!ready()) {
      list_.wait(
          deadline, true, [&guard] { guard.release(); }, [&guard] { guard.acquire(); });
    }
    count_.leave();
  }
  /** With `guard` held: wakes the longest sleeper, if any. Never blocks. */
  void notify_locked() noexcept { list_.notify(); }
  /** With `guard` held: wakes every sleeper. Never blocks. */
  void notify_all_locked() noexcept { list_.notify_all(); }
  /** With `guard` not held: wakes the longest sleeper, taking `guard` only if there is one. */
  void notify(QueueLock& guard) {
    if (!count_.any())
      return;
    Hold with(guard);
    list_.notify();
  }
  /** With `guard` not held: wakes every sleeper, taking `guard` only if there is one. */
  void notify_all(QueueLock& guard) {
    if (!count_.any())
      return;
    Hold with(guard);
    list_.notify_all();
  }
  /** With `guard` held: whether anyone sleeps here. */
  [[nodiscard]] bool any_locked() const noexcept { return !list_.empty(); }

 private:
  WaitList list_;
  SleeperCount count_;
};

/**
Frees a queue's items, except while the program exits: then daemon threads may still be
blocked in (or calling) a static queue, as Python's worker idiom has them, so the items are
kept until the process ends. The queue's locks and waiting lists need no freeing.
*/
template <class Items>
void release_items(Items* items) {
  if (exiting()) {
    registry().keep_until_exit(std::shared_ptr<Items>(items));
  } else {
    delete items;
  }
}

inline void check_timeout(double timeout) {
  if (timeout < 0)
    raise<ValueError>("'timeout' must be a non-negative number");
}

/**
The calls every queue offers, in Python's overloads, on top of two primitives the queue
defines: `put_until(item, block, deadline, timeout)` and `get_until(block, deadline, timeout)`.
`timeout` is the caller's value, which each primitive checks where CPython does.
*/
template <class Derived, class T>
class QueueCalls {
 public:
  /** Puts `item` in, waiting while a bounded queue is full. Blocks. Thread-safe. */
  void put(T item) { self().put_until(std::move(item), true, Deadline::forever(), 0); }
  /** `put(item, false)` raises `queue::Full` at once when full; `put(item, true)` waits. */
  void put(T item, bool block) { self().put_until(std::move(item), block, Deadline::forever(), 0); }
  /**
  Waits at most `timeout` seconds for room, then raises `queue::Full`. On a bounded queue a negative
  `timeout` raises `ValueError("'timeout' must be a non-negative number")`; an unbounded queue
  ignores it. `block == false` ignores the timeout. Blocks. Thread-safe.
  */
  void put(T item, bool block, Timeout timeout) {
    if (!block)
      return put(std::move(item), false);
    // A NaN timeout waits as long as it takes (CPython's loop never sees the time run out).
    self().put_until(std::move(item), true, Deadline::after(timeout.seconds, NanTimeout::never), timeout.seconds);
  }
  /** Python: `put_nowait(item)`, which is `put(item, false)`. */
  void put_nowait(T item) { put(std::move(item), false); }

  /** Takes the next item out, waiting while the queue is empty. Blocks. Thread-safe. */
  T get() { return self().get_until(true, Deadline::forever(), 0); }
  /** `get(false)` raises `queue::Empty` at once when empty; `get(true)` waits. */
  T get(bool block) { return self().get_until(block, Deadline::forever(), 0); }
  /**
  Waits at most `timeout` seconds for an item, then raises `queue::Empty`. A negative `timeout`
  raises `ValueError("'timeout' must be a non-negative number")`, even when an item is there.
  `block == false` ignores the timeout. Blocks. Thread-safe.
  */
  T get(bool block, Timeout timeout) {
    if (!block)
      return get(false);
    // NaN: Queue, LifoQueue and PriorityQueue wait as long as it takes (CPython's loop never
    // sees the time run out); SimpleQueue raises ValueError, as its C implementation does.
    return self().get_until(true, Deadline::after(timeout.seconds, Derived::kNanTimeout), timeout.seconds);
  }
  /** Python: `get_nowait()`, which is `get(false)`. */
  T get_nowait() { return get(false); }

  /** Whether the queue is empty now (only a hint once the call returns). Thread-safe. */
  [[nodiscard]] bool empty() const { return static_cast<const Derived&>(*this).qsize() == 0; }

 private:
  Derived& self() noexcept { return static_cast<Derived&>(*this); }
};

// ----------------------------------------------------------------------------------------
// The FIFO queues: Queue and SimpleQueue.

/**
The items of a FIFO queue, in blocks of slots. One producer at a time appends at the tail
and one consumer at a time takes from the head; `count` publishes the items between them
(release on put, acquire on get), so the two ends need no common lock. A block the consumer
has left is kept as a spare for the producer, so a queue in steady use does not allocate.
*/
template <class T>
class BlockFifo {
 public:
  BlockFifo() : head_{new Block}, tail_{head_.block} {}
  BlockFifo(const BlockFifo&) = delete;
  BlockFifo& operator=(const BlockFifo&) = delete;
  ~BlockFifo() {
    for (std::size_t n = count.load(std::memory_order_acquire); n > 0; --n)
      (void)pop();
    for (Block* b = head_.block; b != nullptr;)
      delete std::exchange(b, b->next.load(std::memory_order_relaxed));
    delete spare_.load(std::memory_order_relaxed);
  }

  /** Producer side: appends `item`, not yet published. Raises only what `T`'s move or `new` raise. */
  void push(T&& item) {
    if (tail_.index == kSlots) {
      Block* fresh = spare_.exchange(nullptr, std::memory_order_acquire);
      if (fresh == nullptr) {
        fresh = new Block;
      } else {
        fresh->next.store(nullptr, std::memory_order_relaxed);
      }
      tail_.block->next.store(fresh, std::memory_order_relaxed);  // published with the item
      tail_.block = fresh;
      tail_.index = 0;
    }
    ::new (static_cast<void*>(tail_.block->slot(tail_.index))) T(std::move(item));
    ++tail_.index;
  }

  /** Consumer side: takes the oldest published item. Call only when `count > 0` was seen. */
  T pop() {
    if (head_.index == kSlots) {
      Block* done = head_.block;
      head_.block = done->next.load(std::memory_order_relaxed);  // ordered by `count`
      head_.index = 0;
      delete spare_.exchange(done, std::memory_order_acq_rel);
    }
    T* slot = head_.block->slot(head_.index);
    T item = std::move(*slot);
    slot->~T();
    ++head_.index;
    return item;
  }

  std::atomic<std::size_t> count{0};  // items pushed and published, not yet popped

 private:
  static constexpr std::size_t kSlots = sizeof(T) * 16 <= 1024 ? 1024 / sizeof(T) : 16;  // about 1 KiB a block

  struct Block {
    std::atomic<Block*> next{nullptr};
    alignas(T) std::byte storage[kSlots * sizeof(T)];
    T* slot(std::size_t i) noexcept { return std::launder(reinterpret_cast<T*>(storage + i * sizeof(T))); }
  };
  struct alignas(64) End {  // each end on its own cache line
    Block* block;
    std::size_t index = 0;
  };

  End head_;
  End tail_;
  alignas(64) std::atomic<Block*> spare_{nullptr};
};

/**
Python's `queue.Queue` algorithm for FIFO order with two locks instead of one: producers
serialise on `put_lock_`, consumers on `get_lock_`, and the item count is an atomic, so a
producer and a consumer never wait for each other (the scheme of Michael and Scott's
two-lock queue). A producer takes the consumers' lock only when the queue was empty and a
consumer sleeps; a consumer takes the producers' lock only when the queue was full and a
producer sleeps; a woken waiter passes the wake-up on while the condition still holds.
`Tasks` adds `task_done`/`join`, a bound and `shutdown` (Queue); without it, SimpleQueue.
*/
template <class T, bool Tasks>
class FifoQueue : public QueueCalls<FifoQueue<T, Tasks>, T> {
 public:
  explicit FifoQueue(long long maxsize = 0) : items_(new BlockFifo<T>), maxsize_(maxsize) {}
  FifoQueue(const FifoQueue&) = delete;
  FifoQueue& operator=(const FifoQueue&) = delete;
  ~FifoQueue() { release_items(items_); }

  /** The number of items now (only a hint once the call returns). Never blocks. Thread-safe. */
  [[nodiscard]] std::size_t qsize() const noexcept { return items_->count.load(std::memory_order_acquire); }
  /** Whether the queue is full now: `0 < maxsize() <= qsize()`. Never blocks. Thread-safe. */
  [[nodiscard]] bool full() const noexcept { return is_full(qsize()); }

  /** The bound on the number of items; 0 or less means none. */
  [[nodiscard]] long long maxsize() const noexcept { return maxsize_.load(std::memory_order_relaxed); }
  /** Changes the bound (Python lets you assign `q.maxsize`); waiting putters re-check. */
  void maxsize(long long value) {
    Hold with(put_lock_);
    maxsize_.store(value, std::memory_order_seq_cst);
    not_full_.notify_all_locked();
  }

  /**
  Tells the queue that a task taken with `get()` is complete; when every item put has been
  marked so, `join()` returns. Raises `ValueError("task_done() called too many times")`.
  */
  void task_done() {
    std::size_t n = unfinished_.load(std::memory_order_relaxed);
    do {
      if (n == 0)
        raise<ValueError>("task_done() called too many times");
    } while (!unfinished_.compare_exchange_weak(n, n - 1, std::memory_order_seq_cst, std::memory_order_relaxed));
    if (n == 1)
      all_tasks_done_.notify_all(tasks_lock_);
  }
  /** Waits until every item put has been marked with `task_done()`. Blocks. Thread-safe. */
  void join() {
    if (unfinished_.load(std::memory_order_seq_cst) == 0)
      return;
    Hold with(tasks_lock_);
    while (unfinished_.load(std::memory_order_seq_cst) != 0) {
      all_tasks_done_.sleep_unless(
          tasks_lock_, [this] { return unfinished_.load(std::memory_order_seq_cst) == 0; }, Deadline::forever());
    }
  }
  /** Items put and not yet marked with `task_done()`. */
  [[nodiscard]] std::size_t unfinished_tasks() const noexcept { return unfinished_.load(std::memory_order_acquire); }

  /**
  Python 3.13's `shutdown(immediate=False)`: from now on `put` raises `queue::ShutDown`, and so does
  `get` once the queue is empty; blocked callers wake up to see it. With `immediate`, the
  items still queued are dropped (each counted as done) so `join()` returns too.
  */
  void shutdown(bool immediate = false) {
    Hold producers(put_lock_);
    Hold consumers(get_lock_);
    shutdown_.store(true, std::memory_order_seq_cst);
    if (immediate) {
      for (; items_->count.load(std::memory_order_acquire) != 0; items_->count.fetch_sub(1)) {
        (void)items_->pop();
        std::size_t n = unfinished_.load(std::memory_order_relaxed);
        while (n > 0 && !unfinished_.compare_exchange_weak(n, n - 1)) {
        }
      }
      Hold tasks(tasks_lock_);
      all_tasks_done_.notify_all_locked();
    }
    not_empty_.notify_all_locked();
    not_full_.notify_all_locked();
  }
  /** Whether `shutdown()` has been called. */
  [[nodiscard]] bool is_shutdown() const noexcept { return shutdown_.load(std::memory_order_acquire); }

 private:
  friend class QueueCalls<FifoQueue, T>;
  static constexpr NanTimeout kNanTimeout = Tasks ? NanTimeout::never : NanTimeout::raises;

  [[nodiscard]] bool is_full(std::size_t count) const noexcept {
    const long long bound = maxsize_.load(std::memory_order_seq_cst);
    return bound > 0 && count >= static_cast<std::size_t>(bound);
  }

  // CPython's put(): queue::ShutDown first, then (bounded queues only) queue::Full or the timeout check.
  void put_until(T&& item, bool block, const Deadline& deadline, double timeout) {
    std::size_t before = 0;
    {
      Hold with(put_lock_);
      if (shutdown_.load(std::memory_order_relaxed))
        raise<queue::ShutDown>();
      if (maxsize() > 0) {
        if (block)
          check_timeout(timeout);
        // Only producers add, so the count after this side's last put bounds the count now;
        // the shared count is read only when that bound reaches maxsize.
        while (is_full(put_bound_) && is_full(put_bound_ = qsize())) {
          if (!block || deadline.expired())
            raise<queue::Full>();
          not_full_.sleep_unless(
              put_lock_, [this] { return !is_full(items_->count.load(std::memory_order_seq_cst)); }, deadline);
          if (shutdown_.load(std::memory_order_relaxed))
            raise<queue::ShutDown>();
        }
      }
      items_->push(std::move(item));
      if constexpr (Tasks)
        unfinished_.fetch_add(1, std::memory_order_relaxed);
      before = items_->count.fetch_add(1, std::memory_order_seq_cst);
      put_bound_ = before + 1;
      if (not_full_.any_locked() && !is_full(before + 1))
        not_full_.notify_locked();
    }
    if (before == 0)
      not_empty_.notify(get_lock_);
  }

  // CPython's get(): queue::ShutDown (when empty) first, then queue::Empty or the timeout check.
  T get_until(bool block, const Deadline& deadline, double timeout) {
    auto& count = items_->count;
    std::size_t before = 0;
    T item = [&] {
      Hold with(get_lock_);
      if (Tasks && shutdown_.load(std::memory_order_relaxed) && count.load() == 0)
        raise<queue::ShutDown>();
      if (block)
        check_timeout(timeout);
      while (count.load(std::memory_order_acquire) == 0) {
        if (!block || deadline.expired())
          raise<queue::Empty>();
        not_empty_.sleep_unless(
            get_lock_, [&count] { return count.load(std::memory_order_seq_cst) != 0; }, deadline);
        if (Tasks && shutdown_.load(std::memory_order_relaxed) && count.load() == 0)
          raise<queue::ShutDown>();
      }
      T taken = items_->pop();
      before = count.fetch_sub(1, std::memory_order_seq_cst);
      if (before > 1 && not_empty_.any_locked())
        not_empty_.notify_locked();
      return taken;
    }();
    if (is_full(before))
      not_full_.notify(put_lock_);
    return item;
  }

  // Each group on its own cache line, so that a producer and a consumer write to different
  // lines: read-mostly settings; the producers' side; the consumers' side; task counting.
  BlockFifo<T>* items_;  // owned; see release_items()
  std::atomic<long long> maxsize_;
  std::atomic<bool> shutdown_{false};
  alignas(64) QueueLock put_lock_;
  Sleepers not_full_;          // guarded by put_lock_
  std::size_t put_bound_ = 0;  // guarded by put_lock_: at least the count, see put_until()
  alignas(64) QueueLock get_lock_;
  Sleepers not_empty_;  // guarded by get_lock_
  alignas(64) std::atomic<std::size_t> unfinished_{0};
  QueueLock tasks_lock_;
  Sleepers all_tasks_done_;  // guarded by tasks_lock_
};

// ----------------------------------------------------------------------------------------
// LifoQueue and PriorityQueue: one lock, as CPython's.

// The containers behind the queues: Python's _init/_qsize/_put/_get.
template <class T>
class LifoItems {
 public:
  void push(T&& item) { items_.push_back(std::move(item)); }
  T pop() {
    T item = std::move(items_.back());
    items_.pop_back();
    return item;
  }
  [[nodiscard]] std::size_t size() const noexcept { return items_.size(); }

 private:
  std::vector<T> items_;
};

// A binary heap, smallest first by Compare; items that compare equal leave in insertion order.
template <class T, class Compare>
class HeapItems {
 public:
  void push(T&& item) {
    heap_.push_back(Entry{next_++, std::move(item)});
    std::push_heap(heap_.begin(), heap_.end(), Later{compare_});
  }
  T pop() {
    std::pop_heap(heap_.begin(), heap_.end(), Later{compare_});
    T item = std::move(heap_.back().item);
    heap_.pop_back();
    return item;
  }
  [[nodiscard]] std::size_t size() const noexcept { return heap_.size(); }

 private:
  struct Entry {
    std::uint64_t order;
    T item;
  };
  // std:: heaps put the "largest" first, so "larger" here means "leaves earlier".
  struct Later {
    Compare& compare;
    bool operator()(const Entry& a, const Entry& b) const {
      if (compare(b.item, a.item))
        return true;
      if (compare(a.item, b.item))
        return false;
      return a.order > b.order;
    }
  };

  std::vector<Entry> heap_;
  std::uint64_t next_ = 0;
  [[no_unique_address]] Compare compare_{};
};

/**
Python's `queue.Queue` algorithm over a LIFO or heap container: one lock and three waiting
lists (`not_empty`, `not_full`, `all_tasks_done`), as CPython's three Conditions share one
lock.
*/
template <class T, class Items>
class BasicQueue : public QueueCalls<BasicQueue<T, Items>, T> {
 public:
  explicit BasicQueue(long long maxsize = 0) : items_(new Items), maxsize_(maxsize) {}
  BasicQueue(const BasicQueue&) = delete;
  BasicQueue& operator=(const BasicQueue&) = delete;
  ~BasicQueue() { release_items(items_); }

  // The calls below are documented on FifoQueue (Queue), which has the same ones.
  [[nodiscard]] std::size_t qsize() const {
    Hold with(lock_);
    return items_->size();
  }
  [[nodiscard]] bool full() const {
    Hold with(lock_);
    return full_locked();
  }

  [[nodiscard]] long long maxsize() const {
    Hold with(lock_);
    return maxsize_;
  }
  void maxsize(long long value) {
    Hold with(lock_);
    maxsize_ = value;
    not_full_.notify_all();
  }

  void task_done() {
    Hold with(lock_);
    if (unfinished_ == 0)
      raise<ValueError>("task_done() called too many times");
    if (--unfinished_ == 0)
      all_tasks_done_.notify_all();
  }
  void join() {
    Hold with(lock_);
    while (unfinished_ != 0)
      wait_locked(all_tasks_done_, Deadline::forever());
  }
  [[nodiscard]] std::size_t unfinished_tasks() const {
    Hold with(lock_);
    return unfinished_;
  }

  void shutdown(bool immediate = false) {
    Hold with(lock_);
    shutdown_ = true;
    if (immediate) {
      while (items_->size() != 0) {
        (void)items_->pop();
        if (unfinished_ > 0)
          --unfinished_;
      }
      all_tasks_done_.notify_all();
    }
    not_empty_.notify_all();
    not_full_.notify_all();
  }
  [[nodiscard]] bool is_shutdown() const {
    Hold with(lock_);
    return shutdown_;
  }

 private:
  friend class QueueCalls<BasicQueue, T>;
  static constexpr NanTimeout kNanTimeout = NanTimeout::never;

  [[nodiscard]] bool full_locked() const noexcept {
    return maxsize_ > 0 && items_->size() >= static_cast<std::size_t>(maxsize_);
  }

  // Sleeps on `list` with lock_ held, releasing it meanwhile.
  void wait_locked(WaitList& list, const Deadline& deadline) {
    list.wait(
        deadline, true, [this] { lock_.release(); }, [this] { lock_.acquire(); });
  }

  // CPython's put(): queue::ShutDown first, then (bounded queues only) queue::Full or the timeout check.
  void put_until(T&& item, bool block, const Deadline& deadline, double timeout) {
    Hold with(lock_);
    if (shutdown_)
      raise<queue::ShutDown>();
    if (maxsize_ > 0 && block)
      check_timeout(timeout);
    while (full_locked()) {
      if (!block || deadline.expired())
        raise<queue::Full>();
      wait_locked(not_full_, deadline);
      if (shutdown_)
        raise<queue::ShutDown>();
    }
    items_->push(std::move(item));
    ++unfinished_;
    not_empty_.notify();
  }

  // CPython's get(): queue::ShutDown (when empty) first, then queue::Empty or the timeout check.
  T get_until(bool block, const Deadline& deadline, double timeout) {
    Hold with(lock_);
    if (shutdown_ && items_->size() == 0)
      raise<queue::ShutDown>();
    if (block)
      check_timeout(timeout);
    while (items_->size() == 0) {
      if (!block || deadline.expired())
        raise<queue::Empty>();
      wait_locked(not_empty_, deadline);
      if (shutdown_ && items_->size() == 0)
        raise<queue::ShutDown>();
    }
    T item = items_->pop();
    not_full_.notify();
    return item;
  }

  mutable QueueLock lock_;
  Items* items_;  // owned; see release_items()
  long long maxsize_;
  std::size_t unfinished_ = 0;
  bool shutdown_ = false;
  WaitList not_empty_;
  WaitList not_full_;
  WaitList all_tasks_done_;
};
}  // namespace detail

namespace queue {

/**
Python: `queue.Queue(maxsize=0)`. A first-in first-out queue that many threads may share;
`get()` blocks while it is empty and, when `maxsize > 0`, `put()` blocks while it is full.

Blocking and timeouts: `put(x)`/`get()` wait forever; `put(x, false)`/`get(false)` (and the
`_nowait` forms) raise `Full`/`Empty` at once; `put(x, true, t)`/`get(true, t)` wait at most
`t` seconds. Negative timeouts behave as in CPython: `get(true, -1)` always raises
`ValueError`, `put(x, true, -1)` only on a bounded queue.

Tasks: every `put` counts an unfinished task, `task_done()` finishes one, `join()` waits for
none to be left. `shutdown()` (Python 3.13) ends the queue for producers, and for consumers
once it is drained.

Fairness: waiting getters (and putters) are woken longest waiter first, but a newly arriving
thread may take the item first.

Memory ordering: everything a producer did before `put(x)` happens-before the consumer's
return from the `get()` that takes `x`.

Cost: producers and consumers take separate locks, so a put and a get do not wait for each
other; an item moves with a few atomic instructions and no allocation in steady use; a
system call happens only when a thread must sleep or be woken. (LifoQueue and
PriorityQueue take one lock per call, as CPython's.)

```cpp
queue::Queue<int> q(10);
threading::Thread worker([&] { for (;;) { auto item = q.get(); work(item); q.task_done(); } },
                         {.daemon = true});
worker.start();
for (int i = 0; i < 100; ++i) q.put(i);
q.join();  // all 100 processed
```

Lifetime: daemon threads may go on using a static queue while the program exits (the
classic daemon-worker idiom): its storage is then kept until the process ends.

Differs from Python: typed (`Queue<T>`); items are moved in and out, so move-only types work;
not copyable.
*/
template <class T>
class Queue : public detail::FifoQueue<T, true> {
 public:
  using detail::FifoQueue<T, true>::FifoQueue;
};

/** Python: `queue.LifoQueue(maxsize=0)`. As `Queue`, but `get()` takes the most recent item. */
template <class T>
class LifoQueue : public detail::BasicQueue<T, detail::LifoItems<T>> {
 public:
  using detail::BasicQueue<T, detail::LifoItems<T>>::BasicQueue;
};

/**
Python: `queue.PriorityQueue(maxsize=0)`. As `Queue`, but `get()` takes the smallest item by
`Compare` (default `operator<`), as Python's `heapq` does; entries are typically
`std::pair{priority, data}`, like Python's `(priority, data)` tuples.

Differs from Python: items that compare equal leave in the order they were put (Python's
heap leaves that unspecified and compares the next tuple field instead).
*/
template <class T, class Compare = std::less<T>>
class PriorityQueue : public detail::BasicQueue<T, detail::HeapItems<T, Compare>> {
 public:
  using detail::BasicQueue<T, detail::HeapItems<T, Compare>>::BasicQueue;
};

/**
Python: `queue.SimpleQueue()`. An unbounded FIFO queue: `put` never blocks (its `block` and
`timeout` are accepted and ignored, as in CPython); `get` blocks while empty. No task
tracking, no `maxsize`, no `shutdown`.

Memory ordering, cost and lifetime: as `Queue`.

Differs from Python: typed; not copyable; `put` is not reentrant from a signal handler.
*/
template <class T>
class SimpleQueue : private detail::FifoQueue<T, false> {
  using Base = detail::FifoQueue<T, false>;

 public:
  SimpleQueue() = default;

  using Base::empty;
  using Base::get;
  using Base::get_nowait;
  using Base::put;
  using Base::put_nowait;
  using Base::qsize;
};

}  // namespace queue
}  // namespace v0
}  // namespace pyconc

#endif  // PYCONC_QUEUE_HPP_INCLUDED
