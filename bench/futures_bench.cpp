// pyconc::concurrent::futures::ThreadPoolExecutor against raw threads, std::async and
// the thread pools of oneTBB and Boost.Asio.
//
// Every benchmark is named  BM_Tasks/<implementation>/task_ns:<work>  so that
// bench/compare.py can pair each pyconc result with its baselines and with the same
// workload in CPython (bench/python/futures_bench.py).
//
//   BM_Tasks   submit a batch of tasks, then wait until every one has run. Each task
//              does `task_ns` nanoseconds of CPU work: 0 (an empty task: the cost of
//              the machinery), 1000 and 100000. The work is a calibrated loop of
//              dependent multiplications, never a sleep.
//
// Implementations, all with the same parallelism, os::cpu_count():
//
//   pyconc            ThreadPoolExecutor(cpu_count): submit() every task, then
//                     result() on every Future
//   pyconc_thread     one threading::Thread per task: start every one, then join all
//   std_thread        one std::thread per task: create every one, then join all
//   std_async         std::async(std::launch::async, ...) per task, then get() every
//                     std::future
//   tbb_task_group    tbb::task_group::run per task, then wait(), inside a
//                     tbb::task_arena(cpu_count); the submitting thread is one of the
//                     cpu_count and runs tasks itself in wait()  [when oneTBB is installed]
//   tbb_arena_enqueue tbb::task_arena(cpu_count, 0)::enqueue per task: only the arena's
//                     workers run tasks; then wait on a std::latch
//                                                                [when oneTBB is installed]
//   asio_thread_pool  boost::asio::post per task onto a boost::asio::thread_pool(cpu_count),
//                     then wait on a std::latch the tasks count down (the pool's own
//                     wait() joins its threads for good)         [when Boost is installed]
//
// The pools are created, their threads started and one batch run, before the clock
// starts. One benchmark iteration is one task, and the reported time is wall-clock nanoseconds
// per task (UseRealTime): the batch's wall time divided by its tasks, so with
// cpu_count workers a task of T ns costs T / cpu_count at best. The CPU column is
// the CPU time of the whole process per task (MeasureProcessCPUTime); the counters vcsw and
// ivcsw the process's voluntary and involuntary context switches per task (getrusage).
//
// Quick smoke run:  ./futures_bench --benchmark_min_time=0.01

#include <pyconc/concurrent/futures.hpp>
#include <pyconc/os.hpp>
#include <pyconc/threading.hpp>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <future>
#include <latch>
#include <string>
#include <thread>
#include <vector>

#include <sys/resource.h>  // getrusage: context switches per task

#if defined(PYCONC_BENCH_HAVE_TBB)
#include <tbb/global_control.h>
#include <tbb/task_arena.h>
#include <tbb/task_group.h>
#endif

#if defined(PYCONC_BENCH_HAVE_BOOST_ASIO)
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#endif

namespace {

namespace th = pyconc::threading;

// ---------------------------------------------------------------- the work

// Loop iterations per microsecond of spin(); set by calibrate() before any benchmark.
double g_spins_per_us = 1000.0;

// `n` dependent multiply-adds: a fixed amount of CPU work the compiler cannot remove.
std::uint64_t spin(std::uint64_t n) {
  std::uint64_t x = n;
  for (std::uint64_t i = 0; i < n; ++i) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    benchmark::DoNotOptimize(x);
  }
  return x;
}

// The fastest of several timed runs, so that a busy machine slows the work down less.
void calibrate() {
  constexpr std::uint64_t n = 1 << 21;
  double best_us = 1e300;
  for (int run = 0; run < 7; ++run) {
    const auto t0 = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(spin(n));
    const auto t1 = std::chrono::steady_clock::now();
    best_us = std::min(best_us, std::chrono::duration<double, std::micro>(t1 - t0).count());
  }
  g_spins_per_us = static_cast<double>(n) / best_us;
}

// A task: `spins` iterations of spin(); none for an empty task.
struct Work {
  std::uint64_t spins;
  void operator()() const {
    if (spins != 0)
      benchmark::DoNotOptimize(spin(spins));
  }
};

Work work_for(const benchmark::State& state) {
  const double ns = static_cast<double>(state.range(0));
  return Work{static_cast<std::uint64_t>(ns / 1000.0 * g_spins_per_us + 0.5)};
}

// Tasks per batch: enough that a batch's fixed costs (the final wait, waking idle
// workers) stay small, few enough that thread-per-task stays sane.
benchmark::IterationCount batch_for(const benchmark::State& state) {
  return state.range(0) >= 100000 ? 64 : 1024;
}

int workers() {
  return pyconc::os::cpu_count();
}

// Runs `run_batch(work, batch)` once untimed (so threads, arenas and allocator caches are
// warm), then once per timed batch.
// Counts the process's context switches per task, voluntary (a thread slept: a futex wait)
// and involuntary (preempted), in the counters vcsw and ivcsw: they tell a round in which
// the workers slept and were woken for almost every task from one in which they did not.
template <class RunBatch>
void time_batches(benchmark::State& state, RunBatch run_batch) {
  const Work work = work_for(state);
  const auto batch = batch_for(state);
  run_batch(work, batch);
  rusage before{};
  ::getrusage(RUSAGE_SELF, &before);
  while (state.KeepRunningBatch(batch))
    run_batch(work, batch);
  rusage after{};
  ::getrusage(RUSAGE_SELF, &after);
  const double tasks = static_cast<double>(state.iterations());
  state.counters["vcsw"] = static_cast<double>(after.ru_nvcsw - before.ru_nvcsw) / tasks;
  state.counters["ivcsw"] = static_cast<double>(after.ru_nivcsw - before.ru_nivcsw) / tasks;
}

// ---------------------------------------------------------------- pool vs threads

