// SPDX-License-Identifier: MIT
/**
`pyconc/multiprocessing.hpp` — Python's `multiprocessing` module, namespace
`pyconc::multiprocessing` (Linux).

Includes:
- `multiprocessing/process.hpp`     `Process`, `ForkProcess`, `SpawnProcess`,
                                    `ForkServerProcess`, `current_process`, `parent_process`,
                                    `active_children`, `cpu_count`, `freeze_support`.
- `multiprocessing/context.hpp`     `get_context`, `set_start_method`, `get_start_method`,
                                    `get_all_start_methods`, the context classes.
- `multiprocessing/connection.hpp`  `Pipe`, `Connection`, `connection::wait`.
- `multiprocessing/forkserver.hpp`  the forkserver start method.
- `multiprocessing/synchronize.hpp` `Lock`, `RLock`, `Semaphore`, `BoundedSemaphore`,
                                    `Condition`, `Event`, `Barrier` between processes.
- `multiprocessing/queues.hpp`      `Queue`, `JoinableQueue`, `SimpleQueue`.
- `multiprocessing/sharedctypes.hpp` `Value`, `Array`, `RawValue`, `RawArray`.
- `multiprocessing/pool.hpp`        `Pool`, `pool::ThreadPool` (`dummy::Pool`), `AsyncResult`,
                                    `IMapIterator`, `WorkerLostError`, `MaybeEncodingError`.
- `multiprocessing/heap.hpp`        the shared memory they live in.
- `multiprocessing/shared_memory.hpp`   `shared_memory::SharedMemory`, `ShareableList`,
                                        `ShareableValue`, `Bytes`.
- `multiprocessing/resource_tracker.hpp` `resource_tracker::ensure_running`, `register_`,
                                        `unregister`, `getfd`.
- `multiprocessing/errors.hpp`      `ProcessError`, `BufferTooShort`, `TimeoutError`,
                                    `AuthenticationError`, `AbandonedLockError`.

A program that uses the spawn or forkserver start method calls
`multiprocessing::freeze_support()` first thing in `main` (see `process.hpp`).
*/
#ifndef PYCONC_MULTIPROCESSING_HPP_INCLUDED
#define PYCONC_MULTIPROCESSING_HPP_INCLUDED

#include <pyconc/multiprocessing/connection.hpp>
#include <pyconc/multiprocessing/context.hpp>
#include <pyconc/multiprocessing/errors.hpp>
#include <pyconc/multiprocessing/forkserver.hpp>
#include <pyconc/multiprocessing/heap.hpp>
#include <pyconc/multiprocessing/pool.hpp>
#include <pyconc/multiprocessing/process.hpp>
#include <pyconc/multiprocessing/queues.hpp>
#include <pyconc/multiprocessing/resource_tracker.hpp>
#include <pyconc/multiprocessing/shared_memory.hpp>
#include <pyconc/multiprocessing/sharedctypes.hpp>
#include <pyconc/multiprocessing/synchronize.hpp>

#endif  // PYCONC_MULTIPROCESSING_HPP_INCLUDED
