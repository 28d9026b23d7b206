#!/usr/bin/env python3
"""Run the pyconc threading benchmarks and their CPython twins; print one table.

    python3 bench/compare.py [BINARY] [--out FILE.md] [--min-time 0.2]
                             [--repetitions 5] [--stat min|median]
                             [--python PY] [--no-python]
                             [--check]

BINARY is the threading_bench executable; without it the newest of
build/bench/bench/threading_bench and build/*/bench/threading_bench is used.
The C++ binary runs with --benchmark_format=json, then
bench/python/threading_bench.py runs under $PYTHON (default python3), and one
Markdown table comes out: each pyconc result against its std:: baseline and
against CPython, with the project's target for that row and whether it is met.

The C++ side runs each benchmark --repetitions times in random interleaved
order, so a pyconc result and its baseline see the same machine state, and
reports the fastest repetition (--stat median for the median); a verdict says
"noisy" when the repetitions of a row spread widely. Ratios are only
meaningful within one run. Standard library only.
"""

import argparse
import glob
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PY_SCRIPT = os.path.join(HERE, "python", "threading_bench.py")

# A pyconc result must be at least this many times faster than CPython.
CPYTHON_SPEEDUP_TARGET = 10.0
# Repetitions whose coefficient of variation exceeds this get "noisy" in the verdict.
NOISY_CV = 0.25

# (label, workload, baseline implementation, baseline display name,
#  max ratio pyconc/std, strict)  -- strict: ratio must be < max, else <= max.
ROWS = [
    ("Lock acquire+release", "BM_Lock", "std_mutex", "std::mutex", 1.1, False),
    ("RLock acquire+release", "BM_RLock", "std_recursive_mutex",
     "std::recursive_mutex", 1.2, False),
    ("Semaphore acquire+release", "BM_Semaphore", "std_mutex", "std::mutex", 2.0, False),
    ("Semaphore acquire+release", "BM_Semaphore", "std_counting_semaphore",
     "std::counting_semaphore", 1.0, True),
    ("Event ping-pong round trip", "BM_EventPingPong", "std_condvar",
     "mutex+condvar", 1.0, False),
    ("Thread start+join", "BM_ThreadStartJoin", "std_thread", "std::thread", 1.2, False),
    ("Lock, 2 threads contended", "BM_LockContended/threads:2", "std_mutex",
     "std::mutex", 1.1, False),
    ("Lock, 4 threads contended", "BM_LockContended/threads:4", "std_mutex",
     "std::mutex", 1.1, False),
]

TIME_UNIT_NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}
# Parts Google Benchmark appends to a name that are not part of the workload.
NAME_NOISE = {"real_time", "manual_time", "process_time"}


def find_binary():
    candidates = [os.path.join(ROOT, "build", "bench", "bench", "threading_bench")]
    candidates += glob.glob(os.path.join(ROOT, "build", "*", "bench", "threading_bench"))
    candidates += glob.glob(os.path.join(ROOT, "build", "bench", "threading_bench"))
    found = [c for c in set(candidates) if os.path.isfile(c) and os.access(c, os.X_OK)]
    if not found:
        sys.exit("compare.py: no threading_bench binary found under build/; build it "
                 "(cmake --preset bench && cmake --build --preset bench) or pass its path")
    return max(found, key=os.path.getmtime)


def split_name(name):
    """'BM_LockContended/pyconc/real_time/threads:2' -> ('BM_LockContended/threads:2', 'pyconc')."""
    parts = [p for p in name.split("/") if p not in NAME_NOISE]
    if len(parts) < 2:
        return name, ""
    return "/".join([parts[0]] + parts[2:]), parts[1]


def run_cpp(binary, min_time, repetitions, stat):
    cmd = [binary, "--benchmark_format=json"]
    if min_time is not None:
        cmd.append(f"--benchmark_min_time={min_time}")
    if repetitions > 1:
        cmd += [f"--benchmark_repetitions={repetitions}",
                "--benchmark_enable_random_interleaving=true"]
    print("running:", " ".join(cmd), file=sys.stderr)
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout
    data = json.loads(out)
    samples = {}
    for b in data.get("benchmarks", []):
        if b.get("error_occurred") or b.get("run_type", "iteration") != "iteration":
            continue
        workload, impl = split_name(b.get("run_name", b["name"]))
        ns = b["real_time"] * TIME_UNIT_NS[b.get("time_unit", "ns")]
        samples.setdefault(workload, {}).setdefault(impl, []).append(ns)
    results, spread = {}, {}
    for workload, impls in samples.items():
        for impl, values in impls.items():
            pick = min(values) if stat == "min" else statistics.median(values)
            results.setdefault(workload, {})[impl] = pick
            if len(values) > 1:
                cv = statistics.stdev(values) / statistics.mean(values)
                spread.setdefault(workload, {})[impl] = cv
    return results, spread, data.get("context", {})


