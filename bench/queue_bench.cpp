// pyconc::queue against a hand-written std:: queue and the concurrent queues of
// oneTBB and moodycamel.
//
// Every benchmark is named  BM_<Workload>/<implementation>/producers:P/consumers:C
// so that bench/compare.py can pair each pyconc result with its baselines and
// with the same workload in CPython (bench/python/queue_bench.py).
//
//   BM_Queue         a bounded queue of capacity 1024; P producer threads put and
//                    C consumer threads get, 1P/1C and 2P/2C
//   BM_SimpleQueue   an unbounded queue (put never blocks), 1P/1C
//   BM_PutGet        one thread puts an item into a Queue(1024) and gets it back: the
//                    fixed cost of the two calls, with no hand-off between threads
//
// Implementations:
//
//   pyconc        pyconc::queue::Queue<std::uint64_t>(1024), SimpleQueue for BM_SimpleQueue
//   std_condvar   std::deque + std::mutex + two std::condition_variable, written the way
//                 a C++ programmer writes a bounded blocking queue by hand
//   tbb           tbb::concurrent_bounded_queue (set_capacity(1024); unbounded for
//                 BM_SimpleQueue)                        [when oneTBB is installed]
//   moodycamel    moodycamel::BlockingConcurrentQueue: enqueue / wait_dequeue. It has no
//                 hard bound, so its producers never wait in BM_Queue either
//                                                        [when concurrentqueue is installed]
//
// One benchmark iteration is one item moved from a producer to a consumer, and the
// reported time is wall-clock nanoseconds per item (UseRealTime). The CPU column is the
// CPU time of the whole process per item (MeasureProcessCPUTime): it shows what spinning
// costs, as wall time alone does not. The producer and consumer threads are started
// once per run, outside the timed region, and move one untimed batch before the clock
// starts; each batch of kBatch items is split evenly between the producers (who put)
// and the consumers (who get), and the timed thread only starts a batch and waits for
// its end. Items are 64-bit integers, so the numbers are the cost of the queue, not of
// copying.
//
// Quick smoke run:  ./queue_bench --benchmark_min_time=0.01

#include <pyconc/queue.hpp>

#include <benchmark/benchmark.h>

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <initializer_list>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include <sys/resource.h>  // getrusage: context switches per item

#if defined(PYCONC_BENCH_HAVE_TBB)
#include <tbb/concurrent_queue.h>
#endif

#if defined(PYCONC_BENCH_HAVE_MOODYCAMEL)
#if __has_include(<concurrentqueue/moodycamel/blockingconcurrentqueue.h>)
#include <concurrentqueue/moodycamel/blockingconcurrentqueue.h>  // upstream's install layout
#else
#include <concurrentqueue/blockingconcurrentqueue.h>  // Debian's libconcurrentqueue-dev
#endif
#endif

namespace {

using Item = std::uint64_t;

constexpr long long kCapacity = 1024;
// Items per batch; divisible by every producer and consumer count used below.
constexpr benchmark::IterationCount kBatch = 1 << 15;

// ---------------------------------------------------------------- the queues

struct PyconcQueue {
  pyconc::queue::Queue<Item> q{kCapacity};
  void put(Item v) { q.put(v); }
  Item get() { return q.get(); }
};

struct PyconcSimpleQueue {
  pyconc::queue::SimpleQueue<Item> q;
  void put(Item v) { q.put(v); }
  Item get() { return q.get(); }
};

// The baseline: a bounded blocking queue as written by hand with the standard library.
// capacity == 0 means unbounded.
class CondvarQueue {
 public:
  explicit CondvarQueue(std::size_t capacity) : capacity_(capacity) {}

