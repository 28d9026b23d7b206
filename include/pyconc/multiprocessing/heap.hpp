// SPDX-License-Identifier: MIT
/**
`pyconc/multiprocessing/heap.hpp` — the memory that multiprocessing's locks, queues and
shared values live in (Python's `multiprocessing.heap`).

Defines:
- `detail::SharedBlock`        memory several processes map: a memfd, mapped `MAP_SHARED`.
- `detail::Shared<T>`          a handle to one `T` built at the start of a `SharedBlock`.
- `detail::inheritance_only`   the types that reach another process only as `Process` args.
- `detail::assert_sendable<T>()`   the compile-time check `Connection::send` and the queues make.

## One block per object

Each shared object (a Lock, a Value, a queue's ring) gets its own memfd, mapped whole. The
kernel frees the memory when the last process that maps it unmaps it, so an object lives as
long as any process still uses it: a parent that drops its Lock while a child still uses it
frees nothing under the child (CPython's heap can hand such a block to a new object). The
cost is one file descriptor per object while a handle to it exists in the process, like
CPython's one semaphore per lock.

## How an object reaches a child

A forked child maps everything its parent mapped: the `Shared<T>` handle it copies points at
the same memory. A spawned or forkserver child receives the memfd beside its pickled
arguments (`detail::InheritedFds`, as a `Connection` does) and maps it: the same object at
another address, so nothing in the shared memory may be a pointer.

Sending such an object through a `Connection` or a queue does not compile (`assert_sendable`);
CPython raises `RuntimeError("Lock objects should only be shared between processes through
inheritance")` at run time instead. A shared object inside a type the check cannot see into
(a struct's member) fails at run time with that error.
*/
#ifndef PYCONC_MULTIPROCESSING_HEAP_HPP_INCLUDED
#define PYCONC_MULTIPROCESSING_HEAP_HPP_INCLUDED

#include <array>        // std::array
#include <cerrno>       // errno
#include <cstddef>      // std::size_t
#include <cstdint>      // std::uint32_t
#include <memory>       // std::shared_ptr, std::make_shared
#include <new>          // placement new
#include <string>       // std::string
#include <type_traits>  // std::is_trivially_destructible_v
#include <utility>      // std::exchange, std::forward
#include <vector>       // std::vector

#include <sys/mman.h>  // memfd_create, mmap, munmap
#include <sys/stat.h>  // fstat
#include <unistd.h>    // ftruncate, sysconf

#include <pyconc/detail/fd.hpp>
#include <pyconc/errors.hpp>
#include <pyconc/pickle.hpp>

