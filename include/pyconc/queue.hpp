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
#include <cstddef>     // std::size_t
#include <cstdint>     // std::uint64_t
#include <deque>       // std::deque
#include <functional>  // std::less
#include <memory>      // std::shared_ptr
#include <mutex>       // std::lock_guard
#include <utility>     // std::move
#include <vector>      // std::vector

#include <pyconc/detail/thread_state.hpp>
#include <pyconc/detail/wait.hpp>
#include <pyconc/detail/wait_list.hpp>
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

namespace detail {
using namespace pyconc::detail;

// The containers behind the queues: Python's _init/_qsize/_put/_get.
template <class T>
class FifoItems {
 public:
  void push(T&& item) { items_.push_back(std::move(item)); }
  T pop() {
    T item = std::move(items_.front());
    items_.pop_front();
    return item;
  }
  [[nodiscard]] std::size_t size() const noexcept { return items_.size(); }

 private:
  std::deque<T> items_;
};

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
      if (compare(b.item, a.item)) return true;
      if (compare(a.item, b.item)) return false;
      return a.order > b.order;
    }
  };

  std::vector<Entry> heap_;
  std::uint64_t next_ = 0;
  [[no_unique_address]] Compare compare_{};
};

/**
Frees a queue's items, except while the program exits: then daemon threads may still be
blocked in (or calling) a static queue, as Python's worker idiom has them, so the items are
kept until the process ends. The queue's lock and waiting lists need no freeing.
*/
template <class Items>
void release_items(Items* items) {
  auto& r = registry();
  if (r.finalizing.load()) {
    r.keep_until_exit(std::shared_ptr<Items>(items));
  } else {
    delete items;
  }
}

inline void check_timeout(double timeout) {
  if (timeout < 0) raise<ValueError>("'timeout' must be a non-negative number");
}

/**
Python's `queue.Queue` algorithm over any of the containers above: one mutex and three
waiting lists (`not_empty`, `not_full`, `all_tasks_done`), as CPython's three Conditions
share one lock.
*/
template <class T, class Items>
class BasicQueue {
 public:
  explicit BasicQueue(long long maxsize = 0) : items_(new Items), maxsize_(maxsize) {}
  BasicQueue(const BasicQueue&) = delete;
  BasicQueue& operator=(const BasicQueue&) = delete;
  ~BasicQueue() { release_items(items_); }

  /**
  Puts `item` in, waiting while a bounded queue is full. Blocks. Thread-safe.
  Raises `ShutDown` after `shutdown()`.
  */
  void put(T item) { put_until(std::move(item), Deadline::forever()); }
  /** `put(item, false)` raises `Full` at once when full; `put(item, true)` waits. */
  void put(T item, bool block) {
    if (block) return put(std::move(item));
    std::lock_guard with(mutex_);
    if (shutdown_) raise<ShutDown>();
    if (bounded() && items_->size() >= static_cast<std::size_t>(maxsize_)) raise<Full>();
    push_locked(std::move(item));
  }
  /**
  Waits at most `timeout` seconds for room, then raises `Full`. On a bounded queue a negative
  `timeout` raises `ValueError("'timeout' must be a non-negative number")`; an unbounded queue
  ignores it. `block == false` ignores the timeout. Blocks. Thread-safe.
  */
  void put(T item, bool block, Timeout timeout) {
    if (!block) return put(std::move(item), false);
    put_until(std::move(item), Deadline::after(timeout.seconds), timeout.seconds);
  }
  /** Python: `put_nowait(item)`, which is `put(item, false)`. */
  void put_nowait(T item) { put(std::move(item), false); }

