// Live attribute updates: change sets, expiries, snapshot isolation, incremental == recompile.
#include <atomic>
#include <catch2/catch.hpp>
#include <random>
#include <thread>
#include <tuple>

#include "engine_fixture.hpp"

namespace engine_live_test {

using namespace postern;
using engine::AttrChange;
using test::allows;

namespace {

const std::string kE3 = test::prelude(R"("postures": {
    "posture:trusted": ["kandji:agentInstalled == true"],
    "posture:fresh":   ["node:tsVersion >= '1.60'", "custom:tier IN ['gold', 'silver']"],
  },
  "acls": [
    { "action": "accept", "src": ["autogroup:member"],
      "srcPosture": ["posture:trusted"], "dst": ["tag:prod:*"] },
    { "action": "accept", "src": ["group:eng"],
      "srcPosture": ["posture:fresh"], "dst": ["tag:web:443"] },
  ],)");

engine::DeviceIndex index_of(const engine::Engine& e, const std::string& host) {
  auto i = e.snapshot()->find_device(host);
  REQUIRE(i.has_value());
  return *i;
}

}  // namespace

TEST_CASE("a change set is visible to the next check, old snapshots keep their answers",
          "[engine][live]") {
  auto c = test::compile_fixture(kE3);
  auto& e = *c.engine;
  const auto d4 = index_of(e, "D4");
  auto before = e.snapshot();
  CHECK_FALSE(allows(e, "D4", "S2", "tcp", 5432));
  std::vector<AttrChange> changes{AttrChange::set("kandji:agentInstalled", true)};
  auto r = e.apply(d4, changes, test::kFixtureNow);
  CHECK(r.ok);
  CHECK(r.postures_reevaluated == 1);
  CHECK(r.postures_changed == 1);
  CHECK(allows(e, "D4", "S2", "tcp", 5432));
  // The snapshot taken before still answers with the old state.
  engine::Request q;
  q.src = test::addr("D4");
  q.dst = test::addr("S2");
  q.port = 5432;
  CHECK_FALSE(before->check(q).allow);
  CHECK(e.snapshot()->check(q).allow);
  // Delete: unset again.
  std::vector<AttrChange> del{AttrChange::remove("kandji:agentInstalled")};
  e.apply(d4, del, test::kFixtureNow);
  CHECK_FALSE(allows(e, "D4", "S2", "tcp", 5432));
  auto d = test::ask(e, "D4", "S2", "tcp", 5432);
  REQUIRE(d.near_misses.size() == 1);
  CHECK_FALSE(d.near_misses[0].postures[0].conditions[0].actual.has_value());
}

TEST_CASE("only postures reading a changed key are re-evaluated", "[engine][live]") {
  auto c = test::compile_fixture(kE3);
  auto& e = *c.engine;
  std::vector<AttrChange> unrelated{AttrChange::set("custom:unused", 1.0)};
  auto r = e.apply(index_of(e, "D3"), unrelated, test::kFixtureNow);
  CHECK(r.ok);
  CHECK(r.postures_reevaluated == 0);
  std::vector<AttrChange> tier{AttrChange::set("custom:tier", "bronze")};
  r = e.apply(index_of(e, "D3"), tier, test::kFixtureNow);
  CHECK(r.postures_reevaluated == 1);
  CHECK(r.postures_changed == 1);
  CHECK_FALSE(allows(e, "D3", "S1", "tcp", 443));
  // Unknown device: nothing applied.
  auto bad = e.apply(9999, tier, test::kFixtureNow);
  CHECK_FALSE(bad.ok);
  CHECK_FALSE(bad.error.empty());
}

