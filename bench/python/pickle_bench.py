#!/usr/bin/env python3
"""The workloads of bench/pickle_bench.cpp, in CPython's pickle module.

Prints one JSON object on stdout:

    {"interpreter": "CPython 3.11.7", "gil": true,
     "ns_per_op": {"BM_DumpsVector": 12345678.9, ...}}

Workload names match the C++ benchmark names without the implementation part
(BM_DumpsVector/pyconc -> BM_DumpsVector), so bench/compare.py can pair them.

    BM_DumpsVector / BM_LoadsVector / BM_RoundTripVector
        pickle.dumps, pickle.loads, and both, of a list of 1,000,000 floats (i * 0.5)
    BM_DumpsMap / BM_LoadsMap / BM_RoundTripMap
        the same for a dict of 100,000 str -> int entries ("key0": 0, ...)

pickle uses protocol 5 (pickle.HIGHEST_PROTOCOL since 3.8; the default protocol is 4 up
to 3.13, whose encoding of floats, str and int is the same). One operation is one dumps
(or loads) of the whole container, as on the C++ side. dumps and loads are bound to
locals before the loops.

Usage:  python3 bench/python/pickle_bench.py [--min-time 0.2] [--rounds 5]
                                              [--filter REGEX]
"""
# SPDX-License-Identifier: MIT

import itertools
import pickle
import time

import harness

repeat = itertools.repeat

PROTOCOL = 5
VECTOR = [i * 0.5 for i in range(1_000_000)]
MAP = {f"key{i}": i for i in range(100_000)}


def make_dumps(value):
    def bm(n):
        dumps = pickle.dumps
        t0 = time.perf_counter()
        for _ in repeat(None, n):
            dumps(value, PROTOCOL)
        return time.perf_counter() - t0, n
    return bm


def make_loads(value):
    data = pickle.dumps(value, PROTOCOL)

    def bm(n):
        loads = pickle.loads
        t0 = time.perf_counter()
        for _ in repeat(None, n):
            loads(data)
        return time.perf_counter() - t0, n
    return bm


def make_round_trip(value):
    def bm(n):
        dumps, loads = pickle.dumps, pickle.loads
        t0 = time.perf_counter()
        for _ in repeat(None, n):
            loads(dumps(value, PROTOCOL))
        return time.perf_counter() - t0, n
    return bm


WORKLOADS = {
    "BM_DumpsVector": make_dumps(VECTOR),
    "BM_LoadsVector": make_loads(VECTOR),
    "BM_RoundTripVector": make_round_trip(VECTOR),
    "BM_DumpsMap": make_dumps(MAP),
    "BM_LoadsMap": make_loads(MAP),
    "BM_RoundTripMap": make_round_trip(MAP),
}


if __name__ == "__main__":
    harness.main(__doc__, WORKLOADS)
