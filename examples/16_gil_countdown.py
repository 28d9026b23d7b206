# SPDX-License-Identifier: MIT
#
# David Beazley's GIL experiment ("Understanding the Python GIL", PyCon 2010): a CPU-bound
# countdown run twice, one after the other, then in two threads at once. The GIL lets only
# one thread run Python code at a time, so two threads finish no sooner than one thread
# doing both counts.
#
# Set PYCONC_EXAMPLE_TIMINGS=1 to also print the measured times (they vary from run to run,
# so by default only the lines that never change are printed).
import os
import sys
import threading
import time

N = 10_000_000


def count(n):
    while n > 0:
        n -= 1


def run_sequential():
    count(N)
    count(N)


def run_threaded():
    t1 = threading.Thread(target=count, args=(N,))
    t2 = threading.Thread(target=count, args=(N,))
    t1.start()
    t2.start()
    t1.join()
    t2.join()


if __name__ == '__main__':
    show_timings = os.environ.get('PYCONC_EXAMPLE_TIMINGS') == '1'
    print('switch interval:', sys.getswitchinterval())

    start = time.perf_counter()
    run_sequential()
    sequential = time.perf_counter() - start
    print('sequential: done')

    start = time.perf_counter()
    run_threaded()
    threaded = time.perf_counter() - start
    print('2 threads: done')

    if show_timings:
        print('sequential:', round(sequential, 3), 's')
        print('2 threads:', round(threaded, 3), 's')
        print('2 threads / sequential:', round(threaded / sequential, 2))
