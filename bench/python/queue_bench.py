#!/usr/bin/env python3
"""The workloads of bench/queue_bench.cpp, in CPython's queue module.

Prints one JSON object on stdout:

    {"interpreter": "CPython 3.11.7", "gil": true,
     "ns_per_op": {"BM_Queue/producers:1/consumers:1": 1234.5, ...}}

Workload names match the C++ benchmark names without the implementation part
(BM_Queue/pyconc/producers:1/consumers:1/real_time -> BM_Queue/producers:1/consumers:1),
so bench/compare.py can pair them.

    BM_Queue        queue.Queue(maxsize=1024); P producer threads put, C consumer
                    threads get; 1P/1C and 2P/2C
    BM_SimpleQueue  queue.SimpleQueue(); 1P/1C
    BM_PutGet       one thread: put(x) then get() on a queue.Queue(1024)

One operation is one item moved from a producer to a consumer: the n items of a
run are split evenly between the producers and between the consumers, the
threads are started before the clock starts and released together through a
Barrier, and the time runs until every thread has finished (wall clock divided
by n, as the C++ side reports it). The iteration count grows until one run takes
at least --min-time seconds (0.2 s by default), then --rounds rounds time every
workload once each, in a shuffled order (harness.py). put and get are bound to
locals before the loops.

Usage:  python3 bench/python/queue_bench.py [--min-time 0.2] [--rounds 5]
                                             [--filter REGEX]
"""

import itertools
import queue
import threading
import time

import harness

repeat = itertools.repeat

CAPACITY = 1024


def make_bm_move_items(make_queue, producers, consumers):
    """n items through one queue, split between the producer and consumer threads."""
    def bm(n):
        # Every thread moves the same number of items.
        step = producers * consumers
        n = max(step, (n + step - 1) // step * step)
        q = make_queue()
        ready = threading.Barrier(producers + consumers + 1)

        def producer(count):
            put = q.put
            ready.wait()
            for i in range(count):
                put(i)

        def consumer(count):
            get = q.get
            ready.wait()
            for _ in repeat(None, count):
                get()

        workers = [threading.Thread(target=producer, args=(n // producers,))
                   for _ in range(producers)]
        workers += [threading.Thread(target=consumer, args=(n // consumers,))
                    for _ in range(consumers)]
        return harness.run_together(workers, ready), n

    return bm


def bounded():
    return queue.Queue(maxsize=CAPACITY)


def bm_put_get(n):
    """One thread puts an item and gets it back, n times."""
    q = bounded()
    put, get = q.put, q.get
    t0 = time.perf_counter()
    for i in repeat(None, n):
        put(1)
        get()
    return time.perf_counter() - t0, n


WORKLOADS = {
    "BM_Queue/producers:1/consumers:1": make_bm_move_items(bounded, 1, 1),
    "BM_Queue/producers:2/consumers:2": make_bm_move_items(bounded, 2, 2),
    "BM_SimpleQueue/producers:1/consumers:1": make_bm_move_items(queue.SimpleQueue, 1, 1),
    "BM_PutGet": bm_put_get,
}


if __name__ == "__main__":
    harness.main(__doc__, WORKLOADS, grow_by_ops=True)
