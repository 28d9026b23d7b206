// SPDX-License-Identifier: MIT
/**
`pyconc/threading/timer.hpp` — `threading.Timer`.

Defines:
- `threading::Timer`   a Thread that calls a function after a delay, unless cancelled.
*/
#ifndef PYCONC_THREADING_TIMER_HPP_INCLUDED
#define PYCONC_THREADING_TIMER_HPP_INCLUDED

#include <concepts>    // std::invocable
#include <functional>  // std::function
#include <memory>      // std::shared_ptr, std::make_shared
#include <tuple>       // std::tuple, std::apply
#include <utility>     // std::move, std::forward

#include <pyconc/threading/event.hpp>
#include <pyconc/threading/thread.hpp>
#include <pyconc/timeout.hpp>

namespace pyconc {
inline namespace v0 {
namespace threading {

/**
Python: `threading.Timer(interval, function, args=None)`. A thread that waits `interval`
seconds, then calls `function(args...)` unless `cancel()` was called first.

```cpp
threading::Timer t(30.0, hello);
t.start();   // after 30 seconds, hello() runs
t.cancel();  // ...unless cancelled before
```
Named `Thread-N` like other unnamed threads.
*/
class Timer : public Thread {
 public:
  template <class F>
  requires std::invocable<F&> Timer(Timeout interval, F&& function)
      : Timer(interval, std::function<void()>(std::forward<F>(function)), std::make_shared<Event>()) {}

  template <class F, class... Args>
  requires std::invocable<F&, Args&...> Timer(Timeout interval, F&& function, std::tuple<Args...> args)
      : Timer(interval, std::function<void()>([f = std::forward<F>(function), a = std::move(args)]() mutable {
                std::apply(f, a);
              }),
              std::make_shared<Event>()) {}

  /** Stops the timer if it has not fired yet. Never blocks. Thread-safe. */
  void cancel() noexcept { finished_->set(); }

 private:
  Timer(Timeout interval, std::function<void()> function, std::shared_ptr<Event> finished)
      : Thread(Options{.target =
                           [interval, function = std::move(function), finished] {
                             finished->wait(interval);
                             if (!finished->is_set())
                               function();
                             finished->set();
                           }},
               TargetOnly{}),
        finished_(std::move(finished)) {}

  std::shared_ptr<Event> finished_;
};

}  // namespace threading
}  // namespace v0
}  // namespace pyconc

#endif  // PYCONC_THREADING_TIMER_HPP_INCLUDED
