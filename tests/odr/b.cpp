// SPDX-License-Identifier: MIT
// The second translation unit that includes <pyconc.hpp> (see a.cpp).
#include <pyconc.hpp>

int odr_b() {
  pyconc::threading::Lock lock;
  int value = 0;
  if (lock.acquire(false)) {
    value = 2;
    lock.release();
  }
  return lock.locked() ? -1 : value;
}
