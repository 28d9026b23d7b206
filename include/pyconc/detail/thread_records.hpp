// SPDX-License-Identifier: MIT
/**
`pyconc/detail/thread_records.hpp` — per-thread records that other threads may always read.

Defines:
- `detail::claim_record`   the calling thread's record from a list: a free one recycled, or a
                           new one added.

For state that other threads (and the at-fork handlers) walk over without a lock: the GIL's
per-thread state, the fork gate's section depths. A record is never freed, so a reader never
finds a dangling one; a thread gives its record back by storing 0 in `in_use`, and a later
thread recycles it.
*/
#ifndef PYCONC_DETAIL_THREAD_RECORDS_HPP_INCLUDED
#define PYCONC_DETAIL_THREAD_RECORDS_HPP_INCLUDED

#include <atomic>   // std::atomic
#include <cstdint>  // std::uint32_t

namespace pyconc {
inline namespace v0 {
namespace detail {

/**
A free record of `records` (one whose `in_use` was 0), now marked in use, or a new one pushed
at the head when none is free. `Record` has `std::atomic<std::uint32_t> in_use` and
`Record* next`; `next` is immutable once the record is published. Lock-free. Thread-safe.
*/
template <class Record>
Record* claim_record(std::atomic<Record*>& records) noexcept {
  for (Record* r = records.load(std::memory_order_acquire); r != nullptr; r = r->next) {
    std::uint32_t expected = 0;
    if (r->in_use.compare_exchange_strong(expected, 1, std::memory_order_acquire, std::memory_order_relaxed))
      return r;
  }
  auto* fresh = new Record;  // reachable from `records` for ever
  fresh->in_use.store(1, std::memory_order_relaxed);
  Record* head = records.load(std::memory_order_relaxed);
  do {
    fresh->next = head;
  } while (!records.compare_exchange_weak(head, fresh, std::memory_order_release, std::memory_order_relaxed));
  return fresh;
}

}  // namespace detail
}  // namespace v0
}  // namespace pyconc

#endif  // PYCONC_DETAIL_THREAD_RECORDS_HPP_INCLUDED
