# SPDX-License-Identifier: MIT
import threading

lock = threading.Lock()
MAX = 5
candytray = threading.BoundedSemaphore(MAX)


def refill():
    lock.acquire()
    print('Refilling candy...', end=' ')
    try:
        candytray.release()
    except ValueError:
        print('full, skipping')
    else:
        print('OK')
    lock.release()


def buy():
    lock.acquire()
    print('Buying candy...', end=' ')
    if candytray.acquire(False):
        print('OK')
    else:
        print('empty, skipping')
    lock.release()


def producer(loops):
    for i in range(loops):
        refill()


def consumer(loops):
    for i in range(loops):
        buy()


if __name__ == '__main__':
    print('THE CANDY MACHINE (full with %d bars)!' % MAX)
    refill()  # the tray is already full

    # Two buyers want 7 bars between them: the first 5 purchases succeed,
    # whoever comes next finds the tray empty.
    buyers = [threading.Thread(target=consumer, args=(n,)) for n in (4, 3)]
    for t in buyers:
        t.start()
    for t in buyers:
        t.join()

    # Two vendors bring 7 bars: only 5 fit back into the tray.
    vendors = [threading.Thread(target=producer, args=(n,)) for n in (4, 3)]
    for t in vendors:
        t.start()
    for t in vendors:
        t.join()
    print('all done')
