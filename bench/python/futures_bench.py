#!/usr/bin/env python3
"""The workloads of bench/futures_bench.cpp, in CPython's concurrent.futures.

Prints one JSON object on stdout:

    {"interpreter": "CPython 3.11.7", "gil": true, "workers": 2,
     "ns_per_op": {"BM_Tasks/task_ns:0": 12345.6, ...}}

Workload names match the C++ benchmark names without the implementation part
(BM_Tasks/pyconc/task_ns:0/process_time/real_time -> BM_Tasks/task_ns:0), so
bench/compare.py can pair them.

    BM_Tasks   ThreadPoolExecutor(max_workers=os.cpu_count()): submit() n tasks,
               then result() on every future. Each task does task_ns nanoseconds
               of CPU work (0, 1000, 100000): a loop calibrated at start-up, as
               the C++ side's, but in Python; never a sleep.

One operation is one task; the result is the wall time of a run divided by its
tasks. The executor and its threads are created before the clock starts;
pool.submit is bound to a local before the loop. The iteration count grows until
one run takes at least --min-time seconds (0.2 s by default), then --rounds
rounds time every workload once each, in a shuffled order (harness.py).

Usage:  python3 bench/python/futures_bench.py [--min-time 0.2] [--rounds 5]
                                               [--filter REGEX]
"""

import itertools
import os
import threading

import harness
import time
from concurrent.futures import ThreadPoolExecutor

perf_counter = time.perf_counter
repeat = itertools.repeat

WORKERS = os.cpu_count() or 1

# Loop iterations per microsecond of spin(); set by calibrate().
spins_per_us = 10.0


def spin(n):
    x = 0
    for _ in repeat(None, n):
        x += 1
    return x


def calibrate():
    global spins_per_us
    n = 1 << 18
    best = min(_time_spin(n) for _ in range(7))
    spins_per_us = n / (best * 1e6)


def _time_spin(n):
    t0 = perf_counter()
    spin(n)
    return perf_counter() - t0


def _empty():
    pass


def make_bm_tasks(task_ns):
    def bm(n):
        spins = int(round(task_ns / 1000.0 * spins_per_us))
        if spins:
            fn, args = spin, (spins,)
        else:
            fn, args = _empty, ()
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            # Start every worker before the clock: keep each busy until all run.
            started = threading.Barrier(WORKERS)
            for f in [pool.submit(started.wait) for _ in range(WORKERS)]:
                f.result()
            submit = pool.submit
            t0 = perf_counter()
            futures = [submit(fn, *args) for _ in repeat(None, n)]
            for f in futures:
                f.result()
            elapsed = perf_counter() - t0
        return elapsed, n

    return bm


WORKLOADS = {
    "BM_Tasks/task_ns:0": make_bm_tasks(0),
    "BM_Tasks/task_ns:1000": make_bm_tasks(1000),
    "BM_Tasks/task_ns:100000": make_bm_tasks(100000),
}


if __name__ == "__main__":
    harness.main(__doc__, WORKLOADS, prepare=calibrate,
                 extra=lambda: {"workers": WORKERS, "spin_iterations_per_us": round(spins_per_us, 2)})
