// pyconc::threading primitives against their std:: counterparts.
//
// Every benchmark is named  BM_<Workload>/<implementation>  so that
// bench/compare.py can pair each pyconc result with its std:: baseline and
// with the same workload in CPython (bench/python/threading_bench.py).
//
//   BM_Lock                 Lock acquire+release            vs std::mutex lock+unlock
//   BM_RLock                RLock acquire+release           vs std::recursive_mutex
//   BM_Semaphore            Semaphore(1) acquire+release    vs std::mutex, std::counting_semaphore
//   BM_EventPingPong        one round trip between two threads through two Events
//                           (set / wait / clear)            vs the same with mutex+condition_variable
//   BM_ThreadStartJoin      start+join of a thread with an empty target vs std::thread, two ways:
//                           pyconc   threading::Thread start() + join(). join() returns when the
//                                    thread's `finished` event is set, right after its target
//                                    returns; the OS thread is detached and exits on its own.
//                           std_thread         std::thread + join(): pthread_join, which also
//                                    waits until the kernel has reaped the thread (its exit,
//                                    TLS destructors, the CLONE_CHILD_CLEARTID wake-up).
//                           std_thread_flag    std::thread, detached, whose target sets an
//                                    atomic flag when it returns; the timed thread waits on
//                                    that flag (std::atomic::wait): the same end point as
//                                    pyconc's join(), so this is the like-for-like baseline.
//   BM_LockContended        BM_Lock with 2 and 4 threads hammering one lock
//
// Multi-threaded benchmarks report wall-clock time (UseRealTime). With
// ->Threads(N) Google Benchmark reports wall time divided by the total number
// of operations of all N threads, i.e. ns per acquire+release pair overall.
//
// Quick smoke run:  ./threading_bench --benchmark_min_time=0.01

#include <pyconc/threading.hpp>

#include <benchmark/benchmark.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <semaphore>
#include <thread>

