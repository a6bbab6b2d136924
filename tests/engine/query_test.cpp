// Query resolution (engine/query.hpp): endpoint forms and their errors, the device name index
// against the linear engine::find_devices, and the divergences issue 7 listed.
#include "postern/engine/query.hpp"

#include <catch2/catch.hpp>

#include "engine_fixture.hpp"
#include "seeded_random.hpp"

namespace query_test {

namespace {

using namespace postern;
using engine::QueryError;
using test::addr;

// alice may reach tag:db on 5432/tcp and ping it; nobody else may.
const test::Compiled& fixture() {
  static const test::Compiled compiled = test::compile_fixture(test::prelude(R"(
  "acls": [
    {"action": "accept", "src": ["alice@example.com"], "dst": ["tag:db:5432"]},
    {"action": "accept", "src": ["alice@example.com"], "proto": "icmp", "dst": ["tag:db:*"]},
    {"action": "accept", "src": ["alice@example.com"], "proto": "17", "dst": ["tag:db:53"]},
  ],)"));
  return compiled;
}

const engine::Snapshot& snapshot() {
  static const auto snap = fixture().engine->snapshot();
  return *snap;
}

QueryError::Kind error_kind(const engine::Resolved<engine::HostPort>& r) {
  REQUIRE_FALSE(r.ok());
  return r.error().kind;
}

}  // namespace

TEST_CASE("split_host_port reads host:port and [v6]:port", "[query]") {
  const std::string_view plain_text = "S2:5432";
  const auto plain = engine::split_host_port(plain_text);
  REQUIRE(plain.ok());
  CHECK(plain.value().host == "S2");
  CHECK(plain.value().host.data() == plain_text.data());  // a view, not a copy
  CHECK(plain.value().port == 5432);

  const std::string_view v6_text = "[fd7a:115c:a1e0::b]:22";
  const auto v6 = engine::split_host_port(v6_text);
  REQUIRE(v6.ok());
  CHECK(v6.value().host == "fd7a:115c:a1e0::b");
  CHECK(v6.value().host.data() == v6_text.data() + 1);
  CHECK(v6.value().port == 22);

  const auto zero = engine::split_host_port("100.64.0.11:0");
  REQUIRE(zero.ok());
  CHECK(zero.value().port == 0);
  CHECK(engine::split_host_port("h:65535").value().port == 65535);
}

TEST_CASE("split_host_port rejects malformed endpoints as invalid input", "[query]") {
  for (const char* text : {"S2", "S2:", ":22", "[fd7a::1]", "[fd7a::1]22", "[fd7a::1:22", "h:65536",
                           "h:-1", "h:+22", "h:2 2", "h:0x16", "h:123456"}) {
    INFO(text);
    CHECK(error_kind(engine::split_host_port(text)) == QueryError::Kind::InvalidInput);
  }
}

TEST_CASE("regression: a port with a leading zero is rejected, not read as decimal", "[query]") {
  const auto r = engine::split_host_port("S2:09090");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message == "invalid port `09090` in `S2:09090`");
  CHECK_FALSE(r.error().help.empty());
  CHECK_FALSE(engine::parse_port("00").ok());
  CHECK(engine::parse_port("0").value() == 0);
}

TEST_CASE("regression: an unbracketed IPv6 destination is rejected with a hint", "[query]") {
  const auto r = engine::split_host_port("fd7a:115c:a1e0::b:22");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == QueryError::Kind::InvalidInput);
  CHECK(r.error().message == "`fd7a:115c:a1e0::b:22` is an IPv6 address without brackets");
  CHECK(r.error().help ==
        "write `[fd7a:115c:a1e0::b]:22`: an IPv6 address takes brackets before its port");
  // Not split at the last colon into host `fd7a:115c:a1e0::b`, port 22 and answered.
  CHECK_FALSE(
      engine::resolve_access_query(snapshot(), "D1", "fd7a:115c:a1e0::b:22", engine::kProtoTcp)
          .ok());
}

// A docs review tried `--dst tag:web:443` and was told it was an IPv6 address.
TEST_CASE("a selector as a destination is named as one", "[engine][query]") {
  const auto r = engine::split_host_port("tag:web:443");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message ==
        "`tag:web:443`: a check's destination is one device or address, not a `tag:` selector");
  CHECK(r.error().help.find("`web-1:443`") != std::string::npos);
  CHECK_FALSE(engine::split_host_port("group:eng:22").ok());
}