  /** Takes the next item out, waiting while the queue is empty. Blocks. Thread-safe. Raises `ShutDown`. */
  T get() { return get_until(Deadline::forever(), true); }
  /** `get(false)` raises `Empty` at once when empty; `get(true)` waits. */
  T get(bool block) { return block ? get() : get_until(Deadline::after(0), false); }
  /**
  Waits at most `timeout` seconds for an item, then raises `Empty`. A negative `timeout`
  raises `ValueError("'timeout' must be a non-negative number")`, even when an item is there.
  `block == false` ignores the timeout. Blocks. Thread-safe.
  */
  T get(bool block, Timeout timeout) {
    if (!block) return get(false);
    check_timeout(timeout.seconds);
    return get_until(Deadline::after(timeout.seconds), true);
  }
  /** Python: `get_nowait()`, which is `get(false)`. */
  T get_nowait() { return get(false); }

  /** The number of items now (only a hint once the lock is released). Thread-safe. */
  [[nodiscard]] std::size_t qsize() {
    std::lock_guard with(mutex_);
    return items_->size();
  }
  /** Whether the queue is empty now. Thread-safe. */
  [[nodiscard]] bool empty() { return qsize() == 0; }
  /** Whether the queue is full now: `0 < maxsize() <= qsize()`. Thread-safe. */
  [[nodiscard]] bool full() {
    std::lock_guard with(mutex_);
    return bounded() && items_->size() >= static_cast<std::size_t>(maxsize_);
  }

  /** The bound on the number of items; 0 or less means none. */
  [[nodiscard]] long long maxsize() {
    std::lock_guard with(mutex_);
    return maxsize_;
  }
  /** Changes the bound (Python lets you assign `q.maxsize`); waiting putters re-check. */
  void maxsize(long long value) {
    std::lock_guard with(mutex_);
    maxsize_ = value;
    not_full_.notify_all();
  }

  /**
  Tells the queue that a task taken with `get()` is complete; when every item put has been
  marked so, `join()` returns. Raises `ValueError("task_done() called too many times")`.
  */
  void task_done() {
    std::lock_guard with(mutex_);
    if (unfinished_ == 0) raise<ValueError>("task_done() called too many times");
    if (--unfinished_ == 0) all_tasks_done_.notify_all();
  }
  /** Waits until every item put has been marked with `task_done()`. Blocks. Thread-safe. */
  void join() {
    std::lock_guard with(mutex_);
    while (unfinished_ != 0) wait_locked(all_tasks_done_, Deadline::forever());
  }
  /** Items put and not yet marked with `task_done()`. */
  [[nodiscard]] std::size_t unfinished_tasks() {
    std::lock_guard with(mutex_);
    return unfinished_;
  }

  /**
  Python 3.13's `shutdown(immediate=False)`: from now on `put` raises `ShutDown`, and so does
  `get` once the queue is empty; blocked callers wake up to see it. With `immediate`, the
  items still queued are dropped (each counted as done) so `join()` returns too.
  */
  void shutdown(bool immediate = false) {
    std::lock_guard with(mutex_);
    shutdown_ = true;
    if (immediate) {
      while (items_->size() != 0) {
        (void)items_->pop();
        if (unfinished_ > 0) --unfinished_;
      }
      all_tasks_done_.notify_all();
    }
    not_empty_.notify_all();
    not_full_.notify_all();
  }
  /** Whether `shutdown()` has been called. */
  [[nodiscard]] bool is_shutdown() {
    std::lock_guard with(mutex_);
    return shutdown_;
  }

 private:
  [[nodiscard]] bool bounded() const noexcept { return maxsize_ > 0; }

  // Sleeps on `list` with mutex_ held, releasing it meanwhile.
  bool wait_locked(WaitList& list, const Deadline& deadline) {
    return list.wait(deadline, true, [this] { mutex_.release(); }, [this] { mutex_.acquire(); });
  }

  void push_locked(T&& item) {
    items_->push(std::move(item));
    ++unfinished_;
    not_empty_.notify();
  }

  // `timeout` is checked as CPython does: after shutdown, and only on a bounded queue.
  void put_until(T&& item, const Deadline& deadline, double timeout = 0) {
    std::lock_guard with(mutex_);
    if (shutdown_) raise<ShutDown>();
    if (bounded()) check_timeout(timeout);
    while (bounded() && items_->size() >= static_cast<std::size_t>(maxsize_)) {
      if (deadline.expired()) raise<Full>();
      wait_locked(not_full_, deadline);
      if (shutdown_) raise<ShutDown>();
    }
    push_locked(std::move(item));
  }

