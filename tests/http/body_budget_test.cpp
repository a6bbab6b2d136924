// BodyBudget and BodyAllowance (app/http/src/body_budget.hpp): what a request body takes from the
// server's shared budget, and that all of it comes back.
#include "../../app/http/src/body_budget.hpp"

#include <catch2/catch.hpp>
#include <utility>

namespace body_budget_test {

using postern::http::detail::BodyAllowance;
using postern::http::detail::BodyBudget;

constexpr std::uint64_t kKiB = 1024;

TEST_CASE("body budget: takes up to its limit, never past it", "[http][budget]") {
  BodyBudget budget(1000);
  CHECK(budget.take(600));
  CHECK_FALSE(budget.take(401));
  CHECK(budget.used() == 600);
  CHECK(budget.take(400));
  CHECK_FALSE(budget.take(1));
  budget.give_back(1000);
  CHECK(budget.used() == 0);
  CHECK_FALSE(budget.take(1001));
}

TEST_CASE("body allowance: small bodies are not counted, large ones in steps", "[http][budget]") {
  BodyBudget budget(1024 * kKiB);
  {
    BodyAllowance small(&budget);
    CHECK(small.cover(16 * kKiB));
    CHECK(budget.used() == 0);

    BodyAllowance growing(&budget);
    CHECK(growing.cover(16 * kKiB + 1));
    CHECK(budget.used() == 256 * kKiB);  // one step
    CHECK(growing.cover(200 * kKiB));    // still within it
    CHECK(budget.used() == 256 * kKiB);
    CHECK(growing.cover(300 * kKiB));
    CHECK(budget.used() == 512 * kKiB);

    BodyAllowance other(&budget);
    CHECK(other.cover(500 * kKiB));  // the full step
    CHECK(budget.used() == 1024 * kKiB);
    CHECK_FALSE(growing.cover(512 * kKiB + 1));
    CHECK(growing.held() == 512 * kKiB);  // nothing taken by the refusal
  }
  CHECK(budget.used() == 0);  // all given back on destruction
}

TEST_CASE("body allowance: the last bytes that fit are taken without the step", "[http][budget]") {
  BodyBudget budget(300 * kKiB);
  BodyAllowance allowance(&budget);
  CHECK(allowance.cover(290 * kKiB));  // the step (512 KiB) does not fit; 290 KiB does
  CHECK(budget.used() == 290 * kKiB);
  CHECK_FALSE(allowance.cover(301 * kKiB));
  allowance.release();
  CHECK(budget.used() == 0);
  CHECK(allowance.held() == 0);
}

TEST_CASE("body allowance: moved, it is given back once", "[http][budget]") {
  BodyBudget budget(1024 * kKiB);
  BodyAllowance first(&budget);
  CHECK(first.cover(100 * kKiB));
  BodyAllowance second(std::move(first));
  CHECK(budget.used() == 256 * kKiB);
  BodyAllowance third(&budget);
  CHECK(third.cover(100 * kKiB));
  third = std::move(second);  // third's own share is given back first
  CHECK(budget.used() == 256 * kKiB);
  third.release();
  CHECK(budget.used() == 0);
  BodyAllowance unset;  // no budget: covers anything, counts nothing
  CHECK(unset.cover(1 << 30));
}

}  // namespace body_budget_test