namespace pyconc {
inline namespace v0 {
namespace detail {

/**
Memory that several processes map: an anonymous memfd of at least `size` bytes, zero-filled,
mapped `MAP_SHARED` and read-write. Closing the last handle in a process unmaps it there.
Not copyable (share it through `std::shared_ptr`).
*/
class SharedBlock {
 public:
  /** A new zero-filled block of `size` bytes (at least one). Raises `OSError` on failure. */
  static std::shared_ptr<SharedBlock> create(std::size_t size) {
    Fd fd(::memfd_create("pyconc-mp", MFD_CLOEXEC));
    if (!fd)
      raise_errno(errno);
    if (size == 0)
      size = 1;
    if (::ftruncate(fd.get(), static_cast<off_t>(size)) != 0)
      raise_errno(errno);
    return std::shared_ptr<SharedBlock>(new SharedBlock(std::move(fd), size));
  }

  /** The block behind `fd` (received from a parent), which the returned handle owns. */
  static std::shared_ptr<SharedBlock> adopt(int fd) {
    Fd owned(fd);
    struct stat st {};
    if (::fstat(owned.get(), &st) != 0)
      raise_errno(errno);
    return std::shared_ptr<SharedBlock>(new SharedBlock(std::move(owned), static_cast<std::size_t>(st.st_size)));
  }

  SharedBlock(const SharedBlock&) = delete;
  SharedBlock& operator=(const SharedBlock&) = delete;
  ~SharedBlock() { ::munmap(data_, size_); }

  [[nodiscard]] void* data() const noexcept { return data_; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] int fd() const noexcept { return fd_.get(); }

 private:
  SharedBlock(Fd fd, std::size_t size) : fd_(std::move(fd)), size_(size) {
    data_ = ::mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_SHARED, fd_.get(), 0);
    if (data_ == MAP_FAILED)
      raise_errno(errno);
  }

  Fd fd_;
  std::size_t size_ = 0;
  void* data_ = nullptr;
};

/**
A handle to one `T` built at the start of its own `SharedBlock` (followed by `extra` bytes the
owner uses: an array's elements). Copies share the object. `T` holds no pointers and needs no
destructor: the memory is freed by the kernel when the last process unmaps it.
*/
template <class T>
class Shared {
  static_assert(std::is_trivially_destructible_v<T>, "an object in shared memory is never destroyed");

 public:
  Shared() = default;

  /** A new block holding `T(args...)`, then `extra` zero bytes. */
  template <class... Args>
  static Shared make(std::size_t extra, Args&&... args) {
    Shared s;
    s.block_ = SharedBlock::create(sizeof(T) + extra);
    s.object_ = ::new (s.block_->data()) T(std::forward<Args>(args)...);
    return s;
  }

  /** The object at `offset` in an adopted block (built by the process that created it). */
  static Shared attach(std::shared_ptr<SharedBlock> block, std::size_t offset = 0) {
    if (offset > block->size() || block->size() - offset < sizeof(T) || offset % alignof(T) != 0)
      raise<pickle::UnpicklingError>("a shared object's memory is smaller than the object");
    Shared s;
    s.object_ = reinterpret_cast<T*>(static_cast<std::byte*>(block->data()) + offset);
    s.block_ = std::move(block);
    return s;
  }

  /** A handle to `*inside`, an object within this one's block (kept alive by the handle). */
  template <class U>
  [[nodiscard]] Shared<U> alias(U* inside) const {
    Shared<U> s;
    s.block_ = block_;
    s.object_ = inside;
    return s;
  }
  /** Where the object lies in its block. */
  [[nodiscard]] std::size_t offset() const noexcept {
    return static_cast<std::size_t>(reinterpret_cast<std::byte*>(object_) - static_cast<std::byte*>(block_->data()));
  }

  [[nodiscard]] T* get() const noexcept { return object_; }
  T* operator->() const noexcept { return object_; }
  T& operator*() const noexcept { return *object_; }
  [[nodiscard]] explicit operator bool() const noexcept { return object_ != nullptr; }
  /** The bytes after the object. */
  [[nodiscard]] std::byte* extra() const noexcept { return reinterpret_cast<std::byte*>(object_) + sizeof(T); }
  [[nodiscard]] std::size_t extra_size() const noexcept { return block_->size() - sizeof(T); }
  [[nodiscard]] const std::shared_ptr<SharedBlock>& block() const noexcept { return block_; }
  friend bool operator==(const Shared& a, const Shared& b) noexcept { return a.object_ == b.object_; }

 private:
  template <class>
  friend class Shared;
  std::shared_ptr<SharedBlock> block_;
  T* object_ = nullptr;
};

/**
Pickles a shared object for a child being started: its memfd joins the descriptors passed
beside the pickle, and the child maps it. `type_name` names the public class in the error
raised anywhere else (CPython's `assert_spawning`).
*/
template <class T>
void dump_shared(PickleWriter& w, const Shared<T>& s, const char* type_name) {
  std::vector<int>* collect = inherited_fds().collect;
  if (collect == nullptr) {
    raise<RuntimeError>(std::string(type_name) +
                        " objects should only be shared between processes through inheritance");
  }
  collect->push_back(s.block()->fd());
  w.integer(static_cast<std::uint32_t>(collect->size() - 1));
  w.integer(static_cast<std::uint64_t>(s.offset()));
}

template <class T>
Shared<T> load_shared(PickleReader& r, const char* type_name) {
  const auto index = r.integer<std::uint32_t>();
  const auto offset = r.integer<std::uint64_t>();
  std::vector<int>* table = inherited_fds().table;
  if (table == nullptr || index >= table->size() || (*table)[index] < 0) {
    raise<pickle::UnpicklingError>(std::string("a ") + type_name +
                                   " can only be unpickled by the process it was passed to");
  }
  return Shared<T>::attach(SharedBlock::adopt(std::exchange((*table)[index], -1)), static_cast<std::size_t>(offset));
}

/**
Whether `T` is, or holds as a template argument, a type that reaches another process only by
inheritance (it declares `using pyconc_inheritance_only = void;`).
*/
template <class T>
    struct InheritanceOnly : std::bool_constant < requires {
  typename T::pyconc_inheritance_only;
} > {};
template <template <class...> class Template, class... Args>
    struct InheritanceOnly<Template<Args...>> : std::bool_constant < requires {
  typename Template<Args...>::pyconc_inheritance_only;
} || (InheritanceOnly<std::remove_cv_t<Args>>::value || ...) > {};
template <class T, std::size_t N>
struct InheritanceOnly<std::array<T, N>> : InheritanceOnly<T> {};
template <class T>
inline constexpr bool inheritance_only = InheritanceOnly<std::remove_cvref_t<T>>::value;

/** Fails to compile when `T` may only reach another process as a `Process` argument. */
template <class T>
constexpr void assert_sendable() {
  static_assert(!inheritance_only<T>,
                "multiprocessing Lock, RLock, Semaphore, Condition, Event, Barrier, Value, Array and Queue objects "
                "should only be shared between processes through inheritance: pass them to the Process as args");
}

}  // namespace detail
}  // namespace v0
}  // namespace pyconc

#endif  // PYCONC_MULTIPROCESSING_HEAP_HPP_INCLUDED
