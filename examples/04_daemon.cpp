// SPDX-License-Identifier: MIT
//
// 04_daemon: at exit the program waits for non-daemon threads but not for daemon threads.
//
// Mirrors the Python:
//     d = threading.Thread(target=background, name='Background', daemon=True)
//     w = threading.Thread(target=worker, name='Worker')
//     d.start()
//     w.start()
//     print('main: last line')
//
// After main() returns, pyconc joins the non-daemon Worker (its line comes after main's last
// line) and ends the process without waiting for the daemon Background thread.
#include <pyconc.hpp>  // pyconc: threading::Thread; time::sleep; print

using namespace pyconc;

void background() {
  time::sleep(5);  // a long job: the program will not wait for it
  print("daemon: this line is never printed");
}

void worker() {
  time::sleep(0.5);
  print("worker: finished after the main thread");
}

int main() {
  threading::Thread d(background, {.name = "Background", .daemon = true});
  threading::Thread w(worker, {.name = "Worker"});
  d.start();
  w.start();
  print(d.name(), "daemon:", d.daemon());
  print(w.name(), "daemon:", w.daemon());
  print("main: worker alive:", w.is_alive());
  print("main: last line");
  // The program waits for the non-daemon Worker before it exits,
  // but not for the daemon Background thread.
}
