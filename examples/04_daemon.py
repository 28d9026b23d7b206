# SPDX-License-Identifier: MIT
import threading
import time


def background():
    time.sleep(5)  # a long job: the program will not wait for it
    print('daemon: this line is never printed')


def worker():
    time.sleep(0.5)
    print('worker: finished after the main thread')


if __name__ == '__main__':
    d = threading.Thread(target=background, name='Background', daemon=True)
    w = threading.Thread(target=worker, name='Worker')
    d.start()
    w.start()
    print(d.name, 'daemon:', d.daemon)
    print(w.name, 'daemon:', w.daemon)
    print('main: worker alive:', w.is_alive())
    print('main: last line')
    # The program waits for the non-daemon Worker before it exits,
    # but not for the daemon Background thread.
