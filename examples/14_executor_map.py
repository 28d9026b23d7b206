# SPDX-License-Identifier: MIT
import concurrent.futures
import threading
import time

finished = []  # inputs in the order their calls finished
finished_lock = threading.Lock()
others_done = threading.Event()


def double_it(x):
    if x == 0:
        others_done.wait()  # the first input waits until the five others have finished
    with finished_lock:
        finished.append(x)
        if len(finished) == 5:
            others_done.set()
    return x * 2


def add(a, b):
    return a + b


def check(x):
    if x < 0:
        raise ValueError(f'negative input: {x}')
    return x


def nap(seconds):
    time.sleep(seconds)
    return seconds


if __name__ == '__main__':
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as executor:
        # map() submits every call at once and yields the results in input order
        for result in executor.map(double_it, range(6)):
            print('double:', result)
        print('input 0 finished last:', finished[-1] == 0)

        # several iterables are taken together, as zip() does: the shortest ends it
        print('add:', list(executor.map(add, [1, 2, 3], [10, 20, 30, 40])))

        # a call's exception is raised when its result is reached
        try:
            for result in executor.map(check, [1, 2, -3, 4]):
                print('checked', result)
        except ValueError as exc:
            print('map raised ValueError:', exc)

        # timeout= limits the wait for the results (counted from the map() call)
        try:
            for result in executor.map(nap, [0.3], timeout=0.05):
                print('slept', result)
        except TimeoutError:
            print('map raised TimeoutError after 0.05 s')
    print('with block left: the pool has shut down')
