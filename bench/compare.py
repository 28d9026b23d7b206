#!/usr/bin/env python3
"""Run pyconc's benchmark programs and their CPython twins; print one table per family.

    python3 bench/compare.py [BINARY ...] [--family NAME ...] [--out FILE.md]
                             [--png DIR | --no-png] [--min-time 0.2]
                             [--repetitions 5] [--stat min|median]
                             [--python PY] [--no-python] [--check]

A family is one benchmark program and its CPython twin:

    threading  threading_bench  + python/threading_bench.py   pyconc vs std::
    queue      queue_bench      + python/queue_bench.py       pyconc vs std::, oneTBB, moodycamel
    futures    futures_bench    + python/futures_bench.py     pyconc vs threads, std::async,
                                                              oneTBB, Boost.Asio

Each BINARY is one of those programs (its family is its name); without any, the
newest build/*/bench/<family>_bench of every family is used (--family picks
some). Each C++ binary runs with --benchmark_format=json, each benchmark
--repetitions times in random interleaved order, so a pyconc result and its
baselines see the same machine state; the fastest repetition is reported
(--stat median for the median), and a verdict says "noisy" when the
repetitions of a row spread widely. Then the CPython script runs under $PYTHON
(default python3). Ratios are only meaningful within one run.

Out come one Markdown table per family, and one PNG chart per family (ns per
operation per implementation and workload, log scale) in --png DIR, by default
the directory of that family's binary, drawn with gnuplot, or with matplotlib
when there is no gnuplot; without either, no charts.
"""

import argparse
import glob
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# Repetitions whose coefficient of variation exceeds this get "noisy" in the verdict.
NOISY_CV = 0.25

TIME_UNIT_NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}
# Parts Google Benchmark appends to a name that are not part of the workload.
NAME_NOISE = {"real_time", "manual_time", "process_time"}

# ---- threading: one row per (pyconc, std baseline) pair -----------------------------------

# A pyconc result must be at least this many times faster than CPython.
THREADING_CPYTHON_SPEEDUP_TARGET = 10.0

# Short names of THREADING_ROWS' workloads and baselines for the chart.
THREADING_CHART_LABELS = {
    "BM_Lock": "Lock", "BM_RLock": "RLock", "BM_Semaphore": "Semaphore",
    "BM_EventPingPong": "Event ping-pong", "BM_ThreadStartJoin": "Thread start+join",
    "BM_LockContended/threads:2": "Lock x2 threads",
    "BM_LockContended/threads:4": "Lock x4 threads",
}

