// SPDX-License-Identifier: MIT
// Links a.cpp and b.cpp, which both include <pyconc.hpp>, and runs code from each.
#include <pyconc.hpp>

#include <iostream>

int odr_a();
int odr_b();

int main() {
  const int a = odr_a();
  const int b = odr_b();
  std::cout << "odr: a=" << a << " b=" << b << '\n';
  return a == 1 && b == 2 ? 0 : 1;
}
