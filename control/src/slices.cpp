#include "postern/control/slices.hpp"

#include <algorithm>
#include <atomic>
#include <exception>
#include <memory>
#include <mutex>

namespace postern::control {
namespace {

// Shared with the helpers' tasks, which may outlive run_slices: a task that starts after every
// slice was claimed only reads the counter, never `work` (whose captures may be gone by then).
struct SliceState {
  SliceState(std::size_t count, const std::function<void(std::size_t)>& w)
      : slices(count), work(&w) {}

  void take_slices() {
    for (;;) {
      const std::size_t slice = next.fetch_add(1, std::memory_order_relaxed);
      if (slice >= slices) return;
      try {
        (*work)(slice);
      } catch (...) {
        const std::lock_guard lock(failure_mutex);
        if (!failure) failure = std::current_exception();
      }
      // Release: what the slice wrote is complete before the waiting thread reads it.
      done.fetch_add(1, std::memory_order_release);
      done.notify_all();
    }
  }

  const std::size_t slices;
  const std::function<void(std::size_t)>* work;
  std::atomic<std::size_t> next{0};
  std::atomic<std::size_t> done{0};
  std::mutex failure_mutex;
  std::exception_ptr failure;
};

}  // namespace

void run_slices(std::size_t slices, const OtherThreads& others,
                const std::function<void(std::size_t)>& work) {
  if (slices == 0) return;
  const auto state = std::make_shared<SliceState>(slices, work);
  // A helper for every slice beyond this thread's first, as far as there are threads.
  const std::size_t helpers = others.post ? std::min(others.count, slices - 1) : 0;
  for (std::size_t i = 0; i < helpers; ++i) others.post([state] { state->take_slices(); });
  state->take_slices();
  for (std::size_t finished = state->done.load(std::memory_order_acquire); finished < slices;
       finished = state->done.load(std::memory_order_acquire)) {
    state->done.wait(finished, std::memory_order_acquire);
  }
  if (state->failure) std::rethrow_exception(state->failure);
}

}  // namespace postern::control
