// SPDX-License-Identifier: MIT
/**
`pyconc/queue/one_lock.hpp` — the engine of `LifoQueue` and `PriorityQueue`: one lock, as CPython's.

Defines:
- `detail::LifoItems`, `detail::HeapItems`   the containers (Python's `_init/_qsize/_put/_get`).
- `detail::BasicQueue`                       Python's `queue.Queue` algorithm over a container.
*/
#ifndef PYCONC_QUEUE_ONE_LOCK_HPP_INCLUDED
#define PYCONC_QUEUE_ONE_LOCK_HPP_INCLUDED

#include <algorithm>  // std::push_heap, std::pop_heap
#include <cstddef>    // std::size_t
#include <cstdint>    // std::uint64_t
#include <utility>    // std::move
#include <vector>     // std::vector

#include <pyconc/queue/base.hpp>

namespace pyconc {
inline namespace v0 {
namespace detail {

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
}  // namespace v0
}  // namespace pyconc

#endif  // PYCONC_QUEUE_ONE_LOCK_HPP_INCLUDED
