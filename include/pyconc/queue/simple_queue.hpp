// SPDX-License-Identifier: MIT
/**
`pyconc/queue/simple_queue.hpp` — `queue.SimpleQueue`.

Defines:
- `queue::SimpleQueue<T>`   an unbounded FIFO queue without task tracking.
*/
#ifndef PYCONC_QUEUE_SIMPLE_QUEUE_HPP_INCLUDED
#define PYCONC_QUEUE_SIMPLE_QUEUE_HPP_INCLUDED

#include <pyconc/queue/fifo.hpp>

namespace pyconc {
inline namespace v0 {
namespace queue {

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

#endif  // PYCONC_QUEUE_SIMPLE_QUEUE_HPP_INCLUDED
