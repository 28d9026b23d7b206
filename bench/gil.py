#!/usr/bin/env python3
"""Run David Beazley's GIL experiments in CPython and in pyconc; print the fidelity table.

    python3 bench/gil.py [GIL_BENCH] [--quick] [--check] [--out FILE.md]
                         [--python PY] [--no-extra-pythons] [--repetitions N]

GIL_BENCH is the gil_bench program (default: the newest build/*/bench/gil_bench).
The CPython side is bench/python/gil_bench.py, run by $PYTHON (default python3),
then, when they are installed, by CPython 3.13 (PYENV_VERSION=3.13.0 python3.13)
and by CPython 2.7, the old GIL (PYENV_VERSION=2.7.18 python2.7);
--no-extra-pythons runs only the first.

Rows (every pyconc number is a ratio or a time measured in one run of gil_bench):

  countdown   count(n) twice, one thread after the other, then two threads at
              once: time(2 threads) / time(sequential). With the GIL on, pyconc's
              ratio must be CPython's ($PYTHON) within 15%; with it off, at most
              0.6 (two cores).
  convoy      ms per time.sleep(100 us) alone and next to a CPU-bound spinning
              thread. With the new GIL, next to the spinner each sleep must cost
              its time alone plus the switch interval, within 25% of the interval
              (5 ms, and 1 ms after setswitchinterval(0.001)); with the old GIL at
              most 1.5x the time alone.
  checkpoint  ns that gil::checkpoint() adds to one iteration of a countdown loop
              with the GIL off: at most 1 ns.

--quick runs everything once and briefly (a smoke test: the numbers mean
little); --check exits with status 1 when a target is missed.
"""
# SPDX-License-Identifier: MIT

import argparse
import glob
import json
import os
import shutil
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SCRIPT = os.path.join(HERE, "python", "gil_bench.py")

EXTRA_PYTHONS = [  # (environment, command): other interpreters, when pyenv has them
    ({"PYENV_VERSION": "3.13.0"}, "python3.13"),
    ({"PYENV_VERSION": "2.7.18"}, "python2.7"),
]


def find_binary():
    found = glob.glob(os.path.join(ROOT, "build", "*", "bench", "gil_bench"))
    found = [f for f in found if os.access(f, os.X_OK)]
    return max(found, key=os.path.getmtime) if found else None


def run_cpp(binary, quick, repetitions):
    cmd = [binary, "--benchmark_format=json"]
    if quick:
        cmd.append("--benchmark_min_time=0.01")
    else:
        cmd += ["--benchmark_repetitions=%d" % repetitions, "--benchmark_enable_random_interleaving=true"]
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, universal_newlines=True).stdout
    runs = {}  # run name -> seconds of each repetition
    scale = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}
    for b in json.loads(out)["benchmarks"]:
        if b.get("run_type", "iteration") != "iteration":
            continue
        name = b.get("run_name", b["name"]).replace("/real_time", "")
        runs.setdefault(name, []).append(b["real_time"] * scale[b["time_unit"]])
    # The fastest repetition, since other processes only add time; but for the convoy, where
    # a descheduled spinner makes a sleep cheaper, the median.
    return {name: statistics.median(times) if name.startswith("BM_Convoy") else min(times)
            for name, times in runs.items()}


def run_python(env, command, quick):
    if shutil.which(command) is None:
        return None
    args = [command, SCRIPT]
    if quick:
        args += ["--count", "200000", "--repeat", "1", "--sleeps", "10"]
    full_env = dict(os.environ, **env)
    try:
        out = subprocess.run(args, check=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             universal_newlines=True, env=full_env).stdout
    except (subprocess.CalledProcessError, OSError):
        return None
    return json.loads(out)


