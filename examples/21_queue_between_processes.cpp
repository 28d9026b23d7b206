// SPDX-License-Identifier: MIT
//
// 21_queue_between_processes: a writer process puts A, B, C into a Queue, a reader process
// gets and prints them (the classic example of communication between processes).
//
// Mirrors the Python:
//     q = Queue()
//     pw = Process(target=writer, args=(q,))
//     value = q.get(True)
//
// The queue holds one type: std::optional<std::string>, whose std::nullopt is Python's None.
#include <pyconc.hpp>  // pyconc: multiprocessing::Process, Queue; os::getpid; time::sleep; print

#include <optional>  // std::optional
#include <random>    // std::mt19937, std::uniform_real_distribution
#include <string>    // std::string
#include <tuple>     // std::tuple

using namespace pyconc;
using multiprocessing::Process;
using Queue = multiprocessing::Queue<std::optional<std::string>>;

void writer(Queue q) {
  print("Process to write:", os::getpid());
  std::mt19937 random(std::random_device{}());
  for (const std::string value : {"A", "B", "C"}) {
    print("Put " + value + " to queue...");
    q.put(value);
    time::sleep(std::uniform_real_distribution<double>(0, 1)(random) / 10);
  }
}

void reader(Queue q) {
  print("Process to read:", os::getpid());
  for (;;) {
    const auto value = q.get(true);
    if (!value)
      break;
    print("Get " + *value + " from queue.");
  }
}

int main() {
  multiprocessing::freeze_support();
  Queue q;
  Process pw(writer, std::tuple{q});
  Process pr(reader, std::tuple{q});
  pw.start();
  pr.start();
  pw.join();
  q.put(std::nullopt);  // tells the reader to stop
  pr.join();
}