TEST_CASE("regression: a numeric protocol is that protocol, not TCP", "[query]") {
  CHECK(engine::parse_query_proto("17").value() == engine::kProtoUdp);
  CHECK(engine::parse_query_proto("udp").value() == engine::kProtoUdp);
  CHECK(engine::parse_query_proto("ICMP").value() == engine::kProtoIcmp);
  CHECK(engine::parse_query_proto("0").value() == 0);
  CHECK(engine::parse_query_proto("255").value() == 255);
  CHECK(engine::query_proto_number(17).value() == engine::kProtoUdp);
  for (const char* bad : {"", "256", "017", "-1", "tcpp", "*"}) {
    INFO(bad);
    const auto r = engine::parse_query_proto(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == QueryError::Kind::InvalidInput);
  }
  CHECK_FALSE(engine::query_proto_number(256).ok());
  CHECK_FALSE(engine::query_proto_number(-1).ok());

  // UDP 53 is allowed only as UDP: proto 17 given by number must decide as UDP.
  const auto udp = engine::resolve_access_query(snapshot(), "D1", "S2:53",
                                                engine::query_proto_number(17).value());
  REQUIRE(udp.ok());
  CHECK(udp.value().proto == engine::kProtoUdp);
  CHECK(engine::answer_access_query(snapshot(), udp.value(), false).accept);
  const auto tcp = engine::resolve_access_query(snapshot(), "D1", "S2:53", engine::kProtoTcp);
  CHECK_FALSE(engine::answer_access_query(snapshot(), tcp.value(), false).accept);
}

TEST_CASE("resolve_endpoint names a device every way the tiers allow", "[query]") {
  const auto s2 = *snapshot().find_device("S2");
  for (const char* name : {"id-S2", "nS2", "S2.fixture.ts.net", "s2.FIXTURE.ts.net.", "S2", "s2",
                           "100.64.0.11", "fd7a:115c:a1e0::b", "[fd7a:115c:a1e0::b]"}) {
    INFO(name);
    const auto r = engine::resolve_endpoint(snapshot(), name, false);
    REQUIRE(r.ok());
    REQUIRE(r.value().devices.size() == 1);
    CHECK(r.value().devices[0] == s2);
    CHECK(r.value().addresses[0] == addr("S2"));
    CHECK(r.value().labels[0] == "S2 (100.64.0.11)");
  }
  const auto v6 = engine::resolve_endpoint(snapshot(), "S2", true);
  CHECK(v6.value().addresses[0] == addr("S2", true));
}

TEST_CASE("a user login names all their untagged devices", "[query]") {
  const auto r = engine::resolve_endpoint(snapshot(), "alice@example.com", false);
  REQUIRE(r.ok());
  CHECK(r.value().addresses == std::vector{addr("D1"), addr("D2")});  // not tagged S2, R1
  const auto none = engine::resolve_endpoint(snapshot(), "nobody@example.com", false);
  REQUIRE_FALSE(none.ok());
  CHECK(none.error().kind == QueryError::Kind::UnknownName);
  CHECK(none.error().message == "user `nobody@example.com` has no untagged devices");
}

TEST_CASE("a literal address of no device is an endpoint without a device", "[query]") {
  const auto r = engine::resolve_endpoint(snapshot(), "10.20.1.5", false);
  REQUIRE(r.ok());
  CHECK(r.value().devices == std::vector<std::optional<engine::DeviceIndex>>{std::nullopt});
  CHECK(r.value().labels[0] == "10.20.1.5");
}

TEST_CASE("unknown and ambiguous names are errors that say which", "[query]") {
  const auto unknown = engine::resolve_endpoint(snapshot(), "nosuch", false);
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().kind == QueryError::Kind::UnknownName);
  CHECK(unknown.error().message == "unknown device or address `nosuch`");

  auto inventory = test::fixture_inventory();
  inventory.devices[0].hostname = "shared";
  inventory.devices[2].hostname = "SHARED";
  const auto c = test::compile_with(test::prelude(""), inventory);
  const auto snap = c.engine->snapshot();
  const auto ambiguous = engine::resolve_endpoint(*snap, "Shared", false);
  REQUIRE_FALSE(ambiguous.ok());
  CHECK(ambiguous.error().kind == QueryError::Kind::AmbiguousName);
  CHECK(ambiguous.error().matches == std::vector<engine::DeviceIndex>{0, 2});
  CHECK(ambiguous.error().message ==
        "`Shared` names 2 devices: D1.fixture.ts.net (id id-D1), D3.fixture.ts.net (id id-D3)");
  CHECK_FALSE(snap->find_device("shared").has_value());
}

