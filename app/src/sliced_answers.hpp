#pragma once
// The answer text of a run of batch queries, answered in slices by this thread and, when it has
// them, the server's other threads (control::run_slices): a batch from one connection then uses
// every core instead of one.
//
//   SlicedAnswers answers(snapshot, answer_file, queries);
//   answers.answer_all(others);
//   answers.append_to(out);  // "answer,answer,..." in query order

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "answer_text.hpp"
#include "postern/control/query.hpp"
#include "postern/control/slices.hpp"

namespace postern::app {

class SlicedAnswers {
 public:
  // Few enough queries that two threads finish within a slice's time of each other, enough that
  // a slice's fixed costs (a checker, a string) stay small beside its answers.
  static constexpr std::size_t kSliceQueries = 64;

  // `queries` and `file` (the snapshot's) must outlive answer_all(); the snapshot is shared.
  SlicedAnswers(std::shared_ptr<const engine::Snapshot> snapshot, const AnswerFile& file,
                std::span<const control::Outcome<control::QueryView>> queries);

  // Answers every query; returns once all are answered. Rethrows what a slice threw.
  void answer_all(const control::OtherThreads& others);
  // The answers, comma-separated, in query order.
  void append_to(std::string& out) const;

 private:
  void answer_slice(std::size_t slice);

  std::shared_ptr<const engine::Snapshot> snapshot_;
  const AnswerFile* file_;
  std::span<const control::Outcome<control::QueryView>> queries_;
  std::vector<std::string> texts_;  // one per slice
};

}  // namespace postern::app
