#!/usr/bin/env python3
"""The workloads of bench/threading_bench.cpp, in CPython's threading module.

Prints one JSON object on stdout:

    {"interpreter": "CPython 3.11.7", "gil": true,
     "ns_per_op": {"BM_Lock": 41.2, ..., "BM_LockContended/threads:2": 60.3}}

Workload names match the C++ benchmark names without the implementation
part (BM_Lock/pyconc -> BM_Lock; BM_LockContended/pyconc/real_time/threads:2
-> BM_LockContended/threads:2), so bench/compare.py can pair them.

Each workload is a loop over itertools.repeat with time.perf_counter() around
it, the iteration count grown until one run takes at least --min-time seconds
(0.2 s by default); then --rounds rounds each time every workload once, in a
shuffled order (harness.py). Loop overhead is included, as in timeit; method
lookups (lock.acquire, ev.set, ...) are bound to locals before the loop, where a
C++ programmer's compiler hoists them too.

Usage:  python3 bench/python/threading_bench.py [--min-time 0.2] [--rounds 5]
                                                 [--filter REGEX]
"""

import itertools
import threading

import harness
import time

perf_counter = time.perf_counter
repeat = itertools.repeat


# Each workload function runs n operations and returns the elapsed seconds
# and the total number of operations it timed.

def bm_lock(n):
    lock = threading.Lock()
    acquire, release = lock.acquire, lock.release
    t0 = perf_counter()
    for _ in repeat(None, n):
        acquire()
        release()
    return perf_counter() - t0, n


def bm_rlock(n):
    lock = threading.RLock()
    acquire, release = lock.acquire, lock.release
    t0 = perf_counter()
    for _ in repeat(None, n):
        acquire()
        release()
    return perf_counter() - t0, n


def bm_semaphore(n):
    sem = threading.Semaphore(1)
    acquire, release = sem.acquire, sem.release
    t0 = perf_counter()
    for _ in repeat(None, n):
        acquire()
        release()
    return perf_counter() - t0, n


def bm_event_ping_pong(n):
    # One operation = one round trip, exactly as in the C++ benchmark.
    ping = threading.Event()
    pong = threading.Event()
    stop = False

    def partner():
        ping_wait, ping_clear, pong_set = ping.wait, ping.clear, pong.set
        while True:
            ping_wait()
            ping_clear()
            if stop:
                return
            pong_set()

    t = threading.Thread(target=partner)
    t.start()
    ping_set, pong_wait, pong_clear = ping.set, pong.wait, pong.clear
    t0 = perf_counter()
    for _ in repeat(None, n):
        ping_set()
        pong_wait()
        pong_clear()
    elapsed = perf_counter() - t0
    stop = True
    ping.set()
    t.join()
    return elapsed, n


def _empty_target():
    pass


def bm_thread_start_join(n):
    Thread = threading.Thread
    t0 = perf_counter()
    for _ in repeat(None, n):
        t = Thread(target=_empty_target)
        t.start()
        t.join()
    return perf_counter() - t0, n


def make_bm_lock_contended(nthreads):
    # nthreads threads each run n acquire+release pairs on one shared Lock;
    # the result is wall time / (nthreads * n), like Google Benchmark's
    # ->Threads(N)->UseRealTime().
    def bm(n):
        lock = threading.Lock()
        ready = threading.Barrier(nthreads + 1)

        def worker():
            acquire, release = lock.acquire, lock.release
            ready.wait()
            for _ in repeat(None, n):
                acquire()
                release()

        workers = [threading.Thread(target=worker) for _ in range(nthreads)]
        return harness.run_together(workers, ready), n * nthreads

    return bm


WORKLOADS = {
    "BM_Lock": bm_lock,
    "BM_RLock": bm_rlock,
    "BM_Semaphore": bm_semaphore,
    "BM_EventPingPong": bm_event_ping_pong,
    "BM_ThreadStartJoin": bm_thread_start_join,
    "BM_LockContended/threads:2": make_bm_lock_contended(2),
    "BM_LockContended/threads:4": make_bm_lock_contended(4),
}


if __name__ == "__main__":
    harness.main(__doc__, WORKLOADS)
