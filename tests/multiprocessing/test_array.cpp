// SPDX-License-Identifier: MIT
// multiprocessing.Array and RawArray, after CPython's _test_multiprocessing.py (_TestArray:
// test_array, test_rawarray, test_getobj_getlock_obj) and the semantics reference (§2.4):
// zero fill, initializers, indexing with negative indexes and IndexError("invalid index"),
// slices, same-size slice assignment, char arrays' value and raw, fork and spawn children.
#include <pyconc/multiprocessing.hpp>

#include "multiprocessing/process_support.hpp"
#include "support.hpp"

#include <mutex>
#include <string>
#include <tuple>
#include <vector>

namespace mp = pyconc::multiprocessing;
using pyconc_test::ProcessGuard;

namespace {

void square_all(mp::Array<long> a) {
  std::lock_guard with(a.get_lock());
  for (std::size_t i = 0; i < a.size(); ++i)
    a.get_obj()[i] = a.get_obj()[i] * a.get_obj()[i];
}

}  // namespace

TEST_CASE("Array: zero-filled or copied, len, indexing and IndexError (test_array)", "[array]") {
  mp::Array<double> zeros(3);
  CHECK(zeros.size() == 3);
  CHECK(zeros.to_list() == std::vector<double>{0.0, 0.0, 0.0});
  mp::Array<int> a{1, 2, 3, 4, 5};
  CHECK(a[0] == 1);
  CHECK(a[-1] == 5);
  a[1] = 20;
  a.set(-2, 40);
  CHECK(a.get(1) == 20);
  CHECK(a.to_list() == std::vector<int>{1, 20, 3, 40, 5});
  REQUIRE_RAISES(static_cast<void>(a.get(5)), pyconc::IndexError, "invalid index");
  REQUIRE_RAISES(a.set(-6, 0), pyconc::IndexError, "invalid index");
  const mp::Array<int> from_vector(std::vector<int>{7, 8});
  CHECK(from_vector[1] == 8);
}

TEST_CASE("Array: slices are copied out and assigned with the same length", "[array]") {
  mp::Array<int> a{0, 1, 2, 3, 4, 5};
  CHECK(a.slice(1, 4) == std::vector<int>{1, 2, 3});
  CHECK(a.slice(std::nullopt, std::nullopt, 2) == std::vector<int>{0, 2, 4});
  CHECK(a.slice(-2, std::nullopt) == std::vector<int>{4, 5});
  CHECK(a.slice(std::nullopt, std::nullopt, -1) == std::vector<int>{5, 4, 3, 2, 1, 0});
  CHECK(a.slice(10, 20).empty());
  a.assign(0, 2, {10, 11});
  CHECK(a.to_list() == std::vector<int>{10, 11, 2, 3, 4, 5});
  REQUIRE_RAISES(a.assign(0, 2, {1}), pyconc::ValueError, "Can only assign sequence of same size");
  REQUIRE_RAISES(static_cast<void>(a.slice(0, 2, 0)), pyconc::ValueError, "slice step cannot be zero");
}

TEST_CASE("Array: repr, get_lock, lock=false and RawArray (test_rawarray, test_getobj_getlock_obj)", "[array]") {
  mp::Array<double> a(3);
  CHECK(a.repr().rfind("<SynchronizedArray wrapper for <multiprocessing.sharedctypes.c_double_Array_3 object at 0x",
                       0) == 0);
  CHECK(a.get_lock().repr() == "<RLock(None, 0)>");
  mp::RawArray<int> raw{1, 2};
  CHECK(raw.repr().rfind("<multiprocessing.sharedctypes.c_int_Array_2 object at 0x", 0) == 0);
  REQUIRE_RAISES(static_cast<void>(raw.get_lock()), pyconc::AttributeError,
                 "'c_int_Array_2' object has no attribute 'get_lock'");
  mp::Array<char> text(std::string("hello"));
  CHECK(text.value() == "hello");
  CHECK(text.raw() == "hello");
  CHECK(text.repr().rfind("<SynchronizedString wrapper for <multiprocessing.sharedctypes.c_char_Array_5", 0) == 0);
  text.set(2, '\0');
  CHECK(text.value() == "he");
  CHECK(text.raw() == std::string("he\0lo", 5));
}

TEST_CASE("Array: fork, spawn and forkserver children change the parent's elements", "[array][spawn]") {
  ProcessGuard guard;
  for (const std::string method : {"fork", "spawn", "forkserver"}) {
    mp::Array<long> a{1, 2, 3, -4};
    auto child = mp::get_context(method).Process(square_all, std::tuple{a});
    child.start();
    child.join();
    CHECK(child.exitcode() == 0);
    CHECK(a.to_list() == std::vector<long>{1, 4, 9, 16});
  }
}
