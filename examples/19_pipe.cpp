// SPDX-License-Identifier: MIT
//
// 19_pipe: a pipe between two processes. The child sends objects, the parent receives them.
//
// Mirrors the Python:
//     parent_conn, child_conn = Pipe()
//     p = Process(target=f, args=(child_conn,))
//     p.start()
//     print(parent_conn.recv())
//
// recv() names the type it expects: recv<std::tuple<int, std::string>>().
#include <pyconc.hpp>  // pyconc: multiprocessing::Process, Pipe, Connection; print

#include <string>  // std::string
#include <tuple>   // std::tuple
#include <vector>  // std::vector

using namespace pyconc;

void f(multiprocessing::Connection conn) {
  conn.send(std::tuple{42, std::string("hello")});
  conn.send(std::vector{1, 2, 3});
  conn.close();
}

int main() {
  multiprocessing::freeze_support();
  auto [parent_conn, child_conn] = multiprocessing::Pipe();
  multiprocessing::Process p(f, std::tuple{child_conn});
  p.start();
  print(parent_conn.recv<std::tuple<int, std::string>>());
  print(parent_conn.recv<std::vector<int>>());
  p.join();
  print("exit code:", p.exitcode());
}
