// SPDX-License-Identifier: MIT
/**
`pyconc/multiprocessing/context.hpp` — start methods and contexts (Python's
`multiprocessing.context`).

Defines:
- `multiprocessing::ForkProcess`, `SpawnProcess`, `ForkServerProcess`   a `Process` whose
  start method is part of its type. `SpawnProcess` and `ForkServerProcess` refuse, at compile
  time, a target a new program cannot run (a lambda with captures, a `std::function`) and
  arguments that cannot be pickled.
- `multiprocessing::ForkContext`, `SpawnContext`, `ForkServerContext`   contexts whose type
  names the method: `ctx.Process(...)` is checked at compile time as above.
- `multiprocessing::Context`          a context chosen at run time (`get_context("spawn")`);
  its `Process(...)` is checked when it starts (`pickle::PicklingError`).
- `multiprocessing::get_context`, `set_start_method`, `get_start_method`,
  `get_all_start_methods`.

```cpp
multiprocessing::set_start_method("spawn");          // mp.set_start_method('spawn')
auto ctx = multiprocessing::get_context("forkserver");  // ctx = mp.get_context('forkserver')
auto p = ctx.Process(work, std::tuple{1});           // ctx.Process(target=work, args=(1,))
```

The default start method is `fork` on Linux, as in CPython up to 3.13. As CPython's, it is
fixed by `set_start_method` or by its first use (a `Process` started without a method of its
own, `get_start_method()`, `get_context()`); after that `set_start_method` raises
`RuntimeError("context has already been set")` unless `force` is true.
*/
#ifndef PYCONC_MULTIPROCESSING_CONTEXT_HPP_INCLUDED
#define PYCONC_MULTIPROCESSING_CONTEXT_HPP_INCLUDED

#include <mutex>        // std::lock_guard
#include <optional>     // std::optional
#include <string>       // std::string
#include <string_view>  // std::string_view
#include <tuple>        // std::tuple
#include <type_traits>  // std::decay_t
#include <utility>      // std::forward
#include <vector>       // std::vector

#include <pyconc/errors.hpp>
#include <pyconc/multiprocessing/process.hpp>
#include <pyconc/pickle.hpp>

