#pragma once
// Work split into slices and run on this thread and, when it has them, the server's other
// threads: a batch from one connection then uses every core instead of one. Slices are claimed in
// order from a shared counter, so a thread busy elsewhere simply takes none, and the caller waits
// only for slices another thread has begun.
//
//   run_slices(slices, others, [&](std::size_t slice) { answer(slice); });

#include <cstddef>
#include <functional>

namespace postern::control {

// Threads that take tasks (the HTTP server's helpers): how many, and how to hand one a task. A
// posted task may run late or never (a server stopping drops it); either is fine here.
struct OtherThreads {
  std::size_t count = 0;
  std::function<void(std::function<void()>)> post;
};

// Calls work(slice) once for every slice in [0, slices) and returns when all have returned.
// `work` may run on several threads at once, each call with its own slice. If calls throw, the
// first exception caught is rethrown here, after every slice has run.
void run_slices(std::size_t slices, const OtherThreads& others,
                const std::function<void(std::size_t)>& work);

}  // namespace postern::control
