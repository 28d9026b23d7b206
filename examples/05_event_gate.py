# SPDX-License-Identifier: MIT
import threading

gate = threading.Event()
lock = threading.Lock()
passed = []


def runner(i):
    gate.wait()  # every runner blocks here until the gate opens
    with lock:
        passed.append(i)


if __name__ == '__main__':
    threads = [threading.Thread(target=runner, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    print('gate is set:', gate.is_set())
    print('wait(0.05) returns', gate.wait(0.05))
    with lock:
        print('runners past the gate:', len(passed))
    gate.set()  # open the gate: all runners go
    for t in threads:
        t.join()
    print('gate is set:', gate.is_set())
    print('runners past the gate:', sorted(passed))
    print('wait() returns', gate.wait())
    gate.clear()
    print('after clear(), gate is set:', gate.is_set())