# (label, workload, baseline implementation, baseline display name,
#  max ratio pyconc/std, strict)  -- strict: ratio must be < max, else <= max.
THREADING_ROWS = [
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

# ---- queue and futures: one row per workload, one column per implementation ---------------

# Targets are minimum speedups of pyconc over an implementation: that one's ns/op
# divided by pyconc's ("cpython" is the CPython twin).
QUEUE = {
    "title": "pyconc queue benchmarks: ns per item moved from a producer to a consumer",
    "impls": [
        ("std_condvar", "std::mutex+condvar+deque"),
        ("tbb", "tbb::concurrent_bounded_queue"),
        ("moodycamel", "moodycamel::BlockingConcurrentQueue"),
    ],
    "pyconc_name": "pyconc::queue",
    "cpython_name": "CPython queue",
    "workloads": [
        ("Queue(1024), 1 producer / 1 consumer", "BM_Queue/producers:1/consumers:1"),
        ("Queue(1024), 2 producers / 2 consumers", "BM_Queue/producers:2/consumers:2"),
        ("SimpleQueue, 1 producer / 1 consumer", "BM_SimpleQueue/producers:1/consumers:1"),
    ],
    "chart_labels": ["Queue(1024) 1P/1C", "Queue(1024) 2P/2C", "SimpleQueue 1P/1C"],
    "targets": {
        "BM_Queue/producers:1/consumers:1": [("moodycamel", 1.0), ("tbb", 1.5),
                                             ("cpython", 15.0)],
    },
    "notes": [
        "moodycamel's queue has no hard bound: its producers never wait, in BM_Queue too.",
        "In BM_SimpleQueue every queue is unbounded (std::deque without a limit, "
        "tbb::concurrent_bounded_queue without set_capacity).",
    ],
}

FUTURES = {
    "title": "pyconc futures benchmarks: ns per task (submit a batch, then wait for all)",
    "impls": [
        ("pyconc_thread", "one threading::Thread per task"),
        ("std_thread", "one std::thread per task"),
        ("std_async", "std::async"),
        ("tbb_task_group", "tbb::task_group"),
        ("tbb_arena_enqueue", "tbb::task_arena::enqueue"),
        ("asio_thread_pool", "boost::asio::thread_pool"),
    ],
    "pyconc_name": "pyconc ThreadPoolExecutor",
    "cpython_name": "CPython ThreadPoolExecutor",
    "workloads": [
        ("empty task", "BM_Tasks/task_ns:0"),
        ("1 µs of CPU work", "BM_Tasks/task_ns:1000"),
        ("100 µs of CPU work", "BM_Tasks/task_ns:100000"),
    ],
    "chart_labels": ["empty task", "1 us task", "100 us task"],
    "targets": {
        "BM_Tasks/task_ns:0": [("asio_thread_pool", 1.0), ("tbb_task_group", 0.8),
                               ("cpython", 30.0)],
    },
    "notes": [
        "Every implementation runs os.cpu_count() tasks at a time at most, except the "
        "thread-per-task ones, which start every task of a batch at once; a task of T ns "
        "costs at best T / cpu_count ns per task.",
        "tbb::task_group, tbb::task_arena::enqueue and asio wait for the whole batch at "
        "once (task_group::wait, a std::latch); pyconc and std::async return one future per "
        "task and wait on each.",
        "tbb::task_group's submitting thread runs most tasks itself, inside wait(), from its "
        "own deque; tbb::task_arena::enqueue hands every task to a worker thread, as a "
        "ThreadPoolExecutor must.",
    ],
}

FAMILIES = {
    "threading": {"binary": "threading_bench", "script": "threading_bench.py",
                  "kind": "rows"},
    "queue": dict(QUEUE, binary="queue_bench", script="queue_bench.py", kind="matrix"),
    "futures": dict(FUTURES, binary="futures_bench", script="futures_bench.py",
                    kind="matrix"),
}


# ---- running -------------------------------------------------------------------------------

def family_of(binary):
    name = os.path.basename(binary)
    for family, spec in FAMILIES.items():
        if name == spec["binary"]:
            return family
    return None


def find_binary(family):
    name = FAMILIES[family]["binary"]
    candidates = [os.path.join(ROOT, "build", "bench", "bench", name)]
    candidates += glob.glob(os.path.join(ROOT, "build", "*", "bench", name))
    candidates += glob.glob(os.path.join(ROOT, "build", "bench", name))
    found = [c for c in set(candidates) if os.path.isfile(c) and os.access(c, os.X_OK)]
    return max(found, key=os.path.getmtime) if found else None


def split_name(name):
    """'BM_LockContended/pyconc/real_time/threads:2' -> ('BM_LockContended/threads:2', 'pyconc')."""
    parts = [p for p in name.split("/") if p not in NAME_NOISE]
    if len(parts) < 2:
        return name, ""
    return "/".join([parts[0]] + parts[2:]), parts[1]


def pick(values, stat):
    return min(values) if stat == "min" else statistics.median(values)


def run_cpp(binary, min_time, repetitions, stat):
    """{workload: {impl: ns}}, {workload: {impl: cv}}, {workload: {impl: cpu ns}}, context."""
    cmd = [binary, "--benchmark_format=json"]
    if min_time is not None:
        cmd.append(f"--benchmark_min_time={min_time}")
    if repetitions > 1:
        cmd += [f"--benchmark_repetitions={repetitions}",
                "--benchmark_enable_random_interleaving=true"]
    print("running:", " ".join(cmd), file=sys.stderr)
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout
    data = json.loads(out)
    samples, cpu_samples = {}, {}
    for b in data.get("benchmarks", []):
        if b.get("error_occurred") or b.get("run_type", "iteration") != "iteration":
            continue
        workload, impl = split_name(b.get("run_name", b["name"]))
        unit = TIME_UNIT_NS[b.get("time_unit", "ns")]
        samples.setdefault(workload, {}).setdefault(impl, []).append(b["real_time"] * unit)
        cpu_samples.setdefault(workload, {}).setdefault(impl, []).append(b["cpu_time"] * unit)
    results, spread, cpu = {}, {}, {}
    for workload, impls in samples.items():
        for impl, values in impls.items():
            results.setdefault(workload, {})[impl] = pick(values, stat)
            cpu.setdefault(workload, {})[impl] = pick(cpu_samples[workload][impl], stat)
            if len(values) > 1:
                cv = statistics.stdev(values) / statistics.mean(values)
                spread.setdefault(workload, {})[impl] = cv
    return results, spread, cpu, data.get("context", {})


def run_python(python, script, min_time):
    cmd = [python, os.path.join(HERE, "python", script)]
    if min_time is not None:
        cmd += ["--min-time", str(min_time)]
    print("running:", " ".join(cmd), file=sys.stderr)
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout
    return json.loads(out)


# ---- formatting ----------------------------------------------------------------------------

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


def noisy_note(spread, workload, impls):
    cvs = [(impl, spread.get(workload, {}).get(impl)) for impl in impls]
    cvs = [(impl, cv) for impl, cv in cvs if cv is not None and cv > NOISY_CV]
    if not cvs:
        return ""
    return "noisy: " + ", ".join(f"{impl} ±{cv:.0%}" for impl, cv in cvs)


def build_threading_table(cpp, spread, py):
    py_ns = py.get("ns_per_op", {}) if py else {}
    lines = [
        "| workload | pyconc ns/op | std baseline ns/op | ratio pyconc/std | target "
        "| CPython ns/op | speedup vs CPython | verdict |",
        "|---|---:|---:|---:|---|---:|---:|---|",
    ]
    misses = 0
    for label, workload, base_impl, base_name, max_ratio, strict in THREADING_ROWS:
        mine = cpp.get(workload, {}).get("pyconc")
        base = cpp.get(workload, {}).get(base_impl)
        cpy = py_ns.get(workload)
        ratio = mine / base if mine and base else None
        speedup = cpy / mine if cpy and mine else None
        base_speedup = cpy / base if cpy and base else None

        cmp = "<" if strict else "≤"
        target = f"{cmp} {max_ratio:g}× {base_name}"
        if py:
            target += f"; ≥ {THREADING_CPYTHON_SPEEDUP_TARGET:g}× CPython"

        problems = []
        if ratio is None:
            verdict = "no data"
        else:
            if (ratio >= max_ratio) if strict else (ratio > max_ratio):
                problems.append(f"{base_name}")
            if speedup is not None and speedup < THREADING_CPYTHON_SPEEDUP_TARGET:
                note = "CPython"
                if base_speedup is not None and base_speedup < THREADING_CPYTHON_SPEEDUP_TARGET:
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


def build_matrix_table(spec, cpp, spread, cpu, py):
    """One row per workload: pyconc, every implementation and CPython, each with pyconc's
    speedup over it, then the targets and the verdict."""
    py_ns = py.get("ns_per_op", {}) if py else {}
    impls = [(impl, name) for impl, name in spec["impls"]
             if any(impl in cpp.get(w, {}) for _, w in spec["workloads"])]
    absent = [name for impl, name in spec["impls"] if (impl, name) not in impls]
    names = dict(spec["impls"], cpython=spec["cpython_name"])

    header = ["workload", f"{spec['pyconc_name']} ns/op"]
    header += [f"{name} ns/op (pyconc speedup)" for _, name in impls]
    if py:
        header.append(f"{spec['cpython_name']} ns/op (pyconc speedup)")
    header += ["targets", "verdict"]
    lines = ["| " + " | ".join(header) + " |",
             "|---|" + "---:|" * (len(header) - 3) + "---|---|"]

    misses = 0
    for label, workload in spec["workloads"]:
        row = cpp.get(workload, {})
        mine = row.get("pyconc")
        others = {impl: row.get(impl) for impl, _ in impls}
        if py:
            others["cpython"] = py_ns.get(workload)
        speedup = {impl: (ns / mine if ns and mine else None) for impl, ns in others.items()}

        cells = [label, fmt_ns(mine)]
        for impl in others:
            ns = others[impl]
            cells.append("—" if ns is None else f"{fmt_ns(ns)} ({fmt_x(speedup[impl])})")

        wanted = spec["targets"].get(workload, [])
        targets = [(impl, want) for impl, want in wanted if others.get(impl) is not None]
        unmeasured = [names.get(impl, impl) for impl, _ in wanted
                      if others.get(impl) is None and (impl != "cpython" or py)]
        cells.append("; ".join(f"≥ {want:g}× {names.get(impl, impl)}"
                               for impl, want in wanted) or "—")

        if mine is None:
            verdict = "no data"
        else:
            missed = [f"{names[impl]} ({fmt_x(speedup[impl])})" for impl, want in targets
                      if speedup[impl] is not None and speedup[impl] < want]
            if not wanted:
                verdict = "(no target)"
            elif not targets:
                verdict = "not measured"
            else:
                verdict = "met" if not missed else "not met: " + ", ".join(missed)
                misses += bool(missed)
            if targets and unmeasured:
                verdict += "; not measured: " + ", ".join(unmeasured)
            noise = noisy_note(spread, workload, ["pyconc"] + [i for i, _ in impls])
            if noise:
                verdict += f" ({noise})"
        cells.append(verdict)
        lines.append("| " + " | ".join(cells) + " |")

    # CPU time of the whole process per operation, where the programs measured it.
    cpu_lines = ["", "Process CPU time per operation (all threads; spinning shows here, "
                     "not in wall time):", "",
                 "| workload | pyconc | " + " | ".join(name for _, name in impls) + " |",
                 "|---|" + "---:|" * (len(impls) + 1)]
    for label, workload in spec["workloads"]:
        row = cpu.get(workload, {})
        cpu_lines.append("| " + " | ".join([label] + [fmt_ns(row.get(i)) for i in
                                                      ["pyconc"] + [i for i, _ in impls]]) + " |")

    notes = list(spec.get("notes", []))
    if absent:
        notes.append("Not built (peer not installed): " + ", ".join(absent) + ".")
    text = "\n".join(lines) + "\n" + "\n".join(cpu_lines)
    if notes:
        text += "\n\n" + "\n".join(f"- {n}" for n in notes)
    return text, misses


# ---- charts --------------------------------------------------------------------------------

def chart_series(family, cpp, py):
    """(cluster labels, [(series name, [ns or None per cluster])]) for one family."""
    py_ns = py.get("ns_per_op", {}) if py else {}
    spec = FAMILIES[family]
    if spec["kind"] == "rows":
        rows = []
        seen = set()
        for label, workload, base_impl, base_name, _, _ in THREADING_ROWS:
            if (workload, base_impl) in seen:
                continue
            seen.add((workload, base_impl))
            short = THREADING_CHART_LABELS.get(workload, label)
            if sum(1 for r in THREADING_ROWS if r[1] == workload) > 1:
                short += f" vs {base_name.replace('std::', '')}"
            rows.append((short, workload, base_impl))
        labels = [r[0] for r in rows]
        series = [("pyconc", [cpp.get(w, {}).get("pyconc") for _, w, _ in rows]),
                  ("std baseline", [cpp.get(w, {}).get(b) for _, w, b in rows])]
        if py:
            series.append(("CPython", [py_ns.get(w) for _, w, _ in rows]))
        return labels, series
    labels = spec.get("chart_labels") or [label for label, _ in spec["workloads"]]
    workloads = [w for _, w in spec["workloads"]]
    series = [(spec["pyconc_name"], [cpp.get(w, {}).get("pyconc") for w in workloads])]
    for impl, name in spec["impls"]:
        values = [cpp.get(w, {}).get(impl) for w in workloads]
        if any(v is not None for v in values):
            series.append((name, values))
    if py:
        series.append((spec["cpython_name"], [py_ns.get(w) for w in workloads]))
    return labels, [(name, values) for name, values in series
                    if any(v is not None for v in values)]


def write_png_gnuplot(path, title, labels, series):
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "data.tsv")
        with open(data, "w", encoding="utf-8") as f:
            f.write("\t".join(["workload"] + [name for name, _ in series]) + "\n")
            for i, label in enumerate(labels):
                cells = [label] + ["?" if values[i] is None else f"{values[i]:.6g}"
                                   for _, values in series]
                f.write("\t".join(cells) + "\n")
        present = [v for _, values in series for v in values if v is not None]
        low = 10 ** math.floor(math.log10(min(present))) if present else 1
        high = 10 ** math.ceil(math.log10(max(present)) + 0.6) if present else 10
        quoted = lambda s: "'" + s.replace("'", "''") + "'"  # noqa: E731
        plots = [f"{quoted(data)} using {col + 2}:xtic(1)" for col in range(len(series))]
        # The value above each bar: clustered bars are 1/(N + gap) wide, centred on
        # the cluster's integer x.
        n = len(series)
        for col in range(n):
            offset = (col - (n - 1) / 2) / (n + 1)
            plots.append(f"'' using ($0{offset:+.4f}):{col + 2}:(fmt(${col + 2})) "
                         "with labels rotate by 90 left offset 0,0.4 font ',8' notitle")
        script = "\n".join([
            "set terminal pngcairo size 1280,720 font ',11' noenhanced",
            f"set output {quoted(path)}",
            f"set title {quoted(title)}",
            "set datafile separator '\\t'",
            "set datafile missing '?'",
            "set key autotitle columnheader",
            "set style data histograms",
            "set style histogram clustered gap 1",
            "set style fill solid 0.85 border -1",
            "set boxwidth 0.9",
            "set logscale y",
            f"set yrange [{low:g}:{high:g}]",
            "set ylabel 'ns per operation (log scale, lower is better)'",
            "set grid ytics mytics",
            "set key below horizontal maxrows 3",
            "set xtics nomirror" + (" rotate by -20" if len(labels) > 5 else ""),
            "fmt(x) = x >= 1e6 ? sprintf('%.3g ms', x / 1e6) : x >= 1e4 ? "
            "sprintf('%.3g us', x / 1e3) : x >= 100 ? sprintf('%.0f', x) : sprintf('%.3g', x)",
            "plot " + ", ".join(plots),
            "",
        ])
        subprocess.run(["gnuplot"], input=script, text=True, check=True)


