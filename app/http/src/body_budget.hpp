#pragma once
// The request bodies all connections hold in memory together, bounded (Limits::max_body_memory).
// Without it each connection may hold one body of the size limit: 1,024 connections of one client
// at 16 MiB are 16 GiB. A body is counted from its 16 KiB on (checks and attribute writes stay
// below and never touch the shared counter); under that the connection cap bounds them.

#include <atomic>
#include <cstdint>

#include "postern/http/message.hpp"

namespace postern::http::detail {

class BodyBudget {
 public:
  explicit BodyBudget(std::uint64_t limit) : limit_(limit) {}

  // Takes `bytes`, or nothing and false when they would cross the limit.
  [[nodiscard]] bool take(std::uint64_t bytes);
  void give_back(std::uint64_t bytes) { used_.fetch_sub(bytes, std::memory_order_relaxed); }
  [[nodiscard]] std::uint64_t limit() const { return limit_; }
  [[nodiscard]] std::uint64_t used() const { return used_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> used_{0};
  std::uint64_t limit_;
};

// One request body's share of the budget, given back when released or destroyed.
class BodyAllowance final : public MemoryClaim {
 public:
  static constexpr std::uint64_t kUncountedBytes = 16 * 1024;

  BodyAllowance() = default;
  explicit BodyAllowance(BodyBudget* budget) : budget_(budget) {}
  ~BodyAllowance() { release(); }
  BodyAllowance(const BodyAllowance&) = delete;
  BodyAllowance& operator=(const BodyAllowance&) = delete;
  BodyAllowance(BodyAllowance&& other) noexcept;
  BodyAllowance& operator=(BodyAllowance&& other) noexcept;

  // Whether a body of `bytes` is covered, taking more from the budget when it is not yet. Growing
  // (chunked) bodies take in steps of 256 KiB, so a body costs the shared counter a few updates.
  [[nodiscard]] bool cover(std::uint64_t bytes) override {
    return bytes <= held_ || bytes <= kUncountedBytes || budget_ == nullptr || take_more(bytes);
  }
  void release();
  [[nodiscard]] std::uint64_t held() const { return held_; }

 private:
  [[nodiscard]] bool take_more(std::uint64_t bytes);

  BodyBudget* budget_ = nullptr;
  std::uint64_t held_ = 0;
};

}  // namespace postern::http::detail
