// Tailscale's posture integration and configuration audit log API on a real `postern serve`
// (spec tailscale-api.md §2.7-§2.8, traps 1, 2, 6): create answers 200 and never echoes
// clientSecret, 409 for a second integration of a provider, 400 naming the supported providers,
// the tailnet-less /posture/integrations/{id} routes; the audit log in the ConfigurationAuditLog
// shape with start/end and actor/target/event filters.
#include <ctime>

#include "tsapi_harness.hpp"

namespace tsapi_admin_test {

using namespace tsapi_test;

namespace {

const std::string kIntegrations = "/api/v2/tailnet/-/posture/integrations";
const std::string kKandjiToken = "kdj-tsapi-5e6f7a8b9c0d1e2f3a4b5c6d";

std::string rfc3339_offset(int seconds) {
  const std::time_t t = std::time(nullptr) + seconds;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[32];
  REQUIRE(std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm) > 0);
  return text;
}

}  // namespace

TEST_CASE("posture integrations: create, list, get, update, delete", "[tsapi][integrations]") {
  postern::test::ScratchDir dir("postern-tsapi-integrations");
  Server server(dir);
  const auto c = server.client();

  CHECK(c.ok(c.get(kIntegrations)) == json{{"integrations", json::array()}});

  // The official client's create body.
  const auto created = c.post_json(kIntegrations, {{"provider", "kandji"},
                                                   {"cloudId", "example.api.kandji.io"},
                                                   {"clientSecret", kKandjiToken}});
  const json integration = c.ok(created);  // 200, not 201
  CHECK(created.body.find(kKandjiToken) == std::string::npos);
  CHECK_FALSE(integration.contains("clientSecret"));
  CHECK(integration["provider"] == "kandji");
  CHECK(integration["cloudId"] == "example.api.kandji.io");  // as given: no Terraform drift
  CHECK(integration["clientId"] == "");
  CHECK_FALSE(integration.contains("status"));  // never synced yet
  const std::string id = integration["id"].get<std::string>();
  REQUIRE_FALSE(id.empty());

  const json list = c.ok(c.get(kIntegrations));
  REQUIRE(list.size() == 1);
  REQUIRE(list["integrations"].size() == 1);
  CHECK(list["integrations"][0]["id"] == id);

  // A second one for the same provider.
  auto again = c.post_json(
      kIntegrations,
      {{"provider", "kandji"}, {"cloudId", "other.api.kandji.io"}, {"clientSecret", "another"}});
  CHECK(again.status == 409);
  // A provider Tailscale has and Postern not yet: 400 naming what is supported.
  auto unsupported = c.post_json(
      kIntegrations, {{"provider", "intune"}, {"cloudId", "global"}, {"clientSecret", "s"}});
  CHECK(unsupported.status == 400);
  CHECK(unsupported.message().find("kandji") != std::string::npos);
  CHECK(unsupported.message().find("intune") != std::string::npos);
  // Other bad input.
  CHECK(
      c.post_json(kIntegrations, {{"cloudId", "x.api.kandji.io"}, {"clientSecret", "s"}}).status ==
      400);
  CHECK(c.post_json(kIntegrations, {{"provider", 3}}).status == 400);
  CHECK(c.post_json(kIntegrations, {{"provider", "kandji"}, {"colour", "red"}}).status == 400);
  CHECK(c.send("POST", kIntegrations, "not json", "application/json").status == 400);

  // The tailnet-less routes.
  const std::string one = "/api/v2/posture/integrations/" + id;
  CHECK(c.ok(c.get(one))["cloudId"] == "example.api.kandji.io");
  CHECK(c.get("/api/v2/posture/integrations/pikandji999").status == 404);

  // PATCH: a new cloudId needs clientSecret again (else whoever may edit the integration could
  // send the stored token to a host of theirs); the same cloudId without it keeps the token;
  // provider is ignored.
  auto moved =
      c.send("PATCH", one, json{{"cloudId", "attacker.example"}}.dump(), "application/json");
  CHECK(moved.status == 400);
  CHECK(moved.message().find("API token again") != std::string::npos);
  CHECK(moved.message().find("attacker.example") != std::string::npos);
  CHECK(c.ok(c.get(one))["cloudId"] == "example.api.kandji.io");
  auto patched =
      c.send("PATCH", one, json{{"cloudId", "example.api.kandji.io"}}.dump(), "application/json");
  CHECK(c.ok(patched)["cloudId"] == "example.api.kandji.io");
  patched = c.send("PATCH", one,
                   json{{"provider", "kandji"},
                        {"cloudId", "https://new.api.kandji.io"},
                        {"clientSecret", kKandjiToken}}
                       .dump(),
                   "application/json");
  // cloudId comes back as written, whatever its form (a Terraform `cloud_id` must not drift).
  CHECK(c.ok(patched)["cloudId"] == "https://new.api.kandji.io");
  CHECK(c.ok(c.get(one))["cloudId"] == "https://new.api.kandji.io");
  patched =
      c.send("PATCH", one,
             json{{"cloudId", "New.API.kandji.io:443"}, {"clientSecret", kKandjiToken}}.dump(),
             "application/json");
  CHECK(c.ok(patched)["cloudId"] == "New.API.kandji.io:443");
  CHECK(c.ok(c.get(kIntegrations))["integrations"][0]["cloudId"] == "New.API.kandji.io:443");
  patched = c.send("PATCH", one, json{{"clientSecret", "rotated-token-value"}}.dump(),
                   "application/json");
  CHECK(c.ok(patched).contains("id"));
  CHECK(patched.body.find("rotated-token-value") == std::string::npos);
  CHECK(c.send("PATCH", one, json{{"clientId", "not-for-kandji"}}.dump(), "application/json")
            .status == 400);
  CHECK(c.send("PATCH", one, json{{"cloudId", "ftp://x"}}.dump(), "application/json").status ==
        400);
  // A token pasted into the URL as well is not repeated back in the error.
  const auto pasted =
      c.send("PATCH", one,
             json{{"cloudId", std::string("https://x.api.kandji.io/?t=") + kKandjiToken},
                  {"clientSecret", kKandjiToken}}
                 .dump(),
             "application/json");
  CHECK(pasted.status == 400);
  CHECK(pasted.body.find(kKandjiToken) == std::string::npos);
  // A token that would add header lines to the sync's requests (or be cut at a NUL) is refused.
  for (const std::string& token : {std::string("abc\r\nX-Injected: yes"), std::string("abc\0d", 5),
                                   std::string("tab\there"), std::string(5000, 'a')}) {
    const auto injected =
        c.send("PATCH", one, json{{"clientSecret", token}}.dump(), "application/json");
    CHECK(injected.status == 400);
    CHECK(injected.message().find("API token") != std::string::npos);
  }
  CHECK(c.ok(c.get(one))["cloudId"] == "New.API.kandji.io:443");

  CHECK(c.ok(c.send("DELETE", one)) == json::object());
  CHECK(c.get(one).status == 404);
  CHECK(c.send("DELETE", one).status == 404);
  CHECK(c.ok(c.get(kIntegrations))["integrations"].empty());
  // Still serving; the token never reached the log.
  CHECK(c.ok(c.get("/api/v2/tailnet/-/devices"))["devices"].size() == 10);
  CHECK(server.process().err().find(kKandjiToken) == std::string::npos);
}

