# SPDX-License-Identifier: MIT
#
# Set PYCONC_EXAMPLE_TIMINGS=1 to also print the measured times (they vary from run to run,
# so by default only the lines that never change are printed).
import concurrent.futures
import os
import threading
import time

N = 1000  # small tasks


def task(i):
    return i * i  # a small piece of work


def run_with_pool():
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as executor:
        return list(executor.map(task, range(N)))


def run_with_threads():
    results = [None] * N

    def run(i):
        results[i] = task(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(N)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


if __name__ == '__main__':
    show_timings = os.environ.get('PYCONC_EXAMPLE_TIMINGS') == '1'

    start = time.perf_counter()
    pool_results = run_with_pool()  # 8 threads share the 1000 tasks
    pool_time = time.perf_counter() - start

    start = time.perf_counter()
    thread_results = run_with_threads()  # one new thread per task
    thread_time = time.perf_counter() - start

    print('tasks:', N)
    print('pool results:', len(pool_results), 'sum:', sum(pool_results))
    print('thread results:', len(thread_results), 'sum:', sum(thread_results))
    print('same results:', pool_results == thread_results)
    if show_timings:
        print('pool time:', round(pool_time, 4), 's')
        print('threads time:', round(thread_time, 4), 's')
        print('threads / pool:', round(thread_time / pool_time, 1))
