// SPDX-License-Identifier: MIT
//
// 08_timer: a Timer runs a function once after a delay, unless it is cancelled first.
//
// Mirrors the Python:
//     t = threading.Timer(0.2, hello, args=('world',))
//     t.start()
//     t.join()
//     t2.cancel()   # stop the timer before it fires: hello() never runs
#include <pyconc.hpp>  // pyconc: threading::Timer; time::sleep; print

#include <string>  // std::string
#include <tuple>   // std::tuple

using namespace pyconc;

void hello(const std::string& name) {
  print("hello,", name);
}

int main() {
  threading::Timer t(0.2, hello, std::tuple{"world"});
  t.start();
  print("timer started, alive:", t.is_alive());
  t.join();  // the timer is a thread: join() waits until it has fired
  print("timer fired, alive:", t.is_alive());

  threading::Timer t2(1.0, hello, std::tuple{"nobody"});
  t2.start();
  time::sleep(0.05);
  t2.cancel();  // stop the timer before it fires: hello() never runs
  t2.join();
  print("second timer cancelled, alive:", t2.is_alive());
}
