# SPDX-License-Identifier: MIT
import queue
import threading

q = queue.Queue(maxsize=3)  # bounded: put() waits while 3 items are waiting
results = []
results_lock = threading.Lock()


def producer(n):
    for item in range(n):
        q.put(item)  # blocks while the queue is full
    print('producer: put', n, 'items')


def consumer():
    while True:
        item = q.get()  # blocks until an item is there
        with results_lock:
            results.append(item * item)
        q.task_done()  # tell the queue this item is processed


if __name__ == '__main__':
    # The classic pattern: daemon consumers that loop forever on q.get().
    for i in range(3):
        threading.Thread(target=consumer, name=f'Consumer-{i}', daemon=True).start()
    p = threading.Thread(target=producer, args=(10,), name='Producer')
    p.start()
    p.join()
    q.join()  # blocks until every item put has been marked with task_done()
    print('all tasks done')
    with results_lock:
        print('results:', sorted(results))
        print('sum of squares:', sum(results))
    print('queue empty:', q.empty(), 'full:', q.full(), 'maxsize:', q.maxsize)
    try:
        q.get_nowait()
    except queue.Empty:
        print('get_nowait() on an empty queue raises queue.Empty')
    try:
        q.task_done()
    except ValueError as e:
        print('one task_done() too many raises ValueError:', e)
    # The consumers are daemon threads still blocked in q.get():
    # the program exits without waiting for them.
    print('main: done')
