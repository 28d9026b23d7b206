# SPDX-License-Identifier: MIT
#
# Starting a child process: pass Process a function and its arguments, start() it, and
# join() to wait until it has finished.
from multiprocessing import Process
import os

def run_proc(name):
    """
    创建子进程时，只需要传入一个执行函数和函数的参数，创建一个Process实例，用start()方法启动
    join()方法可以等待子进程结束后再继续往下运行，通常用于进程间的同步。
    :param name:
    :return:
    """
    print('run child process %s (%s)...'%(name,os.getpid()))

if __name__ == '__main__':
    print('parent process %s.' % os.getpid())
    p=Process(target=run_proc,args=('test',))
    print('process will start')
    p.start()
    p.join()
    print('process end')
