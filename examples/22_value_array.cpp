// SPDX-License-Identifier: MIT
//
// 22_value_array: a Value and an Array shared by four processes, each update under the lock.
//
// Mirrors the Python:
//     with counter.get_lock():
//         counter.value += 1
//
// `counter.value += 1` is a read and a write: without the lock, updates of the four
// processes would be lost. `squares[:]` is squares.to_list().
#include <pyconc.hpp>  // pyconc: multiprocessing::Process, Value, Array; print

#include <mutex>   // std::lock_guard
#include <tuple>   // std::tuple
#include <vector>  // std::vector

using namespace pyconc;
using multiprocessing::Array;
using multiprocessing::Process;
using multiprocessing::Value;

void add(Value<int> counter, Array<int> squares, int i) {
  for (int k = 0; k < 1000; ++k) {
    std::lock_guard with(counter.get_lock());
    counter.value(counter.value() + 1);
  }
  std::lock_guard with(squares.get_lock());
  squares[i] = i * i;
}

int main() {
  multiprocessing::freeze_support();
  Value<int> counter(0);
  Array<int> squares(4);
  std::vector<Process> workers;
  for (int i = 0; i < 4; ++i)
    workers.emplace_back(add, std::tuple{counter, squares, i});
  for (auto& w : workers)
    w.start();
  for (auto& w : workers)
    w.join();
  print(counter.value());
  print(squares.to_list());
}
