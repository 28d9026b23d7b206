// SPDX-License-Identifier: MIT
//
// 18_run_proc: starting a child process. Pass Process a function and its arguments,
// start() it, and join() to wait until it has finished.
//
// Mirrors the Python:
//     p = Process(target=run_proc, args=('test',))
//     p.start()
//     p.join()
//
// Python's '%s (%s)' % (name, pid) formatting is print()'s arguments joined with sep="".
#include <pyconc.hpp>  // pyconc: multiprocessing::Process; os::getpid; print

#include <string>  // std::string
#include <tuple>   // std::tuple

using namespace pyconc;

void run_proc(std::string name) {
  // 创建子进程时，只需要传入一个执行函数和函数的参数，创建一个Process实例，用start()方法启动
  // join()方法可以等待子进程结束后再继续往下运行，通常用于进程间的同步。
  print("run child process ", name, " (", os::getpid(), ")...", kw::sep = "");
}

int main() {
  multiprocessing::freeze_support();  // Python's `if __name__ == '__main__':`
  print("parent process ", os::getpid(), ".", kw::sep = "");
  multiprocessing::Process p(run_proc, std::tuple{std::string("test")});
  print("process will start");
  p.start();
  p.join();
  print("process end");
}
