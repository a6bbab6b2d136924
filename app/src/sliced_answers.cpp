#include "sliced_answers.hpp"

#include <algorithm>

#include "answer_text.hpp"

namespace postern::app {

SlicedAnswers::SlicedAnswers(std::shared_ptr<const engine::Snapshot> snapshot,
                             const AnswerFile& file,
                             std::span<const control::Outcome<control::QueryInput>> queries)
    : snapshot_(std::move(snapshot)),
      file_(file),
      queries_(queries),
      texts_((queries.size() + kSliceQueries - 1) / kSliceQueries) {}

void SlicedAnswers::answer_all(const OtherThreads& others) {
  const std::size_t slices = texts_.size();
  // A helper for every slice beyond this thread's first, as far as there are threads.
  const std::size_t helpers = slices > 1 ? std::min(others.count, slices - 1) : 0;
  for (std::size_t i = 0; i < helpers; ++i) {
    others.post([self = shared_from_this()] { self->take_slices(); });
  }
  take_slices();
  for (std::size_t done = slices_done_.load(std::memory_order_acquire); done < slices;
       done = slices_done_.load(std::memory_order_acquire)) {
    slices_done_.wait(done, std::memory_order_acquire);
  }
  if (failure_) std::rethrow_exception(failure_);
}

void SlicedAnswers::take_slices() {
  for (;;) {
    const std::size_t slice = next_slice_.fetch_add(1, std::memory_order_relaxed);
    if (slice >= texts_.size()) return;
    try {
      answer_slice(slice);
    } catch (...) {
      const std::lock_guard lock(failure_mutex_);
      if (!failure_) failure_ = std::current_exception();
    }
    // Release: the slice's text is complete before the waiting thread reads it.
    slices_done_.fetch_add(1, std::memory_order_release);
    slices_done_.notify_all();
  }
}

void SlicedAnswers::answer_slice(std::size_t slice) {
  std::string& text = texts_[slice];
  text.reserve(kSliceQueries * 96);
  bool first = true;
  control::BatchChecker checker(snapshot_, [&](const control::BatchChecker::Answer& a) {
    if (!first) text += ',';
    first = false;
    append_batch_answer(text, file_, a);
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
