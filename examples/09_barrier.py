# SPDX-License-Identifier: MIT
import threading

N = 3
lock = threading.Lock()
passed = []
indices = []


def all_arrived():
    # run once per round by the last thread to arrive, before anyone is released
    print('all', N, 'arrived; passed so far:', len(passed))


barrier = threading.Barrier(N, action=all_arrived)


def worker(i):
    for round in range(2):
        index = barrier.wait()
        with lock:
            passed.append(i)
            indices.append(index)


if __name__ == '__main__':
    print('parties:', barrier.parties)
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(N)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print('passed:', sorted(passed))
    print('indices:', sorted(indices))
    print('n_waiting:', barrier.n_waiting, 'broken:', barrier.broken)

    lonely = threading.Barrier(2)
    try:
        lonely.wait(0.05)  # nobody else comes: the wait times out
    except threading.BrokenBarrierError:
        print('timed out alone: BrokenBarrierError, broken:', lonely.broken)
    lonely.reset()
    print('after reset(), broken:', lonely.broken)