TEST_CASE("configuration audit log: shape, window and filters", "[tsapi][audit]") {
  postern::test::ScratchDir dir("postern-tsapi-audit");
  Server server(dir);
  const auto c = server.client();
  const std::string start = rfc3339_offset(-5);

  const std::string policy = R"({"acls": [{"action": "accept", "src": ["*"], "dst": ["*:*"]}]})";
  REQUIRE(c.send("POST", "/api/v2/tailnet/-/acl", policy, "application/json").status == 200);
  REQUIRE(c.post_json("/api/v2/device/nAl1ceMBP01/attributes/custom:tier",
                      {{"value", "gold"}, {"comment", "ticket 42"}})
              .status == 200);
  REQUIRE(
      c.post_json("/api/v2/tailnet/-/posture/integrations", {{"provider", "kandji"},
                                                             {"cloudId", "example.api.kandji.io"},
                                                             {"clientSecret", kKandjiToken}})
          .status == 200);
  const std::string end = rfc3339_offset(5);
  const std::string path = "/api/v2/tailnet/-/logging/configuration?start=" + start + "&end=" + end;

  const auto reply = c.get(path);
  const json log = c.ok(reply);
  CHECK(reply.body.find(kKandjiToken) == std::string::npos);
  CHECK(log["version"] == "1.1");
  CHECK(log["tailnet"] == "example-tailnet.ts.net");
  const json& logs = log["logs"];
  REQUIRE(logs.size() >= 3);
  std::map<std::string, json> by_event;
  for (const auto& e : logs) {
    for (const char* field :
         {"eventTime", "type", "eventGroupID", "origin", "actor", "target", "action"}) {
      CHECK(e.contains(field));
    }
    CHECK(e["type"] == "CONFIG");
    std::string name =
        e["target"]["type"].get<std::string>() + "." + e["action"].get<std::string>();
    if (e["target"].contains("property")) name += "." + e["target"]["property"].get<std::string>();
    by_event[name] = e;
  }
  REQUIRE(by_event.count("TAILNET.UPDATE.ACL") == 1);
  CHECK(by_event["TAILNET.UPDATE.ACL"]["new"] == policy);
  CHECK(by_event["TAILNET.UPDATE.ACL"]["origin"] == "CONFIG_API");
  REQUIRE(by_event.count("NODE.CREATE.ATTRIBUTES") == 1);
  CHECK(by_event["NODE.CREATE.ATTRIBUTES"]["actionDetails"] == "ticket 42");
  CHECK(by_event["NODE.CREATE.ATTRIBUTES"]["new"]["custom:tier"] == "gold");
  CHECK(by_event["NODE.CREATE.ATTRIBUTES"]["target"]["id"] == "nAl1ceMBP01");
  REQUIRE(by_event.count("TAILNET.CREATE.POSTURE_INTEGRATION") == 1);

  // Filters.
  auto only = c.ok(c.get(path + "&event=NODE.CREATE.ATTRIBUTES"))["logs"];
  REQUIRE(only.size() == 1);
  CHECK(only[0]["target"]["property"] == "ATTRIBUTES");
  CHECK(
      c.ok(c.get(path + "&event=NODE.CREATE.ATTRIBUTES&event=TAILNET.UPDATE.ACL"))["logs"].size() ==
      2);
  CHECK(c.ok(c.get(path + "&target=nAl1ce"))["logs"].size() == 1);
  const std::string actor = by_event["TAILNET.UPDATE.ACL"]["actor"]["id"].get<std::string>();
  CHECK(c.ok(c.get(path + "&actor=" + actor))["logs"].size() == logs.size());
  CHECK(c.ok(c.get(path + "&actor=nobody"))["logs"].empty());
  // A window before everything.
  CHECK(
      c.ok(c.get("/api/v2/tailnet/-/logging/configuration?start=2020-01-01T00:00:00Z&end="
                 "2020-01-02T00:00:00Z"))["logs"]
          .empty());

  // Bad queries: 400 {"message"}.
  CHECK(c.get("/api/v2/tailnet/-/logging/configuration").status == 400);
  CHECK(c.get("/api/v2/tailnet/-/logging/configuration?start=yesterday&end=" + end).status == 400);
  CHECK(c.get(path + "&event=NODE.EXPLODE").status == 400);
  CHECK(c.get("/api/v2/tailnet/-/logging/configuration?start=" + end + "&end=" + start).status ==
        400);
  CHECK(c.get("/api/v2/tailnet/nope/logging/configuration?start=" + start + "&end=" + end).status ==
        404);
}

}  // namespace tsapi_admin_test
