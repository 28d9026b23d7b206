// SPDX-License-Identifier: MIT
/**
`pyconc/concurrent/futures.hpp` — C++20 counterpart of Python's `concurrent.futures` module.

Includes:
- `pyconc/concurrent/futures/future.hpp`     Future, CancelledError, InvalidStateError,
                                             BrokenExecutor, TimeoutError, FIRST_COMPLETED,
                                             FIRST_EXCEPTION, ALL_COMPLETED
- `pyconc/concurrent/futures/wait.hpp`       wait, DoneAndNotDoneFutures, as_completed
- `pyconc/concurrent/futures/executor.hpp`   Executor, MapOptions, MapResults
- `pyconc/concurrent/futures/thread.hpp`     ThreadPoolExecutor, ThreadPoolExecutorOptions,
                                             BrokenThreadPool

```cpp
using namespace pyconc;
concurrent::futures::ThreadPoolExecutor executor(4);
auto f = executor.submit([] { return 6 * 7; });
print(f.result());  // 42
```
*/
#ifndef PYCONC_CONCURRENT_FUTURES_HPP_INCLUDED
#define PYCONC_CONCURRENT_FUTURES_HPP_INCLUDED

#include <pyconc/concurrent/futures/executor.hpp>
#include <pyconc/concurrent/futures/future.hpp>
#include <pyconc/concurrent/futures/process.hpp>
#include <pyconc/concurrent/futures/thread.hpp>
#include <pyconc/concurrent/futures/wait.hpp>

#endif  // PYCONC_CONCURRENT_FUTURES_HPP_INCLUDED
