# 22_value_array: a Value and an Array shared by four processes, each update under the lock.
from multiprocessing import Process, Value, Array


def add(counter, squares, i):
    for _ in range(1000):
        with counter.get_lock():
            counter.value += 1
    with squares.get_lock():
        squares[i] = i * i


if __name__ == '__main__':
    counter = Value('i', 0)
    squares = Array('i', 4)
    workers = [Process(target=add, args=(counter, squares, i)) for i in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    print(counter.value)
    print(squares[:])
