# SPDX-License-Identifier: MIT
import threading

balance = 0
lock = threading.Lock()


def change_it(n):
    # deposit first, then withdraw: the balance should always come back to 0
    global balance
    balance = balance + n
    balance = balance - n


def run_thread(n):
    for i in range(100000):
        change_it(n)


def run_thread_with_lock(n):
    for i in range(100000):
        # only one thread at a time may be inside change_it()
        lock.acquire()
        try:
            change_it(n)
        finally:
            lock.release()


if __name__ == '__main__':
    # Without a lock the two threads can interleave inside change_it() and lose
    # updates, so the final balance is not guaranteed: we do not print it.
    t1 = threading.Thread(target=run_thread, args=(5,))
    t2 = threading.Thread(target=run_thread, args=(8,))
    t1.start()
    t2.start()
    t1.join()
    t2.join()
    print('without lock: 2 threads x 100000 changes done, balance is not guaranteed')

    balance = 0
    t1 = threading.Thread(target=run_thread_with_lock, args=(5,))
    t2 = threading.Thread(target=run_thread_with_lock, args=(8,))
    t1.start()
    t2.start()
    t1.join()
    t2.join()
    print('with lock: balance == 0 is', balance == 0)
