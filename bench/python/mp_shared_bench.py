#!/usr/bin/env python3
"""The workloads of bench/mp_shared_bench.cpp, in CPython's multiprocessing.

Prints one JSON object on stdout (see harness.py). Workload names match the C++ benchmark
names without the implementation part, so bench/compare.py can pair them.

    BM_LockUncontended   multiprocessing.Lock(): acquire(); release()       (ns per pair)
    BM_ValueContended    2 processes each adding 1 to Value('q') 20,000 times under
                         get_lock()                                         (ns per 40,000)
    BM_QueueInts1x1      100,000 ints from a child to the parent through Queue()
    BM_QueueInts1x2      the same 100,000 ints to two consumer processes
    BM_QueueMiB          64 bytes objects of 1 MiB from a child to the parent through Queue()

The processes are forked (the fork context), as the C++ side forks them.

Usage:  python3 bench/python/mp_shared_bench.py [--min-time 0.2] [--rounds 5] [--filter REGEX]
"""
# SPDX-License-Identifier: MIT

import multiprocessing
import time

import harness

ADDITIONS = 20_000
INTS = 100_000
MIB_ITEMS = 64
MIB = 1 << 20

ctx = multiprocessing.get_context("fork")


def bm_lock_uncontended(n):
    lock = ctx.Lock()
    acquire, release = lock.acquire, lock.release
    t0 = time.perf_counter()
    for _ in range(n):
        acquire()
        release()
    return time.perf_counter() - t0, n


def add_under_lock(v):
    for _ in range(ADDITIONS):
        with v.get_lock():
            v.value += 1


def bm_value_contended(n):
    v = ctx.Value("q", 0)
    t0 = time.perf_counter()
    for _ in range(n):
        other = ctx.Process(target=add_under_lock, args=(v,))
        other.start()
        add_under_lock(v)
        other.join()
    return time.perf_counter() - t0, n


def put_ints(q, consumers):
    for i in range(INTS):
        q.put(i)
    for _ in range(consumers):
        q.put(-1)


def get_until_stop(q):
    while q.get() != -1:
        pass


def bm_queue_ints_1x1(n):
    q = ctx.Queue()
    t0 = time.perf_counter()
    for _ in range(n):
        producer = ctx.Process(target=put_ints, args=(q, 1))
        producer.start()
        get_until_stop(q)
        producer.join()
    return time.perf_counter() - t0, n


def bm_queue_ints_1x2(n):
    q = ctx.Queue()
    t0 = time.perf_counter()
    for _ in range(n):
        producer = ctx.Process(target=put_ints, args=(q, 2))
        a = ctx.Process(target=get_until_stop, args=(q,))
        b = ctx.Process(target=get_until_stop, args=(q,))
        a.start()
        b.start()
        producer.start()
        producer.join()
        a.join()
        b.join()
    return time.perf_counter() - t0, n


def put_mib(q):
    payload = b"x" * MIB
    for _ in range(MIB_ITEMS):
        q.put(payload)


def bm_queue_mib(n):
    q = ctx.Queue()
    t0 = time.perf_counter()
    for _ in range(n):
        producer = ctx.Process(target=put_mib, args=(q,))
        producer.start()
        for _ in range(MIB_ITEMS):
            q.get()
        producer.join()
    return time.perf_counter() - t0, n


WORKLOADS = {
    "BM_LockUncontended": bm_lock_uncontended,
    "BM_ValueContended": bm_value_contended,
    "BM_QueueInts1x1": bm_queue_ints_1x1,
    "BM_QueueInts1x2": bm_queue_ints_1x2,
    "BM_QueueMiB": bm_queue_mib,
}

if __name__ == "__main__":
    harness.main(__doc__, WORKLOADS)
