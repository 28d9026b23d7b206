// SPDX-License-Identifier: MIT
/**
`pyconc/queue/lifo_queue.hpp` — `queue.LifoQueue`.

Defines:
- `queue::LifoQueue<T>`   a queue for many producers and consumers, last in first out.
*/
#ifndef PYCONC_QUEUE_LIFO_QUEUE_HPP_INCLUDED
#define PYCONC_QUEUE_LIFO_QUEUE_HPP_INCLUDED

#include <pyconc/queue/one_lock.hpp>

namespace pyconc {
inline namespace v0 {
namespace queue {

/** Python: `queue.LifoQueue(maxsize=0)`. As `Queue`, but `get()` takes the most recent item. */
template <class T>
class LifoQueue : public detail::BasicQueue<T, detail::LifoItems<T>> {
 public:
  using detail::BasicQueue<T, detail::LifoItems<T>>::BasicQueue;
};

}  // namespace queue
}  // namespace v0
}  // namespace pyconc

#endif  // PYCONC_QUEUE_LIFO_QUEUE_HPP_INCLUDED
