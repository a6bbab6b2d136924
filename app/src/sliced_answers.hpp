#pragma once
// The answer text of a run of batch queries, answered in slices by this thread and, when it has
// them, the server's other threads: a batch from one connection then uses every core instead of
// one. Slices are claimed in order from a shared counter, so a thread that is busy elsewhere
// simply takes none, and the caller waits only for slices another thread has begun.
//
//   SlicedAnswers answers(snapshot, answer_file, queries);
//   answers.answer_all({helpers->count(), [&](auto task) { helpers->post(std::move(task)); }});
//   answers.append_to(out);  // "answer,answer,..." in query order

#include <atomic>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "answer_text.hpp"
#include "postern/control/query.hpp"

namespace postern::app {

// Threads that take tasks (http::Helpers): how many, and how to hand one a task.
struct OtherThreads {
  std::size_t count = 0;
  std::function<void(std::function<void()>)> post;
};

class SlicedAnswers : public std::enable_shared_from_this<SlicedAnswers> {
 public:
  // Few enough queries that two threads finish within a slice's time of each other, enough that
  // a slice's fixed costs (a checker, a string) stay small beside its answers.
  static constexpr std::size_t kSliceQueries = 64;

  // `queries` and `file` (the snapshot's) must outlive answer_all(); the snapshot is shared.
  SlicedAnswers(std::shared_ptr<const engine::Snapshot> snapshot, const AnswerFile& file,
                std::span<const control::Outcome<control::QueryInput>> queries);

  // Answers every query; returns once all are answered. Rethrows what a slice threw.
  void answer_all(const OtherThreads& others);
  // The answers, comma-separated, in query order.
  void append_to(std::string& out) const;

 private:
  void take_slices();
  void answer_slice(std::size_t slice);

  std::shared_ptr<const engine::Snapshot> snapshot_;
  const AnswerFile& file_;
  std::span<const control::Outcome<control::QueryInput>> queries_;
  std::vector<std::string> texts_;  // one per slice
  std::atomic<std::size_t> next_slice_{0};
  std::atomic<std::size_t> slices_done_{0};
  std::mutex failure_mutex_;
  std::exception_ptr failure_;
};

}  // namespace postern::app
