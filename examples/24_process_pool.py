# SPDX-License-Identifier: MIT
#
# 进程池 (the process pool): four worker processes run five tasks; each task prints the pid
# of the worker it ran in, and its result goes to a callback, which runs in the main process.
# close() says no more tasks will come; join() waits for the workers to finish them.
from multiprocessing import Pool
import os
import time


def foo(i):
    time.sleep(0.5)
    print('in process', os.getpid())
    return i * i


def bar(result):
    print('-->exec done:', result, 'in the main process:', os.getpid() == main_pid)


if __name__ == '__main__':
    main_pid = os.getpid()
    pool = Pool(4)
    for i in range(5):
        pool.apply_async(func=foo, args=(i,), callback=bar)
    print('end')
    pool.close()
    pool.join()  # close() first, then join(): otherwise join() raises
