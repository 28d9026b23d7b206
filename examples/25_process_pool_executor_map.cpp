// SPDX-License-Identifier: MIT
//
// 25_process_pool_executor_map: a CPU-bound function on a list of numbers, in two worker
// processes; the results come back in the order of the inputs. With chunksize, several
// inputs travel to a worker in one message.
//
// Mirrors the Python:
//     with concurrent.futures.ProcessPoolExecutor(max_workers=2) as executor:
//         for number, prime in zip(PRIMES, executor.map(is_prime, PRIMES)):
//             print('%d is prime: %s' % (number, prime))
#include <pyconc.hpp>  // pyconc: concurrent::futures::ProcessPoolExecutor, print

#include <cmath>   // std::sqrt
#include <vector>  // std::vector

using namespace pyconc;

const std::vector<long> PRIMES = {1'000'003, 1'000'033, 1'000'037, 1'000'039,
                                  1'000'081, 1'000'099, 1'000'001, 999'999'937};

bool is_prime(long n) {
  if (n < 2)
    return false;
  if (n % 2 == 0)
    return n == 2;
  const auto root = static_cast<long>(std::sqrt(static_cast<double>(n)));
  for (long i = 3; i <= root; i += 2) {
    if (n % i == 0)
      return false;
  }
  return true;
}

int main() {
  multiprocessing::freeze_support();
  concurrent::futures::ProcessPoolExecutor executor({.max_workers = 2});  // with ... as executor:
  std::size_t i = 0;
  for (bool prime : executor.map(is_prime, PRIMES)) {
    print(PRIMES[i++], "is prime:", prime);
  }
  std::vector<bool> chunked;
  for (bool prime : executor.map({.chunksize = 3}, is_prime, PRIMES)) {
    chunked.push_back(prime);
  }
  print("in chunks of 3:", chunked);
}
