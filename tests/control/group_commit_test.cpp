// Group commit of attribute edits through control::Tailnet (a real SQLite store, FakeClock):
// an edit is judged against every edit accepted before it, committed or still queued; callers on
// many threads, blocking and not, are each told once; and what checks see afterwards is exactly
// what the store holds (a reopened tailnet reads the same values).
#include <atomic>
#include <catch2/catch.hpp>
#include <latch>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "open_tailnet.hpp"
#include "postern/control/tailnet.hpp"
#include "postern/sync/clock.hpp"
#include "scratch.hpp"

namespace group_commit_test {

using namespace postern;
using control::AttributeEdit;
using control::Done;

namespace {

const std::vector<std::string> kDevices = {"alice-mbp", "alice-iphone", "bob-linux",
                                           "bob-win",   "carol-mbp",    "erin-mbp"};

struct Fixture {
  test::ScratchDir dir{"postern-group-commit"};
  sync::FakeClock clock;
  std::unique_ptr<control::Tailnet> tailnet = open();
  control::Actor admin{"admin:alice", "test"};

  std::unique_ptr<control::Tailnet> open() {
    return test::open_tailnet({.db = dir.file("postern.db")}, clock);
  }

  std::map<std::string, std::optional<engine::AttrValue>> values(const std::string& key) {
    std::map<std::string, std::optional<engine::AttrValue>> out;
    for (const auto& device : kDevices) {
      auto view = tailnet->device_attributes(device);
      REQUIRE(view.ok());
      out[device] = std::nullopt;
      for (const auto& a : view.value().attributes) {
        if (a.key == key) out[device] = a.value;
      }
    }
    return out;
  }

  // Queues `edit` without waiting; `outcomes` receives its result.
  void queue(const AttributeEdit& edit, std::vector<Done>& outcomes, std::latch& told) {
    auto slot = outcomes.size();
    outcomes.emplace_back(done());
    tailnet->edit_attributes_async({edit}, "", admin, [&outcomes, &told, slot](const Done& d) {
      outcomes[slot] = d;
      told.count_down();
    });
  }
  static Done done() { return control::done(); }
};

AttributeEdit set(const std::string& device, const std::string& key, engine::AttrValue value) {
  return AttributeEdit{device, key, std::move(value), std::nullopt};
}

AttributeEdit erase(const std::string& device, const std::string& key) {
  return AttributeEdit{device, key, std::nullopt, std::nullopt};
}

}  // namespace

TEST_CASE("an edit is judged against the edits queued before it, committed or not",
          "[control][group-commit]") {
  Fixture f;
  for (int round = 0; round < 50; ++round) {
    const auto key = "custom:k" + std::to_string(round);
    std::vector<Done> outcomes;
    outcomes.reserve(4);
    std::latch told(4);
    f.queue(set("carol-mbp", key, engine::AttrValue{1.0}), outcomes, told);
    // Another type, and another spelling, while the number may still be queued: refused.
    f.queue(set("alice-mbp", key, engine::AttrValue{std::string("x")}), outcomes, told);
    f.queue(set("bob-linux", "custom:K" + std::to_string(round), engine::AttrValue{2.0}), outcomes,
            told);
    // Deleting what is only queued yet deletes it.
    f.queue(erase("carol-mbp", key), outcomes, told);
    told.wait();
    CHECK(outcomes[0].ok());
    REQUIRE_FALSE(outcomes[1].ok());
    CHECK(outcomes[1].error().code == grammar::DiagCode::K803);
    REQUIRE_FALSE(outcomes[2].ok());
    CHECK(outcomes[2].error().code == grammar::DiagCode::K804);
    CHECK(outcomes[3].ok());
    CHECK_FALSE(f.values(key)["carol-mbp"].has_value());
  }
}

TEST_CASE("concurrent callers are each told once and the live state is the stored one",
          "[control][group-commit]") {
  Fixture f;
  constexpr int kThreads = 4;
  constexpr int kEdits = 150;
  std::atomic<int> async_told{0};
  std::atomic<int> failures{0};
  std::latch all_told(kThreads / 2 * kEdits);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEdits; ++i) {
        const auto& device = kDevices[static_cast<std::size_t>(t * 7 + i) % kDevices.size()];
        const auto edit = i % 5 == 4
                              ? erase(device, "custom:n")
                              : set(device, "custom:n", engine::AttrValue{double(t * 1000 + i)});
        if (t % 2 == 0) {
          f.tailnet->edit_attributes_async({edit}, "", f.admin, [&](const Done& d) {
            if (!d) ++failures;
            ++async_told;
            all_told.count_down();
          });
        } else if (!f.tailnet->edit_attributes({edit}, "", f.admin)) {
          ++failures;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  all_told.wait();
  CHECK(async_told == kThreads / 2 * kEdits);
  CHECK(failures == 0);

  const auto live = f.values("custom:n");
  f.tailnet.reset();  // commits anything left, then closes the store
  f.tailnet = f.open();
  CHECK(f.values("custom:n") == live);
}

}  // namespace group_commit_test
