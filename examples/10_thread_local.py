# SPDX-License-Identifier: MIT
import threading

local_school = threading.local()
both_set = threading.Barrier(2)
print_lock = threading.Lock()


def process_student():
    std = local_school.student
    with print_lock:  # print() from two threads at once may mix up the lines
        print('Hello, %s (in %s)' % (std, threading.current_thread().name))


def process_thread(name):
    local_school.student = name
    both_set.wait()  # both threads have set their own student before either reads it
    process_student()


if __name__ == '__main__':
    local_school.student = 'Main'
    t1 = threading.Thread(target=process_thread, args=('Alice',), name='Thread-A')
    t2 = threading.Thread(target=process_thread, args=('Bob',), name='Thread-B')
    t1.start()
    t2.start()
    t1.join()
    t2.join()
    process_student()
