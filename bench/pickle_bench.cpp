// pyconc::pickle against hand-written serialization and CPython's pickle.
//
// Every benchmark is named  BM_<Workload>/<implementation>  so that bench/compare.py can pair
// each pyconc result with its baseline and with the same workload in CPython
// (bench/python/pickle_bench.py, pickle protocol 5 on a list of floats and a dict).
//
//   BM_DumpsVector / BM_LoadsVector / BM_RoundTripVector
//       dumps, loads, and both, of a std::vector<double> of 1,000,000 elements (i * 0.5)
//   BM_DumpsMap / BM_LoadsMap / BM_RoundTripMap
//       the same for a std::map<std::string, int> of 100,000 entries ("key0": 0, ...)
//
// Implementations:
//
//   pyconc   pickle::dumps(value) -> std::string, pickle::loads<T>(bytes): header, type
//            fingerprint, bounds checks included
//   raw      what a C++ programmer writes by hand with no format, no checks: for the vector,
//            one append of its bytes to a std::string, and a vector of n elements filled with
//            one memcpy; for the map, a loop appending each key's length (u64), its bytes and
//            the int, and a loop reading them back into a map (emplace_hint at the end)
//
// One operation is one dumps (or loads) of the whole container; times are ns per operation.
//
// Quick smoke run:  ./pickle_bench --benchmark_min_time=0.01

#include <pyconc/pickle.hpp>

#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using Map = std::map<std::string, int>;

constexpr std::size_t kVectorSize = 1'000'000;
constexpr int kMapSize = 100'000;

const std::vector<double>& sample_vector() {
  static const std::vector<double> v = [] {
    std::vector<double> out(kVectorSize);
    for (std::size_t i = 0; i < kVectorSize; ++i)
      out[i] = static_cast<double>(i) * 0.5;
    return out;
  }();
  return v;
}

const Map& sample_map() {
  static const Map m = [] {
    Map out;
    for (int i = 0; i < kMapSize; ++i)
      out.emplace("key" + std::to_string(i), i);
    return out;
  }();
  return m;
}

// ---------------------------------------------------------------- the raw baselines

std::string raw_dumps(const std::vector<double>& v) {
  std::string out;
  out.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(double));
  return out;
}

std::vector<double> raw_loads_vector(std::string_view bytes) {
  std::vector<double> v(bytes.size() / sizeof(double));
  std::memcpy(v.data(), bytes.data(), v.size() * sizeof(double));
  return v;
}

std::string raw_dumps(const Map& m) {
  std::string out;
  for (const auto& [key, value] : m) {
    const std::uint64_t size = key.size();
    out.append(reinterpret_cast<const char*>(&size), sizeof size);
    out.append(key);
    out.append(reinterpret_cast<const char*>(&value), sizeof value);
  }
  return out;
}

Map raw_loads_map(std::string_view bytes) {
  Map m;
  const char* at = bytes.data();
  const char* end = at + bytes.size();
  while (at != end) {
    std::uint64_t size;
    std::memcpy(&size, at, sizeof size);
    at += sizeof size;
    std::string key(at, size);
    at += size;
    int value;
    std::memcpy(&value, at, sizeof value);
    at += sizeof value;
    m.emplace_hint(m.end(), std::move(key), value);
  }
  return m;
}

// ---------------------------------------------------------------- std::vector<double>

void BM_DumpsVector_pyconc(benchmark::State& state) {
  const auto& v = sample_vector();
  for (auto _ : state)
    benchmark::DoNotOptimize(pyconc::pickle::dumps(v));
}

void BM_DumpsVector_raw(benchmark::State& state) {
  const auto& v = sample_vector();
  for (auto _ : state)
    benchmark::DoNotOptimize(raw_dumps(v));
}

void BM_LoadsVector_pyconc(benchmark::State& state) {
  const std::string bytes = pyconc::pickle::dumps(sample_vector());
  for (auto _ : state)
    benchmark::DoNotOptimize(pyconc::pickle::loads<std::vector<double>>(bytes));
}