  void put(Item v) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      not_full_.wait(lock, [this] { return capacity_ == 0 || items_.size() < capacity_; });
      items_.push_back(v);
    }
    not_empty_.notify_one();
  }

  Item get() {
    Item v;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      not_empty_.wait(lock, [this] { return !items_.empty(); });
      v = items_.front();
      items_.pop_front();
    }
    not_full_.notify_one();
    return v;
  }

 private:
  std::mutex mutex_;
  std::condition_variable not_empty_;
  std::condition_variable not_full_;
  std::deque<Item> items_;
  std::size_t capacity_;
};

struct CondvarBoundedQueue : CondvarQueue {
  CondvarBoundedQueue() : CondvarQueue(kCapacity) {}
};

struct CondvarUnboundedQueue : CondvarQueue {
  CondvarUnboundedQueue() : CondvarQueue(0) {}
};

#if defined(PYCONC_BENCH_HAVE_TBB)
struct TbbQueue {
  tbb::concurrent_bounded_queue<Item> q;
  explicit TbbQueue(bool bounded = true) {
    if (bounded)
      q.set_capacity(kCapacity);
  }
  void put(Item v) { q.push(v); }
  Item get() {
    Item v = 0;
    q.pop(v);
    return v;
  }
};

struct TbbUnboundedQueue : TbbQueue {
  TbbUnboundedQueue() : TbbQueue(false) {}
};
#endif

#if defined(PYCONC_BENCH_HAVE_MOODYCAMEL)
struct MoodycamelQueue {
  moodycamel::BlockingConcurrentQueue<Item> q{static_cast<std::size_t>(kCapacity)};
  void put(Item v) {
    if (!q.enqueue(v))
      std::terminate();  // only on allocation failure
  }
  Item get() {
    Item v = 0;
    q.wait_dequeue(v);
    return v;
  }
};
#endif

// ---------------------------------------------------------------- the harness

// `n` threads that each run `share(i)` once per batch. The timed thread calls
// run_batch(), which starts every thread on its share and returns when all have
// finished; between batches the threads sleep on a condition variable, so they
// take no CPU from the timed region.
class Crew {
 public:
  Crew(int n, std::function<void(int)> share) : share_(std::move(share)) {
    threads_.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i)
      threads_.emplace_back([this, i] { loop(i); });
  }
  Crew(const Crew&) = delete;
  Crew& operator=(const Crew&) = delete;

  ~Crew() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
      ++generation_;
    }
    start_.notify_all();
    for (auto& t : threads_)
      t.join();
  }

  void run_batch() {
    std::unique_lock<std::mutex> lock(mutex_);
    running_ = static_cast<int>(threads_.size());
    ++generation_;
    start_.notify_all();
    done_.wait(lock, [this] { return running_ == 0; });
  }

 private:
  void loop(int i) {
    std::uint64_t seen = 0;
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mutex_);
        start_.wait(lock, [&] { return generation_ != seen; });
        seen = generation_;
        if (stop_)
          return;
      }
      share_(i);
      std::lock_guard<std::mutex> lock(mutex_);
      if (--running_ == 0)
        done_.notify_one();
    }
  }

  std::function<void(int)> share_;
  std::vector<std::thread> threads_;
  std::mutex mutex_;
  std::condition_variable start_;
  std::condition_variable done_;
  std::uint64_t generation_ = 0;
  int running_ = 0;
  bool stop_ = false;
};

