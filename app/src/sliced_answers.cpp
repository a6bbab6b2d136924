#include "sliced_answers.hpp"

#include <algorithm>

namespace postern::app {

SlicedAnswers::SlicedAnswers(std::shared_ptr<const engine::Snapshot> snapshot,
                             const AnswerFile& file,
                             std::span<const control::Outcome<control::QueryView>> queries)
    : snapshot_(std::move(snapshot)),
      file_(&file),
      queries_(queries),
      texts_((queries.size() + kSliceQueries - 1) / kSliceQueries) {}

void SlicedAnswers::answer_all(const control::OtherThreads& others) {
  control::run_slices(texts_.size(), others, [this](std::size_t slice) { answer_slice(slice); });
}

void SlicedAnswers::answer_slice(std::size_t slice) {
  std::string& text = texts_[slice];
  text.reserve(kSliceQueries * 96);
  bool first = true;
  control::BatchChecker checker(snapshot_, [&](const control::BatchChecker::Answer& a) {
    if (!first) text += ',';
    first = false;
    append_batch_answer(text, *file_, a);
  });
  const std::size_t begin = slice * kSliceQueries;
  checker.add_all(queries_.subspan(begin, std::min(kSliceQueries, queries_.size() - begin)));
  checker.finish();
}

void SlicedAnswers::append_to(std::string& out) const {
  for (std::size_t i = 0; i < texts_.size(); ++i) {
    if (i > 0) out += ',';
    out += texts_[i];
  }
}

}  // namespace postern::app
