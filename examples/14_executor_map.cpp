// SPDX-License-Identifier: MIT
//
// 14_executor_map: executor.map() submits every call at once and yields the results in input
// order, however the calls finish; several ranges are zipped; an exception or a timeout is
// raised when the iteration reaches it.
//
// Mirrors the Python:
//     with concurrent.futures.ThreadPoolExecutor(max_workers=4) as executor:
//         for result in executor.map(double_it, range(6)):
//             print('double:', result)
//         print('add:', list(executor.map(add, [1, 2, 3], [10, 20, 30, 40])))
//         executor.map(nap, [0.3], timeout=0.05)
//
// The call for input 0 waits on an Event until the five others have finished, so it surely
// finishes last, and yet its result comes first. Python's keyword arguments of map() are a
// MapOptions aggregate, given first: map(MapOptions{.timeout = 0.05}, nap, ...). C++20 has no
// list() of a range, so the results are collected with a loop.
#include <pyconc.hpp>  // pyconc: concurrent::futures::ThreadPoolExecutor, MapOptions; threading::Lock, Event; print

#include <cstddef>  // std::size_t
#include <mutex>    // std::lock_guard
#include <numeric>  // std::iota
#include <string>   // std::to_string
#include <vector>   // std::vector

using namespace pyconc;

// Python's range(n), as a list. (std::views::iota(0, n) is the lazy equivalent, but clang 14
// cannot compile libstdc++ 12's views.)
std::vector<int> range(int n) {
  std::vector<int> result(static_cast<std::size_t>(n));
  std::iota(result.begin(), result.end(), 0);
  return result;
}

std::vector<int> finished;  // inputs in the order their calls finished
threading::Lock finished_lock;
threading::Event others_done;

int double_it(int x) {
  if (x == 0) {
    others_done.wait();  // the first input waits until the five others have finished
  }
  {
    std::lock_guard with(finished_lock);
    finished.push_back(x);
    if (finished.size() == 5) {
      others_done.set();
    }
  }
  return x * 2;
}

int add(int a, int b) {
  return a + b;
}

int check(int x) {
  if (x < 0) {
    throw ValueError("negative input: " + std::to_string(x));
  }
  return x;
}

double nap(double seconds) {
  time::sleep(seconds);
  return seconds;
}

int main() {
  {
    concurrent::futures::ThreadPoolExecutor executor({.max_workers = 4});
    // map() submits every call at once and yields the results in input order
    for (int result : executor.map(double_it, range(6))) {
      print("double:", result);
    }
    print("input 0 finished last:", finished.back() == 0);

    // several iterables are taken together, as zip() does: the shortest ends it
    std::vector<int> added;  // list(executor.map(...))
    for (int result : executor.map(add, std::vector{1, 2, 3}, std::vector{10, 20, 30, 40})) {
      added.push_back(result);
    }
    print("add:", added);

    // a call's exception is raised when its result is reached
    try {
      for (int result : executor.map(check, std::vector{1, 2, -3, 4})) {
        print("checked", result);
      }
    } catch (const ValueError& exc) {
      print("map raised ValueError:", exc.what());
    }

    // timeout= limits the wait for the results (counted from the map() call)
    try {
      for (double result : executor.map(concurrent::futures::MapOptions{.timeout = 0.05}, nap, std::vector{0.3})) {
        print("slept", result);
      }
    } catch (const TimeoutError&) {
      print("map raised TimeoutError after 0.05 s");
    }
  }
  print("with block left: the pool has shut down");
}
