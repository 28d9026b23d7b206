// pyconc::multiprocessing against the raw system calls it is built on.
//
// Every benchmark is named  BM_<Workload>/<implementation>  so that bench/compare.py can
// pair each pyconc result with its baseline and with the same workload in CPython
// (bench/python/process_bench.py).
//
//   BM_ForkStartJoin     start a child that does nothing and wait for its end
//                        pyconc: Process(f).start(); join()   (fork start method)
//                        raw:    fork(); _exit(0) in the child; waitpid()
//   BM_SpawnStartJoin    the same with a fresh run of this program
//                        pyconc: SpawnProcess(f).start(); join()
//                        raw:    posix_spawn(/proc/self/exe) of a child that exits at
//                                once from main; waitpid()
//   BM_PipeRoundTrip     the parent sends a small object to a child that sends it back
//                        pyconc: Connection::send(int) / recv<int>() over Pipe()
//                        raw:    write()/read() of 4 bytes over the same kind of socket pair
//   BM_PipeBandwidth     64 MiB from the parent to a child, one message; the child answers
//                        with one byte when it has it all (ns per message; bytes/s shown)
//                        pyconc: send_bytes / recv_bytes over Pipe()
//                        raw:    write()/read() of the 64 MiB over a socket pair into a
//                                buffer allocated once
//
// The children of the pipe benchmarks are started once per benchmark run, outside the
// timed region. One thread is started and joined before anything is timed (glibc's
// single-threaded fast paths would flatter the baselines otherwise).
//
// Quick smoke run:  ./process_bench --benchmark_min_time=0.01

#include <pyconc/multiprocessing.hpp>

#include <benchmark/benchmark.h>

#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <vector>

extern char** environ;

namespace mp = pyconc::multiprocessing;

namespace {

constexpr std::size_t kBandwidthBytes = std::size_t{64} << 20;

void nothing() {}

void BM_ForkStartJoin_pyconc(benchmark::State& state) {
  for (auto _ : state) {
    mp::Process p(nothing);
    p.start();
    p.join();
  }
}

void BM_ForkStartJoin_raw(benchmark::State& state) {
  for (auto _ : state) {
    const pid_t pid = ::fork();
    if (pid == 0)
      ::_exit(0);
    int status = 0;
    ::waitpid(pid, &status, 0);
  }
}

void BM_SpawnStartJoin_pyconc(benchmark::State& state) {
  for (auto _ : state) {
    mp::SpawnProcess p(nothing);
    p.start();
    p.join();
  }
}

void BM_SpawnStartJoin_raw(benchmark::State& state) {
  std::string self = "process_bench";
  std::string marker = "--exit-at-once";
  char* argv[] = {self.data(), marker.data(), nullptr};
  for (auto _ : state) {
    pid_t pid = 0;
    if (::posix_spawn(&pid, "/proc/self/exe", nullptr, nullptr, argv, environ) != 0) {
      state.SkipWithError("posix_spawn failed");
      break;
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
  }
}

// A child gets both ends of the pipe (it inherits them anyway) and closes the parent's, so
// that the parent's close() is the end of the stream, as in Python.
void echo_objects(mp::Connection conn, mp::Connection parent_end) {
  parent_end.close();
  try {
    for (;;)
      conn.send(conn.recv<int>());
  } catch (const pyconc::EOFError&) {
  }
}

void BM_PipeRoundTrip_pyconc(benchmark::State& state) {
  auto [mine, theirs] = mp::Pipe();
  mp::Process child(echo_objects, std::tuple{theirs, mine});
  child.start();
  theirs.close();
  int x = 0;
  for (auto _ : state) {
    mine.send(x);
    x = mine.recv<int>() + 1;
  }
  mine.close();
  child.join();
}

void BM_PipeRoundTrip_raw(benchmark::State& state) {
  int fds[2];
  ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    std::int32_t v = 0;
    while (::read(fds[1], &v, sizeof v) == static_cast<ssize_t>(sizeof v)) {
      if (::write(fds[1], &v, sizeof v) != static_cast<ssize_t>(sizeof v))
        break;
    }
    ::_exit(0);
  }
  ::close(fds[1]);
  std::int32_t x = 0;
  for (auto _ : state) {
    if (::write(fds[0], &x, sizeof x) != static_cast<ssize_t>(sizeof x) ||
        ::read(fds[0], &x, sizeof x) != static_cast<ssize_t>(sizeof x)) {
      state.SkipWithError("pipe failed");
      break;
    }
    ++x;
  }
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
}

void sink_messages(mp::Connection conn, mp::Connection parent_end) {
  parent_end.close();
  std::vector<char> buffer(kBandwidthBytes);  // as the raw baseline: one buffer, reused
  try {
    for (;;) {
      conn.recv_bytes_into(buffer);
      conn.send_bytes(std::string_view("k"));
    }
  } catch (const pyconc::EOFError&) {
  }
}

void sink_messages_allocating(mp::Connection conn, mp::Connection parent_end) {
  parent_end.close();
  try {
    for (;;) {
      const std::string message = conn.recv_bytes();
      conn.send_bytes(std::string_view("k"));
    }
  } catch (const pyconc::EOFError&) {
  }
}

template <void (*Sink)(mp::Connection, mp::Connection)>
void BM_PipeBandwidth_pyconc(benchmark::State& state) {
  auto [mine, theirs] = mp::Pipe();
  mp::Process child(Sink, std::tuple{theirs, mine});
  child.start();
  theirs.close();
  const std::string payload(kBandwidthBytes, 'x');
  for (auto _ : state) {
    mine.send_bytes(payload);
    benchmark::DoNotOptimize(mine.recv_bytes());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(kBandwidthBytes));
  mine.close();
  child.join();
}

bool write_all(int fd, const char* p, std::size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w <= 0)
      return false;
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

bool read_all(int fd, char* p, std::size_t n) {
  while (n > 0) {
    const ssize_t r = ::read(fd, p, n);
    if (r <= 0)
      return false;
    p += r;
    n -= static_cast<std::size_t>(r);
  }
  return true;
}

void BM_PipeBandwidth_raw(benchmark::State& state) {
  int fds[2];
  ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    std::vector<char> buffer(kBandwidthBytes);
    while (read_all(fds[1], buffer.data(), buffer.size())) {
      if (::write(fds[1], "k", 1) != 1)
        break;
    }
    ::_exit(0);
  }
  ::close(fds[1]);
  const std::string payload(kBandwidthBytes, 'x');
  char ack = 0;
  for (auto _ : state) {
    if (!write_all(fds[0], payload.data(), payload.size()) || ::read(fds[0], &ack, 1) != 1) {
      state.SkipWithError("pipe failed");
      break;
    }
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(kBandwidthBytes));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
}

}  // namespace

