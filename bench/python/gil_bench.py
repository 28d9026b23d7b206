#!/usr/bin/env python3
"""The experiments of bench/gil_bench.cpp in CPython (runs on Python 2.7 and 3.x).

Prints one JSON object on stdout:

    {"interpreter": "CPython 3.11.7", "gil": true,
     "countdown_sequential_s": 0.71, "countdown_threads_s": 0.70,
     "convoy_alone_ms": 0.16, "convoy_spinner_ms": 5.3, "convoy_spinner_1ms_ms": 1.25}

countdown: David Beazley's count(n) (while n > 0: n -= 1) run twice, one after the
other, then in two threads at once; the best of --repeat runs of each.
convoy: 200 time.sleep(0.0001) calls alone and next to a thread spinning in
`while running: pass`, with the default switch interval and (3.2+) with 1 ms.
Python 2.7 has the old GIL (sys.setcheckinterval), so it has no 1 ms row.

Usage:  python3 bench/python/gil_bench.py [--count N] [--repeat R] [--sleeps S]
"""
# SPDX-License-Identifier: MIT

from __future__ import print_function

import argparse
import json
import platform
import sys
import threading
import time

clock = getattr(time, "perf_counter", time.time)


def count(n):
    while n > 0:
        n -= 1


def countdown(n, threaded):
    start = clock()
    if threaded:
        t1 = threading.Thread(target=count, args=(n,))
        t2 = threading.Thread(target=count, args=(n,))
        t1.start()
        t2.start()
        t1.join()
        t2.join()
    else:
        count(n)
        count(n)
    return clock() - start


class Spinner(object):
    def __init__(self):
        self.running = True
        self.thread = threading.Thread(target=self.spin)

    def spin(self):
        while self.running:
            pass

    def __enter__(self):
        self.thread.start()
        time.sleep(0.01)  # the spinner holds the GIL from here on
        return self

    def __exit__(self, *exc):
        self.running = False
        self.thread.join()


def sleeps(n):
    start = clock()
    for _ in range(n):
        time.sleep(0.0001)
    return (clock() - start) / n * 1e3


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=5000000, help="the countdown's n")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each countdown, best kept")
    parser.add_argument("--sleeps", type=int, default=200, help="sleeps per convoy run")
    args = parser.parse_args()

    report = {
        "interpreter": "%s %s" % (platform.python_implementation(), platform.python_version()),
        "gil": getattr(sys, "_is_gil_enabled", lambda: True)(),
    }
    seq = min(countdown(args.count, False) for _ in range(args.repeat))
    thr = min(countdown(args.count, True) for _ in range(args.repeat))
    report["countdown_sequential_s"] = seq
    report["countdown_threads_s"] = thr

    report["convoy_alone_ms"] = sleeps(args.sleeps)
    with Spinner():
        report["convoy_spinner_ms"] = sleeps(args.sleeps)
    if hasattr(sys, "setswitchinterval"):
        sys.setswitchinterval(0.001)
        with Spinner():
            report["convoy_spinner_1ms_ms"] = sleeps(args.sleeps)
        sys.setswitchinterval(0.005)
    json.dump(report, sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
