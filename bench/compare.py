#!/usr/bin/env python3
"""Run pyconc's benchmark programs and their CPython twins; print one table per family.

    python3 bench/compare.py [BINARY ...] [--family NAME ...] [--out FILE.md]
                             [--png DIR | --no-png] [--min-time 0.2] [--rounds 7]
                             [--python PY] [--no-python] [--no-rounds-table] [--check]

A family is one benchmark program and its CPython twin:

    threading  threading_bench  + python/threading_bench.py   pyconc vs std::
    queue      queue_bench      + python/queue_bench.py       pyconc vs std::, oneTBB, moodycamel
    futures    futures_bench    + python/futures_bench.py     pyconc vs threads, std::async,
                                                              oneTBB, Boost.Asio
    pickle     pickle_bench     + python/pickle_bench.py      pyconc vs hand-written
                                                              serialization, CPython's pickle

Each BINARY is one of those programs (its family is its name); without any, the
newest build/*/bench/<family>_bench of every family is used (--family picks some).

The method: every figure is a ratio PER ROUND. A round is one run of the C++
program with --benchmark_repetitions=1 --benchmark_enable_random_interleaving=true
(every benchmark of the family once, pyconc and its baselines in a shuffled order,
in one process, within seconds of each other) and one round of the CPython script
(every workload once, shuffled; the workloads are sized once beforehand). The two
languages alternate, and which goes first alternates too. For each pair of
contestants the ratio of their times is taken in every round; the table gives the
median of those per-round ratios and their min-max over the --rounds rounds, never
each contestant's fastest run. (Google Benchmark 1.7.1's own
--benchmark_repetitions=N with random interleaving shuffles all N x B runs of a
process together, so its repetition i of two benchmarks can be minutes apart; one
process per round keeps a round's contestants together.)

The output names the host (CPU model, CPUs, kernel, load average at the start and
the end of each family), the compiler and the flags the programs were really built
with (from the build tree's compile_commands.json), and the CPython (version,
executable, how it was built). The CPython side defaults to the distribution's
build, /usr/bin/python3.11 or else /usr/bin/python3: a pyenv build without
--enable-optimizations is slower and inflates every "x CPython".

Out come one Markdown table per family, and one PNG chart per family (the medians,
log scale) in --png DIR, by default the directory of that family's binary, drawn
with gnuplot, or with matplotlib when there is no gnuplot; without either, no charts.
"""

