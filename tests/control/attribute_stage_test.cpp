// AttributeStage, the group commit's view of accepted but unapplied edits: what an edit left a
// (device, key) as, holder counts per spelling, and taking one batch's share back out once it is
// applied (a later batch's edits of the same attribute stay).
#include "../../control/src/attribute_stage.hpp"

#include <catch2/catch.hpp>
#include <map>
#include <string>

namespace attribute_stage_test {

using postern::control::AttributeStage;
using postern::control::HolderCounts;
using postern::engine::AttrValue;

namespace {

AttributeStage::Entry set(AttrValue value, std::uint64_t batch = 0) {
  return {std::move(value), true, batch};
}

HolderCounts counts_of(const AttributeStage& stage, const std::string& key,
                       const std::string& spelling) {
  std::map<std::string, HolderCounts> counts;
  stage.add_usage(key, counts);
  return counts[spelling];
}

}  // namespace

TEST_CASE("stage: a staged edit is what later edits see", "[control][group-commit]") {
  AttributeStage stage;
  CHECK(stage.find("n1", "custom:x") == nullptr);
  stage.stage("n1", "custom:x", std::nullopt, set(AttrValue{1.0}, 1));
  const auto* entry = stage.find("n1", "custom:x");
  REQUIRE(entry != nullptr);
  CHECK(entry->value == AttrValue{1.0});
  CHECK(entry->stored);
  stage.stage("n1", "custom:x", AttrValue{1.0}, {std::nullopt, false, 1});
  CHECK_FALSE(stage.find("n1", "custom:x")->value.has_value());
  CHECK_FALSE(stage.find("n1", "custom:x")->stored);
  CHECK(stage.find("n2", "custom:x") == nullptr);
}

TEST_CASE("stage: holder counts per spelling and type, found in any case",
          "[control][group-commit]") {
  AttributeStage stage;
  stage.stage("n1", "custom:Team", std::nullopt, set(AttrValue{std::string("db")}));
  stage.stage("n2", "custom:Team", AttrValue{3.0}, set(AttrValue{std::string("web")}));
  CHECK(counts_of(stage, "custom:team", "custom:Team") == HolderCounts{2, -1, 0});
  CHECK(counts_of(stage, "CUSTOM:TEAM", "custom:Team") == HolderCounts{2, -1, 0});
  CHECK(counts_of(stage, "custom:other", "custom:Team") == HolderCounts{0, 0, 0});
}

TEST_CASE("stage: settling a batch removes its share and keeps later batches'",
          "[control][group-commit]") {
  AttributeStage request1;
  request1.stage("n1", "custom:x", std::nullopt, set(AttrValue{1.0}));
  request1.stage("n2", "custom:x", std::nullopt, set(AttrValue{2.0}));
  AttributeStage request2;
  request2.stage("n1", "custom:x", AttrValue{1.0}, set(AttrValue{5.0}));

  AttributeStage staged;
  staged.merge(request1, 7);
  staged.merge(request2, 8);
  CHECK(staged.find("n1", "custom:x")->value == AttrValue{5.0});
  CHECK(staged.find("n1", "custom:x")->batch == 8);
  CHECK(counts_of(staged, "custom:x", "custom:x") == HolderCounts{0, 2, 0});

  staged.settle(7);  // batch 7 is applied: the live state counts it now
  CHECK(staged.find("n2", "custom:x") == nullptr);
  REQUIRE(staged.find("n1", "custom:x") != nullptr);  // batch 8 rewrote it
  CHECK(staged.find("n1", "custom:x")->value == AttrValue{5.0});
  CHECK(counts_of(staged, "custom:x", "custom:x") == HolderCounts{0, 0, 0});  // +1 -1 of batch 8

  staged.settle(8);
  CHECK(staged.empty());
  std::map<std::string, HolderCounts> counts;
  staged.add_usage("custom:x", counts);
  CHECK(counts.empty());
}

TEST_CASE("stage: clear forgets everything (a failed commit)", "[control][group-commit]") {
  AttributeStage staged;
  AttributeStage request;
  request.stage("n1", "custom:x", std::nullopt, set(AttrValue{true}));
  staged.merge(request, 1);
  staged.clear();
  CHECK(staged.empty());
  CHECK(counts_of(staged, "custom:x", "custom:x") == HolderCounts{0, 0, 0});
}

}  // namespace attribute_stage_test
