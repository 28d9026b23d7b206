// SPDX-License-Identifier: MIT
/**
`pyconc/os.hpp` — the part of Python's `os` module that concurrent programs use.

Defines:
- `pyconc::os::getpid`, `getppid`   process ids.
- `pyconc::os::cpu_count`           the number of CPUs in the system.
*/
#ifndef PYCONC_OS_HPP_INCLUDED
#define PYCONC_OS_HPP_INCLUDED

#include <unistd.h>  // getpid, getppid, sysconf

namespace pyconc {
inline namespace v0 {
namespace os {

/** Python: `os.getpid()`. */
[[nodiscard]] inline long getpid() noexcept {
  return static_cast<long>(::getpid());
}

/** Python: `os.getppid()`. */
[[nodiscard]] inline long getppid() noexcept {
  return static_cast<long>(::getppid());
}

/**
Python: `os.cpu_count()`. The number of CPUs online (not only those this process may
use). Differs from Python: returns 1, not `None`, when the number cannot be determined.
*/
[[nodiscard]] inline int cpu_count() noexcept {
  const long n = ::sysconf(_SC_NPROCESSORS_ONLN);  // what CPython's os.cpu_count() asks on Linux
  return n > 0 ? static_cast<int>(n) : 1;
}

}  // namespace os
}  // namespace v0
}  // namespace pyconc

#endif  // PYCONC_OS_HPP_INCLUDED