// BENCHMARK_MAIN(), plus: freeze_support() first (the spawn benchmarks start this program
// again), the raw spawn baseline's child exits at once, and one thread is started and
// joined before anything is timed.
int main(int argc, char** argv) {
  if (argc == 2 && std::string_view(argv[1]) == "--exit-at-once")
    return 0;
  mp::freeze_support();
  std::thread([] {}).join();

  benchmark::RegisterBenchmark("BM_ForkStartJoin/pyconc", BM_ForkStartJoin_pyconc)->UseRealTime();
  benchmark::RegisterBenchmark("BM_ForkStartJoin/raw", BM_ForkStartJoin_raw)->UseRealTime();
  benchmark::RegisterBenchmark("BM_SpawnStartJoin/pyconc", BM_SpawnStartJoin_pyconc)->UseRealTime();
  benchmark::RegisterBenchmark("BM_SpawnStartJoin/raw", BM_SpawnStartJoin_raw)->UseRealTime();
  benchmark::RegisterBenchmark("BM_PipeRoundTrip/pyconc", BM_PipeRoundTrip_pyconc)->UseRealTime();
  benchmark::RegisterBenchmark("BM_PipeRoundTrip/raw", BM_PipeRoundTrip_raw)->UseRealTime();
  benchmark::RegisterBenchmark("BM_PipeBandwidth/pyconc", BM_PipeBandwidth_pyconc<sink_messages>)->UseRealTime();
  benchmark::RegisterBenchmark("BM_PipeBandwidth/pyconc_recv_bytes", BM_PipeBandwidth_pyconc<sink_messages_allocating>)
      ->UseRealTime();
  benchmark::RegisterBenchmark("BM_PipeBandwidth/raw", BM_PipeBandwidth_raw)->UseRealTime();

  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv))
    return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
