#!/usr/bin/env python3
"""Did a change make any primitive slower? The same benchmark sources, built against two
versions of the headers, measured alternately in one run.

    git worktree add /tmp/before <commit>            # the "before" headers
    cp -r bench/. /tmp/before/bench/                 # today's benchmark sources in both
    (cd /tmp/before && cmake --preset bench && cmake --build --preset bench)
    cmake --preset bench && cmake --build --preset bench
    python3 bench/before_after.py /tmp/before/build/bench build/bench [--rounds 7]

Each round runs, for every family, the "before" program and the "after" program (which
goes first alternates from round to round), each one process with every selected
benchmark once in a random interleaved order (compare.py's round). For every row it
gives pyconc's time over its baseline's in the same round and process, for the before
build and the after build: the median and the min-max over the rounds. The baseline is
the same code in both builds (std::, Boost.Asio), so it absorbs the machine's drift; the
last column is after/before of those per-round ratios, above 1 slower.

Prints a Markdown table with the host, the flags, the load average at the start and the
end, and the date.
"""

import argparse
import datetime
import os
import statistics
import sys

import compare

# (family, label, workload, pyconc implementation, baseline implementation, baseline name)
ROWS = [
    ("threading", "Lock acquire+release", "BM_Lock", "pyconc", "std_mutex", "std::mutex"),
    ("threading", "RLock acquire+release", "BM_RLock", "pyconc", "std_recursive_mutex",
     "std::recursive_mutex"),
    ("threading", "Semaphore acquire+release", "BM_Semaphore", "pyconc", "std_mutex",
     "std::mutex"),
    ("threading", "Event ping-pong", "BM_EventPingPong", "pyconc", "std_condvar",
     "mutex+condvar"),
    ("threading", "Thread start+join", "BM_ThreadStartJoin", "pyconc", "std_thread_flag",
     "std::thread to its target's end"),
    ("threading", "Lock, 2 threads contended", "BM_LockContended/threads:2", "pyconc",
     "std_mutex", "std::mutex"),
    ("threading", "Lock, 4 threads contended", "BM_LockContended/threads:4", "pyconc",
     "std_mutex", "std::mutex"),
    ("queue", "Queue(1024) 1P/1C", "BM_Queue/producers:1/consumers:1", "pyconc",
     "std_condvar", "mutex+condvar+deque"),
    ("queue", "Queue(1024) 2P/2C", "BM_Queue/producers:2/consumers:2", "pyconc",
     "std_condvar", "mutex+condvar+deque"),
    ("queue", "SimpleQueue 1P/1C", "BM_SimpleQueue/producers:1/consumers:1", "pyconc",
     "std_condvar", "mutex+condvar+deque"),
    ("queue", "Queue(1024) put + get, one thread", "BM_PutGet", "pyconc", "std_condvar",
     "mutex+condvar+deque"),
    ("futures", "ThreadPoolExecutor, empty task", "BM_Tasks/task_ns:0", "pyconc",
     "asio_thread_pool", "boost::asio::thread_pool"),
    ("futures", "ThreadPoolExecutor, 1 µs task", "BM_Tasks/task_ns:1000", "pyconc",
     "asio_thread_pool", "boost::asio::thread_pool"),
    ("futures", "ThreadPoolExecutor, 100 µs task", "BM_Tasks/task_ns:100000", "pyconc",
     "asio_thread_pool", "boost::asio::thread_pool"),
    ("futures", "Thread per task, 1 µs task", "BM_Tasks/task_ns:1000", "pyconc_thread",
     "std_thread", "std::thread per task"),
]

# Which benchmarks each family needs: pyconc and the baselines above, nothing else.
FILTERS = {
    "threading": "BM_(Lock|RLock|Semaphore|EventPingPong|ThreadStartJoin|LockContended)/"
                 "(pyconc|std_mutex|std_recursive_mutex|std_condvar|std_thread_flag)",
    "queue": "BM_(Queue|SimpleQueue|PutGet)/(pyconc|std_condvar)",
    "futures": "BM_Tasks/(pyconc|pyconc_thread|std_thread|asio_thread_pool)/",
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", help="the before build tree (holding bench/<family>_bench)")
    parser.add_argument("after", help="the after build tree")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--min-time", type=float, default=0.2)
    parser.add_argument("--family", action="append", choices=sorted(FILTERS))
    parser.add_argument("--out", metavar="FILE.md")
    args = parser.parse_args()

    families = args.family or list(FILTERS)
    builds = {"before": args.before, "after": args.after}
    binaries = {(b, f): os.path.join(d, "bench", f"{f}_bench") for b, d in builds.items()
                for f in families}
    for path in binaries.values():
        if not os.access(path, os.X_OK):
            sys.exit(f"before_after.py: {path}: no such program")

    data = {b: compare.Rounds() for b in builds}
    load_start = compare.load_average()
    started = datetime.datetime.now(datetime.timezone.utc)
    for r in range(args.rounds):
        print(f"round {r + 1}/{args.rounds} (load {compare.load_average()})", file=sys.stderr)
        order = ["before", "after"] if r % 2 == 0 else ["after", "before"]
        results = {b: {} for b in builds}
        for family in families:
            for b in order:
                result, _ = compare.run_cpp_round(
                    binaries[(b, family)], args.min_time,
                    [f"--benchmark_filter={FILTERS[family]}"])
                results[b].update(result)
        for b in builds:
            data[b].add(results[b], None)
    load_end = compare.load_average()

    flags = {compare.build_flags(binaries[(b, families[0])]) for b in builds}
    lines = [
        f"Before: `{args.before}`; after: `{args.after}`. Host: {compare.host_description()}; "
        f"built with {' / '.join(sorted(flags))}. {started:%Y-%m-%d %H:%M} UTC; load average "
        f"(1, 5, 15 min) {load_start} at the start, {load_end} at the end. {args.rounds} rounds, "
        f"--benchmark_min_time={args.min_time}; in each round the before and the after program "
        "ran one after the other (which first alternates), every benchmark once in a random "
        "order. Ratios are pyconc's time over its baseline's in the same round and process: "
        "median [min–max] over the rounds.",
        "",
        "| primitive | baseline | before: pyconc/baseline | after: pyconc/baseline "
        "| after/before (median of per-round ratios) |",
        "|---|---|---:|---:|---:|",
    ]
    for family, label, workload, mine, base, base_name in ROWS:
        if family not in families:
            continue
        per_build = {}
        for b in builds:
            per_build[b] = compare.ratios(data[b].times(workload, mine), data[b].times(workload, base))
        change = compare.ratios(per_build["after"], per_build["before"])
        cells = [label, base_name]
        cells += [compare.fmt_ratio(compare.Ratio(per_build[b])) for b in builds]
        cells.append(compare.fmt_ratio(compare.Ratio(change)))
        lines.append("| " + " | ".join(cells) + " |")
    text = "\n".join(lines) + "\n"
    sys.stdout.write(text)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
