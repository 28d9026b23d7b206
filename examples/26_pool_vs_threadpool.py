# SPDX-License-Identifier: MIT
#
# Pool against ThreadPool on a CPU-bound function: two counts in a pool of two. A Pool's
# workers are processes, each with its own GIL, so the two counts run at once on two cores;
# a ThreadPool's workers are threads of one process, which share its GIL, so they count one
# at a time. Each pool is timed on the two counts as two tasks, and on one task counting
# twice as far (the best of seven rounds of each, interleaved).
#
# Set PYCONC_EXAMPLE_TIMINGS=1 to also print the measured speedups (they vary from run to run).
import multiprocessing
import os
import time
from multiprocessing.pool import ThreadPool

N = 2_000_000


def count(n):
    while n > 0:
        n -= 1
    return n


def timed(job):
    start = time.perf_counter()
    job()
    return time.perf_counter() - start


def speedup(pool):
    """How much faster two counts run as two tasks than as one task counting twice as far."""
    one_task = two_tasks = float('inf')
    for _ in range(7):  # interleaved, so that a change in the machine's speed hits both
        one_task = min(one_task, timed(lambda: pool.map(count, [2 * N])))
        two_tasks = min(two_tasks, timed(lambda: pool.map(count, [N, N])))
    return one_task / two_tasks


if __name__ == '__main__':
    with multiprocessing.Pool(2) as pool:
        pool.map(count, [1, 1])  # the workers are up
        processes = speedup(pool)
    with ThreadPool(2) as pool:
        threads = speedup(pool)
    print('Pool(2): the processes ran in parallel:', processes > 1.2)
    print('ThreadPool(2): the threads ran in parallel:', threads > 1.2)
    if os.environ.get('PYCONC_EXAMPLE_TIMINGS') == '1':
        print('speedup of two tasks over one: processes', round(processes, 2), 'threads', round(threads, 2))
