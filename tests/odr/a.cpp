// SPDX-License-Identifier: MIT
// One of two translation units that include <pyconc.hpp> and are linked into one program:
// anything the headers define at namespace scope without `inline` breaks the link.
#include <pyconc.hpp>

#include <mutex>

int odr_a() {
  pyconc::threading::Lock lock;
  int value = 0;
  {
    std::lock_guard guard(lock);
    value = 1;
  }
  return lock.locked() ? -1 : value;
}
