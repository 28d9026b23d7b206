// SPDX-License-Identifier: MIT
/**
`pyconc/threading/local.hpp` — `threading.local`.

Defines:
- `threading::local<T>`   one `T` per thread, created on the thread's first access.
*/
#ifndef PYCONC_THREADING_LOCAL_HPP_INCLUDED
#define PYCONC_THREADING_LOCAL_HPP_INCLUDED

#include <atomic>      // std::atomic
#include <cstdint>     // std::uint64_t
#include <functional>  // std::function
#include <memory>      // std::shared_ptr, std::unique_ptr, std::weak_ptr
#include <mutex>       // std::lock_guard
#include <tuple>       // std::tuple, std::apply

#include <unordered_map>  // std::unordered_map
#include <utility>        // std::move

#include <pyconc/detail/fork_gate.hpp>
#include <pyconc/detail/thread_state.hpp>
#include <pyconc/threading/lock.hpp>

namespace pyconc {
inline namespace v0 {

namespace detail {

// What a thread's cache needs of a `local`: a way to drop that thread's value.
struct LocalImplBase {
  virtual ~LocalImplBase() = default;
  virtual void erase(std::uint64_t thread_key) = 0;
};

inline std::uint64_t next_serial(std::atomic<std::uint64_t>& counter) noexcept {
  return counter.fetch_add(1, std::memory_order_relaxed) + 1;
}

/** A number for the calling thread that is never reused. */
inline std::uint64_t thread_key() noexcept {
  static std::atomic<std::uint64_t> counter{0};
  thread_local const std::uint64_t key = next_serial(counter);
  return key;
}

/**
The one lock behind every `local`'s table of values: taken only on a thread's first access
and when a thread ends; an internal lock, so never held across fork() (a child can use its
locals).
*/
inline InternalLock& locals_lock() {
  static InternalLock* const lock = new InternalLock;  // never deleted: threads may end after static destruction began
  return *lock;
}

/** A number for a new `local`, never reused (whatever its `T`). */
inline std::uint64_t next_local_id() noexcept {
  static std::atomic<std::uint64_t> counter{0};
  return next_serial(counter);
}

/**
The calling thread's values of every `local` it touched, by the local's id (ids are never
reused, so an entry of a destroyed local is never found again). `clear()` destroys this
thread's values; it runs when a pyconc thread finishes and at any thread's exit.
*/
class LocalCache {
 public:
  struct Entry {
    void* value;
    std::weak_ptr<LocalImplBase> owner;
  };

  LocalCache() = default;
  LocalCache(const LocalCache&) = delete;
  LocalCache& operator=(const LocalCache&) = delete;
  ~LocalCache() { clear(); }

  [[nodiscard]] void* find(std::uint64_t id) const noexcept {
    const auto it = entries_.find(id);
    return it == entries_.end() ? nullptr : it->second.value;
  }

  void insert(std::uint64_t id, void* value, std::weak_ptr<LocalImplBase> owner) {
    if (entries_.size() >= 2 * size_after_purge_ + 16)
      purge_dead();
    entries_.emplace(id, Entry{value, std::move(owner)});
  }

  void clear() {
    while (!entries_.empty()) {
      auto node = entries_.extract(entries_.begin());  // a value's destructor may use other locals
      if (auto owner = node.mapped().owner.lock())
        owner->erase(thread_key());
    }
    size_after_purge_ = 0;
  }

 private:
  void purge_dead() {
    std::erase_if(entries_, [](const auto& kv) { return kv.second.owner.expired(); });
    size_after_purge_ = entries_.size();
  }

  std::unordered_map<std::uint64_t, Entry> entries_;
  std::size_t size_after_purge_ = 0;
};

inline LocalCache& local_cache() {
  thread_local LocalCache cache;
  return cache;
}

}  // namespace detail

namespace threading {

/**
Python: `threading.local()`. Thread-local data: each thread that touches a `local<T>` sees its
own `T`, built on its first access from the constructor's arguments (as CPython re-runs a
`local` subclass's `__init__` in each thread).

Lifetime: a thread's value is destroyed in that thread when it ends (for pyconc threads,
before `join()` returns), or, for threads still alive, when the `local` is destroyed.

Cost: after the first access, one hash lookup in a thread-local table.

```cpp
struct Student { std::string name; };
threading::local<Student> local_school;
local_school->name = "Alice";  // this thread only
```

Differs from Python: attributes are the members of `T`, fixed at compile time, instead of a
per-thread dict; the constructor's arguments are copied once and reused for each thread.
*/
template <class T>
class local {
 public:
  /** Each thread's `T` will be built as `T(args...)` (from copies kept by the local). */
  template <class... Args>
  explicit local(Args... args)
      : impl_(std::make_shared<Impl>([tuple = std::tuple<Args...>(std::move(args)...)] {
          return std::apply([](const auto&... a) { return std::make_unique<T>(a...); }, tuple);
        })) {}
  local(const local&) = delete;
  local& operator=(const local&) = delete;
  ~local() {
    // Daemon threads may still use a static local while the program exits: leave its values
    // (the process is ending anyway) rather than free memory they are using.
    auto& r = pyconc::detail::registry();
    if (pyconc::detail::exiting())
      r.keep_until_exit(impl_);
  }

  /** The calling thread's value; built on first access. Thread-safe. */
  [[nodiscard]] T& get() {
    auto& cache = detail::local_cache();
    if (void* found = cache.find(impl_->id))
      return *static_cast<T*>(found);
    T* value = impl_->create();
    cache.insert(impl_->id, value, impl_);
    return *value;
  }
  T* operator->() { return &get(); }
  T& operator*() { return get(); }

 private:
  struct Impl final : detail::LocalImplBase {
    explicit Impl(std::function<std::unique_ptr<T>()> make) : make_(std::move(make)) {}

    T* create() {
      auto value = make_();
      T* raw = value.get();
      std::lock_guard with(detail::locals_lock());
      values_[detail::thread_key()] = std::move(value);
      return raw;
    }
    void erase(std::uint64_t thread_key) override {
      std::unique_ptr<T> doomed;  // destroyed outside the lock
      std::lock_guard with(detail::locals_lock());
      if (auto it = values_.find(thread_key); it != values_.end()) {
        doomed = std::move(it->second);
        values_.erase(it);
      }
    }

    const std::uint64_t id = detail::next_local_id();
    std::function<std::unique_ptr<T>()> make_;
    std::unordered_map<std::uint64_t, std::unique_ptr<T>> values_;
  };

  std::shared_ptr<Impl> impl_;
};

}  // namespace threading
}  // namespace v0
}  // namespace pyconc

#endif  // PYCONC_THREADING_LOCAL_HPP_INCLUDED
