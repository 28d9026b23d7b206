// pyconc::gil against CPython's GIL: David Beazley's experiments, and what the GIL costs when off.
//
//   BM_Countdown/gil:G/workers:W   count(N) twice: one thread after the other (W = 1) or in two
//                                  threads at once (W = 2); G = 0 GIL off, 1 new GIL (CPython
//                                  3.2+), 2 old GIL (CPython <= 3.1). One iteration = both counts.
//   BM_Convoy/gil:G/interval_us:I/spinner:S   200 sleeps of 100 us, alone (S = 0) or next to a
//                                  thread spinning through checkpoints (S = 1), with switch
//                                  interval I. One iteration = the 200 sleeps.
//   BM_Loop/plain, BM_Loop/checkpoint, BM_Loop/checkpoint_gil_on   a countdown loop of 2**20
//                                  iterations without and with gil::checkpoint() (GIL off, and
//                                  on with no other thread). One iteration = the whole loop.
//
//   --timeline=FILE (instead of benchmarks): records a GIL timeline of two CPU-bound threads and a
//                                  thread doing short sleeps (50 ms, new GIL) and writes it as Chrome
//                                  trace JSON; scripts/gil_timeline.py draws it.
//
// bench/gil.py runs this program and bench/python/gil_bench.py (the same experiments in
// CPython) and prints the fidelity table. Quick smoke run: ./gil_bench --benchmark_min_time=0.01

#include <pyconc/gil.hpp>
#include <pyconc/threading.hpp>
#include <pyconc/time.hpp>

#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <string>

namespace {

namespace gil = pyconc::gil;
namespace th = pyconc::threading;

constexpr long kCount = 100'000'000;  // the countdown's N: about as long as CPython's count(5000000)
constexpr int kSleeps = 200;
constexpr long kLoop = 1L << 20;

// The GIL as benchmark argument `mode` says, for one benchmark; off again afterwards.
class GilMode {
 public:
  explicit GilMode(std::int64_t mode, double interval = 0.005) {
    pyconc::sys::setswitchinterval(interval);
    if (mode == 1)
      gil::enable();
    if (mode == 2)
      gil::enable({.policy = gil::Policy::old_gil});
  }
  GilMode(const GilMode&) = delete;
  GilMode& operator=(const GilMode&) = delete;
  ~GilMode() {
    gil::disable();
    pyconc::sys::setswitchinterval(0.005);
  }
};

// Beazley's `def count(n): while n > 0: n -= 1`, with a checkpoint where Python checks.
void count(long n) {
  while (n > 0) {
    gil::checkpoint();
    n -= 1;
    benchmark::DoNotOptimize(n);
  }
}

void BM_Countdown(benchmark::State& state) {
  const GilMode mode(state.range(0));
  const bool threaded = state.range(1) == 2;
  for (auto _ : state) {
    if (threaded) {
      th::Thread t1([] { count(kCount); });
      th::Thread t2([] { count(kCount); });
      t1.start();
      t2.start();
      t1.join();
      t2.join();
    } else {
      count(kCount);
      count(kCount);
    }
  }
}
BENCHMARK(BM_Countdown)
    ->ArgNames({"gil", "workers"})
    ->ArgsProduct({{0, 1, 2}, {1, 2}})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

void BM_Convoy(benchmark::State& state) {
  const GilMode mode(state.range(0), static_cast<double>(state.range(1)) * 1e-6);
  std::atomic<bool> running{true};
  th::Thread spinner([&] {
    while (running.load(std::memory_order_relaxed))
      gil::checkpoint();
  });
  if (state.range(2) != 0)
    spinner.start();
  for (auto _ : state) {
    for (int i = 0; i < kSleeps; ++i)
      pyconc::time::sleep(0.0001);
  }
  running = false;
  if (state.range(2) != 0)
    spinner.join();
  state.counters["sleeps"] = kSleeps;
}
BENCHMARK(BM_Convoy)
    ->ArgNames({"gil", "interval_us", "spinner"})
    ->Args({0, 5000, 0})
    ->Args({1, 5000, 0})
    ->Args({0, 5000, 1})
    ->Args({1, 5000, 1})
    ->Args({1, 1000, 1})
    ->Args({2, 5000, 1})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

void BM_Loop_plain(benchmark::State& state) {
  for (auto _ : state) {
    long n = kLoop;
    while (n > 0) {
      n -= 1;
      benchmark::DoNotOptimize(n);
    }
  }
  state.counters["loop"] = kLoop;
}
BENCHMARK(BM_Loop_plain)->Name("BM_Loop/plain")->Unit(benchmark::kMicrosecond);

void BM_Loop_checkpoint(benchmark::State& state) {
  for (auto _ : state)
    count(kLoop);
  state.counters["loop"] = kLoop;
}
BENCHMARK(BM_Loop_checkpoint)->Name("BM_Loop/checkpoint")->Unit(benchmark::kMicrosecond);

void BM_Loop_checkpoint_gil_on(benchmark::State& state) {
  const GilMode mode(1);
  for (auto _ : state)
    count(kLoop);
  state.counters["loop"] = kLoop;
}
BENCHMARK(BM_Loop_checkpoint_gil_on)->Name("BM_Loop/checkpoint_gil_on")->Unit(benchmark::kMicrosecond);

// Two CPU-bound threads and one that sleeps 1 ms at a time, for 50 ms, with a timeline.
void record_timeline(const std::string& path) {
  gil::enable();
  gil::timeline::start();
  std::atomic<bool> running{true};
  auto cpu = [&] {
    while (running.load(std::memory_order_relaxed))
      gil::checkpoint();
  };
  th::Thread cpu1(cpu, {.name = "CPU-1"});
  th::Thread cpu2(cpu, {.name = "CPU-2"});
  th::Thread io(
      [] {
        for (int i = 0; i < 8; ++i)
          pyconc::time::sleep(0.001);
      },
      {.name = "IO"});
  cpu1.start();
  cpu2.start();
  io.start();
  pyconc::time::sleep(0.05);
  running = false;
  cpu1.join();
  cpu2.join();
  io.join();
  gil::timeline::stop();
  gil::disable();
  gil::timeline::write_chrome_trace(path);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && std::strncmp(argv[1], "--timeline=", 11) == 0) {
    record_timeline(argv[1] + 11);
    return 0;
  }
  // glibc runs std::mutex on a cheaper path until the first thread exists, as in the other programs.
  th::Thread warm([] {});
  warm.start();
  warm.join();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv))
    return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
