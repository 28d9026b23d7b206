"""What every bench/python script shares: timing a workload and printing the JSON report.

A workload is a function bm(n) -> (elapsed_seconds, operations) that does about n
operations; main() times each one the same way the C++ benchmarks are compared.
"""
# SPDX-License-Identifier: MIT

import argparse
import json
import platform
import re
import sys
import threading
import time


def run_together(workers, ready):
    """Starts the `workers` threads, which each wait on the barrier `ready` (of
    len(workers) + 1 parties) before working; passes it too, then returns the seconds
    until every worker has finished."""
    for w in workers:
        w.start()
    ready.wait()
    t0 = time.perf_counter()
    for w in workers:
        w.join()
    return time.perf_counter() - t0


def measure(bm, min_time, repeats, grow_by_ops=False):
    """ns per operation: grow n until one run lasts min_time, best of repeats."""
    n = 1
    while True:
        elapsed, ops = bm(n)
        if elapsed >= min_time:
            break
        # Aim a little past min_time, grow at least 2x, at most 10x per step.
        factor = min_time * 1.2 / elapsed if elapsed > 0 else 10.0
        n = int((ops if grow_by_ops else n) * min(max(factor, 2.0), 10.0)) + 1
    best = elapsed / ops
    for _ in range(repeats - 1):
        elapsed, ops = bm(n)
        best = min(best, elapsed / ops)
    return best * 1e9


def main(doc, workloads, grow_by_ops=False, prepare=None, extra=None):
    """Parses the command line, times every selected workload, prints the JSON report.

    prepare() runs once before timing; extra() returns more report fields.
    """
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--min-time", type=float, default=0.2,
                        help="seconds one timed run must last (default 0.2)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="timed runs per workload, best is kept (default 3)")
    parser.add_argument("--filter", default="",
                        help="only workloads whose name matches this regex")
    args = parser.parse_args()

    # A thread has run before anything is timed, as in the C++ binaries.
    warm = threading.Thread(target=lambda: None)
    warm.start()
    warm.join()
    if prepare is not None:
        prepare()

    pattern = re.compile(args.filter)
    results = {}
    for name, bm in workloads.items():
        if pattern.search(name):
            results[name] = round(measure(bm, args.min_time, max(1, args.repeat), grow_by_ops), 2)

    report = {
        "interpreter": f"{platform.python_implementation()} {platform.python_version()}",
        "gil": getattr(sys, "_is_gil_enabled", lambda: True)(),
    }
    if extra is not None:
        report.update(extra())
    report["ns_per_op"] = results
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")
