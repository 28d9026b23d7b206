// SPDX-License-Identifier: MIT
//
// 26_pool_vs_threadpool: Pool against ThreadPool on a CPU-bound function, GIL on: two counts
// in a pool of two. A Pool's workers are processes, each with its own GIL, so the two counts
// run at once on two cores; a ThreadPool's workers are threads of one process, which share
// its GIL, so they count one at a time, as in CPython. Each pool is timed on the two counts
// as two tasks, and on one task counting twice as far (the best of seven rounds of each,
// interleaved).
//
// Mirrors the Python:
//     with multiprocessing.Pool(2) as pool:
//         pool.map(count, [N, N])
//     with ThreadPool(2) as pool:
//         pool.map(count, [N, N])
//
// The loop calls gil::checkpoint() where CPython's eval loop may hand the GIL over. C++
// counts faster than CPython, so it counts further to take a comparable time.
//
// Set PYCONC_EXAMPLE_TIMINGS=1 to also print the measured speedups (they vary from run to run).
#include <pyconc.hpp>  // pyconc: gil, multiprocessing::Pool, multiprocessing::pool::ThreadPool, time, print

#include <algorithm>    // std::min
#include <cmath>        // std::round
#include <cstdlib>      // std::getenv
#include <string_view>  // std::string_view
#include <vector>       // std::vector

using namespace pyconc;

const long N = 8'000'000;

long count(long n) {
  while (n > 0) {
    gil::checkpoint();  // where CPython's eval loop may hand the GIL over
    n -= 1;
  }
  return n;
}

template <class Job>
double timed(Job job) {
  const double start = time::perf_counter();
  job();
  return time::perf_counter() - start;
}

// How much faster two counts run as two tasks than as one task counting twice as far.
template <class Pool>
double speedup(Pool& pool) {
  double one_task = 1e300;
  double two_tasks = 1e300;
  for (int round = 0; round < 7; ++round) {  // interleaved, so that a change in the machine's speed hits both
    one_task = std::min(one_task, timed([&] { pool.map(count, std::vector{2 * N}); }));
    two_tasks = std::min(two_tasks, timed([&] { pool.map(count, std::vector{N, N}); }));
  }
  return one_task / two_tasks;
}

int main() {
  multiprocessing::freeze_support();
  gil::enable();  // Python always has it
  double processes = 0;
  {
    multiprocessing::Pool pool(2);             // with multiprocessing.Pool(2) as pool:
    pool.map(count, std::vector<long>{1, 1});  // the workers are up
    processes = speedup(pool);
  }
  double threads = 0;
  {
    multiprocessing::pool::ThreadPool pool(2);  // with ThreadPool(2) as pool:
    threads = speedup(pool);
  }
  print("Pool(2): the processes ran in parallel:", processes > 1.2);
  print("ThreadPool(2): the threads ran in parallel:", threads > 1.2);
  const char* timings = std::getenv("PYCONC_EXAMPLE_TIMINGS");
  if (timings != nullptr && std::string_view(timings) == "1") {
    print("speedup of two tasks over one: processes", std::round(processes * 100) / 100, "threads",
          std::round(threads * 100) / 100);
  }
}
