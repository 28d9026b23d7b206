# SPDX-License-Identifier: MIT
import threading


class MyThread(threading.Thread):
    def __init__(self, n):
        super().__init__(name='Worker-%d' % n)
        self.n = n
        self.result = 0

    def run(self):
        for i in range(self.n + 1):
            self.result += i
        print(self.name, 'sum up to', self.n, '=', self.result)


if __name__ == '__main__':
    threads = [MyThread(n) for n in (10, 100, 1000)]
    for t in threads:
        t.start()
        t.join()
    print('results:', [t.result for t in threads])
