// SPDX-License-Identifier: MIT
/**
`pyconc/threading.hpp` — C++20 counterpart of Python's `threading` module.

Includes:
- `pyconc/threading/lock.hpp`        Lock, RLock, get_ident, TIMEOUT_MAX
- `pyconc/threading/condition.hpp`   Condition
- `pyconc/threading/semaphore.hpp`   Semaphore, BoundedSemaphore
- `pyconc/threading/event.hpp`       Event
- `pyconc/threading/barrier.hpp`     Barrier, BrokenBarrierError
- `pyconc/threading/local.hpp`       local
- `pyconc/threading/thread.hpp`      Thread, current_thread, main_thread, active_count, enumerate,
                                     get_native_id, excepthook, ExceptHookArgs, stack_size
- `pyconc/threading/timer.hpp`       Timer
*/
#ifndef PYCONC_THREADING_HPP_INCLUDED
#define PYCONC_THREADING_HPP_INCLUDED

#include <pyconc/threading/barrier.hpp>
#include <pyconc/threading/condition.hpp>
#include <pyconc/threading/event.hpp>
#include <pyconc/threading/local.hpp>
#include <pyconc/threading/lock.hpp>
#include <pyconc/threading/semaphore.hpp>
#include <pyconc/threading/thread.hpp>
#include <pyconc/threading/timer.hpp>

#endif  // PYCONC_THREADING_HPP_INCLUDED
