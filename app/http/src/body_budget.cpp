#include "body_budget.hpp"

#include <utility>

namespace postern::http::detail {

bool BodyBudget::take(std::uint64_t bytes) {
  auto used = used_.load(std::memory_order_relaxed);
  do {
    if (used > limit_ || bytes > limit_ - used) return false;
  } while (!used_.compare_exchange_weak(used, used + bytes, std::memory_order_relaxed));
  return true;
}

BodyAllowance::BodyAllowance(BodyAllowance&& other) noexcept
    : budget_(std::exchange(other.budget_, nullptr)), held_(std::exchange(other.held_, 0)) {}

BodyAllowance& BodyAllowance::operator=(BodyAllowance&& other) noexcept {
  if (this != &other) {
    release();
    budget_ = std::exchange(other.budget_, nullptr);
    held_ = std::exchange(other.held_, 0);
  }
  return *this;
}

bool BodyAllowance::take_more(std::uint64_t bytes) {
  constexpr std::uint64_t kStep = 256 * 1024;
  const auto stepped = (bytes + kStep - 1) / kStep * kStep;
  for (const auto want : {stepped, bytes}) {  // the step if it fits, else just what is needed
    if (budget_->take(want - held_)) {
      held_ = want;
      return true;
    }
  }
  return false;
}

void BodyAllowance::release() {
  if (budget_ != nullptr && held_ > 0) budget_->give_back(held_);
  held_ = 0;
}

}  // namespace postern::http::detail
