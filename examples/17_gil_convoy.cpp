// SPDX-License-Identifier: MIT
//
// 17_gil_convoy: the convoy effect (David Beazley, bpo-7946): a thread that does many short
// blocking operations (200 sleeps of 100 microseconds) next to a CPU-bound thread. With the
// GIL on, each time a sleep ends the spinning thread holds the GIL, and the sleeper must wait
// a whole switch interval before it can ask for it: every sleep costs about 5 ms instead of
// 0.1 ms, as in CPython. A shorter switch interval shortens the wait; the old GIL (CPython
// <= 3.1) has no such wait, and with the GIL off nothing waits at all.
//
// Mirrors the Python:
//     def spin():
//         while running:
//             pass
//     for _ in range(SLEEPS):
//         time.sleep(0.0001)
//     sys.setswitchinterval(0.001)
//
// The spinning loop calls gil::checkpoint() where Python's loop checks for a GIL hand-off.
//
// Set PYCONC_EXAMPLE_TIMINGS=1 to also print the measured times (they vary from run to run,
// so by default only the lines that never change are printed), and the same run with the
// old GIL and with the GIL off.
#include <pyconc.hpp>  // pyconc: gil; sys::setswitchinterval; threading::Thread; time; print

#include <atomic>       // std::atomic
#include <cmath>        // std::round
#include <cstdlib>      // std::getenv
#include <string_view>  // std::string_view

using namespace pyconc;

const int SLEEPS = 200;
std::atomic<bool> running{true};

void spin() {
  while (running) {
    gil::checkpoint();
  }
}

double sleeps() {
  const double start = time::perf_counter();
  for (int i = 0; i < SLEEPS; ++i) {
    time::sleep(0.0001);
  }
  return (time::perf_counter() - start) / SLEEPS;
}

double next_to_spinner() {
  running = true;
  threading::Thread t(spin);
  t.start();
  const double per_sleep = sleeps();
  running = false;
  t.join();
  return per_sleep;
}

double ms(double seconds) {
  return std::round(seconds * 1000 * 100) / 100;
}

int main() {
  const char* timings = std::getenv("PYCONC_EXAMPLE_TIMINGS");
  const bool show_timings = timings != nullptr && std::string_view(timings) == "1";
  gil::enable();  // Python always has it

  const double alone = sleeps();
  print(SLEEPS, "sleeps of 100 us alone: done");

  const double spinning = next_to_spinner();
  print(SLEEPS, "sleeps next to a spinning thread: done");

  sys::setswitchinterval(0.001);
  const double short_interval = next_to_spinner();
  print(SLEEPS, "sleeps next to a spinning thread, switch interval 1 ms: done");
  gil::disable();

  if (show_timings) {
    print("alone:", ms(alone), "ms per sleep");
    print("next to a spinning thread:", ms(spinning), "ms per sleep");
    print("switch interval 1 ms:", ms(short_interval), "ms per sleep");
    sys::setswitchinterval(0.005);
    gil::enable({.policy = gil::Policy::old_gil});
    const double old_gil = next_to_spinner();
    gil::disable();
    print("old GIL (CPython <= 3.1), next to a spinning thread:", ms(old_gil), "ms per sleep");
    print("GIL off, next to a spinning thread:", ms(next_to_spinner()), "ms per sleep");
  }
}
