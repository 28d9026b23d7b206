// SPDX-License-Identifier: MIT
/**
`pyconc/queue.hpp` — C++20 counterpart of Python's `queue` module.

Includes:
- `pyconc/queue/queue.hpp`            Queue: a FIFO queue for many producers and consumers,
                                      optionally bounded (two locks: producers, consumers)
- `pyconc/queue/lifo_queue.hpp`       LifoQueue: the same, last in first out (one lock)
- `pyconc/queue/priority_queue.hpp`   PriorityQueue: the same, smallest item first (one lock)
- `pyconc/queue/simple_queue.hpp`     SimpleQueue: an unbounded FIFO queue without task tracking
- `pyconc/queue/base.hpp`             Empty, Full, ShutDown, and what the queues share
*/
#ifndef PYCONC_QUEUE_HPP_INCLUDED
#define PYCONC_QUEUE_HPP_INCLUDED

#include <pyconc/queue/base.hpp>
#include <pyconc/queue/lifo_queue.hpp>
#include <pyconc/queue/priority_queue.hpp>
#include <pyconc/queue/queue.hpp>
#include <pyconc/queue/simple_queue.hpp>

#endif  // PYCONC_QUEUE_HPP_INCLUDED
