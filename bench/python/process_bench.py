#!/usr/bin/env python3
"""The workloads of bench/process_bench.cpp, in CPython's multiprocessing.

Prints one JSON object on stdout (see harness.py):

    {"interpreter": "CPython 3.11.7", "gil": true,
     "ns_per_op": {"BM_ForkStartJoin": 1234.5, ...}}

Workload names match the C++ benchmark names without the implementation part
(BM_PipeRoundTrip/pyconc/real_time -> BM_PipeRoundTrip), so bench/compare.py can pair them.

    BM_ForkStartJoin    Process(target=f).start(); join(), fork context
    BM_SpawnStartJoin   the same, spawn context (a fresh interpreter per process)
    BM_PipeRoundTrip    Pipe(): send(int) to a child that sends it back; recv()
    BM_PipeBandwidth    send_bytes of 64 MiB to a child that receives it with
                        recv_bytes_into (a bytearray allocated once, as the C++ side)
                        and answers one byte

One operation is one process started and joined, one round trip, or one 64 MiB message.
The pipe workloads start their child before the clock starts.

Usage:  python3 bench/python/process_bench.py [--min-time 0.2] [--rounds 5] [--filter REGEX]
"""

import multiprocessing
import time

import harness

BANDWIDTH_BYTES = 64 << 20


def nothing():
    pass


def make_bm_start_join(method):
    ctx = multiprocessing.get_context(method)

    def bm(n):
        t0 = time.perf_counter()
        for _ in range(n):
            p = ctx.Process(target=nothing)
            p.start()
            p.join()
        return time.perf_counter() - t0, n

    return bm


def echo(conn, parent_end):
    parent_end.close()
    try:
        while True:
            conn.send(conn.recv())
    except EOFError:
        pass


def sink(conn, parent_end):
    parent_end.close()
    buffer = bytearray(BANDWIDTH_BYTES)
    try:
        while True:
            conn.recv_bytes_into(buffer)
            conn.send_bytes(b"k")
    except EOFError:
        pass


def with_child(target, body):
    ctx = multiprocessing.get_context("fork")
    mine, theirs = ctx.Pipe()
    p = ctx.Process(target=target, args=(theirs, mine))
    p.start()
    theirs.close()
    try:
        return body(mine)
    finally:
        mine.close()
        p.join()


def bm_round_trip(n):
    def body(conn):
        send, recv = conn.send, conn.recv
        x = 0
        t0 = time.perf_counter()
        for _ in range(n):
            send(x)
            x = recv() + 1
        return time.perf_counter() - t0, n
    return with_child(echo, body)


def bm_bandwidth(n):
    payload = b"x" * BANDWIDTH_BYTES

    def body(conn):
        t0 = time.perf_counter()
        for _ in range(n):
            conn.send_bytes(payload)
            conn.recv_bytes()
        return time.perf_counter() - t0, n
    return with_child(sink, body)


WORKLOADS = {
    "BM_ForkStartJoin": make_bm_start_join("fork"),
    "BM_SpawnStartJoin": make_bm_start_join("spawn"),
    "BM_PipeRoundTrip": bm_round_trip,
    "BM_PipeBandwidth": bm_bandwidth,
}

if __name__ == "__main__":
    harness.main(__doc__, WORKLOADS)
