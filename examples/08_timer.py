# SPDX-License-Identifier: MIT
import threading
import time


def hello(name):
    print('hello,', name)


if __name__ == '__main__':
    t = threading.Timer(0.2, hello, args=('world',))
    t.start()
    print('timer started, alive:', t.is_alive())
    t.join()  # the timer is a thread: join() waits until it has fired
    print('timer fired, alive:', t.is_alive())

    t2 = threading.Timer(1.0, hello, args=('nobody',))
    t2.start()
    time.sleep(0.05)
    t2.cancel()  # stop the timer before it fires: hello() never runs
    t2.join()
    print('second timer cancelled, alive:', t2.is_alive())
