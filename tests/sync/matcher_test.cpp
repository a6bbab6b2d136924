// Serial normalisation and the matching rules of docs/semantics.md#sync.
#include "postern/sync/matcher.hpp"

#include <catch2/catch.hpp>

#include "postern/sync/kandji.hpp"
#include "postern/sync/serial.hpp"

namespace matcher_test {

using namespace postern::sync;

namespace {

ProviderDevice device(std::string id, std::string serial, bool agent, std::int64_t seen = 100) {
  ProviderDevice d;
  d.provider_id = std::move(id);
  d.serials = {std::move(serial)};
  d.attributes = {{std::string(kKandjiMdmEnabled), true},
                  {std::string(kKandjiAgentInstalled), agent}};
  d.last_seen = seen;
  return d;
}

TailnetNode node(std::string key, std::vector<std::string> serials, bool disabled = false) {
  return TailnetNode{key, key, std::move(serials), disabled, {}};
}

bool agent(const NodeMatch& m) { return std::get<bool>(m.desired.at("kandji:agentInstalled")); }

}  // namespace

TEST_CASE("serials normalise: trim, NBSP, upper-case, dashes dropped", "[sync][match]") {
  CHECK(normalise_serial("  c02zk3abmd6t\t\n") == "C02ZK3ABMD6T");
  CHECK(normalise_serial("\xC2\xA0"
                         "c02-erin-0006"
                         "\xC2\xA0") == "C02ERIN0006");
  CHECK(normalise_serial("VMware-56 4d 1a") == "VMWARE56 4D 1A");
  CHECK(normalise_serial("") == "");
}

TEST_CASE("placeholder serials are never matched", "[sync][match]") {
  for (const char* junk : {"To Be Filled By O.E.M.", "System Serial Number", "Default string",
                           "Not Available", "  none ", "0", "N/A", ""}) {
    INFO(junk);
    CHECK(is_placeholder_serial(normalise_serial(junk)));
  }
  CHECK_FALSE(is_placeholder_serial("C02ZK3ABMD6T"));
  CHECK(usable_serials({"FVFH47QWQ6L7", "To Be Filled By O.E.M.", "fvfh47qwq6l7"}) ==
        std::vector<std::string>{"FVFH47QWQ6L7"});
  // A provider record carrying a placeholder matches no node reporting the same junk.
  auto result =
      match_devices({node("pc", {"Not Available"})}, {device("k", "Not Available", true)});
  CHECK(result.nodes[0].outcome == MatchOutcome::NoSerial);
  CHECK(result.matched == 0);
}

TEST_CASE("the spec's tailnet fixtures match as documented", "[sync][match]") {
  const std::vector<ProviderDevice> devices = {device("1", "C02ZK3ABMD6T", true),
                                               device("2", "FVFH47QWQ6L7", false),
                                               device("3", "K7X2M9PQ4R", true)};
  const std::vector<TailnetNode> nodes = {
      node("mac", {"C02ZK3ABMD6T"}),
      node("win", {"FVFH47QWQ6L7", "To Be Filled By O.E.M."}),
      node("twin-a", {"K7X2M9PQ4R"}),
      node("twin-b", {"k7x2m9pq4r "}),
      node("empty", {}),
      node("private", {"C02ZK3ABMD6T"}, true),
      node("stranger", {"UNKNOWN1234"}),
  };
  const auto result = match_devices(nodes, devices);
  CHECK(result.nodes[0].outcome == MatchOutcome::Matched);
  CHECK(agent(result.nodes[0]));
  CHECK(result.nodes[1].outcome == MatchOutcome::Matched);
  CHECK_FALSE(agent(result.nodes[1]));
  CHECK(result.nodes[2].outcome == MatchOutcome::Ambiguous);
  CHECK(result.nodes[3].outcome == MatchOutcome::Ambiguous);
  CHECK(result.nodes[4].outcome == MatchOutcome::NoSerial);
  CHECK(result.nodes[5].outcome == MatchOutcome::NoConsent);
  CHECK(result.nodes[6].outcome == MatchOutcome::Unmatched);
  CHECK(result.matched == 2);
  CHECK(result.possible_matched == 5);  // mac, win, both twins, stranger
  CHECK(result.ambiguous_serials == std::vector<std::string>{"K7X2M9PQ4R"});
}

TEST_CASE("duplicate provider records: the freshest wins, then mdm_enabled, else ambiguous",
          "[sync][match]") {
  const std::vector<TailnetNode> nodes = {node("n", {"SER1"})};
  auto newer_second =
      match_devices(nodes, {device("old", "SER1", false, 100), device("new", "ser1", true, 200)});
  CHECK(agent(newer_second.nodes[0]));
  auto newer_first =
      match_devices(nodes, {device("new", "SER1", true, 200), device("old", "SER1", false, 100)});
  CHECK(agent(newer_first.nodes[0]));
  auto tie_agree = match_devices(nodes, {device("a", "SER1", true), device("b", "SER1", true)});
  CHECK(tie_agree.nodes[0].outcome == MatchOutcome::Matched);
  auto tie_disagree = match_devices(nodes, {device("a", "SER1", true), device("b", "SER1", false)});
  CHECK(tie_disagree.nodes[0].outcome == MatchOutcome::Ambiguous);
  CHECK(tie_disagree.ambiguous_serials == std::vector<std::string>{"SER1"});
  // Spec §2.5: a tie goes to the record with mdm_enabled=true, in either order.
  auto unmanaged = device("u", "SER1", false);
  unmanaged.attributes[std::string(kKandjiMdmEnabled)] = false;
  auto managed = device("m", "SER1", true);
  managed.managed = true;
  for (const auto& order : {std::vector<ProviderDevice>{unmanaged, managed},
                            std::vector<ProviderDevice>{managed, unmanaged}}) {
    const auto tie_mdm = match_devices(nodes, order);
    REQUIRE(tie_mdm.nodes[0].outcome == MatchOutcome::Matched);
    CHECK(agent(tie_mdm.nodes[0]));
    CHECK(tie_mdm.ambiguous_serials.empty());
  }
}

TEST_CASE("any of a node's serials matches, two different devices make it ambiguous",
          "[sync][match]") {
  auto one = match_devices({node("n", {"BOARD1", "SYSTEM1"})}, {device("k", "SYSTEM1", true)});
  CHECK(one.nodes[0].outcome == MatchOutcome::Matched);
  auto two = match_devices({node("n", {"BOARD1", "SYSTEM1"})},
                           {device("k1", "SYSTEM1", true), device("k2", "BOARD1", false)});
  CHECK(two.nodes[0].outcome == MatchOutcome::Ambiguous);
  CHECK(two.ambiguous_serials.size() == 2);
}

}  // namespace matcher_test
