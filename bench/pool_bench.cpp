// pyconc's process pools (multiprocessing::Pool, concurrent::futures::ProcessPoolExecutor)
// against raw processes, raw threads and the same workloads in CPython.
//
// Every benchmark is named  BM_<Workload>/<implementation>  so that bench/compare.py can
// pair each pyconc result with its baselines and with the same workload in CPython
// (bench/python/pool_bench.py). The pools are made once, before the timed loop, as a
// program makes its pool once; the raw baselines start their processes inside it.
//
//   BM_PoolMap100k       map of x*x over 100,000 ints, default chunks (ns per map)
//                        pyconc:        Pool(2).map (chunksize ceil(100,000 / 8))
//                        raw_processes: 2 forked processes, each squares its half and
//                                       writes it back through a pipe
//                        raw_threads:   2 std::threads, each squares its half
//   BM_PoolMap10kChunk1  map of x*x over 10,000 ints, chunksize=1 (ns per map)
//                        pyconc:        Pool(2).map(..., chunksize=1)
//                        pipe_pingpong: 2 long-lived forked workers, each int sent and its
//                                       square read back through pipes, one in flight per
//                                       worker: the cost of a message each way, no pool
//   BM_PpeSubmit10k      ProcessPoolExecutor(2): 10,000 submit(x*x), then result() of each
//                        pipe_pingpong: as above
//   BM_PpeMap10kChunk1   ProcessPoolExecutor(2).map over 10,000 ints, chunksize=1
//   BM_PpeMap10kChunk100 the same with chunksize=100
//   BM_CpuPool2x         two CPU-bound units (a counting loop, ~20 ms each) (ns per pair)
//                        pyconc:        Pool(2).map over the two units
//                        pool1:         Pool(1).map over the same two units
//                        raw2:          2 forked processes, one unit each
//                        raw1:          1 forked process doing both units
//                        Pool's speedup is pool1/pyconc, raw processes' raw1/raw2.
//
// One thread is started and joined before anything is timed.
//
// Quick smoke run:  ./pool_bench --benchmark_min_time=0.01

#include <pyconc/concurrent/futures.hpp>
#include <pyconc/multiprocessing.hpp>

#include <benchmark/benchmark.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <thread>
#include <vector>

namespace mp = pyconc::multiprocessing;
namespace futures = pyconc::concurrent::futures;

