# SPDX-License-Identifier: MIT
#
# The convoy effect (David Beazley, bpo-7946): a thread that does many short blocking
# operations (here 200 sleeps of 100 microseconds) next to a CPU-bound thread. Each time the
# sleep ends, the spinning thread holds the GIL, and the sleeper must wait a whole switch
# interval before it can ask for it: every blocking call costs about 5 ms instead of 0.1 ms.
# A shorter switch interval shortens the wait.
#
# Set PYCONC_EXAMPLE_TIMINGS=1 to also print the measured times (they vary from run to run,
# so by default only the lines that never change are printed).
import os
import sys
import threading
import time

SLEEPS = 200
running = True


def spin():
    while running:
        pass


def sleeps():
    start = time.perf_counter()
    for _ in range(SLEEPS):
        time.sleep(0.0001)
    return (time.perf_counter() - start) / SLEEPS


def next_to_spinner():
    global running
    running = True
    t = threading.Thread(target=spin)
    t.start()
    per_sleep = sleeps()
    running = False
    t.join()
    return per_sleep


if __name__ == '__main__':
    show_timings = os.environ.get('PYCONC_EXAMPLE_TIMINGS') == '1'

    alone = sleeps()
    print(SLEEPS, 'sleeps of 100 us alone: done')

    spinning = next_to_spinner()
    print(SLEEPS, 'sleeps next to a spinning thread: done')

    sys.setswitchinterval(0.001)
    short_interval = next_to_spinner()
    print(SLEEPS, 'sleeps next to a spinning thread, switch interval 1 ms: done')

    if show_timings:
        print('alone:', round(alone * 1000, 2), 'ms per sleep')
        print('next to a spinning thread:', round(spinning * 1000, 2), 'ms per sleep')
        print('switch interval 1 ms:', round(short_interval * 1000, 2), 'ms per sleep')