TEST_CASE("a batch over many devices is one snapshot and equals applying each in turn",
          "[engine][live]") {
  auto batched = test::compile_fixture(kE3);
  auto one_by_one = test::compile_fixture(kE3);
  const auto d3 = index_of(*batched.engine, "D3");
  const auto d4 = index_of(*batched.engine, "D4");
  const std::vector<AttrChange> trusted{AttrChange::set("kandji:agentInstalled", true)};
  const std::vector<AttrChange> bronze{AttrChange::set("custom:tier", "bronze")};
  const std::vector<AttrChange> gold{AttrChange::set("custom:tier", "gold")};
  // D3 twice: its second change set builds on its first.
  const std::vector<engine::DeviceChanges> batch{{d4, trusted}, {d3, bronze}, {d3, gold}};
  const auto before = batched.engine->snapshot();
  const auto r = batched.engine->apply(batch, test::kFixtureNow);
  CHECK(r.ok);
  CHECK(r.postures_reevaluated == 3);
  for (const auto& edit : batch)
    one_by_one.engine->apply(edit.device, edit.changes, test::kFixtureNow);
  for (const auto& [src, dst, port] :
       std::vector<std::tuple<std::string, std::string, std::uint16_t>>{
           {"D4", "S2", 5432}, {"D3", "S1", 443}, {"D3", "S2", 5432}, {"D1", "S1", 443}}) {
    INFO(src << " -> " << dst << ":" << port);
    CHECK(allows(*batched.engine, src, dst, "tcp", port) ==
          allows(*one_by_one.engine, src, dst, "tcp", port));
  }
  CHECK(allows(*batched.engine, "D4", "S2", "tcp", 5432));
  CHECK(batched.engine->snapshot()->attributes(d3).at("custom:tier") ==
        engine::AttrValue{std::string("gold")});
  // The snapshot taken before the batch saw none of it.
  engine::Request q;
  q.src = test::addr("D4");
  q.dst = test::addr("S2");
  q.port = 5432;
  CHECK_FALSE(before->check(q).allow);
  // Any unknown device: nothing of the batch is applied.
  const std::vector<engine::DeviceChanges> bad{{d4, bronze}, {9999, bronze}};
  CHECK_FALSE(batched.engine->apply(bad, test::kFixtureNow).ok);
  CHECK(batched.engine->snapshot()->attributes(d4).count("custom:tier") == 0);
}

// Snapshots share the device states of every chunk a change did not touch, and keep the owners
// of those chunks in pages (engine/src/chunk_table.hpp): a tailnet of 2,500 devices spans three
// pages, and batches touch chunks in one page, in several, and the last, partly filled one.
TEST_CASE("snapshots of a large tailnet see exactly the batches applied before them",
          "[engine][live]") {
  auto inventory = test::fixture_inventory();
  const engine::Device model = inventory.devices.front();
  for (std::uint32_t i = 0; i < 2500; ++i) {
    engine::Device d = model;
    d.id = d.node_id = "bulk" + std::to_string(i);
    d.name = "bulk" + std::to_string(i) + ".example.ts.net";
    d.hostname = "bulk" + std::to_string(i);
    d.addresses = {
        test::addr("100.96." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1))};
    inventory.devices.push_back(std::move(d));
  }
  auto c = test::compile_with(kE3, inventory);
  auto& e = *c.engine;
  const auto count = static_cast<engine::DeviceIndex>(inventory.devices.size());
  const std::vector<AttrChange> wave{AttrChange::set("custom:wave", "gold")};  // on no device yet
  const std::vector<std::vector<engine::DeviceIndex>> batches{
      {0, 1, 40, 70, 1000},         // chunks of the first page, one device twice in a chunk
      {5, 1030, 2100, count - 1},   // one chunk per page, the last device
      {1, 1031, 1500, count - 2}};  // chunks copied by earlier batches, again
  std::vector<std::shared_ptr<const engine::Snapshot>> snapshots{e.snapshot()};
  for (const auto& devices : batches) {
    std::vector<engine::DeviceChanges> batch;
    for (const auto d : devices) batch.push_back({d, wave});
    REQUIRE(e.apply(batch, test::kFixtureNow).ok);
    snapshots.push_back(e.snapshot());
  }
  std::vector<std::string> wrong;  // "snapshot:device" where a snapshot sees the wrong value
  for (std::size_t s = 0; s < snapshots.size(); ++s) {
    std::vector<bool> expected(count, false);
    for (std::size_t b = 0; b < s; ++b) {
      for (const auto d : batches[b]) expected[d] = true;
    }
    for (engine::DeviceIndex d = 0; d < count; ++d) {
      const bool has_wave = snapshots[s]->attributes(d).count("custom:wave") == 1;
      if (has_wave != expected[d]) wrong.push_back(std::to_string(s) + ":" + std::to_string(d));
    }
  }
  INFO("first: " << (wrong.empty() ? std::string("none") : wrong.front()));
  CHECK(wrong.size() == 0);
}

TEST_CASE("expiries make an attribute unset when time passes", "[engine][live]") {
  auto c = test::compile_fixture(kE3);
  auto& e = *c.engine;
  const auto d4 = index_of(e, "D4");
  std::vector<AttrChange> jit{
      AttrChange::set("kandji:agentInstalled", true, test::kFixtureNow + 60)};
  e.apply(d4, jit, test::kFixtureNow);
  CHECK(allows(e, "D4", "S2", "tcp", 5432));
  CHECK(e.advance_time(test::kFixtureNow + 59) == 0);
  CHECK(allows(e, "D4", "S2", "tcp", 5432));
  CHECK(e.advance_time(test::kFixtureNow + 60) == 1);
  CHECK_FALSE(allows(e, "D4", "S2", "tcp", 5432));
  // set_expiry on an existing attribute; apply advances time first.
  std::vector<AttrChange> again{AttrChange::set("kandji:agentInstalled", true)};
  e.apply(d4, again, test::kFixtureNow + 61);
  CHECK(allows(e, "D4", "S2", "tcp", 5432));
  std::vector<AttrChange> exp{
      AttrChange::set_expiry("kandji:agentInstalled", test::kFixtureNow + 100)};
  e.apply(d4, exp, test::kFixtureNow + 61);
  CHECK(allows(e, "D4", "S2", "tcp", 5432));
  std::vector<AttrChange> none;
  e.apply(d4, none, test::kFixtureNow + 100);
  CHECK_FALSE(allows(e, "D4", "S2", "tcp", 5432));
}