import argparse
import glob
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# A row whose per-round ratios reach further than this factor from their median on either
# side gets "noisy" in its verdict.
NOISY_SPREAD = 1.25

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
#  max ratio pyconc/std or None, strict)  -- strict: ratio must be < max, else <= max.
# Thread start+join has two rows: pyconc's join() returns when the thread's `finished`
# event is set (its OS thread is detached), so the like-for-like baseline is a detached
# std::thread whose target sets a flag the timed thread waits on; std::thread::join also
# waits until the kernel has reaped the thread, a later point, and is shown for reference.
THREADING_ROWS = [
    ("Lock acquire+release", "BM_Lock", "std_mutex", "std::mutex", 1.1, False),
    ("RLock acquire+release", "BM_RLock", "std_recursive_mutex",
     "std::recursive_mutex", 1.2, False),
    ("Semaphore acquire+release", "BM_Semaphore", "std_mutex", "std::mutex", 2.0, False),
    ("Semaphore acquire+release", "BM_Semaphore", "std_counting_semaphore",
     "std::counting_semaphore", 1.0, True),
    ("Event ping-pong round trip", "BM_EventPingPong", "std_condvar",
     "mutex+condvar", 1.0, False),
    ("Thread start+join", "BM_ThreadStartJoin", "std_thread_flag",
     "std::thread to its target's end", 1.2, False),
    ("Thread start+join", "BM_ThreadStartJoin", "std_thread",
     "std::thread::join (kernel reap)", None, False),
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
        ("Queue(1024), put + get in one thread (no hand-off)", "BM_PutGet"),
    ],
    "chart_labels": ["Queue(1024) 1P/1C", "Queue(1024) 2P/2C", "SimpleQueue 1P/1C",
                     "put+get, 1 thread"],
    "targets": {
        "BM_Queue/producers:1/consumers:1": [("moodycamel", 1.0), ("tbb", 1.5),
                                             ("cpython", 15.0)],
    },
    "notes": [
        "moodycamel's queue is set up as BlockingConcurrentQueue(1024) with enqueue / "
        "wait_dequeue: 1024 is only its initial capacity, it has no hard bound, so its "
        "producers never wait, in BM_Queue too, while pyconc's, TBB's and the std:: queue's "
        "producers block at 1024 items. That favours moodycamel; it is kept as the fastest "
        "well-known blocking queue.",
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

PICKLE = {
    "title": "pyconc pickle benchmarks: ns per dumps or loads of a whole container",
    "impls": [
        ("raw", "raw (hand-written)"),
    ],
    "pyconc_name": "pyconc::pickle",
    "cpython_name": "CPython pickle (protocol 5)",
    "workloads": [
        ("dumps std::vector<double>(1M) / list of 1M floats", "BM_DumpsVector"),
        ("loads std::vector<double>(1M) / list of 1M floats", "BM_LoadsVector"),
        ("dumps + loads, vector / list", "BM_RoundTripVector"),
        ("dumps std::map<std::string, int>(100k) / dict of 100k str: int", "BM_DumpsMap"),
        ("loads std::map<std::string, int>(100k) / dict of 100k str: int", "BM_LoadsMap"),
        ("dumps + loads, map / dict", "BM_RoundTripMap"),
    ],
    "chart_labels": ["dumps vector", "loads vector", "dumps+loads vector", "dumps map",
                     "loads map", "dumps+loads map"],
    "targets": {
        "BM_DumpsVector": [("raw", 0.75), ("cpython", 10.0)],
        "BM_LoadsVector": [("raw", 0.75), ("cpython", 10.0)],
        "BM_DumpsMap": [("raw", 0.75), ("cpython", 3.0)],
        "BM_LoadsMap": [("raw", 0.75), ("cpython", 3.0)],
    },
    "notes": [
        "raw is the floor: for the vector one append of its bytes to a std::string and one "
        "memcpy into a vector of n doubles; for the map a loop writing each key's length, its "
        "bytes and the int, and a loop reading them back into a std::map. pyconc adds a "
        "21-byte header (type fingerprint, size), bounds checks on every read, a length check "
        "before every allocation and a duplicate-key check.",
        "CPython pickles the equivalent list and dict with protocol 5; its loads builds a "
        "Python object per element, as std::map builds a node per entry.",
        "The dumps + loads rows hold two 8 MB blocks (vector) at once: glibc's malloc then "
        "returns them to the kernel after every iteration and the next one page-faults them "
        "in again, so on a host with slow page faults those rows measure mostly that, for "
        "pyconc and raw alike.",
    ],
}

PROCESS = {
    "title": "pyconc multiprocessing benchmarks: ns per process started and joined, per round "
             "trip, per 64 MiB message",
    "impls": [
        ("raw", "raw system calls"),
        ("pyconc_recv_bytes", "pyconc, recv_bytes (a new string per message)"),
    ],
    "pyconc_name": "pyconc::multiprocessing",
    "cpython_name": "CPython multiprocessing",
    "workloads": [
        ("Process start + join, fork", "BM_ForkStartJoin"),
        ("Process start + join, spawn", "BM_SpawnStartJoin"),
        ("Pipe round trip of an int", "BM_PipeRoundTrip"),
        ("Pipe, one 64 MiB message (recv_bytes_into)", "BM_PipeBandwidth"),
    ],
    "chart_labels": ["fork start+join", "spawn start+join", "pipe round trip", "64 MiB message"],
    "targets": {
        # pyconc at most 1.3x the raw calls (raw/pyconc >= 0.77), 0.8x the raw bandwidth.
        "BM_ForkStartJoin": [("raw", 0.77), ("cpython", 7.0)],
        "BM_SpawnStartJoin": [("raw", 0.77)],
        "BM_PipeRoundTrip": [("raw", 0.77), ("cpython", 5.0)],
        "BM_PipeBandwidth": [("raw", 0.8), ("cpython", 2.0)],
    },
    "notes": [
        "raw is what pyconc is built on, written by hand: fork(), _exit(0) and waitpid(); "
        "posix_spawn() of this program, which exits at once from main, and waitpid(); "
        "write()/read() of 4 bytes over a socket pair to a child that echoes them; write() of "
        "64 MiB over a socket pair to a child that read()s them into one buffer, reused.",
        "pyconc's spawn child runs the same program and finds its target from "
        "freeze_support(); CPython's spawn starts a fresh interpreter, which imports the main "
        "module.",
        "BM_PipeBandwidth receives with recv_bytes_into into one buffer, in pyconc, raw and "
        "CPython alike. pyconc_recv_bytes receives with recv_bytes, which returns a new 64 MiB "
        "string per message: every page of it is faulted in anew, which on a host with slow "
        "page faults costs far more than the copy (CPython's recv_bytes does the same).",
    ],
}

MPSHARED = {
    "title": "pyconc multiprocessing shared objects: ns per lock pair, per 40,000 contended "
             "additions, per 100,000 ints, per 64 MiB",
    "impls": [
        ("std_mutex", "std::mutex (one process)"),
        ("pshared", "pthread process-shared mutex"),
        ("pipe", "raw pipe"),
    ],
    "pyconc_name": "pyconc::multiprocessing",
    "cpython_name": "CPython multiprocessing",
    "workloads": [
        ("Lock acquire + release, uncontended", "BM_LockUncontended"),
        ("Value += 1 under its lock, 2 processes", "BM_ValueContended"),
        ("Queue: 100,000 ints, 1 producer -> 1 consumer", "BM_QueueInts1x1"),
        ("Queue: 100,000 ints, 1 producer -> 2 consumers", "BM_QueueInts1x2"),
        ("Queue: 64 items of 1 MiB", "BM_QueueMiB"),
    ],
    "chart_labels": ["lock pair", "contended Value", "queue ints 1->1", "queue ints 1->2", "queue 1 MiB items"],
    "targets": {
        # pyconc at most 1.5x std::mutex (std/pyconc >= 0.67) and 3x faster than CPython.
        "BM_LockUncontended": [("std_mutex", 0.67), ("cpython", 3.0)],
        "BM_ValueContended": [("cpython", 3.0)],
        "BM_QueueInts1x1": [("cpython", 20.0)],
        "BM_QueueInts1x2": [("cpython", 20.0)],
        "BM_QueueMiB": [("cpython", 2.0)],
    },
    "notes": [
        "pyconc's Lock is robust (a dead holder is reported, not waited for forever): its "
        "uncontended pair is one compare-and-swap and one exchange on a word in shared memory. "
        "pshared is a pthread mutex with PTHREAD_PROCESS_SHARED and PTHREAD_MUTEX_ROBUST.",
        "The contended and queue rows fork their processes inside the timed loop, in C++ and "
        "CPython alike (fork context): a fork costs 0.2-0.4 ms, small beside the work.",
        "pipe moves the same ints with one write() and one read() of 4 bytes each, and the "
        "1 MiB items as write()/read() into one reused buffer: no pickling, no queue.",
        "pyconc's queue is a byte ring in shared memory with robust read and write locks; "
        "CPython's is a pipe, a lock per end and a feeder thread.",
    ],
}

POOL = {
    "title": "pyconc process pools: ns per map or per 10,000 tasks, per pair of CPU-bound units",
    "impls": [
        ("raw_processes", "2 forked processes per map, results through a pipe"),
        ("raw_threads", "2 std::threads"),
        ("pipe_pingpong", "2 long-lived processes, 1 message each way per item"),
        ("pool1", "Pool(1)"),
        ("raw2", "2 forked processes, one unit each"),
        ("raw1", "1 forked process, both units"),
    ],
    "pyconc_name": "pyconc Pool / ProcessPoolExecutor",
    "cpython_name": "CPython Pool / ProcessPoolExecutor",
    "workloads": [
        ("Pool(2).map of 100,000 ints, default chunks", "BM_PoolMap100k"),
        ("Pool(2).map of 10,000 ints, chunksize=1", "BM_PoolMap10kChunk1"),
        ("ProcessPoolExecutor(2): 10,000 submit, then result()", "BM_PpeSubmit10k"),
        ("ProcessPoolExecutor(2).map of 10,000 ints, chunksize=1", "BM_PpeMap10kChunk1"),
        ("ProcessPoolExecutor(2).map of 10,000 ints, chunksize=100", "BM_PpeMap10kChunk100"),
        ("Pool(2).map of 2 CPU-bound units (~20 ms each)", "BM_CpuPool2x"),
    ],
    "chart_labels": ["Pool map 100k", "Pool map chunk 1", "PPE submit 10k", "PPE map chunk 1",
                     "PPE map chunk 100", "CPU-bound 2 units"],
    "targets": {
        "BM_PoolMap100k": [("cpython", 10.0)],
        "BM_PoolMap10kChunk1": [("cpython", 10.0)],
        "BM_PpeSubmit10k": [("cpython", 10.0)],
        "BM_PpeMap10kChunk1": [("cpython", 10.0)],
        "BM_PpeMap10kChunk100": [("cpython", 10.0)],
    },
    "notes": [
        "The pools are made once, before timing, in C++ and CPython alike (fork context); the "
        "raw baselines fork inside the timed loop, as a program without a pool would.",
        "BM_CpuPool2x: Pool(2)'s speedup is pool1 / pyconc, the raw processes' raw1 / raw2; "
        "the units differ between C++ and CPython (each ~20 ms), so only ratios compare.",
        "pipe_pingpong is the floor of one message each way per item with no pool at all: "
        "both long-lived workers answer one int at a time.",
    ],
}

FAMILIES = {
    "threading": {"binary": "threading_bench", "script": "threading_bench.py",
                  "kind": "rows"},
    "queue": dict(QUEUE, binary="queue_bench", script="queue_bench.py", kind="matrix"),
    "futures": dict(FUTURES, binary="futures_bench", script="futures_bench.py",
                    kind="matrix"),
    "pickle": dict(PICKLE, binary="pickle_bench", script="pickle_bench.py", kind="matrix"),
    "process": dict(PROCESS, binary="process_bench", script="process_bench.py", kind="matrix"),
    "mpshared": dict(MPSHARED, binary="mp_shared_bench", script="mp_shared_bench.py", kind="matrix"),
    "pool": dict(POOL, binary="pool_bench", script="pool_bench.py", kind="matrix"),
}


# ---- the host ------------------------------------------------------------------------------

def host_description():
    """CPU model, CPUs, kernel: what the numbers were measured on."""
    model = "?"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{model}, {cpus} CPUs online, {platform.system()} {platform.release()}"


def load_average():
    try:
        return "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    except OSError:
        return "?"


def build_flags(binary):
    """'g++ 12.2.0, -O3 -DNDEBUG -std=c++20 ...': the compiler and the flags the program
    was compiled with, from compile_commands.json in its build tree."""
    family = os.path.basename(binary)
    d = os.path.dirname(os.path.abspath(binary))
    for _ in range(4):
        path = os.path.join(d, "compile_commands.json")
        if os.path.isfile(path):
            with open(path, encoding="utf-8") as f:
                entries = json.load(f)
            for e in entries:
                if os.path.basename(e.get("file", "")).startswith(family + "."):
                    words = e.get("command", "").split() or e.get("arguments", [])
                    compiler = words[0]
                    try:
                        version = subprocess.run([compiler, "-dumpfullversion"], check=True,
                                                 stdout=subprocess.PIPE, text=True).stdout.strip()
                    except (OSError, subprocess.CalledProcessError):
                        version = "?"
                    flags, skip = [], False
                    for w in words[1:]:
                        if skip:
                            skip = False
                        elif w in ("-o", "-c", "-I", "-isystem"):
                            skip = True
                        elif not w.startswith(("-I", "-D", "-isystem")) and not w.endswith(".cpp"):
                            flags.append(w)
                        elif w in ("-DNDEBUG",):
                            flags.append(w)
                    return f"{os.path.basename(compiler)} {version}, {' '.join(flags)}"
        d = os.path.dirname(d)
    return "compiler and flags unknown (no compile_commands.json in the build tree)"


def default_python():
    """The distribution's CPython: /usr/bin/python3.11 (Debian 12's), else /usr/bin/python3."""
    if os.environ.get("PYTHON"):
        return os.environ["PYTHON"]
    for candidate in ("/usr/bin/python3.11", "/usr/bin/python3"):
        if os.access(candidate, os.X_OK):
            return candidate
    return "python3"


def describe_python(py):
    b = py.get("build", {})
    how = []
    if b.get("enable_optimizations") or b.get("pgo_flags_recorded"):
        how.append("PGO")
    if b.get("lto_flags_recorded"):
        how.append("LTO")
    how.append(b.get("opt", "?"))
    if py.get("executable", "").startswith("/usr/bin/"):
        how.append("the distribution's package")
    elif "--enable-optimizations" not in b.get("config_args", ""):
        how.append("configured without --enable-optimizations")
    return f"{py['interpreter']} ({py.get('executable', '?')}; {', '.join(how)})"


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


def run_cpp_round(binary, min_time, extra_args=()):
    """One round: every benchmark once, in a shuffled order, in one process.
    Returns {workload: {impl: (real ns, cpu ns)}} and the JSON context."""
    cmd = [binary, "--benchmark_format=json", "--benchmark_repetitions=1",
           "--benchmark_enable_random_interleaving=true", *extra_args]
    if min_time is not None:
        cmd.append(f"--benchmark_min_time={min_time}")
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout
    data = json.loads(out)
    result = {}
    for b in data.get("benchmarks", []):
        if b.get("error_occurred") or b.get("run_type", "iteration") != "iteration":
            continue
        workload, impl = split_name(b.get("run_name", b["name"]))
        unit = TIME_UNIT_NS[b.get("time_unit", "ns")]
        result.setdefault(workload, {})[impl] = (b["real_time"] * unit, b["cpu_time"] * unit)
    return result, data.get("context", {})


def python_cmd(python, script, *args):
    return [python, os.path.join(HERE, "python", script), *args]


def calibrate_python(python, script, min_time, filter_re=None):
    cmd = python_cmd(python, script, "--calibrate-only")
    if min_time is not None:
        cmd += ["--min-time", str(min_time)]
    if filter_re:
        cmd += ["--filter", filter_re]
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout
    return json.loads(out)


def run_python_round(python, script, iterations_file):
    cmd = python_cmd(python, script, "--iterations", iterations_file, "--rounds", "1")
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout
    return {name: values[0] for name, values in json.loads(out)["rounds"].items()}


class Rounds:
    """Every round's times: cpp[workload][impl] and cpu[...] are lists with one entry per
    round (None where a round has no result); py[workload] likewise."""

    def __init__(self):
        self.cpp, self.cpu, self.py, self.n = {}, {}, {}, 0

    def add(self, cpp_round, py_round):
        for workload, impls in cpp_round.items():
            for impl, (real, cpu) in impls.items():
                self.cpp.setdefault(workload, {}).setdefault(impl, [None] * self.n).append(real)
                self.cpu.setdefault(workload, {}).setdefault(impl, [None] * self.n).append(cpu)
        for workload, ns in (py_round or {}).items():
            self.py.setdefault(workload, [None] * self.n).append(ns)
        self.n += 1
        for table in (self.cpp, self.cpu):
            for impls in table.values():
                for values in impls.values():
                    values.extend([None] * (self.n - len(values)))
        for values in self.py.values():
            values.extend([None] * (self.n - len(values)))

    def times(self, workload, impl):
        if impl == "cpython":
            return self.py.get(workload, [])
        return self.cpp.get(workload, {}).get(impl, [])

    def median(self, workload, impl, cpu=False):
        values = (self.cpu.get(workload, {}).get(impl, []) if cpu
                  else self.times(workload, impl))
        values = [v for v in values if v is not None]
        return statistics.median(values) if values else None


def ratios(numerators, denominators):
    """Per-round ratios a[i] / b[i] of the rounds where both have a result."""
    return [a / b for a, b in zip(numerators, denominators) if a and b]


class Ratio:
    """The median of per-round ratios and their min and max."""

    def __init__(self, values):
        self.values = values
        self.median = statistics.median(values) if values else None
        self.lo = min(values) if values else None
        self.hi = max(values) if values else None

    def noisy(self):
        return bool(self.values) and (self.hi > self.median * NOISY_SPREAD
                                      or self.lo < self.median / NOISY_SPREAD)


def run_family(binary, script, python, min_time, rounds, log=sys.stderr):
    """Runs `rounds` rounds of the C++ program and of the CPython script, alternating."""
    data = Rounds()
    context, py_info = {}, None
    load_start = load_average()
    with tempfile.TemporaryDirectory() as tmp:
        iterations_file = None
        if python:
            py_info = calibrate_python(python, script, min_time)
            iterations_file = os.path.join(tmp, "iterations.json")
            with open(iterations_file, "w", encoding="utf-8") as f:
                json.dump(py_info, f)
        for r in range(rounds):
            print(f"round {r + 1}/{rounds}: {os.path.basename(binary)}"
                  + (f" and {script}" if python else "") + f" (load {load_average()})", file=log)
            cpp_round = py_round = None
            order = ["cpp", "py"] if r % 2 == 0 else ["py", "cpp"]
            for side in order:
                if side == "cpp":
                    cpp_round, context = run_cpp_round(binary, min_time)
                elif python:
                    py_round = run_python_round(python, script, iterations_file)
            data.add(cpp_round, py_round)
    return data, context, py_info, load_start, load_average()


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


def fmt_ratio(r):
    """'0.82× [0.78–0.90]': the median per-round ratio and its min–max."""
    if r.median is None:
        return "—"
    if len(r.values) == 1:
        return fmt_x(r.median)
    return f"{fmt_x(r.median)} [{fmt_x(r.lo).rstrip('×')}–{fmt_x(r.hi).rstrip('×')}]"


def build_threading_table(data, with_python):
    lines = [
        "| workload | pyconc ns/op | std baseline ns/op | pyconc/std per round: median [min–max] "
        "| target | CPython ns/op | CPython/pyconc per round: median [min–max] | verdict |",
        "|---|---:|---:|---:|---|---:|---:|---|",
    ]
    misses = 0
    for label, workload, base_impl, base_name, max_ratio, strict in THREADING_ROWS:
        mine_t = data.times(workload, "pyconc")
        ratio = Ratio(ratios(mine_t, data.times(workload, base_impl)))
        speedup = Ratio(ratios(data.times(workload, "cpython"), mine_t))
        base_speedup = Ratio(ratios(data.times(workload, "cpython"), data.times(workload, base_impl)))

        cmp = "<" if strict else "≤"
        target = f"{cmp} {max_ratio:g}× {base_name}" if max_ratio is not None else "(reference)"
        if with_python:
            target += f"; ≥ {THREADING_CPYTHON_SPEEDUP_TARGET:g}× CPython"

        problems = []
        if ratio.median is None:
            verdict = "no data"
        else:
            if max_ratio is not None and ((ratio.median >= max_ratio) if strict
                                          else (ratio.median > max_ratio)):
                problems.append(f"{base_name}")
            if speedup.median is not None and speedup.median < THREADING_CPYTHON_SPEEDUP_TARGET:
                note = "CPython"
                if (base_speedup.median is not None
                        and base_speedup.median < THREADING_CPYTHON_SPEEDUP_TARGET):
                    note += f" (std baseline also only {fmt_x(base_speedup.median)})"
                problems.append(note)
            verdict = "met" if not problems else "not met: " + ", ".join(problems)
            misses += bool(problems)
            if ratio.noisy():
                verdict += " (noisy: per-round ratios spread widely)"

        lines.append(
            f"| {label} vs {base_name} | {fmt_ns(data.median(workload, 'pyconc'))} "
            f"| {fmt_ns(data.median(workload, base_impl))} | {fmt_ratio(ratio)} "
            f"| {target} | {fmt_ns(data.median(workload, 'cpython'))} | {fmt_ratio(speedup)} "
            f"| {verdict} |")
    return "\n".join(lines), misses


def build_matrix_table(spec, data, with_python):
    """One row per workload: pyconc, every implementation and CPython, each with pyconc's
    per-round speedup over it (median and min–max), then the targets and the verdict."""
    impls = [(impl, name) for impl, name in spec["impls"]
             if any(data.times(w, impl) for _, w in spec["workloads"])]
    absent = [name for impl, name in spec["impls"] if (impl, name) not in impls]
    names = dict(spec["impls"], cpython=spec["cpython_name"])

    header = ["workload", f"{spec['pyconc_name']} ns/op"]
    header += [f"{name} ns/op (pyconc speedup)" for _, name in impls]
    if with_python:
        header.append(f"{spec['cpython_name']} ns/op (pyconc speedup)")
    header += ["targets", "verdict"]
    lines = ["| " + " | ".join(header) + " |",
             "|---|" + "---:|" * (len(header) - 3) + "---|---|"]

    misses = 0
    for label, workload in spec["workloads"]:
        mine_t = data.times(workload, "pyconc")
        mine = data.median(workload, "pyconc")
        others = [impl for impl, _ in impls] + (["cpython"] if with_python else [])
        speedup = {impl: Ratio(ratios(data.times(workload, impl), mine_t)) for impl in others}

        cells = [label, fmt_ns(mine)]
        for impl in others:
            ns = data.median(workload, impl)
            cells.append("—" if ns is None else f"{fmt_ns(ns)} ({fmt_ratio(speedup[impl])})")

        wanted = spec["targets"].get(workload, [])
        targets = [(impl, want) for impl, want in wanted if speedup.get(impl) and speedup[impl].median]
        unmeasured = [names.get(impl, impl) for impl, _ in wanted
                      if not (speedup.get(impl) and speedup[impl].median)
                      and (impl != "cpython" or with_python)]
        cells.append("; ".join(f"≥ {want:g}× {names.get(impl, impl)}"
                               for impl, want in wanted) or "—")

        if mine is None:
            verdict = "no data"
        else:
            missed = [f"{names[impl]} ({fmt_x(speedup[impl].median)})" for impl, want in targets
                      if speedup[impl].median < want]
            if not wanted:
                verdict = "(no target)"
            elif not targets:
                verdict = "not measured"
            else:
                verdict = "met" if not missed else "not met: " + ", ".join(missed)
                misses += bool(missed)
            if targets and unmeasured:
                verdict += "; not measured: " + ", ".join(unmeasured)
            noisy = [names.get(i, i) for i in others if speedup[i].noisy()]
            if noisy:
                verdict += " (noisy per-round ratios: " + ", ".join(noisy) + ")"
        cells.append(verdict)
        lines.append("| " + " | ".join(cells) + " |")

    # CPU time of the whole process per operation, where the programs measured it.
    cpu_lines = ["", "Process CPU time per operation, median over the rounds (all threads; "
                     "spinning shows here, not in wall time):", "",
                 "| workload | pyconc | " + " | ".join(name for _, name in impls) + " |",
                 "|---|" + "---:|" * (len(impls) + 1)]
    for label, workload in spec["workloads"]:
        cpu_lines.append("| " + " | ".join(
            [label] + [fmt_ns(data.median(workload, i, cpu=True))
                       for i in ["pyconc"] + [i for i, _ in impls]]) + " |")

    notes = list(spec.get("notes", []))
    if absent:
        notes.append("Not built (peer not installed): " + ", ".join(absent) + ".")
    text = "\n".join(lines) + "\n" + "\n".join(cpu_lines)
    if notes:
        text += "\n\n" + "\n".join(f"- {n}" for n in notes)
    return text, misses


def rounds_appendix(data):
    """Every round's ns/op, so that a reader can see bimodal or drifting rows."""
    lines = ["<details><summary>every round, ns/op</summary>", "",
             "| workload | implementation | " + " | ".join(f"r{i + 1}" for i in range(data.n)) + " |",
             "|---|---|" + "---:|" * data.n]
    for workload in sorted(set(data.cpp) | set(data.py)):
        impls = sorted(data.cpp.get(workload, {}))
        if workload in data.py:
            impls.append("cpython")
        for impl in impls:
            lines.append(f"| {workload} | {impl} | "
                         + " | ".join(fmt_ns(v) for v in data.times(workload, impl)) + " |")
    lines += ["", "</details>"]
    return "\n".join(lines)


# ---- charts --------------------------------------------------------------------------------

def chart_series(family, data, with_python):
    """(cluster labels, [(series name, [median ns or None per cluster])]) for one family."""
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
        series = [("pyconc", [data.median(w, "pyconc") for _, w, _ in rows]),
                  ("std baseline", [data.median(w, b) for _, w, b in rows])]
        if with_python:
            series.append(("CPython", [data.median(w, "cpython") for _, w, _ in rows]))
        return labels, series
    labels = spec.get("chart_labels") or [label for label, _ in spec["workloads"]]
    workloads = [w for _, w in spec["workloads"]]
    series = [(spec["pyconc_name"], [data.median(w, "pyconc") for w in workloads])]
    for impl, name in spec["impls"]:
        values = [data.median(w, impl) for w in workloads]
        if any(v is not None for v in values):
            series.append((name, values))
    if with_python:
        series.append((spec["cpython_name"], [data.median(w, "cpython") for w in workloads]))
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
    parser.add_argument("--rounds", type=int, default=7,
                        help="rounds; each runs every C++ benchmark once (random interleaved "
                             "order, one process) and every CPython workload once (default 7)")
    parser.add_argument("--python", default=default_python(),
                        help="interpreter for the CPython side (default: $PYTHON, else "
                             "/usr/bin/python3.11, else /usr/bin/python3)")
    parser.add_argument("--no-python", action="store_true", help="skip the CPython side")
    parser.add_argument("--no-rounds-table", action="store_true",
                        help="leave out the table of every round's times")
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

    python = None if args.no_python else args.python
    texts, total_misses, charts = [], 0, []
    texts.append(f"Host: {host_description()}. Method: {args.rounds} rounds; in each, one "
                 "process runs every C++ benchmark once in a random interleaved order "
                 f"(Google Benchmark, --benchmark_min_time={args.min_time}), and the CPython "
                 "script runs every workload once; the two alternate. Every ratio is taken per "
                 "round and given as the median [min–max] over the rounds.\n")
    for family, binary in runs:
        spec = FAMILIES[family]
        data, context, py, load_start, load_end = run_family(
            binary, spec["script"], python, args.min_time, max(1, args.rounds))
        with_python = py is not None

        if spec["kind"] == "rows":
            table, misses = build_threading_table(data, with_python)
            title = "pyconc threading benchmarks"
        else:
            table, misses = build_matrix_table(spec, data, with_python)
            title = spec["title"]
        total_misses += misses
        cpus = context.get("num_cpus", "?")
        header = (f"{title}: {os.path.basename(binary)}, built with {build_flags(binary)}"
                  + (f"; {describe_python(py)}" + ("" if py.get("gil", True) else " (free-threaded)")
                     if py else "")
                  + f". Load average (1, 5, 15 min) {load_start} at the start, {load_end} at the "
                  f"end. {data.n} rounds; ns/op columns are each contestant's median over the "
                  "rounds; ratios are per round: median [min–max].")
        if spec["kind"] == "matrix":
            header += (" pyconc speedup = that implementation's time / pyconc's in the same "
                       "round: above 1× pyconc is faster.")
        text = header + "\n\n" + table + "\n"
        if not args.no_rounds_table:
            text += "\n" + rounds_appendix(data) + "\n"
        texts.append(text)

        if not args.no_png:
            out_dir = args.png or os.path.dirname(binary)
            os.makedirs(out_dir, exist_ok=True)
            path = os.path.join(out_dir, f"{family}.png")
            labels, series = chart_series(family, data, with_python)
            if write_png(path, f"{title} ({cpus} CPUs, medians of {data.n} rounds)", labels, series):
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
