// SPDX-License-Identifier: MIT
//
// 24_process_pool: four worker processes run five tasks; each task prints the pid of the
// worker it ran in, and its result goes to a callback, which runs in the main process.
// close() says no more tasks will come; join() waits for the workers to finish them.
//
// Mirrors the Python:
//     pool = Pool(4)
//     for i in range(5):
//         pool.apply_async(func=foo, args=(i,), callback=bar)
//     pool.close()
//     pool.join()
#include <pyconc.hpp>  // pyconc: multiprocessing::Pool, os::getpid, time::sleep, print

#include <tuple>  // std::tuple

using namespace pyconc;

long main_pid = 0;

int foo(int i) {
  time::sleep(0.5);
  print("in process", os::getpid());
  return i * i;
}

void bar(int result) {
  print("-->exec done:", result, "in the main process:", os::getpid() == main_pid);
}

int main() {
  multiprocessing::freeze_support();
  main_pid = os::getpid();
  multiprocessing::Pool pool(4);
  for (int i = 0; i < 5; ++i) {
    pool.apply_async(foo, std::tuple{i}, {.callback = bar});
  }
  print("end");
  pool.close();
  pool.join();  // close() first, then join(): otherwise join() raises
}
