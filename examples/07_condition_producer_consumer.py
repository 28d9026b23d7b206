# SPDX-License-Identifier: MIT
import threading

cond = threading.Condition()
box = []  # holds at most one item
consumed = []


def producer():
    for i in range(5):
        with cond:
            cond.wait_for(lambda: len(box) == 0)  # wait until the box is empty
            box.append(i)
            print('produced', i)
            cond.notify()


def consumer():
    for _ in range(5):
        with cond:
            while len(box) == 0:  # wait until there is something in the box
                cond.wait()
            item = box.pop()
            consumed.append(item)
            print('consumed', item)
            cond.notify()


if __name__ == '__main__':
    c = threading.Thread(target=consumer, name='Consumer')
    p = threading.Thread(target=producer, name='Producer')
    c.start()
    p.start()
    p.join()
    c.join()
    print('consumer got', consumed)
    with cond:
        print('wait(0.05) with nobody to notify returns', cond.wait(0.05))
