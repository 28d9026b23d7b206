// SPDX-License-Identifier: MIT
//
// 23_shared_memory_with_python: one block of shared memory, two programs. This one creates
// it and writes a greeting, a Python process attaches it by name and turns the greeting to
// upper case, this one reads it.
//
// Mirrors the Python:
//     shm = shared_memory.SharedMemory(create=True, size=16)
//     shm.buf[:5] = b'hello'
//     child = subprocess.run([sys.executable, '-c', CHILD, shm.name])
//     print('parent reads:', bytes(shm.buf[:5]).decode())
//
// The child is the same Python code as in the original: a segment pyconc made is one Python
// attaches. The interpreter is $PYTHON, or python3. subprocess.run is a few lines of
// posix_spawnp here (pyconc has no subprocess module).
#include <pyconc.hpp>                                // pyconc: print
#include <pyconc/multiprocessing/shared_memory.hpp>  // pyconc: multiprocessing::shared_memory::SharedMemory

#include <cstdlib>  // std::getenv
#include <cstring>  // std::memcpy
#include <string>   // std::string
#include <vector>   // std::vector

#include <spawn.h>     // posix_spawnp
#include <sys/wait.h>  // waitpid

extern char** environ;

using namespace pyconc;
using multiprocessing::shared_memory::SharedMemory;

// The child: attaches the block by the name it is given. Its creator unlinks it, so the child
// takes it off its own resource tracker (Python 3.13: SharedMemory(name, track=False)).
const char* const CHILD = R"(
import sys
from multiprocessing import resource_tracker, shared_memory
shm = shared_memory.SharedMemory(sys.argv[1])
resource_tracker.unregister(shm._name, 'shared_memory')
shm.buf[:5] = bytes(shm.buf[:5]).upper()
shm.close()
)";

// subprocess.run([python, '-c', code, arg]).returncode (-1 when python cannot be started)
int run_python(const char* code, std::string arg) {
  const char* env = std::getenv("PYTHON");
  std::string python = env != nullptr && *env != '\0' ? env : "python3";
  std::string dash_c = "-c";
  std::string script = code;
  std::vector<char*> argv{python.data(), dash_c.data(), script.data(), arg.data(), nullptr};
  pid_t pid = 0;
  if (::posix_spawnp(&pid, python.c_str(), nullptr, nullptr, argv.data(), environ) != 0)
    return -1;
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

// bytes(shm.buf[:n]).decode()
std::string text(const SharedMemory& shm, std::size_t n) {
  return std::string(reinterpret_cast<const char*>(shm.buf().data()), n);
}

int main() {
  SharedMemory shm({.create = true, .size = 16});
  std::memcpy(shm.buf().data(), "hello", 5);
  print("shared memory of", shm.size(), "bytes");
  print("parent wrote:", text(shm, 5));
  const int child = run_python(CHILD, shm.name());
  print("child exit code:", child);
  print("parent reads:", text(shm, 5));
  shm.close();
  shm.unlink();
}