void BM_LoadsVector_raw(benchmark::State& state) {
  const std::string bytes = raw_dumps(sample_vector());
  for (auto _ : state)
    benchmark::DoNotOptimize(raw_loads_vector(bytes));
}

void BM_RoundTripVector_pyconc(benchmark::State& state) {
  const auto& v = sample_vector();
  for (auto _ : state)
    benchmark::DoNotOptimize(pyconc::pickle::loads<std::vector<double>>(pyconc::pickle::dumps(v)));
}

void BM_RoundTripVector_raw(benchmark::State& state) {
  const auto& v = sample_vector();
  for (auto _ : state)
    benchmark::DoNotOptimize(raw_loads_vector(raw_dumps(v)));
}

// ---------------------------------------------------------------- std::map<std::string, int>

void BM_DumpsMap_pyconc(benchmark::State& state) {
  const auto& m = sample_map();
  for (auto _ : state)
    benchmark::DoNotOptimize(pyconc::pickle::dumps(m));
}

void BM_DumpsMap_raw(benchmark::State& state) {
  const auto& m = sample_map();
  for (auto _ : state)
    benchmark::DoNotOptimize(raw_dumps(m));
}

void BM_LoadsMap_pyconc(benchmark::State& state) {
  const std::string bytes = pyconc::pickle::dumps(sample_map());
  for (auto _ : state)
    benchmark::DoNotOptimize(pyconc::pickle::loads<Map>(bytes));
}

void BM_LoadsMap_raw(benchmark::State& state) {
  const std::string bytes = raw_dumps(sample_map());
  for (auto _ : state)
    benchmark::DoNotOptimize(raw_loads_map(bytes));
}

void BM_RoundTripMap_pyconc(benchmark::State& state) {
  const auto& m = sample_map();
  for (auto _ : state)
    benchmark::DoNotOptimize(pyconc::pickle::loads<Map>(pyconc::pickle::dumps(m)));
}

void BM_RoundTripMap_raw(benchmark::State& state) {
  const auto& m = sample_map();
  for (auto _ : state)
    benchmark::DoNotOptimize(raw_loads_map(raw_dumps(m)));
}

}  // namespace

BENCHMARK(BM_DumpsVector_pyconc)->Name("BM_DumpsVector/pyconc");
BENCHMARK(BM_DumpsVector_raw)->Name("BM_DumpsVector/raw");
BENCHMARK(BM_LoadsVector_pyconc)->Name("BM_LoadsVector/pyconc");
BENCHMARK(BM_LoadsVector_raw)->Name("BM_LoadsVector/raw");
BENCHMARK(BM_RoundTripVector_pyconc)->Name("BM_RoundTripVector/pyconc");
BENCHMARK(BM_RoundTripVector_raw)->Name("BM_RoundTripVector/raw");

BENCHMARK(BM_DumpsMap_pyconc)->Name("BM_DumpsMap/pyconc");
BENCHMARK(BM_DumpsMap_raw)->Name("BM_DumpsMap/raw");
BENCHMARK(BM_LoadsMap_pyconc)->Name("BM_LoadsMap/pyconc");
BENCHMARK(BM_LoadsMap_raw)->Name("BM_LoadsMap/raw");
BENCHMARK(BM_RoundTripMap_pyconc)->Name("BM_RoundTripMap/pyconc");
BENCHMARK(BM_RoundTripMap_raw)->Name("BM_RoundTripMap/raw");

// BENCHMARK_MAIN(), after building the samples (outside every timed region) and, as in the
// other benchmark programs, starting one thread so that the process runs as a threaded one.
int main(int argc, char** argv) {
  std::thread([] {}).join();
  static_cast<void>(sample_vector());
  static_cast<void>(sample_map());
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv))
    return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
