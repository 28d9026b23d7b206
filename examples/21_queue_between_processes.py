# 21_queue_between_processes: a writer process puts A, B, C into a Queue, a reader process
# gets and prints them (the classic example of communication between processes).
from multiprocessing import Process, Queue
import os
import random
import time


def writer(q):
    print('Process to write: %s' % os.getpid())
    for value in ['A', 'B', 'C']:
        print('Put %s to queue...' % value)
        q.put(value)
        time.sleep(random.random() / 10)


def reader(q):
    print('Process to read: %s' % os.getpid())
    while True:
        value = q.get(True)
        if value is None:
            break
        print('Get %s from queue.' % value)


if __name__ == '__main__':
    q = Queue()
    pw = Process(target=writer, args=(q,))
    pr = Process(target=reader, args=(q,))
    pw.start()
    pr.start()
    pw.join()
    q.put(None)  # tells the reader to stop
    pr.join()
