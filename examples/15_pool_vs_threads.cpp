// SPDX-License-Identifier: MIT
//
// 15_pool_vs_threads: the same 1000 small tasks run through a ThreadPoolExecutor of 8
// workers and then on one new Thread per task; both give the same results, and the pool
// saves starting and joining 1000 threads.
//
// Mirrors the Python:
//     with concurrent.futures.ThreadPoolExecutor(max_workers=8) as executor:
//         return list(executor.map(task, range(N)))
//     threads = [threading.Thread(target=run, args=(i,)) for i in range(N)]
//     for t in threads:
//         t.start()
//
// Set PYCONC_EXAMPLE_TIMINGS=1 to also print the measured times (they vary from run to run,
// so by default only the lines that never change are printed). Python's os.environ.get() is
// std::getenv here, and round(x, 4) is std::round(x * 1e4) / 1e4.
#include <pyconc.hpp>  // pyconc: concurrent::futures::ThreadPoolExecutor; threading::Thread; time::perf_counter; print

#include <cmath>        // std::round
#include <cstddef>      // std::size_t
#include <cstdlib>      // std::getenv
#include <numeric>      // std::accumulate, std::iota
#include <string_view>  // std::string_view
#include <tuple>        // std::tuple
#include <vector>       // std::vector

using namespace pyconc;

// Python's range(n), as a list. (std::views::iota(0, n) is the lazy equivalent, but clang 14
// cannot compile libstdc++ 12's views.)
std::vector<int> range(int n) {
  std::vector<int> result(static_cast<std::size_t>(n));
  std::iota(result.begin(), result.end(), 0);
  return result;
}

const int N = 1000;  // small tasks

int task(int i) {
  return i * i;  // a small piece of work
}

std::vector<int> run_with_pool() {
  concurrent::futures::ThreadPoolExecutor executor({.max_workers = 8});
  std::vector<int> results;  // list(executor.map(task, range(N)))
  for (int result : executor.map(task, range(N))) {
    results.push_back(result);
  }
  return results;
}

std::vector<int> run_with_threads() {
  std::vector<int> results(N);

  auto run = [&results](int i) { results[i] = task(i); };

  std::vector<threading::Thread> threads;
  for (int i = 0; i < N; ++i) {
    threads.push_back(threading::Thread(run, std::tuple{i}));
  }
  for (auto& t : threads) {
    t.start();
  }
  for (auto& t : threads) {
    t.join();
  }
  return results;
}

int main() {
  const char* timings = std::getenv("PYCONC_EXAMPLE_TIMINGS");
  const bool show_timings = timings != nullptr && std::string_view(timings) == "1";

  double start = time::perf_counter();
  std::vector<int> pool_results = run_with_pool();  // 8 threads share the 1000 tasks
  double pool_time = time::perf_counter() - start;

  start = time::perf_counter();
  std::vector<int> thread_results = run_with_threads();  // one new thread per task
  double thread_time = time::perf_counter() - start;

  print("tasks:", N);
  print("pool results:", pool_results.size(), "sum:", std::accumulate(pool_results.begin(), pool_results.end(), 0));
  print("thread results:", thread_results.size(),
        "sum:", std::accumulate(thread_results.begin(), thread_results.end(), 0));
  print("same results:", pool_results == thread_results);
  if (show_timings) {
    print("pool time:", std::round(pool_time * 1e4) / 1e4, "s");
    print("threads time:", std::round(thread_time * 1e4) / 1e4, "s");
    print("threads / pool:", std::round(thread_time / pool_time * 10) / 10);
  }
}
