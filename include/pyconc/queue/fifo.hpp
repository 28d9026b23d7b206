// SPDX-License-Identifier: MIT
/**
`pyconc/queue/fifo.hpp` — the engine of the FIFO queues, `Queue` and `SimpleQueue`.

Defines:
- `detail::BlockFifo`   items in blocks of slots, one producer end and one consumer end.
- `detail::FifoQueue`   Python's `queue.Queue` algorithm with two locks (producers, consumers).
*/
#ifndef PYCONC_QUEUE_FIFO_HPP_INCLUDED
#define PYCONC_QUEUE_FIFO_HPP_INCLUDED

#include <atomic>   // std::atomic
#include <cstddef>  // std::size_t, std::byte
#include <new>      // std::launder, placement new
#include <utility>  // std::move, std::exchange

#include <pyconc/queue/base.hpp>

namespace pyconc {
inline namespace v0 {
namespace detail {

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

}  // namespace detail
}  // namespace v0
}  // namespace pyconc

#endif  // PYCONC_QUEUE_FIFO_HPP_INCLUDED
