// SPDX-License-Identifier: MIT
// Tests for pyconc::gil::timeline: threads' GIL state changes as Chrome trace-event JSON.
#include <pyconc/gil.hpp>
#include <pyconc/threading.hpp>
#include <pyconc/time.hpp>

#include <catch2/catch.hpp>

#include <atomic>   // std::atomic
#include <cstdio>   // std::remove, std::fopen
#include <fstream>  // std::ifstream
#include <sstream>  // std::stringstream
#include <string>   // std::string

#include "support.hpp"

using namespace pyconc;

namespace {

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
    ++n;
  return n;
}

}  // namespace

TEST_CASE("Nothing is recorded unless a timeline was started", "[gil][timeline]") {
  CHECK_FALSE(gil::timeline::recording());
  gil::enable();
  threading::Thread t([] { time::sleep(0.001); });
  t.start();
  t.join();
  gil::disable();
  const std::string trace = gil::timeline::chrome_trace();
  CHECK(count(trace, "\"ph\": \"X\"") == 0);
}

TEST_CASE("The timeline shows running waiting and io stretches of each thread", "[gil][timeline]") {
  sys::setswitchinterval(0.002);
  gil::enable();
  gil::timeline::start();
  CHECK(gil::timeline::recording());
  std::atomic<bool> stop{false};
  threading::Event started;
  threading::Thread spinner(
      [&] {
        started.set();
        const pyconc_test::Stopwatch clock;
        while (!stop && clock.elapsed() < 20)
          gil::checkpoint();
      },
      {.name = "Spinner"});
  spinner.start();
  started.wait();
  for (int i = 0; i < 3; ++i)
    time::sleep(0.002);  // io, then (if the spinner woke) waiting
  stop = true;
  spinner.join();
  gil::timeline::stop();
  CHECK_FALSE(gil::timeline::recording());
  gil::disable();
  sys::setswitchinterval(0.005);

  const std::string trace = gil::timeline::chrome_trace();
  INFO(trace);
  CHECK(trace.rfind("{\"displayTimeUnit\": \"ms\", \"traceEvents\": [", 0) == 0);
  CHECK(count(trace, "\"name\": \"thread_name\"") == 2);
  CHECK(count(trace, "\"name\": \"MainThread\"") == 1);
  CHECK(count(trace, "\"name\": \"Spinner\"") == 1);
  CHECK(count(trace, "\"name\": \"running\"") >= 3);
  CHECK(count(trace, "\"name\": \"waiting\"") >= 1);
  CHECK(count(trace, "\"name\": \"io\"") >= 3);

  const std::string path = "gil_timeline_test.json";
  gil::timeline::write_chrome_trace(path);
  std::stringstream written;
  written << std::ifstream(path).rdbuf();
  CHECK(written.str() == trace);
  std::remove(path.c_str());
  REQUIRE_RAISES(gil::timeline::write_chrome_trace("/nonexistent-dir/x.json"), RuntimeError,
                 "cannot write /nonexistent-dir/x.json");
}

TEST_CASE("timeline start forgets the previous recording", "[gil][timeline]") {
  gil::enable();
  gil::timeline::start();
  threading::Thread t([] {}, {.name = "First"});
  t.start();
  t.join();
  gil::timeline::start();
  gil::timeline::stop();
  gil::disable();
  CHECK(gil::timeline::chrome_trace().find("First") == std::string::npos);
}
