// run_slices: every slice runs exactly once, whether the other threads take slices, run too late
// to take any, or never run at all; a slice's exception reaches the caller after all have run.
#include "postern/control/slices.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <functional>
#include <stdexcept>
#include <thread>
#include <vector>

namespace slices_test {

using namespace postern;

TEST_CASE("every slice runs once, on this thread and the others", "[control][slices]") {
  for (const std::size_t slices : std::vector<std::size_t>{0, 1, 2, 7, 100}) {
    for (const std::size_t helpers : std::vector<std::size_t>{0, 1, 3}) {
      INFO(slices << " slices, " << helpers << " other threads");
      std::vector<std::thread> threads;
      control::OtherThreads others{
          helpers, [&](std::function<void()> task) { threads.emplace_back(std::move(task)); }};
      std::vector<std::atomic<int>> runs(slices);
      control::run_slices(slices, others, [&](std::size_t slice) { ++runs[slice]; });
      for (auto& t : threads) t.join();
      for (std::size_t i = 0; i < slices; ++i) CHECK(runs[i].load() == 1);
      CHECK(threads.size() == (slices > 1 ? std::min(helpers, slices - 1) : 0));
    }
  }
}

TEST_CASE("other threads that never run or run late leave the caller to run every slice",
          "[control][slices]") {
  std::vector<int> runs(50, 0);
  SECTION("never run (a stopping server destroys them)") {
    std::size_t posted = 0;
    control::OtherThreads others{2, [&](std::function<void()>) { ++posted; }};
    control::run_slices(runs.size(), others, [&](std::size_t slice) { ++runs[slice]; });
    CHECK(posted == 2);
  }
  SECTION("run after run_slices returned, with its work gone") {
    std::vector<std::function<void()>> late;
    control::OtherThreads others{2, [&](std::function<void()> task) { late.push_back(task); }};
    {
      const std::function<void(std::size_t)> work = [&](std::size_t slice) { ++runs[slice]; };
      control::run_slices(runs.size(), others, work);
    }
    REQUIRE(late.size() == 2);
    for (auto& task : late) task();  // finds no slice left and calls nothing
  }
  SECTION("no way to post") {
    control::run_slices(runs.size(), control::OtherThreads{4, {}},
                        [&](std::size_t slice) { ++runs[slice]; });
  }
  for (const int n : runs) CHECK(n == 1);
}

TEST_CASE("a slice's exception is rethrown once every slice has run", "[control][slices]") {
  std::vector<std::thread> threads;
  control::OtherThreads others{
      1, [&](std::function<void()> task) { threads.emplace_back(std::move(task)); }};
  std::vector<std::atomic<int>> runs(20);
  const auto work = [&](std::size_t slice) {
    ++runs[slice];
    if (slice == 3 || slice == 11) throw std::runtime_error("slice failed");
  };
  CHECK_THROWS_WITH(control::run_slices(runs.size(), others, work), "slice failed");
  for (auto& t : threads) t.join();
  for (const auto& n : runs) CHECK(n.load() == 1);
}

}  // namespace slices_test
