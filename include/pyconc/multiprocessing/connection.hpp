// SPDX-License-Identifier: MIT
/**
`pyconc/multiprocessing/connection.hpp` — Python's `multiprocessing.connection`: `Pipe`,
`Connection` and `wait`.

Defines:
- `multiprocessing::connection::Connection`   one end of a pipe: framed messages, bytes or
                                             pickled objects.
- `multiprocessing::Pipe(duplex)`             a pair of connected `Connection`s (also
                                             `connection::Pipe`).
- `multiprocessing::connection::wait`         blocks until some of several connections or
                                             process sentinels are ready.

```cpp
auto [parent_conn, child_conn] = multiprocessing::Pipe();
multiprocessing::Process p([child_conn] { child_conn.send(std::vector<int>{42}); });
p.start();
print(parent_conn.recv<std::vector<int>>());   // [42]
p.join();
```

The wire format is CPython's, so either end may be a Python process holding the same file
descriptor: a message is its length as a 4-byte big-endian signed integer, then its bytes;
above 2 GiB - 1 the length is -1 followed by the length as 8-byte big-endian unsigned.
`send_bytes`/`recv_bytes` interoperate with CPython's; `send`/`recv` carry `pyconc::pickle`
bytes (not Python's pickle protocol).
*/
#ifndef PYCONC_MULTIPROCESSING_CONNECTION_HPP_INCLUDED
#define PYCONC_MULTIPROCESSING_CONNECTION_HPP_INCLUDED

#include <atomic>            // std::atomic
#include <cerrno>            // errno
#include <cstddef>           // std::size_t, std::byte
#include <cstdint>           // std::int32_t, std::uint64_t
#include <cstring>           // std::memcpy
#include <initializer_list>  // std::initializer_list
#include <memory>            // std::shared_ptr
#include <optional>          // std::optional, std::nullopt
#include <ranges>            // std::ranges
#include <span>              // std::span
#include <string>            // std::string
#include <string_view>       // std::string_view
#include <type_traits>       // std::is_integral_v
#include <utility>           // std::pair
#include <variant>           // std::variant, std::visit
#include <vector>            // std::vector

#include <fcntl.h>       // O_CLOEXEC
#include <poll.h>        // pollfd, POLLIN
#include <sys/socket.h>  // socketpair
#include <unistd.h>      // pipe2

#include <pyconc/detail/deadline.hpp>
#include <pyconc/detail/fd.hpp>
#include <pyconc/detail/wait.hpp>
#include <pyconc/errors.hpp>
#include <pyconc/multiprocessing/errors.hpp>
#include <pyconc/multiprocessing/heap.hpp>
#include <pyconc/pickle.hpp>
#include <pyconc/timeout.hpp>

