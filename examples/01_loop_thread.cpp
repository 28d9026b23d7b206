// SPDX-License-Identifier: MIT
//
// 01_loop_thread: start a named thread, let it loop, and wait for it with join().
//
// Mirrors the Python:
//     print('thread %s is running...' % threading.current_thread().name)
//     t = threading.Thread(target=loop, name='LoopThread')
//     t.start()
//     t.join()
//
// (The classic version sleeps 1 s per step; this one sleeps 0.1 s.)
#include <pyconc.hpp>  // pyconc: threading::Thread, current_thread; time::sleep; print

using namespace pyconc;

void loop() {
  print("thread", threading::current_thread().name(), "is running...");
  int n = 0;
  while (n < 5) {
    n = n + 1;
    print("thread", threading::current_thread().name(), ">>>", n);
    time::sleep(0.1);
  }
  print("thread", threading::current_thread().name(), "ended");
}

int main() {
  print("thread", threading::current_thread().name(), "is running...");
  threading::Thread t(loop, {.name = "LoopThread"});
  t.start();
  t.join();
  print("thread", threading::current_thread().name(), "ended");
}
