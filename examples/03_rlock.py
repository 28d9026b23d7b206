# SPDX-License-Identifier: MIT
import threading


class Counter:
    def __init__(self):
        self.lock = threading.RLock()
        self.value = 0

    def increment(self):
        with self.lock:
            self.value += 1

    def increment_twice(self):
        with self.lock:
            # increment() takes self.lock again: fine for an RLock,
            # a plain Lock would deadlock here
            self.increment()
            self.increment()


def worker(counter):
    for i in range(1000):
        counter.increment_twice()


if __name__ == '__main__':
    rlock = threading.RLock()
    print('first acquire:', rlock.acquire())
    print('second acquire by the same thread:', rlock.acquire())

    def try_from_other_thread():
        print('another thread, acquire(blocking=False):', rlock.acquire(blocking=False))

    t = threading.Thread(target=try_from_other_thread)
    t.start()
    t.join()

    rlock.release()
    rlock.release()
    try:
        rlock.release()
    except RuntimeError as e:
        print('third release: RuntimeError:', e)

    lock = threading.Lock()
    lock.acquire()
    print('plain Lock, second acquire(blocking=False):', lock.acquire(blocking=False))
    lock.release()

    counter = Counter()
    threads = [threading.Thread(target=worker, args=(counter,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print('counter.value =', counter.value)
