// SPDX-License-Identifier: MIT
/**
`pyconc/queue/queue.hpp` — `queue.Queue`.

Defines:
- `queue::Queue<T>`   a FIFO queue for many producers and consumers, optionally bounded.
*/
#ifndef PYCONC_QUEUE_QUEUE_HPP_INCLUDED
#define PYCONC_QUEUE_QUEUE_HPP_INCLUDED

#include <pyconc/queue/fifo.hpp>

namespace pyconc {
inline namespace v0 {
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

}  // namespace queue
}  // namespace v0
}  // namespace pyconc

#endif  // PYCONC_QUEUE_QUEUE_HPP_INCLUDED