namespace {

namespace th = pyconc::threading;

// ---------------------------------------------------------------- Lock

void BM_Lock_pyconc(benchmark::State& state) {
  th::Lock lock;
  benchmark::DoNotOptimize(&lock);
  for (auto _ : state) {
    static_cast<void>(lock.acquire());
    lock.release();
  }
}

void BM_Lock_std_mutex(benchmark::State& state) {
  std::mutex mutex;
  benchmark::DoNotOptimize(&mutex);
  for (auto _ : state) {
    mutex.lock();
    mutex.unlock();
  }
}

// ---------------------------------------------------------------- RLock

void BM_RLock_pyconc(benchmark::State& state) {
  th::RLock lock;
  benchmark::DoNotOptimize(&lock);
  for (auto _ : state) {
    static_cast<void>(lock.acquire());
    lock.release();
  }
}

void BM_RLock_std_recursive_mutex(benchmark::State& state) {
  std::recursive_mutex mutex;
  benchmark::DoNotOptimize(&mutex);
  for (auto _ : state) {
    mutex.lock();
    mutex.unlock();
  }
}

// ---------------------------------------------------------------- Semaphore

void BM_Semaphore_pyconc(benchmark::State& state) {
  th::Semaphore sem(1);
  benchmark::DoNotOptimize(&sem);
  for (auto _ : state) {
    static_cast<void>(sem.acquire());
    sem.release();
  }
}

void BM_Semaphore_std_mutex(benchmark::State& state) {
  std::mutex mutex;
  benchmark::DoNotOptimize(&mutex);
  for (auto _ : state) {
    mutex.lock();
    mutex.unlock();
  }
}

void BM_Semaphore_std_counting_semaphore(benchmark::State& state) {
  std::counting_semaphore<> sem(1);
  benchmark::DoNotOptimize(&sem);
  for (auto _ : state) {
    sem.acquire();
    sem.release();
  }
}

// ---------------------------------------------------------------- Event ping-pong

// Python's Event built from std::mutex + std::condition_variable, the way a
// C++ programmer would write it by hand: the baseline for Event.
class CondvarEvent {
 public:
  void set() {
    {
      std::lock_guard<std::mutex> guard(mutex_);
      flag_ = true;
    }
    cv_.notify_all();
  }
  void clear() {
    std::lock_guard<std::mutex> guard(mutex_);
    flag_ = false;
  }
  bool wait() {
    std::unique_lock<std::mutex> guard(mutex_);
    cv_.wait(guard, [this] { return flag_; });
    return true;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool flag_ = false;
};

// One iteration = one round trip: the timed thread sets `ping` and waits for
// `pong`; the partner waits for `ping` and answers with `pong`. Each side
// clears the event it waited on before the other side can set it again.
template <class EventT>
void event_ping_pong(benchmark::State& state) {
  EventT ping;
  EventT pong;
  std::atomic<bool> stop{false};
  std::thread partner([&] {
    for (;;) {
      static_cast<void>(ping.wait());
      ping.clear();
      if (stop.load(std::memory_order_acquire))
        return;
      pong.set();
    }
  });
  for (auto _ : state) {
    ping.set();
    static_cast<void>(pong.wait());
    pong.clear();
  }
  stop.store(true, std::memory_order_release);
  ping.set();
  partner.join();
}

void BM_EventPingPong_pyconc(benchmark::State& state) {
  event_ping_pong<th::Event>(state);
}

void BM_EventPingPong_std_condvar(benchmark::State& state) {
  event_ping_pong<CondvarEvent>(state);
}

// ---------------------------------------------------------------- Thread start+join

void empty_target() {}

void BM_ThreadStartJoin_pyconc(benchmark::State& state) {
  for (auto _ : state) {
    th::Thread t(empty_target);
    t.start();
    t.join();
  }
}

void BM_ThreadStartJoin_std_thread(benchmark::State& state) {
  for (auto _ : state) {
    std::thread t(empty_target);
    t.join();
  }
}

// Ends where pyconc's join() ends: when the target has returned, not when the kernel has
// reaped the thread. The thread is detached, as pyconc's are. The counter is static: a
// detached thread may still be inside notify_one() after the timed thread has moved on.
std::atomic<int> g_targets_finished{0};

void BM_ThreadStartJoin_std_thread_flag(benchmark::State& state) {
  for (auto _ : state) {
    const int before = g_targets_finished.load(std::memory_order_relaxed);
    std::thread t([] {
      empty_target();
      g_targets_finished.fetch_add(1, std::memory_order_release);
      g_targets_finished.notify_one();
    });
    t.detach();
    g_targets_finished.wait(before, std::memory_order_acquire);
  }
}

// ---------------------------------------------------------------- contended Lock

void BM_LockContended_pyconc(benchmark::State& state) {
  static th::Lock lock;
  for (auto _ : state) {
    static_cast<void>(lock.acquire());
    lock.release();
  }
}

void BM_LockContended_std_mutex(benchmark::State& state) {
  static std::mutex mutex;
  for (auto _ : state) {
    mutex.lock();
    mutex.unlock();
  }
}

}  // namespace

BENCHMARK(BM_Lock_pyconc)->Name("BM_Lock/pyconc");
BENCHMARK(BM_Lock_std_mutex)->Name("BM_Lock/std_mutex");

BENCHMARK(BM_RLock_pyconc)->Name("BM_RLock/pyconc");
BENCHMARK(BM_RLock_std_recursive_mutex)->Name("BM_RLock/std_recursive_mutex");

BENCHMARK(BM_Semaphore_pyconc)->Name("BM_Semaphore/pyconc");
BENCHMARK(BM_Semaphore_std_mutex)->Name("BM_Semaphore/std_mutex");
BENCHMARK(BM_Semaphore_std_counting_semaphore)->Name("BM_Semaphore/std_counting_semaphore");

BENCHMARK(BM_EventPingPong_pyconc)->Name("BM_EventPingPong/pyconc")->UseRealTime();
BENCHMARK(BM_EventPingPong_std_condvar)->Name("BM_EventPingPong/std_condvar")->UseRealTime();

BENCHMARK(BM_ThreadStartJoin_pyconc)->Name("BM_ThreadStartJoin/pyconc")->UseRealTime();
BENCHMARK(BM_ThreadStartJoin_std_thread)->Name("BM_ThreadStartJoin/std_thread")->UseRealTime();
BENCHMARK(BM_ThreadStartJoin_std_thread_flag)->Name("BM_ThreadStartJoin/std_thread_flag")->UseRealTime();

BENCHMARK(BM_LockContended_pyconc)->Name("BM_LockContended/pyconc")->UseRealTime()->Threads(2)->Threads(4);
BENCHMARK(BM_LockContended_std_mutex)->Name("BM_LockContended/std_mutex")->UseRealTime()->Threads(2)->Threads(4);

// BENCHMARK_MAIN(), plus one thing: glibc (and libstdc++'s gthread layer) run
// std::mutex on a cheaper path until the process creates its first thread.
// Start and join one thread before anything is timed so every baseline is
// measured the way it behaves in a real multi-threaded program.
int main(int argc, char** argv) {
  std::thread([] {}).join();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv))
    return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