def write_png_matplotlib(path, title, labels, series):
    import matplotlib  # noqa: PLC0415 -- optional
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    fig, ax = plt.subplots(figsize=(12.8, 7.2), dpi=100)
    width = 0.8 / max(1, len(series))
    for k, (name, values) in enumerate(series):
        xs = [i + (k - (len(series) - 1) / 2) * width for i in range(len(labels))]
        ys = [v if v is not None else float("nan") for v in values]
        ax.bar(xs, ys, width, label=name)
    ax.set_yscale("log")
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels(labels)
    ax.set_ylabel("ns per operation (log scale, lower is better)")
    ax.set_title(title)
    ax.grid(axis="y", which="both", alpha=0.3)
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def write_png(path, title, labels, series):
    """Draws the chart; returns whether a PNG was written."""
    if shutil.which("gnuplot"):
        write_png_gnuplot(path, title, labels, series)
        return True
    try:
        write_png_matplotlib(path, title, labels, series)
        return True
    except ImportError:
        return False


# ---- main ----------------------------------------------------------------------------------

def main():
    parser = argparse.ArgumentParser(
        description="pyconc benchmarks vs std::, peers and CPython, as Markdown tables")
    parser.add_argument("binaries", nargs="*", metavar="BINARY",
                        help="benchmark programs to run (default: the newest of each family "
                             "under build/)")
    parser.add_argument("--family", action="append", choices=sorted(FAMILIES),
                        help="only this family (repeatable); default: all found")
    parser.add_argument("--out", metavar="FILE.md", help="also write the tables to this file")
    parser.add_argument("--png", metavar="DIR",
                        help="write <family>.png charts here (default: next to each binary)")
    parser.add_argument("--no-png", action="store_true", help="draw no charts")
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

    runs = []  # (family, binary)
    for b in args.binaries:
        family = family_of(b)
        if family is None:
            sys.exit(f"compare.py: {b}: not one of "
                     + ", ".join(spec["binary"] for spec in FAMILIES.values()))
        runs.append((family, os.path.abspath(b)))
    if not runs:
        for family in FAMILIES:
            binary = find_binary(family)
            if binary:
                runs.append((family, binary))
        if not runs:
            sys.exit("compare.py: no benchmark binary found under build/; build them "
                     "(cmake --preset bench && cmake --build --preset bench) or pass paths")
    order = list(FAMILIES)
    runs.sort(key=lambda run: order.index(run[0]))
    if args.family:
        runs = [(f, b) for f, b in runs if f in args.family]
        missing = set(args.family) - {f for f, _ in runs}
        if missing:
            sys.exit("compare.py: no binary for " + ", ".join(sorted(missing)))

    texts, total_misses, charts = [], 0, []
    for family, binary in runs:
        spec = FAMILIES[family]
        cpp, spread, cpu, context = run_cpp(binary, args.min_time, args.repetitions, args.stat)
        py = None if args.no_python else run_python(args.python, spec["script"], args.min_time)

        if spec["kind"] == "rows":
            table, misses = build_threading_table(cpp, spread, py)
            title = "pyconc threading benchmarks"
        else:
            table, misses = build_matrix_table(spec, cpp, spread, cpu, py)
            title = spec["title"]
        total_misses += misses
        cpus = context.get("num_cpus", "?")
        header = (f"{title}: {os.path.basename(binary)} on {cpus} CPUs"
                  + (f", {py['interpreter']}" + ("" if py.get("gil", True) else " (free-threaded)")
                     if py else "")
                  + "; one run, wall-clock ns per operation"
                  + (f", C++ side the {args.stat} of {args.repetitions} interleaved repetitions."
                     if args.repetitions > 1 else "."))
        if spec["kind"] == "matrix":
            header += (" pyconc speedup = that implementation's time / pyconc's: above 1× "
                       "pyconc is faster.")
        texts.append(header + "\n\n" + table + "\n")

        if not args.no_png:
            out_dir = args.png or os.path.dirname(binary)
            os.makedirs(out_dir, exist_ok=True)
            path = os.path.join(out_dir, f"{family}.png")
            labels, series = chart_series(family, cpp, py)
            if write_png(path, f"{title} ({cpus} CPUs)", labels, series):
                charts.append(path)
            else:
                print("compare.py: neither gnuplot nor matplotlib found; no chart",
                      file=sys.stderr)

    text = "\n".join(texts)
    sys.stdout.write(text)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(text)
    for path in charts:
        print("chart:", path, file=sys.stderr)
    return 1 if (args.check and total_misses) else 0


if __name__ == "__main__":
    sys.exit(main())
