// SPDX-License-Identifier: MIT
/**
`pyconc/queue/priority_queue.hpp` — `queue.PriorityQueue`.

Defines:
- `queue::PriorityQueue<T, Compare>`   a queue for many producers and consumers, smallest item first.
*/
#ifndef PYCONC_QUEUE_PRIORITY_QUEUE_HPP_INCLUDED
#define PYCONC_QUEUE_PRIORITY_QUEUE_HPP_INCLUDED

#include <functional>  // std::less

#include <pyconc/queue/one_lock.hpp>

namespace pyconc {
inline namespace v0 {
namespace queue {

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

}  // namespace queue
}  // namespace v0
}  // namespace pyconc

#endif  // PYCONC_QUEUE_PRIORITY_QUEUE_HPP_INCLUDED