TEST_CASE("resolve_access_query keeps the families and ICMP rules", "[query]") {
  SECTION("the source is taken in the destination's family; ICMP to IPv6 is ICMPv6") {
    const auto q = engine::resolve_access_query(snapshot(), "alice@example.com",
                                                "[fd7a:115c:a1e0::b]:0", engine::kProtoIcmp);
    REQUIRE(q.ok());
    CHECK(q.value().proto == engine::kProtoIcmpV6);
    CHECK(q.value().src.addresses == std::vector{addr("D1", true), addr("D2", true)});
    const auto answer = engine::answer_access_query(snapshot(), q.value(), true);
    CHECK(answer.accept);
    CHECK(answer.decisions.size() == 2);
  }
  SECTION("every source device must be accepted") {
    const auto q =
        engine::resolve_access_query(snapshot(), "bob@example.com", "S2:5432", engine::kProtoTcp);
    REQUIRE(q.ok());
    CHECK_FALSE(engine::answer_access_query(snapshot(), q.value(), false).accept);
  }
  SECTION("srcPostureAttrs replace the source's attributes") {
    const auto c = test::compile_fixture(test::prelude(R"(
      "postures": {"posture:mac": ["node:os == 'macos'"]},
      "acls": [{"action": "accept", "src": ["alice@example.com"], "srcPosture": ["posture:mac"],
                "dst": ["tag:db:5432"]}],)"));
    const auto snap = c.engine->snapshot();
    const auto as_is = engine::resolve_access_query(*snap, "D2", "S2:5432", engine::kProtoTcp);
    CHECK_FALSE(engine::answer_access_query(*snap, as_is.value(), false).accept);
    const auto as_mac = engine::resolve_access_query(*snap, "D2", "S2:5432", engine::kProtoTcp,
                                                     engine::AttrMap{{"node:os", "macos"}});
    CHECK(engine::answer_access_query(*snap, as_mac.value(), false).accept);
  }
  SECTION("errors come through with their kind") {
    CHECK(engine::resolve_access_query(snapshot(), "D1", "S2", engine::kProtoTcp).error().kind ==
          QueryError::Kind::InvalidInput);
    CHECK(engine::resolve_access_query(snapshot(), "D1", "nosuch:1", engine::kProtoTcp)
              .error()
              .kind == QueryError::Kind::UnknownName);
    CHECK(engine::resolve_access_query(snapshot(), "nosuch", "S2:1", engine::kProtoTcp)
              .error()
              .kind == QueryError::Kind::UnknownName);
  }
}

// Random inventories with colliding names, mixed case and trailing dots: every name the index
// answers must equal the linear scan's answer.
TEST_CASE("the name index agrees with find_devices on random inventories", "[query]") {
  const auto seed = test::env_number("POSTERN_TEST_SEED", 7);
  test::SeededRandom random(seed);
  INFO("seed " << seed);
  const std::vector<std::string> words = {"web", "Web",     "db", "DB", "a", "web.",
                                          "x.y", "db.corp", "1",  "n1", ""};
  for (int round = 0; round < 40; ++round) {
    engine::Inventory inventory;
    const std::size_t count = 1 + random.below(12);
    for (std::size_t i = 0; i < count; ++i) {
      engine::Device d;
      d.id = random.chance(0.7) ? std::to_string(i) : random.pick(words);
      d.node_id = random.chance(0.5) ? "n" + std::to_string(i) : random.pick(words);
      d.hostname = random.pick(words);
      d.name = random.pick(words) + (random.chance(0.5) ? ".ts.net" : "") +
               (random.chance(0.3) ? "." : "");
      if (random.chance(0.3)) d.name = random.pick(words);
      // IPv4 and IPv6, either alone, in either order, or no address at all.
      const auto v4 = *grammar::ip::parse_address("100.64.0." + std::to_string(i + 1));
      const auto v6 = *grammar::ip::parse_address("fd7a:115c:a1e0::" + std::to_string(i + 1));
      switch (random.below(5)) {
        case 0:
          d.addresses = {v4, v6};
          break;
        case 1:
          d.addresses = {v6, v4};
          break;
        case 2:
          d.addresses = {v6};
          break;
        case 3:
          break;
        default:
          d.addresses = {v4};
      }
      inventory.devices.push_back(std::move(d));
    }
    const engine::DeviceNameIndex index(inventory);
    for (engine::DeviceIndex d = 0; d < inventory.devices.size(); ++d) {
      INFO("round " << round << " device " << d);
      const auto& device = inventory.devices[d];
      for (const bool v6 : {false, true}) {
        const auto* scanned = engine::endpoint_address(device, v6);
        const auto* indexed = index.endpoint_address(d, v6);
        REQUIRE((scanned == nullptr) == (indexed == nullptr));
        if (scanned != nullptr) CHECK(*scanned == *indexed);
      }
      for (const auto& a : device.addresses) CHECK(index.find_address(a) == d);
    }
    std::vector<std::string> queries = {"100.64.0.1",
                                        "[100.64.0.2]",
                                        "100.64.9.9",
                                        ".",
                                        "WEB.",
                                        "Db.Corp.",
                                        "x",
                                        "X.Y.",
                                        "web.ts.net",
                                        "WEB.TS.NET.",
                                        "[fd7a:115c:a1e0::3]",
                                        "fd7a:115c:a1e0::1",
                                        "fd7a:115c:a1e0::99"};
    for (const auto& w : words) queries.push_back(w);
    for (const auto& d : inventory.devices) {
      queries.insert(queries.end(), {d.id, d.node_id, d.name, d.hostname});
    }
    for (const auto& q : queries) {
      INFO("round " << round << " query `" << q << "`");
      const auto probe = index.probe(q);
      index.prefetch(probe);  // hints only: the answer must not change
      index.prefetch_found(probe);
      const auto indexed = index.find(q);
      const auto probed = index.find(probe);
      const auto scanned = engine::find_devices(inventory, q);
      CHECK(std::vector<std::size_t>(indexed.begin(), indexed.end()) == scanned);
      CHECK(std::vector<std::size_t>(probed.begin(), probed.end()) == scanned);
    }
  }
}

}  // namespace query_test