namespace pyconc {
inline namespace v0 {
namespace detail {

/** What a `Connection` handle refers to. The descriptor is closed with the last handle. */
struct ConnectionState {
  ConnectionState(int fd, bool r, bool w) : fd(fd), readable(r), writable(w), socket(is_socket(fd)) {}
  ConnectionState(const ConnectionState&) = delete;
  ConnectionState& operator=(const ConnectionState&) = delete;
  ~ConnectionState() {
    const int f = fd.exchange(-1);
    if (f >= 0)
      ::close(f);
  }

  std::atomic<int> fd;
  std::atomic<bool> readable;
  bool writable;
  bool socket;
};

/** A byte buffer `send_bytes` accepts: any contiguous range of 1-byte elements. */
template <class B>
concept ByteBuffer = std::ranges::contiguous_range<B> && std::ranges::sized_range<B> &&
                         sizeof(std::ranges::range_value_t<B>) == 1 &&
                     std::is_trivially_copyable_v<std::ranges::range_value_t<B>>;

/** A byte buffer `recv_bytes_into` can write: a contiguous range of mutable 1-byte elements. */
template <class B>
concept WritableByteBuffer =
    ByteBuffer<B> && !std::is_const_v<std::remove_reference_t<std::ranges::range_reference_t<B>>>;

}  // namespace detail

namespace multiprocessing {
namespace connection {

/**
Python: `multiprocessing.connection.Connection`: one end of a pipe made by `Pipe()`.

A copyable handle: copies refer to the same end, and the descriptor is closed by `close()` or
with the last handle. A child process started by fork inherits the handles it captures or
receives as arguments, as in Python; one started by spawn or forkserver receives the
descriptor of each `Connection` among its arguments, and a new handle to it.

Messages keep their boundaries: each `send_bytes` is one `recv_bytes`. `send(obj)` pickles
with `pyconc::pickle` and `recv<T>()` unpickles a `T`; a message that is not a `T` raises
`pickle::UnpicklingError`, and the connection stays usable for the next message.

Errors as CPython's: `OSError("handle is closed")` after `close()`, `OSError("connection is
read-only")` / `"connection is write-only"` on the wrong end of a one-way pipe, `EOFError`
from `recv`/`recv_bytes` once the other end is closed and nothing is left,
`BrokenPipeError` from a send whose reader is gone (no `SIGPIPE` kills the program).

Thread safety: as CPython's, a connection is not locked: two threads may use the two
directions of one duplex end at once, but two threads sending (or receiving) on one end at
once may interleave their messages.

Differs from Python: `recv()` names the type it expects, `recv<T>()`; a `Connection` is not
sent over another connection (`send(conn)` raises `pickle::PicklingError`); there is no
`Listener`/`Client` (network connections with authentication) yet.
*/
class Connection {
 public:
  /** Python: `Connection(handle, readable=True, writable=True)`: takes ownership of `fd`. */
  explicit Connection(int fd, bool readable = true, bool writable = true) {
    if (!readable && !writable)
      pyconc::detail::raise<ValueError>("at least one of `readable` and `writable` must be True");
    if (fd < 0)
      pyconc::detail::raise<ValueError>("invalid handle");
    state_ = std::make_shared<pyconc::detail::ConnectionState>(fd, readable, writable);
  }

  /** Sends `obj` pickled (`pickle::dumps`). Raises as `send_bytes`, or `pickle::PicklingError`. */
  template <class T>
  void send(const T& obj) const {
    pyconc::detail::assert_sendable<T>();
    check_closed();
    check_writable();
    const std::string bytes = pickle::dumps(obj);
    send_frame(bytes.data(), bytes.size());
  }

  /** Receives one message and unpickles it as a `T`. Blocks. Raises as `recv_bytes`, or `pickle::UnpicklingError`. */
  template <class T>
  [[nodiscard]] T recv() const {
    pyconc::detail::assert_sendable<T>();
    check_closed();
    check_readable();
    const std::string bytes = recv_frame(std::nullopt);
    return pickle::loads<T>(bytes);
  }

  /**
  Python: `send_bytes(buf, offset=0, size=None)`: sends `size` bytes of `buf` from `offset`
  (default: the rest) as one message. Raises `ValueError("offset is negative")`,
  `"buffer length < offset"`, `"size is negative"`, `"buffer length < offset + size"`.
  */
  template <detail::ByteBuffer B>
  void send_bytes(const B& buf, long long offset = 0, std::optional<long long> size = std::nullopt) const {
    check_closed();
    check_writable();
    const auto n = static_cast<long long>(std::ranges::size(buf));
    if (offset < 0)
      pyconc::detail::raise<ValueError>("offset is negative");
    if (n < offset)
      pyconc::detail::raise<ValueError>("buffer length < offset");
    long long count = n - offset;
    if (size) {
      if (*size < 0)
        pyconc::detail::raise<ValueError>("size is negative");
      if (offset + *size > n)
        pyconc::detail::raise<ValueError>("buffer length < offset + size");
      count = *size;
    }
    const auto* data = reinterpret_cast<const char*>(std::ranges::data(buf));
    send_frame(data + offset, static_cast<std::size_t>(count));
  }
  /** `send_bytes` of a string literal or other C string's characters. */
  void send_bytes(const char* buf, long long offset = 0, std::optional<long long> size = std::nullopt) const {
    send_bytes(std::string_view(buf), offset, size);
  }

  /** Python: `recv_bytes()`: one whole message. Blocks. Raises `EOFError` at the end. */
  [[nodiscard]] std::string recv_bytes() const {
    check_closed();
    check_readable();
    return recv_frame(std::nullopt);
  }
  /**
  Python: `recv_bytes(maxlength)`. A longer message raises `OSError("bad message length")`
  and leaves the connection unreadable (write-only; a read-only end is closed), as CPython.
  `maxlength < 0` raises `ValueError("negative maxlength")`.
  */
  [[nodiscard]] std::string recv_bytes(long long maxlength) const {
    check_closed();
    check_readable();
    if (maxlength < 0)
      pyconc::detail::raise<ValueError>("negative maxlength");
    return recv_frame(static_cast<std::uint64_t>(maxlength));
  }

  /**
  Python: `recv_bytes_into(buf, offset=0)`: receives one message into `buf` from `offset`
  and returns its length. A message that does not fit raises `BufferTooShort` carrying it
  (the message is consumed). `ValueError("negative offset")`, `"offset too large"`.
  */
  template <detail::WritableByteBuffer B>
  std::size_t recv_bytes_into(B&& buf, long long offset = 0) const {
    check_closed();
    check_readable();
    const auto n = static_cast<long long>(std::ranges::size(buf));
    if (offset < 0)
      pyconc::detail::raise<ValueError>("negative offset");
    if (offset > n)
      pyconc::detail::raise<ValueError>("offset too large");
    const std::uint64_t size = recv_header();
    auto* data = reinterpret_cast<char*>(std::ranges::data(buf));
    if (size <= static_cast<std::uint64_t>(n - offset)) {
      recv_payload(data + offset, size);
      return static_cast<std::size_t>(size);
    }
    std::string message = recv_body(size);
    throw BufferTooShort(std::move(message));
  }

  /**
  Python: `poll(timeout=0.0)`: whether a message (or the end of the stream) is ready to be
  received. `poll()` does not block; `poll(t)` waits at most `t` seconds (negative: not at
  all); `poll(std::nullopt)` (Python's `poll(None)`) waits until it is.
  */
  [[nodiscard]] bool poll(Timeout timeout = Timeout(0.0)) const {
    return poll_until(pyconc::detail::Deadline::after(timeout.seconds));
  }
  [[nodiscard]] bool poll(std::nullopt_t) const { return poll_until(pyconc::detail::Deadline::forever()); }

  /** Python: `fileno()`. Raises `OSError("handle is closed")` after `close()`. */
  [[nodiscard]] int fileno() const {
    check_closed();
    return state_->fd.load(std::memory_order_relaxed);
  }

  /** Python: `close()`: closes the descriptor, for every handle of this end. Idempotent. */
  void close() const noexcept {
    const int fd = state_->fd.exchange(-1);
    if (fd >= 0)
      ::close(fd);
  }

  /** Python: `closed`, `readable`, `writable`. */
  [[nodiscard]] bool closed() const noexcept { return state_->fd.load(std::memory_order_relaxed) < 0; }
  [[nodiscard]] bool readable() const noexcept { return state_->readable.load(std::memory_order_relaxed); }
  [[nodiscard]] bool writable() const noexcept { return state_->writable; }

  /** Whether two handles refer to the same end (Python's `is`). */
  friend bool operator==(const Connection& a, const Connection& b) noexcept { return a.state_ == b.state_; }

 private:
  void check_closed() const {
    if (closed())
      pyconc::detail::raise<OSError>("handle is closed");
  }
  void check_readable() const {
    if (!readable())
      pyconc::detail::raise<OSError>("connection is write-only");
  }
  void check_writable() const {
    if (!writable())
      pyconc::detail::raise<OSError>("connection is read-only");
  }

  [[nodiscard]] int fd() const { return state_->fd.load(std::memory_order_relaxed); }

  void send_frame(const char* data, std::size_t size) const {
    char header[12];
    std::size_t header_size = 4;
    if (size > 0x7fffffffU) {
      put_be(header, 0xffffffffU, 4);
      put_be(header + 4, static_cast<std::uint64_t>(size), 8);
      header_size = 12;
    } else {
      put_be(header, size, 4);
    }
    int error = 0;
    pyconc::detail::BlockingRegion region;  // a write to a full pipe blocks: release the GIL
    if (size <= 16384) {
      // Small messages go out in one write, as CPython's (one syscall, never split).
      char small[12 + 16384];
      std::memcpy(small, header, header_size);
      if (size > 0)
        std::memcpy(small + header_size, data, size);
      error = pyconc::detail::write_all(fd(), small, header_size + size, state_->socket);
    } else {
      error = pyconc::detail::write_all(fd(), header, header_size, state_->socket);
      if (error == 0)
        error = pyconc::detail::write_all(fd(), data, size, state_->socket);
    }
    if (error != 0)
      pyconc::detail::raise_errno(error);
  }

  static void put_be(char* out, std::uint64_t value, int bytes) noexcept {
    for (int i = bytes - 1; i >= 0; --i) {
      out[i] = static_cast<char>(value & 0xff);
      value >>= 8;
    }
  }
  static std::uint64_t get_be(const unsigned char* in, int bytes) noexcept {
    std::uint64_t v = 0;
    for (int i = 0; i < bytes; ++i)
      v = (v << 8) | in[i];
    return v;
  }

  // Reads exactly `size` bytes; `at_start`: an end of file before the first byte is a clean
  // end of the stream (EOFError), anywhere else a truncated message.
  void read_fully(char* out, std::size_t size, bool at_start) const {
    std::size_t done = 0;
    while (done < size) {
      ssize_t n = 0;
      {
        pyconc::detail::BlockingRegion region;  // a blocking read releases the GIL
        n = pyconc::detail::read_some(fd(), out + done, size - done);
      }
      if (n < 0) {
        if (errno == EAGAIN)
          continue;
        pyconc::detail::raise_errno(errno);
      }
      if (n == 0) {
        if (at_start && done == 0)
          pyconc::detail::raise<EOFError>();
        pyconc::detail::raise<OSError>("got end of file during message");
      }
      done += static_cast<std::size_t>(n);
    }
  }

  [[nodiscard]] std::uint64_t recv_header() const {
    unsigned char header[8];
    read_fully(reinterpret_cast<char*>(header), 4, true);
    const auto size = static_cast<std::int32_t>(get_be(header, 4));
    if (size == -1) {
      read_fully(reinterpret_cast<char*>(header), 8, false);
      return get_be(header, 8);
    }
    if (size < 0)
      pyconc::detail::raise<OSError>("bad message length");  // CPython: a negative read size
    return static_cast<std::uint64_t>(size);
  }

  void recv_payload(char* out, std::uint64_t size) const {
    if (size > 0)
      read_fully(out, static_cast<std::size_t>(size), false);
  }

  // The message body. Up to 256 MiB the buffer is allocated at once (one allocation, each
  // page touched once); a longer length, which a corrupt frame can claim, is only believed as
  // the bytes arrive: the buffer doubles as it fills.
  [[nodiscard]] std::string recv_body(std::uint64_t size) const {
    constexpr std::uint64_t trusted = std::uint64_t{256} << 20;
    std::string out;
    out.resize(static_cast<std::size_t>(std::min(size, trusted)));
    read_fully(out.data(), out.size(), false);
    while (out.size() < size) {
      const std::size_t old = out.size();
      const auto step = static_cast<std::size_t>(std::min<std::uint64_t>(size - old, old));
      out.resize(old + step);
      read_fully(out.data() + old, step, false);
    }
    return out;
  }

  [[nodiscard]] std::string recv_frame(std::optional<std::uint64_t> maxlength) const {
    const std::uint64_t size = recv_header();
    if (maxlength && size > *maxlength) {
      // CPython: the connection can no longer be read (a read-only end is closed).
      if (state_->writable)
        state_->readable.store(false, std::memory_order_relaxed);
      else
        close();
      pyconc::detail::raise<OSError>("bad message length");
    }
    return recv_body(size);
  }

  [[nodiscard]] bool poll_until(const pyconc::detail::Deadline& deadline) const {
    check_closed();
    check_readable();
    return pyconc::detail::wait_fd(fd(), deadline) != 0;
  }

  std::shared_ptr<pyconc::detail::ConnectionState> state_;
};

/**
Python: `multiprocessing.Pipe(duplex=True)`: two connected ends. Duplex: a Unix socket pair,
each end both readable and writable. One-way (`Pipe(false)`): an OS pipe, returned as
`(reader, writer)`. Raises `OSError` when the OS refuses.
*/
inline std::pair<Connection, Connection> Pipe(bool duplex = true) {
  int fds[2];
  if (duplex) {
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
      pyconc::detail::raise_errno(errno);
    return {Connection(fds[0]), Connection(fds[1])};
  }
  if (::pipe2(fds, O_CLOEXEC) != 0)
    pyconc::detail::raise_errno(errno);
  return {Connection(fds[0], true, false), Connection(fds[1], false, true)};
}

/** The descriptor `wait` polls for an object: a connection's, or a sentinel (an `int`). */
inline int wait_fileno(const Connection& c) {
  return c.fileno();
}
template <class I>
requires std::is_integral_v<I>
int wait_fileno(I fd) {
  return static_cast<int>(fd);
}
template <class... Ts>
int wait_fileno(const std::variant<Ts...>& v) {
  return std::visit([](const auto& x) { return wait_fileno(x); }, v);
}

/** One object `wait` can watch: a `Connection` or a sentinel (`Process::sentinel()`). */
using Waitable = std::variant<Connection, int>;

/**
Python: `multiprocessing.connection.wait(object_list, timeout=None)`: waits until some of
`objects` are ready and returns those, in their order in `objects`. An object is a
`Connection` (ready when a message or the end of the stream can be received), a sentinel
(an `int` descriptor, such as `Process::sentinel()`: ready when the process has ended) or a
`Waitable` holding either. `wait(objects, t)` waits at most `t` seconds (negative: not at
all) and returns an empty vector when nothing became ready. Blocks.
*/
template <std::ranges::input_range R>
[[nodiscard]] auto wait(const R& objects, std::optional<Timeout> timeout = std::nullopt) {
  using T = std::ranges::range_value_t<R>;
  std::vector<T> all(std::ranges::begin(objects), std::ranges::end(objects));
  std::vector<pollfd> fds;
  fds.reserve(all.size());
  for (const T& o : all)
    fds.push_back(pollfd{wait_fileno(o), POLLIN, 0});
  const auto deadline =
      timeout ? pyconc::detail::Deadline::after(timeout->seconds) : pyconc::detail::Deadline::forever();
  std::vector<T> ready;
  const int n = pyconc::detail::wait_fd(fds.data(), fds.size(), deadline);
  if (n < 0)
    pyconc::detail::raise_errno(errno);
  for (std::size_t i = 0; i < fds.size(); ++i) {
    if (fds[i].revents != 0)
      ready.push_back(all[i]);
  }
  return ready;
}
/** `wait({a, b}, timeout)` over a braced list. */
template <class T>
[[nodiscard]] std::vector<T> wait(std::initializer_list<T> objects, std::optional<Timeout> timeout = std::nullopt) {
  return wait(std::vector<T>(objects), timeout);
}

using multiprocessing::connection::Pipe;

}  // namespace connection

using connection::Connection;
using connection::Pipe;

}  // namespace multiprocessing

namespace detail {

/**
A `Connection` pickles only as an argument of a process being started by spawn or forkserver:
its descriptor goes to the child beside the pickle (see `InheritedFds`), and the child's
`Connection` is a new handle to that descriptor. Anywhere else `dumps` raises `PicklingError`
(a connection is not sent over another connection).
*/
template <>
struct PickleCodec<multiprocessing::connection::Connection> {
  static constexpr bool supported = true;
  static constexpr std::size_t min_size() { return 6; }
  static std::string describe() { return "Connection"; }
  static void dump(PickleWriter& w, const multiprocessing::connection::Connection& c) {
    std::vector<int>* collect = inherited_fds().collect;
    if (collect == nullptr) {
      raise<pickle::PicklingError>(
          "a Connection can only be pickled as an argument of a process being started, which inherits it");
    }
    collect->push_back(c.fileno());
    w.integer(static_cast<std::uint32_t>(collect->size() - 1));
    w.flag(c.readable());
    w.flag(c.writable());
  }
  static multiprocessing::connection::Connection load(PickleReader& r) {
    const auto index = r.integer<std::uint32_t>();
    const bool readable = r.flag("Connection readable");
    const bool writable = r.flag("Connection writable");
    std::vector<int>* table = inherited_fds().table;
    if (table == nullptr || index >= table->size() || (*table)[index] < 0 || (!readable && !writable)) {
      raise<pickle::UnpicklingError>("a Connection can only be unpickled by the process it was passed to");
    }
    return multiprocessing::connection::Connection(std::exchange((*table)[index], -1), readable, writable);
  }
};

}  // namespace detail
}  // namespace v0
}  // namespace pyconc

#endif  // PYCONC_MULTIPROCESSING_CONNECTION_HPP_INCLUDED