// P producers put kBatch/P items each; C consumers get kBatch/C items each, so every
// batch ends with the queue empty and nobody blocked.
template <class Q>
void move_items(benchmark::State& state) {
  const int producers = static_cast<int>(state.range(0));
  const int consumers = static_cast<int>(state.range(1));
  const Item per_producer = static_cast<Item>(kBatch / producers);
  const Item per_consumer = static_cast<Item>(kBatch / consumers);

  Q q;
  std::vector<Item> sums(static_cast<std::size_t>(consumers) * 8, 0);  // 64 bytes apart
  Crew crew(producers + consumers, [&](int i) {
    if (i < producers) {
      for (Item k = 0; k < per_producer; ++k)
        q.put(k);
    } else {
      Item sum = 0;
      for (Item k = 0; k < per_consumer; ++k)
        sum += q.get();
      sums[static_cast<std::size_t>(i - producers) * 8] += sum;
    }
  });

  crew.run_batch();  // untimed: every thread has run once, the queue has its memory
  rusage before{};
  ::getrusage(RUSAGE_SELF, &before);
  while (state.KeepRunningBatch(kBatch))
    crew.run_batch();
  rusage after{};
  ::getrusage(RUSAGE_SELF, &after);

  benchmark::DoNotOptimize(sums.data());
  state.SetItemsProcessed(state.iterations());
  // Voluntary context switches per 1000 items: how often a producer or consumer slept (a
  // futex wait) instead of finding room or an item.
  state.counters["vcsw_per_1k"] =
      static_cast<double>(after.ru_nvcsw - before.ru_nvcsw) * 1000.0 / static_cast<double>(state.iterations());
}

// One thread puts one item and gets it back: the fixed cost of an item's two calls with no
// other thread involved (no cache line moves, nobody sleeps). A floor for move_items.
template <class Q>
void put_get(benchmark::State& state) {
  Q q;
  Item sum = 0;
  for (auto _ : state) {
    q.put(sum);
    sum += q.get() + 1;
  }
  benchmark::DoNotOptimize(sum);
}

// Registers BM_<workload>/<impl> over the given producer/consumer counts.
void add(const char* name, void (*fn)(benchmark::State&), std::initializer_list<std::pair<int, int>> shapes) {
  auto* b = benchmark::RegisterBenchmark(name, fn);
  for (auto [p, c] : shapes)
    b->Args({p, c});
  b->ArgNames({"producers", "consumers"})->UseRealTime()->MeasureProcessCPUTime();
}

}  // namespace

// BENCHMARK_MAIN(), plus one thing: glibc (and libstdc++'s gthread layer) run
// std::mutex on a cheaper path until the process creates its first thread.
// Start and join one thread before anything is timed so every baseline is
// measured the way it behaves in a real multi-threaded program.
int main(int argc, char** argv) {
  std::thread([] {}).join();

  const auto both = {std::pair{1, 1}, std::pair{2, 2}};
  const auto one = {std::pair{1, 1}};

  add("BM_Queue/pyconc", move_items<PyconcQueue>, both);
  add("BM_Queue/std_condvar", move_items<CondvarBoundedQueue>, both);
#if defined(PYCONC_BENCH_HAVE_TBB)
  add("BM_Queue/tbb", move_items<TbbQueue>, both);
#endif
#if defined(PYCONC_BENCH_HAVE_MOODYCAMEL)
  add("BM_Queue/moodycamel", move_items<MoodycamelQueue>, both);
#endif

  add("BM_SimpleQueue/pyconc", move_items<PyconcSimpleQueue>, one);
  add("BM_SimpleQueue/std_condvar", move_items<CondvarUnboundedQueue>, one);
#if defined(PYCONC_BENCH_HAVE_TBB)
  add("BM_SimpleQueue/tbb", move_items<TbbUnboundedQueue>, one);
#endif
#if defined(PYCONC_BENCH_HAVE_MOODYCAMEL)
  add("BM_SimpleQueue/moodycamel", move_items<MoodycamelQueue>, one);
#endif

  benchmark::RegisterBenchmark("BM_PutGet/pyconc", put_get<PyconcQueue>);
  benchmark::RegisterBenchmark("BM_PutGet/std_condvar", put_get<CondvarBoundedQueue>);
#if defined(PYCONC_BENCH_HAVE_TBB)
  benchmark::RegisterBenchmark("BM_PutGet/tbb", put_get<TbbQueue>);
#endif
#if defined(PYCONC_BENCH_HAVE_MOODYCAMEL)
  benchmark::RegisterBenchmark("BM_PutGet/moodycamel", put_get<MoodycamelQueue>);
#endif

  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv))
    return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
