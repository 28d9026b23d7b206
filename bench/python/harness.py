"""What every bench/python script shares: timing workloads in rounds and printing the JSON report.

A workload is a function bm(n) -> (elapsed_seconds, operations) that does about n
operations. main() first sizes every workload (n grown until one run lasts --min-time),
then runs --rounds rounds; a round times every workload once, in a shuffled order, so
the workloads alternate instead of each running its repetitions back to back. The
report gives every round's ns/op per workload ("rounds") and their median
("ns_per_op"). bench/compare.py pairs round i with round i of the C++ contestants and
reports the median and the min-max of the per-round ratios, never a best-of-N.

compare.py alternates the two languages: it sizes the workloads once (--calibrate-only),
then calls the script for one round at a time (--iterations FILE --rounds 1) between
rounds of the C++ program.
"""
# SPDX-License-Identifier: MIT

import argparse
import json
import platform
import random
import re
import statistics
import sys
import sysconfig
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


def size(bm, min_time, grow_by_ops=False):
    """The n at which one run of bm lasts at least min_time seconds."""
    n = 1
    while True:
        elapsed, ops = bm(n)
        if elapsed >= min_time:
            return n
        # Aim a little past min_time, grow at least 2x, at most 10x per step.
        factor = min_time * 1.2 / elapsed if elapsed > 0 else 10.0
        n = int((ops if grow_by_ops else n) * min(max(factor, 2.0), 10.0)) + 1


def interpreter():
    """Which CPython this is and how it was built: an unoptimised build (no PGO) is slower
    and would flatter every "x CPython" figure."""
    config_args = sysconfig.get_config_var("CONFIG_ARGS") or ""
    flags = " ".join(str(sysconfig.get_config_var(v) or "") for v in ("PY_CFLAGS", "PY_CFLAGS_NODIST"))
    opt = re.findall(r"-O[0-3s]", sysconfig.get_config_var("OPT") or "")
    pgo = "--enable-optimizations" in config_args or "-fprofile-use" in flags
    lto = "--with-lto" in config_args or "-flto" in flags
    return {
        "interpreter": f"{platform.python_implementation()} {platform.python_version()}",
        "executable": sys.executable,
        "build": {
            "opt": opt[-1] if opt else "?",
            "enable_optimizations": "--enable-optimizations" in config_args,
            "pgo_flags_recorded": pgo,
            "lto_flags_recorded": lto,
            "prefix": sysconfig.get_config_var("prefix"),
            "config_args": config_args,
        },
    }


def main(doc, workloads, grow_by_ops=False, prepare=None, extra=None):
    """Parses the command line, times every selected workload in rounds, prints the JSON report.

    prepare() runs once before timing; extra() returns more report fields.
    """
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--min-time", type=float, default=0.2,
                        help="seconds one timed run must last (default 0.2)")
    parser.add_argument("--rounds", type=int, default=5,
                        help="rounds; each times every workload once, in a shuffled order "
                             "(default 5)")
    parser.add_argument("--filter", default="",
                        help="only workloads whose name matches this regex")
    parser.add_argument("--calibrate-only", action="store_true",
                        help="size the workloads and print {\"iterations\": {name: n}} only")
    parser.add_argument("--iterations", metavar="FILE",
                        help="JSON file from --calibrate-only: use its n, do not size again")
    args = parser.parse_args()

    # A thread has run before anything is timed, as in the C++ binaries.
    warm = threading.Thread(target=lambda: None)
    warm.start()
    warm.join()
    if prepare is not None:
        prepare()

    pattern = re.compile(args.filter)
    chosen = {name: bm for name, bm in workloads.items() if pattern.search(name)}
    if args.iterations:
        with open(args.iterations, encoding="utf-8") as f:
            iterations = json.load(f)["iterations"]
        chosen = {name: bm for name, bm in chosen.items() if name in iterations}
    else:
        iterations = {name: size(bm, args.min_time, grow_by_ops) for name, bm in chosen.items()}

    report = interpreter()
    report["gil"] = getattr(sys, "_is_gil_enabled", lambda: True)()
    if extra is not None:
        report.update(extra())
    if args.calibrate_only:
        report["iterations"] = iterations
    else:
        rounds = {name: [] for name in chosen}
        names = list(chosen)
        for _ in range(max(1, args.rounds)):
            random.shuffle(names)
            for name in names:
                elapsed, ops = chosen[name](iterations[name])
                rounds[name].append(round(elapsed / ops * 1e9, 2))
        report["rounds"] = rounds
        report["ns_per_op"] = {name: statistics.median(r) for name, r in rounds.items()}
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")
