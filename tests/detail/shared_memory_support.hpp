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

#include "support.hpp"

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

/**
Runs `body(report_fd)` in a forked child (`run_in_child`) that first stores its pid in `pid`
(an atomic in shared memory); meanwhile, here, waits until that child sleeps and then calls
`when_asleep()`. Returns the child's outcome; `asleep` says whether it was seen asleep.
*/
template <class Body, class Action>
ChildOutcome run_child_then(std::atomic<int>& pid, Body body, Action when_asleep, bool& asleep) {
  ChildOutcome outcome;
  std::thread parent_side([&] {
    outcome = run_in_child([&](int report_fd) {
      pid.store(::getpid());
      return body(report_fd);
    });
  });
  asleep = wait_until_asleep(pid);
  when_asleep();
  parent_side.join();
  return outcome;
}

}  // namespace pyconc_test

#endif  // PYCONC_TESTS_DETAIL_SHARED_MEMORY_SUPPORT_HPP_INCLUDED
