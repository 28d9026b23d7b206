#!/usr/bin/env python3
"""The workloads of bench/pool_bench.cpp, in CPython's multiprocessing and concurrent.futures.

Prints one JSON object on stdout (see harness.py). Workload names match the C++ benchmark
names without the implementation part, so bench/compare.py can pair them. The pools are made
once, before timing, as in the C++ binary; the processes are forked (the fork context).

    BM_PoolMap100k        Pool(2).map(square, range(100_000))          (ns per map)
    BM_PoolMap10kChunk1   Pool(2).map(square, range(10_000), chunksize=1)
    BM_PpeSubmit10k       ProcessPoolExecutor(2): 10,000 submit(square), then result() of each
    BM_PpeMap10kChunk1    ProcessPoolExecutor(2).map(square, range(10_000), chunksize=1)
    BM_PpeMap10kChunk100  the same with chunksize=100
    BM_CpuPool2x          Pool(2).map(count, [UNIT, UNIT]), a counting loop   (ns per pair)

Usage:  python3 bench/python/pool_bench.py [--min-time 0.2] [--rounds 5] [--filter REGEX]
"""
# SPDX-License-Identifier: MIT

import concurrent.futures
import multiprocessing
import time

import harness

BIG = 100_000
SMALL = 10_000
UNIT = 1_000_000  # about 20 ms of counting in CPython

ctx = multiprocessing.get_context("fork")
pools = {}


def square(x):
    return x * x


def count(n):
    while n > 0:
        n -= 1
    return n


def pool():
    if "pool" not in pools:
        pools["pool"] = ctx.Pool(2)
        pools["pool"].map(square, [1, 2])
    return pools["pool"]


def executor():
    if "executor" not in pools:
        pools["executor"] = concurrent.futures.ProcessPoolExecutor(2, mp_context=ctx)
        pools["executor"].submit(square, 1).result()
    return pools["executor"]


def bm_pool_map_100k(n):
    p, xs = pool(), list(range(BIG))
    t0 = time.perf_counter()
    for _ in range(n):
        p.map(square, xs)
    return time.perf_counter() - t0, n


def bm_pool_map_10k_chunk1(n):
    p, xs = pool(), list(range(SMALL))
    t0 = time.perf_counter()
    for _ in range(n):
        p.map(square, xs, chunksize=1)
    return time.perf_counter() - t0, n


def bm_ppe_submit_10k(n):
    e = executor()
    t0 = time.perf_counter()
    for _ in range(n):
        fs = [e.submit(square, i) for i in range(SMALL)]
        for f in fs:
            f.result()
    return time.perf_counter() - t0, n


def bm_ppe_map(chunksize):
    def bm(n):
        e, xs = executor(), list(range(SMALL))
        t0 = time.perf_counter()
        for _ in range(n):
            sum(e.map(square, xs, chunksize=chunksize))
        return time.perf_counter() - t0, n
    return bm


def bm_cpu_pool_2x(n):
    p = pool()
    t0 = time.perf_counter()
    for _ in range(n):
        p.map(count, [UNIT, UNIT])
    return time.perf_counter() - t0, n


WORKLOADS = {
    "BM_PoolMap100k": bm_pool_map_100k,
    "BM_PoolMap10kChunk1": bm_pool_map_10k_chunk1,
    "BM_PpeSubmit10k": bm_ppe_submit_10k,
    "BM_PpeMap10kChunk1": bm_ppe_map(1),
    "BM_PpeMap10kChunk100": bm_ppe_map(100),
    "BM_CpuPool2x": bm_cpu_pool_2x,
}

if __name__ == "__main__":
    harness.main(__doc__, WORKLOADS)