namespace {

constexpr int kBig = 100'000;
constexpr int kSmall = 10'000;
constexpr long kUnit = 40'000'000;  // about 20 ms of counting

long square(long x) {
  return x * x;
}

long count(long n) {
  volatile long left = n;  // volatile: the loop is the work, not optimised away
  while (left > 0)
    left = left - 1;
  return left;
}

std::vector<long> inputs(int n) {
  std::vector<long> xs(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i)
    xs[static_cast<std::size_t>(i)] = i;
  return xs;
}

bool read_all(int fd, void* data, std::size_t size) {
  auto* p = static_cast<char*>(data);
  while (size > 0) {
    const ssize_t n = ::read(fd, p, size);
    if (n <= 0)
      return false;
    p += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

bool write_all(int fd, const void* data, std::size_t size) {
  const auto* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd, p, size);
    if (n <= 0)
      return false;
    p += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

void BM_PoolMap100k_pyconc(benchmark::State& state) {
  mp::Pool pool(2);
  const auto xs = inputs(kBig);
  for (auto _ : state) {
    auto ys = pool.map(square, xs);
    benchmark::DoNotOptimize(ys.data());
  }
}

void BM_PoolMap100k_raw_processes(benchmark::State& state) {
  const auto xs = inputs(kBig);
  std::vector<long> ys(xs.size());
  const std::size_t half = xs.size() / 2;
  for (auto _ : state) {
    int fds[2][2];
    pid_t pids[2];
    for (int w = 0; w < 2; ++w) {
      if (::pipe(fds[w]) != 0)
        state.SkipWithError("pipe");
      pids[w] = ::fork();
      if (pids[w] == 0) {
        const std::size_t first = w == 0 ? 0 : half;
        const std::size_t last = w == 0 ? half : xs.size();
        std::vector<long> out(last - first);
        for (std::size_t i = first; i < last; ++i)
          out[i - first] = square(xs[i]);
        ::_exit(write_all(fds[w][1], out.data(), out.size() * sizeof(long)) ? 0 : 1);
      }
      ::close(fds[w][1]);
    }
    read_all(fds[0][0], ys.data(), half * sizeof(long));
    read_all(fds[1][0], ys.data() + half, (xs.size() - half) * sizeof(long));
    for (int w = 0; w < 2; ++w) {
      ::close(fds[w][0]);
      int status = 0;
      ::waitpid(pids[w], &status, 0);
    }
    benchmark::DoNotOptimize(ys.data());
  }
}

void BM_PoolMap100k_raw_threads(benchmark::State& state) {
  const auto xs = inputs(kBig);
  std::vector<long> ys(xs.size());
  const std::size_t half = xs.size() / 2;
  for (auto _ : state) {
    std::thread other([&] {
      for (std::size_t i = half; i < xs.size(); ++i)
        ys[i] = square(xs[i]);
    });
    for (std::size_t i = 0; i < half; ++i)
      ys[i] = square(xs[i]);
    other.join();
    benchmark::DoNotOptimize(ys.data());
  }
}

/** Two long-lived forked workers answering one long per message over pipes. */
class PingPongWorkers {
 public:
  PingPongWorkers() {
    for (int w = 0; w < 2; ++w) {
      int to[2];
      int from[2];
      [[maybe_unused]] const int a = ::pipe(to);
      [[maybe_unused]] const int b = ::pipe(from);
      pids_[w] = ::fork();
      if (pids_[w] == 0) {
        ::close(to[1]);
        ::close(from[0]);
        for (int other = 0; other < w; ++other) {  // else the first worker never sees its end of file
          ::close(to_[other]);
          ::close(from_[other]);
        }
        long x = 0;
        while (read_all(to[0], &x, sizeof x)) {
          const long y = square(x);
          if (!write_all(from[1], &y, sizeof y))
            break;
        }
        ::_exit(0);
      }
      ::close(to[0]);
      ::close(from[1]);
      to_[w] = to[1];
      from_[w] = from[0];
    }
  }
  PingPongWorkers(const PingPongWorkers&) = delete;
  PingPongWorkers& operator=(const PingPongWorkers&) = delete;
  ~PingPongWorkers() {
    for (int w = 0; w < 2; ++w) {
      ::close(to_[w]);
      ::close(from_[w]);
      int status = 0;
      ::waitpid(pids_[w], &status, 0);
    }
  }
  /** Squares xs, one message each way per item, each worker with one item in flight. */
  void map(const std::vector<long>& xs, std::vector<long>& ys) {
    for (std::size_t i = 0; i < xs.size(); i += 2) {
      const std::size_t n = std::min<std::size_t>(2, xs.size() - i);
      for (std::size_t w = 0; w < n; ++w)
        write_all(to_[w], &xs[i + w], sizeof(long));
      for (std::size_t w = 0; w < n; ++w)
        read_all(from_[w], &ys[i + w], sizeof(long));
    }
  }

 private:
  pid_t pids_[2] = {-1, -1};
  int to_[2] = {-1, -1};
  int from_[2] = {-1, -1};
};

void pingpong(benchmark::State& state) {
  PingPongWorkers workers;
  const auto xs = inputs(kSmall);
  std::vector<long> ys(xs.size());
  for (auto _ : state) {
    workers.map(xs, ys);
    benchmark::DoNotOptimize(ys.data());
  }
}

void BM_PoolMap10kChunk1_pyconc(benchmark::State& state) {
  mp::Pool pool(2);
  const auto xs = inputs(kSmall);
  for (auto _ : state) {
    auto ys = pool.map(square, xs, 1);
    benchmark::DoNotOptimize(ys.data());
  }
}

void BM_PpeSubmit10k_pyconc(benchmark::State& state) {
  futures::ProcessPoolExecutor executor(2);
  executor.submit(square, 1L).result();  // the workers are up
  std::vector<futures::Future<long>> fs;
  fs.reserve(kSmall);
  for (auto _ : state) {
    fs.clear();
    for (long i = 0; i < kSmall; ++i)
      fs.push_back(executor.submit(square, i));
    long sum = 0;
    for (auto& f : fs)
      sum += f.result();
    benchmark::DoNotOptimize(sum);
  }
}

void ppe_map(benchmark::State& state, int chunksize) {
  futures::ProcessPoolExecutor executor(2);
  executor.submit(square, 1L).result();  // the workers are up
  const auto xs = inputs(kSmall);
  for (auto _ : state) {
    long sum = 0;
    for (long y : executor.map({.chunksize = chunksize}, square, xs))
      sum += y;
    benchmark::DoNotOptimize(sum);
  }
}

void BM_CpuPool2x_pool(benchmark::State& state, int processes) {
  mp::Pool pool(processes);
  pool.map(count, std::vector<long>{1, 1});  // the workers are up
  for (auto _ : state) {
    auto r = pool.map(count, std::vector<long>{kUnit, kUnit});
    benchmark::DoNotOptimize(r.data());
  }
}

void BM_CpuPool2x_raw(benchmark::State& state, int processes) {
  for (auto _ : state) {
    std::vector<pid_t> pids;
    for (int p = 0; p < processes; ++p) {
      const pid_t pid = ::fork();
      if (pid == 0) {
        count(kUnit * (2 / processes));
        ::_exit(0);
      }
      pids.push_back(pid);
    }
    for (pid_t pid : pids) {
      int status = 0;
      ::waitpid(pid, &status, 0);
    }
  }
}

}  // namespace

// BENCHMARK_MAIN(), plus freeze_support() first and one thread started and joined before
// anything is timed.
int main(int argc, char** argv) {
  mp::freeze_support();
  std::thread([] {}).join();

  benchmark::RegisterBenchmark("BM_PoolMap100k/pyconc", BM_PoolMap100k_pyconc)->UseRealTime();
  benchmark::RegisterBenchmark("BM_PoolMap100k/raw_processes", BM_PoolMap100k_raw_processes)->UseRealTime();
  benchmark::RegisterBenchmark("BM_PoolMap100k/raw_threads", BM_PoolMap100k_raw_threads)->UseRealTime();
  benchmark::RegisterBenchmark("BM_PoolMap10kChunk1/pyconc", BM_PoolMap10kChunk1_pyconc)->UseRealTime();
  benchmark::RegisterBenchmark("BM_PoolMap10kChunk1/pipe_pingpong", pingpong)->UseRealTime();
  benchmark::RegisterBenchmark("BM_PpeSubmit10k/pyconc", BM_PpeSubmit10k_pyconc)->UseRealTime();
  benchmark::RegisterBenchmark("BM_PpeSubmit10k/pipe_pingpong", pingpong)->UseRealTime();
  benchmark::RegisterBenchmark("BM_PpeMap10kChunk1/pyconc", ppe_map, 1)->UseRealTime();
  benchmark::RegisterBenchmark("BM_PpeMap10kChunk1/pipe_pingpong", pingpong)->UseRealTime();
  benchmark::RegisterBenchmark("BM_PpeMap10kChunk100/pyconc", ppe_map, 100)->UseRealTime();
  benchmark::RegisterBenchmark("BM_CpuPool2x/pyconc", BM_CpuPool2x_pool, 2)->UseRealTime();
  benchmark::RegisterBenchmark("BM_CpuPool2x/pool1", BM_CpuPool2x_pool, 1)->UseRealTime();
  benchmark::RegisterBenchmark("BM_CpuPool2x/raw2", BM_CpuPool2x_raw, 2)->UseRealTime();
  benchmark::RegisterBenchmark("BM_CpuPool2x/raw1", BM_CpuPool2x_raw, 1)->UseRealTime();

  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv))
    return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