TEST_CASE("incremental updates equal a full recompile", "[engine][live]") {
  auto inventory = test::fixture_inventory();
  auto c = test::compile_with(kE3, inventory);
  auto& e = *c.engine;
  std::mt19937 rng(7);
  const std::vector<std::string> hosts{"D1", "D2", "D3", "D4", "D5", "S1", "S2", "R1", "X1"};
  for (int step = 0; step < 200; ++step) {
    const auto dev = static_cast<engine::DeviceIndex>(rng() % inventory.devices.size());
    AttrChange ch;
    switch (rng() % 4) {
      case 0:
        ch = AttrChange::set("kandji:agentInstalled", rng() % 2 == 0);
        break;
      case 1:
        ch = AttrChange::set("node:tsVersion", "1." + std::to_string(50 + rng() % 30));
        break;
      case 2:
        ch = AttrChange::set("custom:tier", rng() % 2 == 0 ? "gold" : "bronze");
        break;
      default:
        ch = AttrChange::remove(rng() % 2 == 0 ? "custom:tier" : "kandji:agentInstalled");
        break;
    }
    std::vector<AttrChange> one{ch};
    e.apply(dev, one, test::kFixtureNow);
    auto& attrs = inventory.devices[dev].attributes;
    if (ch.kind == AttrChange::Kind::Delete) {
      attrs.erase(ch.key);
    } else {
      attrs[ch.key] = ch.value;
    }
  }
  auto fresh = test::compile_with(kE3, inventory);
  for (const auto& s : hosts) {
    for (const auto& d : hosts) {
      for (const std::uint16_t port : {std::uint16_t{443}, std::uint16_t{5432}}) {
        INFO(s << " -> " << d << ":" << port);
        CHECK(allows(e, s, d, "tcp", port) == allows(*fresh.engine, s, d, "tcp", port));
      }
    }
  }
}

TEST_CASE("readers keep answering while a writer applies changes", "[engine][live]") {
  auto c = test::compile_fixture(kE3);
  auto& e = *c.engine;
  const auto d4 = index_of(e, "D4");
  std::atomic<bool> stop{false};
  std::atomic<long> answers{0};
  std::atomic<long> inconsistent{0};
  std::thread reader([&] {
    engine::Request q;
    q.src = test::addr("D4");
    q.dst = test::addr("S2");
    q.port = 5432;
    while (!stop.load()) {
      auto snap = e.snapshot();
      const bool a = snap->check(q).allow;
      // One snapshot gives one answer, however often it is asked.
      if (snap->check(q).allow != a) inconsistent.fetch_add(1);
      answers.fetch_add(1);
    }
  });
  // Start writing only once the reader runs, so reads and writes really overlap.
  while (answers.load() == 0) std::this_thread::yield();
  for (int i = 0; i < 500; ++i) {
    std::vector<AttrChange> flip{AttrChange::set("kandji:agentInstalled", i % 2 == 0)};
    e.apply(d4, flip, test::kFixtureNow);
  }
  stop.store(true);
  reader.join();
  CHECK(answers.load() > 0);
  CHECK(inconsistent.load() == 0);
  CHECK_FALSE(allows(e, "D4", "S2", "tcp", 5432));  // last write: i = 499 -> false
}

TEST_CASE("per-query attributes replace the stored ones", "[engine][live]") {
  auto c = test::compile_fixture(kE3);
  engine::AttrMap attrs{{"kandji:agentInstalled", true}};
  engine::Request q;
  q.src = test::addr("D3");
  q.dst = test::addr("S2");
  q.port = 5432;
  CHECK_FALSE(c.engine->check(q).allow);
  q.src_attrs = &attrs;
  CHECK(c.engine->check(q).allow);
  // D1 passes with its own attributes but not with an empty override.
  engine::AttrMap none;
  q.src = test::addr("D1");
  q.src_attrs = &none;
  CHECK_FALSE(c.engine->check(q).allow);
}

}  // namespace engine_live_test
