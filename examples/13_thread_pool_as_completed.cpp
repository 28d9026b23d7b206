// SPDX-License-Identifier: MIT
//
// 13_thread_pool_as_completed: a ThreadPoolExecutor runs calls submitted one by one, and
// as_completed() hands back each future as soon as it is done, successful or not.
//
// Mirrors the Python:
//     with concurrent.futures.ThreadPoolExecutor(max_workers=3) as executor:
//         future_to_n = {executor.submit(square, n): n for n in range(6)}
//         for future in concurrent.futures.as_completed(future_to_n):
//             n = future_to_n[future]
//             result = future.result()   # raises the call's exception, if any
//
// Python's `with` block is a C++ scope: the executor's destructor is shutdown(wait=True).
// A dict keyed by futures is a std::map (futures order by identity). Iterating a Python dict
// gives its keys; a std::map gives (key, value) pairs, which as_completed() does not take, so
// keys(future_to_n) below lists the keys (std::views::keys would too, but clang 14 cannot
// compile libstdc++ 12's views).
// Completion order is left to the scheduler, so the .expected file is "# unordered".
#include <pyconc.hpp>  // pyconc: concurrent::futures::ThreadPoolExecutor, Future, as_completed; time::sleep; print

#include <algorithm>  // std::ranges::all_of
#include <map>        // std::map
#include <string>     // std::to_string
#include <vector>     // std::vector

using namespace pyconc;

// Python's iteration over a dict: its keys.
template <class K, class V>
std::vector<K> keys(const std::map<K, V>& dict) {
  std::vector<K> result;
  for (const auto& [key, value] : dict) {
    result.push_back(key);
  }
  return result;
}

int square(int n) {
  time::sleep(0.01 * (6 - n));  // the later inputs tend to finish first
  if (n == 3) {
    throw ValueError("cannot square " + std::to_string(n));
  }
  return n * n;
}

int main() {
  std::map<int, int> results;
  std::map<concurrent::futures::Future<int>, int> future_to_n;
  {
    concurrent::futures::ThreadPoolExecutor executor({.max_workers = 3});
    for (int n = 0; n < 6; ++n) {
      future_to_n[executor.submit(square, n)] = n;
    }
    // as_completed yields each future as soon as it is done, whatever the input order
    for (const auto& future : concurrent::futures::as_completed(keys(future_to_n))) {
      int n = future_to_n[future];
      try {
        int result = future.result();
        results[n] = result;  // Python's else: branch
        print(n, "squared is", result);
      } catch (const ValueError& exc) {
        print(n, "raised ValueError:", exc.what());
      }
    }
  }
  // leaving the with block waited for the pool: every future is done
  print("all done:", std::ranges::all_of(keys(future_to_n), [](const auto& future) { return future.done(); }));
  print("succeeded:", results.size(), "of", future_to_n.size());
  std::vector<int> by_input;  // [results[n] for n in sorted(results)]
  for (const auto& [n, result] : results) {
    by_input.push_back(result);
  }
  print("results by input:", by_input);
}
