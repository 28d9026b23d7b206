#!/usr/bin/env python3
"""Draw a GIL timeline (Chrome trace JSON from pyconc::gil::timeline) as a PNG with gnuplot.

    python3 scripts/gil_timeline.py TRACE.json OUT.png [--title TEXT] [--width PX]

One row per thread, time on the x axis (ms): green while the thread runs holding the GIL,
red while it waits for the GIL, grey while it has released it for a blocking call, blank
otherwise (not started, ended, or running without the GIL) -- the pictures of David
Beazley's GIL talks. Needs gnuplot (Debian: gnuplot-nox); standard library only otherwise.

Record a trace with:

    gil::timeline::start();  ...  gil::timeline::stop();
    gil::timeline::write_chrome_trace("trace.json");

or run `gil_bench --timeline=trace.json` (two CPU-bound threads and one doing 1 ms sleeps).
"""
# SPDX-License-Identifier: MIT

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

COLOURS = {"running": "#2ca02c", "waiting": "#d62728", "io": "#b0b0b0"}
LABELS = {"running": "running (holds the GIL)", "waiting": "waiting for the GIL",
          "io": "released for a blocking call"}


def load(path):
    with open(path) as f:
        trace = json.load(f)
    events = trace["traceEvents"] if isinstance(trace, dict) else trace
    names, order, spans = {}, {}, []
    for e in events:
        if e.get("ph") == "M" and e.get("name") == "thread_name":
            names[e["tid"]] = e["args"]["name"]
        elif e.get("ph") == "M" and e.get("name") == "thread_sort_index":
            order[e["tid"]] = e["args"]["sort_index"]
        elif e.get("ph") == "X" and e.get("name") in COLOURS:
            spans.append((e["tid"], e["name"], e["ts"] / 1e3, e["dur"] / 1e3))  # ms
    tids = sorted({t for t, _, _, _ in spans} | set(names), key=lambda t: (order.get(t, 1 << 30), t))
    return [(t, names.get(t, str(t))) for t in tids], spans


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trace")
    parser.add_argument("png")
    parser.add_argument("--title", default="GIL timeline")
    parser.add_argument("--width", type=int, default=1000)
    args = parser.parse_args()
    if shutil.which("gnuplot") is None:
        sys.exit("gil_timeline.py: gnuplot not found (Debian: apt-get install gnuplot-nox)")

    threads, spans = load(args.trace)
    if not spans:
        sys.exit("gil_timeline.py: %s has no GIL events" % args.trace)
    row = {tid: len(threads) - 1 - i for i, (tid, _) in enumerate(threads)}  # first thread on top
    end = max(ts + dur for _, _, ts, dur in spans)

    with tempfile.TemporaryDirectory() as tmp:
        data = {}
        for state in COLOURS:
            path = os.path.join(tmp, state + ".dat")
            with open(path, "w") as f:
                for tid, name, ts, dur in spans:
                    if name == state and tid in row:
                        # x, y, xlow, xhigh, ylow, yhigh (boxxyerror)
                        y = row[tid]
                        f.write("%.6f %d %.6f %.6f %.2f %.2f\n" % (ts, y, ts, ts + max(dur, 1e-4), y - 0.35, y + 0.35))
            data[state] = path
        ytics = ", ".join('"%s" %d' % (name.replace('"', "'"), row[tid]) for tid, name in threads)
        height = 120 + 60 * len(threads)
        plots = ", ".join("'%s' using 1:2:3:4:5:6 with boxxyerror fs solid 1.0 noborder lc rgb '%s' title '%s'"
                          % (data[s], COLOURS[s], LABELS[s]) for s in COLOURS if os.path.getsize(data[s]) > 0)
        script = "\n".join([
            "set terminal pngcairo size %d,%d font 'sans,10'" % (args.width, height)
            if "cairo" in subprocess.run(["gnuplot", "-e", "set terminal"], stdout=subprocess.PIPE,
                                         stderr=subprocess.STDOUT, universal_newlines=True).stdout
            else "set terminal png size %d,%d" % (args.width, height),
            "set output '%s'" % args.png,
            "set title '%s'" % args.title.replace("'", "''"),
            "set xlabel 'time (ms)'",
            "set xrange [0:%f]" % end,
            "set yrange [-0.6:%f]" % (len(threads) - 0.4),
            "set ytics (%s)" % ytics,
            "set key outside bottom center horizontal",
            "set grid xtics",
            "plot " + plots,
        ])
        subprocess.run(["gnuplot"], input=script, universal_newlines=True, check=True)
    print("wrote %s (%d threads, %.1f ms)" % (args.png, len(threads), end))


if __name__ == "__main__":
    main()
