// SPDX-License-Identifier: MIT
// Helpers for the tests of pyconc's detail layer across fork(): an anonymous MAP_SHARED
// mapping that a forked child shares with its parent, and a wait until a process sleeps.
#ifndef PYCONC_TESTS_DETAIL_SHARED_MEMORY_SUPPORT_HPP_INCLUDED
#define PYCONC_TESTS_DETAIL_SHARED_MEMORY_SUPPORT_HPP_INCLUDED

#include <sys/mman.h>  // mmap, munmap
#include <unistd.h>    // getpid

#include <atomic>   // std::atomic
#include <chrono>   // std::chrono
#include <cstddef>  // std::size_t
#include <fstream>  // std::ifstream
#include <new>      // placement new
#include <string>   // std::string
#include <thread>   // std::this_thread
#include <utility>  // std::forward

namespace pyconc_test {

/** A `T` built in memory that forked children share with this process (MAP_SHARED). */
template <class T>
class Shared {
 public:
  template <class... Args>
  explicit Shared(Args&&... args) {
    void* p = ::mmap(nullptr, sizeof(T), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
      throw std::bad_alloc();
    object_ = ::new (p) T(std::forward<Args>(args)...);
  }
  Shared(const Shared&) = delete;
  Shared& operator=(const Shared&) = delete;
  ~Shared() {
    object_->~T();
    ::munmap(object_, sizeof(T));
  }
  T& operator*() const noexcept { return *object_; }
  T* operator->() const noexcept { return object_; }

 private:
  T* object_ = nullptr;
};

/** The scheduler state of process `pid` ('R', 'S', 'D', 'Z', ...), or 0 when unreadable. */
inline char process_state(int pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const auto paren = text.rfind(')');
  return paren == std::string::npos || paren + 2 >= text.size() ? '\0' : text[paren + 2];
}

/**
Waits (at most `seconds`) until the process whose pid a child stores in `pid` is asleep in
the kernel; returns whether it is. The children of these tests sleep only in the wait under
test, so "asleep" means "waiting there".
*/
inline bool wait_until_asleep(const std::atomic<int>& pid, double seconds = 5.0) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < until) {
    const int p = pid.load();
    if (p != 0 && process_state(p) == 'S')
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));  // polling an observable state
  }
  return false;
}

}  // namespace pyconc_test

#endif  // PYCONC_TESTS_DETAIL_SHARED_MEMORY_SUPPORT_HPP_INCLUDED
