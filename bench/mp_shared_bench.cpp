// pyconc::multiprocessing's shared objects (locks, Value, queues) against std:: and raw
// baselines.
//
// Every benchmark is named  BM_<Workload>/<implementation>  so that bench/compare.py can
// pair each pyconc result with its baseline and with the same workload in CPython
// (bench/python/mp_shared_bench.py).
//
//   BM_LockUncontended   acquire + release of a lock nobody else wants (ns per pair)
//                        pyconc:     multiprocessing::Lock (in shared memory, robust)
//                        std_mutex:  std::mutex
//                        pshared:    a pthread mutex with PTHREAD_PROCESS_SHARED and
//                                    PTHREAD_MUTEX_ROBUST, in shared memory
//   BM_ValueContended    2 processes, each adding 1 to one shared counter 20,000 times,
//                        each addition under the lock (ns per 40,000 additions)
//                        pyconc:     Value<long long> and std::lock_guard(v.get_lock())
//                        pshared:    a long long and a process-shared pthread mutex in
//                                    MAP_SHARED memory
//   BM_QueueInts1x1      100,000 ints from a child process to the parent (ns per 100,000)
//                        pyconc:     Queue<int>: put() in the child, get() in the parent
//                        pipe:       one write() and one read() of 4 bytes per int
//   BM_QueueInts1x2      the same 100,000 ints to two consumer processes
//                        pyconc:     Queue<int>, each consumer get()s until a -1
//   BM_QueueMiB          64 items of 1 MiB from a child to the parent (ns per 64 MiB)
//                        pyconc:     Queue<std::string>
//                        pipe:       write() and read() of each 1 MiB into one buffer
//
// One thread is started and joined before anything is timed (glibc's single-threaded fast
// paths would flatter the std::mutex baseline otherwise).
//
// Quick smoke run:  ./mp_shared_bench --benchmark_min_time=0.01

#include <pyconc/multiprocessing.hpp>

#include <benchmark/benchmark.h>

#include <pthread.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

namespace mp = pyconc::multiprocessing;

