// SPDX-License-Identifier: MIT
//
// 10_thread_local: each thread sees its own value in a threading.local.
//
// Mirrors the Python:
//     local_school = threading.local()
//     local_school.student = name
//     std = local_school.student
//
// A Python local takes any attribute; in C++ the attributes are the members of a struct.
// The two threads print in either order (the .expected file is marked "# unordered").
#include <pyconc.hpp>  // pyconc: threading::Thread, local, Barrier, Lock, current_thread; print

#include <mutex>   // std::lock_guard
#include <string>  // std::string
#include <tuple>   // std::tuple

using namespace pyconc;

struct School {
  std::string student;
};

threading::local<School> local_school;
threading::Barrier both_set(2);
threading::Lock print_lock;

void process_student() {
  std::string student = local_school->student;  // Python: std = local_school.student
  std::lock_guard with(print_lock);             // print() from two threads at once may mix up the lines
  print("Hello, " + student + " (in " + threading::current_thread().name() + ")");
}

void process_thread(const std::string& name) {
  local_school->student = name;
  both_set.wait();  // both threads have set their own student before either reads it
  process_student();
}

int main() {
  local_school->student = "Main";
  threading::Thread t1(process_thread, std::tuple{std::string("Alice")}, {.name = "Thread-A"});
  threading::Thread t2(process_thread, std::tuple{std::string("Bob")}, {.name = "Thread-B"});
  t1.start();
  t2.start();
  t1.join();
  t2.join();
  process_student();
}
