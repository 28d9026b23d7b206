// SPDX-License-Identifier: MIT
//
// 11_thread_subclass: subclass Thread and override run().
//
// Mirrors the Python:
//     class MyThread(threading.Thread):
//         def __init__(self, n):
//             super().__init__(name='Worker-%d' % n)
//         def run(self): ...
//
// A Thread subclass is owned by a std::shared_ptr (Python objects are references too).
#include <pyconc.hpp>  // pyconc: threading::Thread; print

#include <memory>  // std::make_shared, std::shared_ptr
#include <string>  // std::to_string
#include <vector>  // std::vector

using namespace pyconc;

struct MyThread : threading::Thread {
  int n;
  long result = 0;

  explicit MyThread(int n) : Thread({.name = "Worker-" + std::to_string(n)}), n(n) {}

  void run() override {
    for (int i = 0; i < n + 1; ++i) {
      result += i;
    }
    print(name(), "sum up to", n, "=", result);
  }
};

int main() {
  std::vector<std::shared_ptr<MyThread>> threads;
  for (int n : {10, 100, 1000}) {
    threads.push_back(std::make_shared<MyThread>(n));
  }
  for (auto& t : threads) {
    t->start();
    t->join();
  }
  std::vector<long> results;
  for (auto& t : threads) {
    results.push_back(t->result);
  }
  print("results:", results);
}