def run_python(python, min_time):
    cmd = [python, PY_SCRIPT]
    if min_time is not None:
        cmd += ["--min-time", str(min_time)]
    print("running:", " ".join(cmd), file=sys.stderr)
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout
    return json.loads(out)


def fmt_ns(x):
    if x is None:
        return "—"
    if x >= 100:
        return f"{x:,.0f}"
    return f"{x:.1f}"


def fmt_x(x):
    if x is None:
        return "—"
    return f"{x:.2f}×" if x < 10 else f"{x:.1f}×"


def build_table(cpp, spread, py):
    py_ns = py.get("ns_per_op", {}) if py else {}
    lines = [
        "| workload | pyconc ns/op | std baseline ns/op | ratio pyconc/std | target "
        "| CPython ns/op | speedup vs CPython | verdict |",
        "|---|---:|---:|---:|---|---:|---:|---|",
    ]
    misses = 0
    for label, workload, base_impl, base_name, max_ratio, strict in ROWS:
        mine = cpp.get(workload, {}).get("pyconc")
        base = cpp.get(workload, {}).get(base_impl)
        cpy = py_ns.get(workload)
        ratio = mine / base if mine and base else None
        speedup = cpy / mine if cpy and mine else None
        base_speedup = cpy / base if cpy and base else None

        cmp = "<" if strict else "≤"
        target = f"{cmp} {max_ratio:g}× {base_name}"
        if py:
            target += f"; ≥ {CPYTHON_SPEEDUP_TARGET:g}× CPython"

        problems = []
        if ratio is None:
            verdict = "no data"
        else:
            if (ratio >= max_ratio) if strict else (ratio > max_ratio):
                problems.append(f"{base_name}")
            if speedup is not None and speedup < CPYTHON_SPEEDUP_TARGET:
                note = "CPython"
                if base_speedup is not None and base_speedup < CPYTHON_SPEEDUP_TARGET:
                    note += f" (std baseline also only {fmt_x(base_speedup)})"
                problems.append(note)
            verdict = "met" if not problems else "not met: " + ", ".join(problems)
            misses += bool(problems)
            cvs = [spread.get(workload, {}).get(i) for i in ("pyconc", base_impl)]
            worst = max((cv for cv in cvs if cv is not None), default=0.0)
            if worst > NOISY_CV:
                verdict += f" (noisy: repetitions vary by {worst:.0%})"

        lines.append(
            f"| {label} vs {base_name} | {fmt_ns(mine)} | {fmt_ns(base)} | {fmt_x(ratio)} "
            f"| {target} | {fmt_ns(cpy)} | {fmt_x(speedup)} | {verdict} |")
    return "\n".join(lines), misses


def main():
    parser = argparse.ArgumentParser(
        description="pyconc threading benchmarks vs std:: and CPython, as one Markdown table")
    parser.add_argument("binary", nargs="?", help="path to the threading_bench executable")
    parser.add_argument("--out", metavar="FILE.md", help="also write the table to this file")
    parser.add_argument("--min-time", type=float, default=0.2,
                        help="seconds per timed run, passed to both sides (default 0.2)")
    parser.add_argument("--repetitions", type=int, default=5,
                        help="C++ repetitions, run in random interleaved order (default 5)")
    parser.add_argument("--stat", choices=("min", "median"), default="min",
                        help="which repetition is reported: the fastest (default; noise "
                             "only ever adds time) or the median")
    parser.add_argument("--python", default=os.environ.get("PYTHON", "python3"),
                        help="interpreter for the CPython side (default: $PYTHON or python3)")
    parser.add_argument("--no-python", action="store_true", help="skip the CPython side")
    parser.add_argument("--check", action="store_true",
                        help="exit with status 1 when a target is not met")
    args = parser.parse_args()

    binary = os.path.abspath(args.binary) if args.binary else find_binary()
    cpp, spread, context = run_cpp(binary, args.min_time, args.repetitions, args.stat)
    py = None if args.no_python else run_python(args.python, args.min_time)

    table, misses = build_table(cpp, spread, py)
    cpus = context.get("num_cpus", "?")
    header = (f"pyconc threading benchmarks: {os.path.basename(binary)} on {cpus} CPUs"
              + (f", {py['interpreter']}" + ("" if py.get("gil", True) else " (free-threaded)")
                 if py else "")
              + "; one run, wall-clock ns per operation"
              + (f", C++ side the {args.stat} of {args.repetitions} interleaved repetitions."
                 if args.repetitions > 1 else "."))
    text = header + "\n\n" + table + "\n"
    sys.stdout.write(text)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(text)
    return 1 if (args.check and misses) else 0


if __name__ == "__main__":
    sys.exit(main())
