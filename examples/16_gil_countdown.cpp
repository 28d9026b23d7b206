// SPDX-License-Identifier: MIT
//
// 16_gil_countdown: David Beazley's GIL experiment ("Understanding the Python GIL", PyCon
// 2010): a CPU-bound countdown run twice, one after the other, then in two threads at once.
// With the GIL on, only one thread runs at a time, so two threads finish no sooner than one
// thread doing both counts, exactly as in CPython. With the GIL off (pyconc's default), the
// two threads run on two cores and take about half the time.
//
// Mirrors the Python:
//     def count(n):
//         while n > 0:
//             n -= 1
//     t1 = threading.Thread(target=count, args=(N,))
//
// Python runs bytecode and checks for a GIL hand-off between instructions; here the loop
// calls gil::checkpoint() where Python's loop would check. C++ counts 10 to 30 times faster
// than CPython, so it counts 5 times further to take a comparable time.
//
// Set PYCONC_EXAMPLE_TIMINGS=1 to also print the measured times (they vary from run to run,
// so by default only the lines that never change are printed), and the same runs with the
// GIL off and with the old (CPython <= 3.1) GIL.
#include <pyconc.hpp>  // pyconc: gil; sys::getswitchinterval; threading::Thread; time::perf_counter; print

#include <cmath>        // std::round, std::pow
#include <cstdlib>      // std::getenv
#include <string_view>  // std::string_view
#include <tuple>        // std::tuple

using namespace pyconc;

const long N = 50'000'000;

void count(long n) {
  while (n > 0) {
    gil::checkpoint();  // where CPython's eval loop may hand the GIL over
    n -= 1;
  }
}

void run_sequential() {
  count(N);
  count(N);
}

void run_threaded() {
  threading::Thread t1(count, std::tuple{N});
  threading::Thread t2(count, std::tuple{N});
  t1.start();
  t2.start();
  t1.join();
  t2.join();
}

// Times run_sequential() and run_threaded(); returns {sequential, threaded} seconds.
std::tuple<double, double> measure() {
  double start = time::perf_counter();
  run_sequential();
  const double sequential = time::perf_counter() - start;
  start = time::perf_counter();
  run_threaded();
  const double threaded = time::perf_counter() - start;
  return {sequential, threaded};
}

double round_to(double x, int digits) {
  const double scale = std::pow(10.0, digits);
  return std::round(x * scale) / scale;
}

void print_timings(const char* label, double sequential, double threaded) {
  print(label);
  print("sequential:", round_to(sequential, 3), "s");
  print("2 threads:", round_to(threaded, 3), "s");
  print("2 threads / sequential:", round_to(threaded / sequential, 2));
}

int main() {
  const char* timings = std::getenv("PYCONC_EXAMPLE_TIMINGS");
  const bool show_timings = timings != nullptr && std::string_view(timings) == "1";
  gil::enable();  // Python always has it
  print("switch interval:", sys::getswitchinterval());

  double start = time::perf_counter();
  run_sequential();
  const double sequential = time::perf_counter() - start;
  print("sequential: done");

  start = time::perf_counter();
  run_threaded();
  const double threaded = time::perf_counter() - start;
  print("2 threads: done");
  gil::disable();

  if (show_timings) {
    print_timings("GIL on (CPython 3.2+):", sequential, threaded);
    const auto [off_sequential, off_threaded] = measure();
    print_timings("GIL off:", off_sequential, off_threaded);
    gil::enable({.policy = gil::Policy::old_gil});
    const auto [old_sequential, old_threaded] = measure();
    gil::disable();
    print_timings("old GIL (CPython <= 3.1):", old_sequential, old_threaded);
  }
}
