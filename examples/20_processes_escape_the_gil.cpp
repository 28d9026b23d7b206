// SPDX-License-Identifier: MIT
//
// 20_processes_escape_the_gil: a CPU-bound job on two threads and on two processes, with the
// GIL on. The GIL lets one thread of a process run at a time, so two counting threads take
// as long as one thread counting twice; each process has its own GIL (a forked child has its
// own copy), so two processes count at once on two cores, as in CPython.
//
// Mirrors the Python:
//     workers = [kind(target=count, args=(N,)) for _ in range(2)]
// with kind = threading.Thread, then multiprocessing.Process.
//
// The loop calls gil::checkpoint() where CPython's eval loop may hand the GIL over. C++
// counts faster than CPython, so it counts 5 times further to take a comparable time.
//
// Set PYCONC_EXAMPLE_TIMINGS=1 to also print the measured times (they vary from run to run
// and with the number of free cores, so by default only the lines that never change are
// printed).
#include <pyconc.hpp>  // pyconc: gil; multiprocessing::Process; threading::Thread; time::perf_counter; print

#include <cmath>        // std::round, std::pow
#include <cstdlib>      // std::getenv
#include <string_view>  // std::string_view
#include <tuple>        // std::tuple
#include <vector>       // std::vector

using namespace pyconc;

const long N = 50'000'000;

void count(long n) {
  while (n > 0) {
    gil::checkpoint();  // where CPython's eval loop may hand the GIL over
    n -= 1;
  }
}

template <class Kind>
double run() {
  std::vector<Kind> workers;
  for (int i = 0; i < 2; ++i) {
    workers.push_back(Kind(count, std::tuple{N}));
  }
  const double start = time::perf_counter();
  for (auto& w : workers) {
    w.start();
  }
  for (auto& w : workers) {
    w.join();
  }
  return time::perf_counter() - start;
}

double round_to(double x, int digits) {
  const double scale = std::pow(10.0, digits);
  return std::round(x * scale) / scale;
}

int main() {
  multiprocessing::freeze_support();
  gil::enable();  // Python always has it
  const char* timings = std::getenv("PYCONC_EXAMPLE_TIMINGS");
  const bool show_timings = timings != nullptr && std::string_view(timings) == "1";
  double one = time::perf_counter();
  count(N);
  one = time::perf_counter() - one;
  const double threads = run<threading::Thread>();
  print("2 threads: done");
  const double processes = run<multiprocessing::Process>();
  print("2 processes: done");
  if (show_timings) {
    print("one count:", round_to(one, 3), "s");
    print("2 threads:", round_to(threads, 3), "s", round_to(threads / one, 2), "x one count");
    print("2 processes:", round_to(processes, 3), "s", round_to(processes / one, 2), "x one count");
  }
}