  T get_until(const Deadline& deadline, bool block) {
    std::lock_guard with(mutex_);
    if (shutdown_ && items_->size() == 0) raise<ShutDown>();
    while (items_->size() == 0) {
      if (!block || deadline.expired()) raise<Empty>();
      wait_locked(not_empty_, deadline);
      if (shutdown_ && items_->size() == 0) raise<ShutDown>();
    }
    T item = items_->pop();
    not_full_.notify();
    return item;
  }

  threading::Lock mutex_;
  Items* items_;  // owned; see release_items()
  long long maxsize_;
  std::size_t unfinished_ = 0;
  bool shutdown_ = false;
  WaitList not_empty_;
  WaitList not_full_;
  WaitList all_tasks_done_;
};

}  // namespace detail

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

Cost: one lock per call, and a system call only when a thread must sleep or be woken.

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
class Queue : public detail::BasicQueue<T, detail::FifoItems<T>> {
 public:
  using detail::BasicQueue<T, detail::FifoItems<T>>::BasicQueue;
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

Memory ordering and cost: as `Queue`.

Differs from Python: typed; not copyable; `put` is not reentrant from a signal handler.
*/
template <class T>
class SimpleQueue {
 public:
  SimpleQueue() : items_(new detail::FifoItems<T>) {}
  SimpleQueue(const SimpleQueue&) = delete;
  SimpleQueue& operator=(const SimpleQueue&) = delete;
  ~SimpleQueue() { detail::release_items(items_); }

  /** Puts `item` in. Never blocks. Thread-safe. */
  void put(T item) {
    std::lock_guard with(mutex_);
    items_->push(std::move(item));
    not_empty_.notify();
  }
  /** As `put(item)`; `block` is ignored. */
  void put(T item, bool /*block*/) { put(std::move(item)); }
  /** As `put(item)`; `block` and `timeout` are ignored. */
  void put(T item, bool /*block*/, pyconc::detail::Timeout /*timeout*/) { put(std::move(item)); }
  /** As `put(item)`. */
  void put_nowait(T item) { put(std::move(item)); }

  /** Takes the next item, waiting while empty. Blocks. Thread-safe. */
  T get() { return get_until(pyconc::detail::Deadline::forever(), true); }
  /** `get(false)` raises `Empty` at once when empty. */
  T get(bool block) { return block ? get() : get_until(pyconc::detail::Deadline::after(0), false); }
  /** Waits at most `timeout` seconds, then raises `Empty`; negative raises `ValueError`. */
  T get(bool block, pyconc::detail::Timeout timeout) {
    if (!block) return get(false);
    detail::check_timeout(timeout.seconds);
    return get_until(pyconc::detail::Deadline::after(timeout.seconds), true);
  }
  /** As `get(false)`. */
  T get_nowait() { return get(false); }

  /** The number of items now. Thread-safe. */
  [[nodiscard]] std::size_t qsize() {
    std::lock_guard with(mutex_);
    return items_->size();
  }
  /** Whether it is empty now. Thread-safe. */
  [[nodiscard]] bool empty() { return qsize() == 0; }

 private:
  T get_until(const pyconc::detail::Deadline& deadline, bool block) {
    std::lock_guard with(mutex_);
    while (items_->size() == 0) {
      if (!block || deadline.expired()) pyconc::detail::raise<Empty>();
      not_empty_.wait(deadline, true, [this] { mutex_.release(); }, [this] { mutex_.acquire(); });
    }
    return items_->pop();
  }

  threading::Lock mutex_;
  detail::FifoItems<T>* items_;  // owned; see detail::release_items()
  pyconc::detail::WaitList not_empty_;
};

}  // namespace queue
}  // namespace v0
}  // namespace pyconc

#endif  // PYCONC_QUEUE_HPP_INCLUDED