namespace {

constexpr int kAdditions = 20'000;
constexpr int kInts = 100'000;
constexpr int kMiBItems = 64;
constexpr std::size_t kMiB = std::size_t{1} << 20;

/** A process-shared robust pthread mutex and a counter in MAP_SHARED memory. */
struct PsharedCounter {
  pthread_mutex_t mutex;
  long long value;
};

PsharedCounter* make_pshared() {
  void* memory = ::mmap(nullptr, sizeof(PsharedCounter), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  auto* c = static_cast<PsharedCounter*>(memory);
  pthread_mutexattr_t attr;
  ::pthread_mutexattr_init(&attr);
  ::pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
  ::pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
  ::pthread_mutex_init(&c->mutex, &attr);
  ::pthread_mutexattr_destroy(&attr);
  c->value = 0;
  return c;
}

void BM_LockUncontended_pyconc(benchmark::State& state) {
  mp::Lock lock;
  for (auto _ : state) {
    lock.acquire();
    lock.release();
  }
}

void BM_LockUncontended_std_mutex(benchmark::State& state) {
  std::mutex m;
  for (auto _ : state) {
    m.lock();
    m.unlock();
  }
}

void BM_LockUncontended_pshared(benchmark::State& state) {
  PsharedCounter* c = make_pshared();
  for (auto _ : state) {
    ::pthread_mutex_lock(&c->mutex);
    ::pthread_mutex_unlock(&c->mutex);
  }
  ::munmap(c, sizeof *c);
}

void add_under_lock(mp::Value<long long> v) {
  for (int i = 0; i < kAdditions; ++i) {
    std::lock_guard with(v.get_lock());
    v.get_obj() += 1;
  }
}

void BM_ValueContended_pyconc(benchmark::State& state) {
  mp::Value<long long> v(0);
  for (auto _ : state) {
    mp::Process other(add_under_lock, std::tuple{v});
    other.start();
    add_under_lock(v);
    other.join();
  }
  if (v.value() != 2LL * kAdditions * state.iterations())
    state.SkipWithError("lost an addition");
}

void BM_ValueContended_pshared(benchmark::State& state) {
  PsharedCounter* c = make_pshared();
  const auto add = [c] {
    for (int i = 0; i < kAdditions; ++i) {
      ::pthread_mutex_lock(&c->mutex);
      c->value += 1;
      ::pthread_mutex_unlock(&c->mutex);
    }
  };
  for (auto _ : state) {
    const pid_t pid = ::fork();
    if (pid == 0) {
      add();
      ::_exit(0);
    }
    add();
    int status = 0;
    ::waitpid(pid, &status, 0);
  }
  ::munmap(c, sizeof *c);
}

void put_ints(mp::Queue<int> q, int consumers) {
  for (int i = 0; i < kInts; ++i)
    q.put(i);
  for (int i = 0; i < consumers; ++i)
    q.put(-1);
}

void get_until_stop(mp::Queue<int> q) {
  while (q.get() != -1) {
  }
}

void BM_QueueInts1x1_pyconc(benchmark::State& state) {
  mp::Queue<int> q;
  for (auto _ : state) {
    mp::Process producer(put_ints, std::tuple{q, 1});
    producer.start();
    get_until_stop(q);
    producer.join();
  }
}

void BM_QueueInts1x2_pyconc(benchmark::State& state) {
  mp::Queue<int> q;
  for (auto _ : state) {
    mp::Process producer(put_ints, std::tuple{q, 2});
    mp::Process a(get_until_stop, std::tuple{q});
    mp::Process b(get_until_stop, std::tuple{q});
    a.start();
    b.start();
    producer.start();
    producer.join();
    a.join();
    b.join();
  }
}

void BM_QueueInts1x1_pipe(benchmark::State& state) {
  for (auto _ : state) {
    int fds[2];
    if (::pipe(fds) != 0) {
      state.SkipWithError("pipe failed");
      break;
    }
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::close(fds[0]);
      for (std::int32_t i = 0; i < kInts; ++i) {
        if (::write(fds[1], &i, sizeof i) != static_cast<ssize_t>(sizeof i))
          ::_exit(1);
      }
      ::_exit(0);
    }
    ::close(fds[1]);
    std::int32_t v = 0;
    for (int i = 0; i < kInts; ++i) {
      if (::read(fds[0], &v, sizeof v) != static_cast<ssize_t>(sizeof v))
        break;
    }
    ::close(fds[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
  }
}

void put_mib(mp::Queue<std::string> q) {
  const std::string payload(kMiB, 'x');
  for (int i = 0; i < kMiBItems; ++i)
    q.put(payload);
}

void BM_QueueMiB_pyconc(benchmark::State& state) {
  mp::Queue<std::string> q;
  for (auto _ : state) {
    mp::Process producer(put_mib, std::tuple{q});
    producer.start();
    for (int i = 0; i < kMiBItems; ++i)
      benchmark::DoNotOptimize(q.get());
    producer.join();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * kMiBItems * static_cast<std::int64_t>(kMiB));
}

void BM_QueueMiB_pipe(benchmark::State& state) {
  std::vector<char> buffer(kMiB);
  for (auto _ : state) {
    int fds[2];
    if (::pipe(fds) != 0) {
      state.SkipWithError("pipe failed");
      break;
    }
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::close(fds[0]);
      const std::string payload(kMiB, 'x');
      for (int i = 0; i < kMiBItems; ++i) {
        std::size_t done = 0;
        while (done < kMiB) {
          const ssize_t n = ::write(fds[1], payload.data() + done, kMiB - done);
          if (n <= 0)
            ::_exit(1);
          done += static_cast<std::size_t>(n);
        }
      }
      ::_exit(0);
    }
    ::close(fds[1]);
    for (int i = 0; i < kMiBItems; ++i) {
      std::size_t done = 0;
      while (done < kMiB) {
        const ssize_t n = ::read(fds[0], buffer.data() + done, kMiB - done);
        if (n <= 0)
          break;
        done += static_cast<std::size_t>(n);
      }
    }
    ::close(fds[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * kMiBItems * static_cast<std::int64_t>(kMiB));
}

}  // namespace

// BENCHMARK_MAIN(), plus freeze_support() first and one thread started and joined before
// anything is timed.
int main(int argc, char** argv) {
  mp::freeze_support();
  std::thread([] {}).join();

  benchmark::RegisterBenchmark("BM_LockUncontended/pyconc", BM_LockUncontended_pyconc);
  benchmark::RegisterBenchmark("BM_LockUncontended/std_mutex", BM_LockUncontended_std_mutex);
  benchmark::RegisterBenchmark("BM_LockUncontended/pshared", BM_LockUncontended_pshared);
  benchmark::RegisterBenchmark("BM_ValueContended/pyconc", BM_ValueContended_pyconc)->UseRealTime();
  benchmark::RegisterBenchmark("BM_ValueContended/pshared", BM_ValueContended_pshared)->UseRealTime();
  benchmark::RegisterBenchmark("BM_QueueInts1x1/pyconc", BM_QueueInts1x1_pyconc)->UseRealTime();
  benchmark::RegisterBenchmark("BM_QueueInts1x1/pipe", BM_QueueInts1x1_pipe)->UseRealTime();
  benchmark::RegisterBenchmark("BM_QueueInts1x2/pyconc", BM_QueueInts1x2_pyconc)->UseRealTime();
  benchmark::RegisterBenchmark("BM_QueueMiB/pyconc", BM_QueueMiB_pyconc)->UseRealTime();
  benchmark::RegisterBenchmark("BM_QueueMiB/pipe", BM_QueueMiB_pipe)->UseRealTime();

  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv))
    return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
