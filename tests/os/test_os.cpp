// Tests for pyconc::os: getpid, getppid, cpu_count.
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <pyconc/os.hpp>

using namespace pyconc;

TEST_CASE("os.getpid and getppid name this process and its parent", "[os]") {
  CHECK(os::getpid() == static_cast<long>(::getpid()));
  CHECK(os::getppid() == static_cast<long>(::getppid()));
  const long parent = os::getpid();
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0)
    _exit(os::getppid() == parent && os::getpid() != parent ? 0 : 1);
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("os.cpu_count is the number of online CPUs", "[os]") {
  CHECK(os::cpu_count() >= 1);
  CHECK(os::cpu_count() == static_cast<int>(::sysconf(_SC_NPROCESSORS_ONLN)));
}
