# SPDX-License-Identifier: MIT
#
# A CPU-bound job on two threads and on two processes. The GIL lets one thread of a process
# run Python code at a time, so two counting threads take as long as one thread counting
# twice; each process has its own GIL, so two processes count at once on two cores.
#
# Set PYCONC_EXAMPLE_TIMINGS=1 to also print the measured times (they vary from run to run
# and with the number of free cores, so by default only the lines that never change are
# printed).
import multiprocessing
import os
import threading
import time

N = 10_000_000


def count(n):
    while n > 0:
        n -= 1


def run(kind):
    workers = [kind(target=count, args=(N,)) for _ in range(2)]
    start = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return time.perf_counter() - start


if __name__ == '__main__':
    show_timings = os.environ.get('PYCONC_EXAMPLE_TIMINGS') == '1'
    one = time.perf_counter()
    count(N)
    one = time.perf_counter() - one
    threads = run(threading.Thread)
    print('2 threads: done')
    processes = run(multiprocessing.Process)
    print('2 processes: done')
    if show_timings:
        print('one count:', round(one, 3), 's')
        print('2 threads:', round(threads, 3), 's', round(threads / one, 2), 'x one count')
        print('2 processes:', round(processes, 3), 's', round(processes / one, 2), 'x one count')