def fmt(x, digits=2):
    return "—" if x is None else ("%.*f" % (digits, x))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("binary", nargs="?", help="the gil_bench program")
    parser.add_argument("--quick", action="store_true", help="one brief run of everything (smoke test)")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--out", help="also write the table to this file")
    parser.add_argument("--python", default=os.environ.get("PYTHON", "python3"),
                        help="the CPython to compare with (default $PYTHON, else python3)")
    parser.add_argument("--no-extra-pythons", action="store_true",
                        help="do not look for CPython 3.13 and 2.7")
    parser.add_argument("--repetitions", type=int, default=3,
                        help="repetitions of each C++ benchmark (default 3): the fastest is kept, "
                             "the median for the convoy")
    args = parser.parse_args()

    binary = args.binary or find_binary()
    if binary is None:
        sys.exit("gil.py: no gil_bench found; build it (cmake --preset bench && cmake --build --preset bench) "
                 "or name it")

    pythons = [({}, args.python)]
    if not args.no_extra_pythons:
        pythons += EXTRA_PYTHONS
    columns = []  # (title, report)
    for env, command in pythons:
        report = run_python(env, command, args.quick)
        if report is not None:
            columns.append((report["interpreter"], report))
    if not columns:
        sys.exit("gil.py: %s cannot run %s" % (args.python, SCRIPT))
    cpp = run_cpp(binary, args.quick, max(1, args.repetitions))

    def cpp_ratio(gil):
        seq = cpp.get("BM_Countdown/gil:%d/workers:1" % gil)
        thr = cpp.get("BM_Countdown/gil:%d/workers:2" % gil)
        return thr / seq if seq and thr else None

    def cpp_sleep_ms(gil, interval, spinner):
        t = cpp.get("BM_Convoy/gil:%d/interval_us:%d/spinner:%d" % (gil, interval, spinner))
        return None if t is None else t / 200 * 1e3

    loop_plain = cpp.get("BM_Loop/plain")
    loop_cp = cpp.get("BM_Loop/checkpoint")
    loop_on = cpp.get("BM_Loop/checkpoint_gil_on")
    per_iter = lambda t: None if t is None else t / (1 << 20) * 1e9  # noqa: E731
    added_off = None if loop_plain is None or loop_cp is None else per_iter(loop_cp) - per_iter(loop_plain)
    added_on = None if loop_plain is None or loop_on is None else per_iter(loop_on) - per_iter(loop_plain)

    def py_values(key_fn, old):
        """One value per CPython column: new-GIL rows skip 2.x, old-GIL rows skip 3.x."""
        values = []
        for title, report in columns:
            is_old = title.split()[-1].startswith("2.")
            values.append(key_fn(report) if is_old == old else None)
        return values

    ratio = lambda r: r["countdown_threads_s"] / r["countdown_sequential_s"]  # noqa: E731
    reference = ratio(columns[0][1]) if not columns[0][0].split()[-1].startswith("2.") else None

    rows = []  # (experiment, [cpython values], pyconc value, target text, met or None, digits)

    def row(label, values, mine, target, met, digits=2):
        rows.append((label, values, mine, target, met, digits))

    mine = cpp_ratio(1)
    met = None if mine is None or reference is None else abs(mine / reference - 1) <= 0.15
    row("countdown, GIL on: 2 threads / sequential", py_values(ratio, False), mine,
        "CPython's (%s) ±15%%" % fmt(reference), met)
    mine = cpp_ratio(0)
    row("countdown, GIL off: 2 threads / sequential", [None] * len(columns), mine, "≤ 0.6",
        None if mine is None else mine <= 0.6)
    row("countdown, old GIL: 2 threads / sequential", py_values(ratio, True), cpp_ratio(2), "—", None)
    alone = cpp_sleep_ms(1, 5000, 0)
    row("convoy: ms per 100 µs sleep, alone (GIL on)", [r["convoy_alone_ms"] for _, r in columns], alone, "—", None)
    def costs_interval(mine, interval_ms):
        # The sleep's own time (alone) plus the switch interval, within 25% of the interval.
        if mine is None or alone is None:
            return None
        return abs(mine - alone - interval_ms) <= 0.25 * interval_ms

    mine = cpp_sleep_ms(1, 5000, 1)
    row("convoy: ms per sleep next to a spinning thread, interval 5 ms",
        py_values(lambda r: r["convoy_spinner_ms"], False), mine, "alone + 5 ms ±25%", costs_interval(mine, 5.0))
    mine = cpp_sleep_ms(1, 1000, 1)
    row("convoy: same, interval 1 ms", py_values(lambda r: r.get("convoy_spinner_1ms_ms"), False), mine,
        "alone + 1 ms ±25%", costs_interval(mine, 1.0))
    mine = cpp_sleep_ms(2, 5000, 1)
    row("convoy: same, old GIL", py_values(lambda r: r["convoy_spinner_ms"], True), mine,
        "≤ 1.5 × alone (%s)" % fmt(alone), None if mine is None or alone is None else mine <= 1.5 * alone)
    row("convoy: same, GIL off", [None] * len(columns), cpp_sleep_ms(0, 5000, 1), "—", None)
    row("checkpoint(), GIL off: ns added per loop iteration", [None] * len(columns), added_off, "≤ 1 ns",
        None if added_off is None else added_off <= 1.0)
    row("checkpoint(), GIL on, one thread: ns added per loop iteration", [None] * len(columns), added_on, "—",
        None)

    header = ["experiment"] + [title for title, _ in columns] + ["pyconc", "target", "verdict"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    missed = 0
    for label, values, mine, target, met, digits in rows:
        verdict = "—" if met is None else ("met" if met else "**missed**")
        missed += met is False
        cells = [label] + [fmt(v, digits) for v in values] + [fmt(mine, digits), target, verdict]
        lines.append("| " + " | ".join(cells) + " |")
    table = "\n".join(lines) + "\n"
    note = ("\nCPython's 2.x column is the old GIL (countdown and convoy rows of the old GIL); "
            "its 3.x columns are the new GIL. pyconc: %s%s.\n" % (os.path.basename(binary),
                                                                 ", quick run" if args.quick else ""))
    sys.stdout.write(table + note)
    if args.out:
        with open(args.out, "w") as f:
            f.write(table + note)
    if args.check and missed:
        sys.exit(1)


if __name__ == "__main__":
    main()
