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
- `multiprocessing/errors.hpp`      `ProcessError`, `BufferTooShort`, `TimeoutError`,
                                    `AuthenticationError`.

A program that uses the spawn or forkserver start method calls
`multiprocessing::freeze_support()` first thing in `main` (see `process.hpp`).
*/
#ifndef PYCONC_MULTIPROCESSING_HPP_INCLUDED
#define PYCONC_MULTIPROCESSING_HPP_INCLUDED

#include <pyconc/multiprocessing/connection.hpp>
#include <pyconc/multiprocessing/context.hpp>
#include <pyconc/multiprocessing/errors.hpp>
#include <pyconc/multiprocessing/forkserver.hpp>
#include <pyconc/multiprocessing/process.hpp>

#endif  // PYCONC_MULTIPROCESSING_HPP_INCLUDED