void BM_Tasks_pyconc(benchmark::State& state) {
  namespace cf = pyconc::concurrent::futures;
  cf::ThreadPoolExecutor pool(workers());
  {
    // Workers start lazily, one per submit that finds no idle worker; start them all
    // now by keeping each busy until every one is running.
    std::latch all_running(workers());
    std::vector<cf::Future<void>> warm;
    for (int i = 0; i < workers(); ++i)
      warm.push_back(pool.submit([&] { all_running.arrive_and_wait(); }));
    for (auto& f : warm)
      f.result();
  }
  std::vector<cf::Future<void>> futures;
  time_batches(state, [&](const Work& work, benchmark::IterationCount batch) {
    futures.clear();
    for (benchmark::IterationCount i = 0; i < batch; ++i)
      futures.push_back(pool.submit(work));
    for (auto& f : futures)
      f.result();
  });
}

void BM_Tasks_pyconc_thread(benchmark::State& state) {
  std::vector<th::Thread> threads;
  time_batches(state, [&](const Work& work, benchmark::IterationCount batch) {
    threads.clear();
    for (benchmark::IterationCount i = 0; i < batch; ++i) {
      threads.emplace_back(work);
      threads.back().start();
    }
    for (auto& t : threads)
      t.join();
  });
}

void BM_Tasks_std_thread(benchmark::State& state) {
  std::vector<std::thread> threads;
  time_batches(state, [&](const Work& work, benchmark::IterationCount batch) {
    threads.clear();
    for (benchmark::IterationCount i = 0; i < batch; ++i)
      threads.emplace_back(work);
    for (auto& t : threads)
      t.join();
  });
}

void BM_Tasks_std_async(benchmark::State& state) {
  std::vector<std::future<void>> futures;
  time_batches(state, [&](const Work& work, benchmark::IterationCount batch) {
    futures.clear();
    for (benchmark::IterationCount i = 0; i < batch; ++i) {
      futures.push_back(std::async(std::launch::async, work));
    }
    for (auto& f : futures)
      f.get();
  });
}

#if defined(PYCONC_BENCH_HAVE_TBB)
void BM_Tasks_tbb_task_group(benchmark::State& state) {
  tbb::task_arena arena(workers());
  arena.initialize();
  time_batches(state, [&](const Work& work, benchmark::IterationCount batch) {
    arena.execute([&] {
      tbb::task_group g;
      for (benchmark::IterationCount i = 0; i < batch; ++i)
        g.run(work);
      g.wait();
    });
  });
}

// TBB used the way a thread pool is: the tasks run on the arena's worker threads only
// (no slot reserved for the submitting thread), which waits on a std::latch.
void BM_Tasks_tbb_arena_enqueue(benchmark::State& state) {
  // TBB starts cpu_count - 1 worker threads by default, counting on the submitting
  // thread to be the last one; here the workers alone must be cpu_count.
  tbb::global_control threads(tbb::global_control::max_allowed_parallelism, static_cast<std::size_t>(workers()) + 1);
  tbb::task_arena arena(workers(), 0);
  arena.initialize();
  time_batches(state, [&](const Work& work, benchmark::IterationCount batch) {
    std::latch done(static_cast<std::ptrdiff_t>(batch));
    for (benchmark::IterationCount i = 0; i < batch; ++i) {
      arena.enqueue([&done, work] {
        work();
        done.count_down();
      });
    }
    done.wait();
  });
}
#endif

#if defined(PYCONC_BENCH_HAVE_BOOST_ASIO)
void BM_Tasks_asio_thread_pool(benchmark::State& state) {
  boost::asio::thread_pool pool(static_cast<std::size_t>(workers()));
  time_batches(state, [&](const Work& work, benchmark::IterationCount batch) {
    std::latch done(static_cast<std::ptrdiff_t>(batch));
    for (benchmark::IterationCount i = 0; i < batch; ++i) {
      boost::asio::post(pool, [&done, work] {
        work();
        done.count_down();
      });
    }
    done.wait();
  });
  pool.join();
}
#endif

void add(const char* name, void (*fn)(benchmark::State&)) {
  benchmark::RegisterBenchmark(name, fn)
      ->ArgName("task_ns")
      ->Arg(0)
      ->Arg(1000)
      ->Arg(100000)
      ->UseRealTime()
      ->MeasureProcessCPUTime();
}

}  // namespace

// BENCHMARK_MAIN(), plus two things. glibc (and libstdc++'s gthread layer) run
// std::mutex on a cheaper path until the process creates its first thread: start
// and join one thread before anything is timed so every baseline is measured the
// way it behaves in a real multi-threaded program. And the CPU work of a task is
// calibrated once, here.
int main(int argc, char** argv) {
  std::thread([] {}).join();
  calibrate();

  add("BM_Tasks/pyconc", BM_Tasks_pyconc);
  add("BM_Tasks/pyconc_thread", BM_Tasks_pyconc_thread);
  add("BM_Tasks/std_thread", BM_Tasks_std_thread);
  add("BM_Tasks/std_async", BM_Tasks_std_async);
#if defined(PYCONC_BENCH_HAVE_TBB)
  add("BM_Tasks/tbb_task_group", BM_Tasks_tbb_task_group);
  add("BM_Tasks/tbb_arena_enqueue", BM_Tasks_tbb_arena_enqueue);
#endif
#if defined(PYCONC_BENCH_HAVE_BOOST_ASIO)
  add("BM_Tasks/asio_thread_pool", BM_Tasks_asio_thread_pool);
#endif

  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv))
    return 1;
  benchmark::AddCustomContext("spin_iterations_per_us", std::to_string(g_spins_per_us));
  benchmark::AddCustomContext("workers", std::to_string(workers()));
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