namespace pyconc {
inline namespace v0 {
namespace detail {

/** The start method called `name`, or `ValueError("cannot find context for 'name'")`. */
inline multiprocessing::StartMethod parse_start_method(std::string_view name) {
  if (name == "fork")
    return multiprocessing::StartMethod::fork;
  if (name == "spawn")
    return multiprocessing::StartMethod::spawn;
  if (name == "forkserver")
    return multiprocessing::StartMethod::forkserver;
  raise<ValueError>("cannot find context for " + string_repr(name));
}

}  // namespace detail

namespace multiprocessing {

/**
A context whose start method is part of its type (Python's `ForkContext`, `SpawnContext`,
`ForkServerContext`): `ctx.Process(...)` makes a `ForkProcess`, `SpawnProcess` or
`ForkServerProcess`.
*/
template <class ProcessType, StartMethod Method>
class FixedContext {
 public:
  /** Python: `ctx.Process(target, args, ...)`. */
  template <class... A>
  [[nodiscard]] ProcessType Process(A&&... a) const {  // NOLINT(readability-identifier-naming): Python's name
    return ProcessType(std::forward<A>(a)...);
  }
  /** Python: `ctx.get_start_method()`. */
  [[nodiscard]] std::string get_start_method() const { return start_method_name(Method); }
  /** Python: `ctx.set_start_method(...)` on a concrete context: `ValueError`. */
  void set_start_method(std::string_view, bool = false) const {
    pyconc::detail::raise<ValueError>("cannot set start method of concrete context");
  }
  /** Python: `ctx.cpu_count()`. */
  [[nodiscard]] int cpu_count() const noexcept { return multiprocessing::cpu_count(); }
};

using ForkContext = FixedContext<ForkProcess, StartMethod::fork>;
using SpawnContext = FixedContext<SpawnProcess, StartMethod::spawn>;
using ForkServerContext = FixedContext<ForkServerProcess, StartMethod::forkserver>;

/**
A context chosen at run time, as `get_context("spawn")` returns: `ctx.Process(...)` makes a
`Process` with that start method. A target a new program cannot run is refused when such a
process starts (`pickle::PicklingError`).
*/
class Context {
 public:
  explicit Context(StartMethod method) noexcept : method_(method) {}

  /** Python: `ctx.Process(...)`, with no target. */
  [[nodiscard]] multiprocessing::Process Process(ProcessOptions options = {}) const {  // NOLINT: Python's name
    return multiprocessing::Process(method_, std::move(options));
  }
  /** Python: `ctx.Process(target=target, ...)`. */
  template <class F>
  requires(std::invocable<std::decay_t<F>&> && !std::same_as<std::remove_cvref_t<F>, ProcessOptions>)
      [[nodiscard]] multiprocessing::Process Process(F&& target, ProcessOptions options = {}) const {
    return Process(std::forward<F>(target), std::tuple<>{}, std::move(options));
  }
  /** Python: `ctx.Process(target=target, args=(...), ...)`. */
  template <class F, class... Args>
  requires std::invocable < std::decay_t<F>
  &, Args&... > [[nodiscard]] multiprocessing::Process Process(F&& target, std::tuple<Args...> args,
                                                               ProcessOptions options = {}) const {
    multiprocessing::Process p(method_, std::move(options));
    p.set_target(std::forward<F>(target), std::move(args));
    return p;
  }
  /** Python: `ctx.get_start_method()`. */
  [[nodiscard]] std::string get_start_method() const { return start_method_name(method_); }
  /** The start method. */
  [[nodiscard]] StartMethod start_method() const noexcept { return method_; }
  /** Python: `ctx.set_start_method(...)` on a concrete context: `ValueError`. */
  void set_start_method(std::string_view, bool = false) const {
    pyconc::detail::raise<ValueError>("cannot set start method of concrete context");
  }
  /** Python: `ctx.cpu_count()`. */
  [[nodiscard]] int cpu_count() const noexcept { return multiprocessing::cpu_count(); }

 private:
  StartMethod method_;
};

/** Python: `multiprocessing.get_all_start_methods()`: `["fork", "spawn", "forkserver"]`. */
[[nodiscard]] inline std::vector<std::string> get_all_start_methods() {
  return {"fork", "spawn", "forkserver"};
}

/**
Python: `multiprocessing.get_start_method(allow_none=False)`: the default context's method,
fixing it to `"fork"` when unset; with `allow_none`, `std::nullopt` when unset.
*/
[[nodiscard]] inline std::optional<std::string> get_start_method(bool allow_none) {
  auto& c = pyconc::detail::default_context();
  {
    std::lock_guard hold(c.lock);
    if (!c.actual && allow_none)
      return std::nullopt;
  }
  return std::string(start_method_name(pyconc::detail::default_start_method()));
}
[[nodiscard]] inline std::string get_start_method() {
  return *get_start_method(false);
}

/**
Python: `multiprocessing.set_start_method(method, force=False)`. Raises
`RuntimeError("context has already been set")` when the method is already fixed (unless
`force`), `ValueError("cannot find context for 'x'")` for an unknown name.
*/
inline void set_start_method(std::string_view method, bool force = false) {
  auto& c = pyconc::detail::default_context();
  std::lock_guard hold(c.lock);
  if (c.actual && !force)
    pyconc::detail::raise<RuntimeError>("context has already been set");
  c.actual = pyconc::detail::parse_start_method(method);
}

/** Python: `multiprocessing.get_context(method=None)`: the context of `method`, or the default one (fixing it). */
[[nodiscard]] inline Context get_context() {
  return Context(pyconc::detail::default_start_method());
}
[[nodiscard]] inline Context get_context(std::string_view method) {
  return Context(pyconc::detail::parse_start_method(method));
}

}  // namespace multiprocessing
}  // namespace v0
}  // namespace pyconc

#endif  // PYCONC_MULTIPROCESSING_CONTEXT_HPP_INCLUDED
