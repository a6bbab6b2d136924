// Tailscale's device and posture attribute API on a real `postern serve` (spec tailscale-api.md
// §2.5-§2.6, traps 1, 2, 5, 7): the device list's single `devices` key, fields and filters,
// devices by nodeId or numeric id, attributes with raw `:` or `%3A` keys, the zero-time expiry,
// comments, deletes, and the all-or-nothing batch PATCH; bad input stores nothing.
#include "tsapi_harness.hpp"

namespace tsapi_devices_test {

using namespace tsapi_test;

namespace {

const std::string kAlice = "nAl1ceMBP01";
const std::string kDevices = "/api/v2/tailnet/-/devices";

std::string attributes_path(const std::string& device, const std::string& key = {}) {
  return "/api/v2/device/" + device + "/attributes" + (key.empty() ? "" : "/" + key);
}

std::string rfc3339_in_days(int days) {
  const auto t = std::chrono::system_clock::now() + std::chrono::hours(24 * days);
  const std::time_t seconds = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char text[32];
  REQUIRE(std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm) > 0);
  return text;
}

}  // namespace

TEST_CASE("device list: one `devices` key, fields, filters", "[tsapi][devices]") {
  postern::test::ScratchDir dir("postern-tsapi-devices");
  Server server(dir);
  const auto c = server.client();

  const json list = c.ok(c.get(kDevices));
  REQUIRE(list.size() == 1);  // the client decodes map[string][]Device
  REQUIRE(list["devices"].size() == 10);
  const json& first = list["devices"][0];
  CHECK(first["nodeId"] == kAlice);
  CHECK(first["id"] == "1001");
  CHECK(first["addresses"][0] == "100.64.0.1");
  CHECK_FALSE(first.contains("enabledRoutes"));
  CHECK_FALSE(first.contains("postureIdentity"));

  const json all = c.ok(c.get(kDevices + "?fields=all"));
  CHECK(all["devices"][0]["postureIdentity"]["serialNumbers"][0] == "C02ALICE0001");
  CHECK(all["devices"][0]["enabledRoutes"].is_array());
  // Spelled `advertisedRoutes` (§6 trap 7), from the inventory, with fields=all only.
  CHECK_FALSE(first.contains("advertisedRoutes"));
  const auto routers = c.ok(c.get(kDevices + "?fields=all&hostname=router-1"))["devices"];
  REQUIRE(routers.size() == 1);
  CHECK(routers[0]["advertisedRoutes"] == json::array({"10.20.0.0/16"}));
  CHECK(routers[0]["enabledRoutes"] == json::array({"10.20.0.0/16"}));
  CHECK(c.ok(c.get(kDevices + "?advertisedRoutes=10.20.0.0/16"))["devices"].size() == 1);
  CHECK(c.ok(c.get(kDevices + "?fields=default,all"))["devices"][0].contains("postureIdentity"));

  // Terraform's tailscale_device: name= or hostname=, then devices[0].
  auto one = c.ok(c.get(kDevices + "?hostname=alice-mbp"));
  REQUIRE(one["devices"].size() == 1);
  CHECK(one["devices"][0]["nodeId"] == kAlice);
  one = c.ok(c.get(kDevices + "?name=alice-mbp.example-tailnet.ts.net"));
  REQUIRE(one["devices"].size() == 1);
  // Repeated filters are ANDed; list fields contain the value.
  const auto tagged = c.ok(c.get(kDevices + "?tags=tag:web"))["devices"];
  CHECK_FALSE(tagged.empty());
  for (const auto& d : tagged) {
    CHECK(std::find(d["tags"].begin(), d["tags"].end(), "tag:web") != d["tags"].end());
  }
  CHECK(c.ok(c.get(kDevices + "?tags=tag:web&hostname=alice-mbp"))["devices"].empty());
  CHECK(c.ok(c.get(kDevices + "?isExternal=true"))["devices"].size() == 1);

  auto bad = c.get(kDevices + "?colour=red");
  CHECK(bad.status == 400);
  CHECK(bad.message().find("hostname") != std::string::npos);  // names what can be filtered
  CHECK(c.get(kDevices + "?fields=some").status == 400);
  CHECK(c.get(kDevices + "?isExternal=maybe").status == 400);
  CHECK(c.get("/api/v2/tailnet/other.example/devices").status == 404);
}

TEST_CASE("device by nodeId or numeric id", "[tsapi][devices]") {
  postern::test::ScratchDir dir("postern-tsapi-device");
  Server server(dir);
  const auto c = server.client();
  const json by_node = c.ok(c.get("/api/v2/device/" + kAlice));
  CHECK(by_node["hostname"] == "alice-mbp");
  CHECK(c.ok(c.get("/api/v2/device/1001")) == by_node);
  CHECK(c.ok(c.get("/api/v2/device/1001?fields=all"))["postureIdentity"].is_object());
  CHECK(c.get("/api/v2/device/nNoSuchNode").status == 404);
  CHECK(c.get("/api/v2/device/alice-mbp").status == 404);  // a hostname is not a device id
}

TEST_CASE("posture attributes: read, set with the official client's body, delete",
          "[tsapi][attributes]") {
  postern::test::ScratchDir dir("postern-tsapi-attributes");
  Server server(dir);
  const auto c = server.client();

  json got = c.ok(c.get(attributes_path(kAlice)));
  CHECK(got["attributes"]["node:os"] == "macos");
  CHECK(got["expiries"].is_object());
  CHECK_FALSE(got["attributes"].contains("custom:tier"));

  // What the Go client sends: raw `:` in the path, zero-time expiry, a comment.
  got = c.ok(c.post_json(
      attributes_path(kAlice, "custom:tier"),
      {{"value", "gold"}, {"expiry", "0001-01-01T00:00:00Z"}, {"comment", "ticket 42"}}));
  CHECK(got["attributes"]["custom:tier"] == "gold");
  CHECK_FALSE(got["expiries"].contains("custom:tier"));
  // The same key escaped, a number with an expiry, a boolean by numeric id.
  const std::string expiry = rfc3339_in_days(30);
  got = c.ok(
      c.post_json(attributes_path(kAlice, "custom%3Ascore"), {{"value", 80}, {"expiry", expiry}}));
  CHECK(got["attributes"]["custom:score"] == 80);
  CHECK(got["expiries"]["custom:score"] == expiry);
  CHECK(c.ok(c.post_json(attributes_path("1001", "custom:ok"),
                         {{"value", true}}))["attributes"]["custom:ok"] == true);
  got = c.ok(c.get(attributes_path("1001")));
  CHECK(got["attributes"]["custom:tier"] == "gold");

  // Bad input: clear 4xx {"message"}, nothing stored.
  const std::string long_comment(201, 'x');
  CHECK(c.post_json(attributes_path(kAlice, "custom:c"), {{"value", 1}, {"comment", long_comment}})
            .status == 400);
  CHECK(c.post_json(attributes_path(kAlice, "node:os"), {{"value", "linux"}}).status == 400);
  CHECK(c.post_json(attributes_path(kAlice, "custom:v"), {{"value", json::array()}}).status == 400);
  CHECK(c.post_json(attributes_path(kAlice, "custom:v"), {{"value", 1.5}}).status == 400);
  CHECK(c.post_json(attributes_path(kAlice, "custom:v"), {{"expiry", expiry}}).status == 400);
  CHECK(
      c.post_json(attributes_path(kAlice, "custom:v"), {{"value", 1}, {"expiry", "soon"}}).status ==
      400);
  CHECK(
      c.post_json(attributes_path(kAlice, "custom:v"), {{"value", 1}, {"colour", "red"}}).status ==
      400);
  CHECK(c.send("POST", attributes_path(kAlice, "custom:v"), "{\"value\": ", "application/json")
            .status == 400);
  CHECK(c.send("POST", attributes_path(kAlice, "custom:v"), "[1]", "application/json").status ==
        400);
  // A key already holding strings cannot take a number.
  CHECK(c.post_json(attributes_path(kAlice, "custom:tier"), {{"value", 3}}).status == 409);
  CHECK(c.post_json(attributes_path("nNoSuchNode", "custom:v"), {{"value", 1}}).status == 404);
  got = c.ok(c.get(attributes_path(kAlice)));
  CHECK_FALSE(got["attributes"].contains("custom:c"));
  CHECK_FALSE(got["attributes"].contains("custom:v"));
  CHECK(got["attributes"]["custom:tier"] == "gold");

  // DELETE (the Go client sends no body), escaped or raw.
  got = c.ok(c.send("DELETE", attributes_path(kAlice, "custom%3Atier"), {}, {},
                    {{"Accept", "application/json"}}));
  CHECK_FALSE(got["attributes"].contains("custom:tier"));
  CHECK(c.send("DELETE", attributes_path(kAlice, "node:os")).status == 400);
  CHECK(c.ok(c.get(attributes_path(kAlice)))["attributes"]["custom:score"] == 80);
}

TEST_CASE("batch PATCH device-attributes: merge patch, null deletes, all or nothing",
          "[tsapi][attributes]") {
  postern::test::ScratchDir dir("postern-tsapi-batch");
  Server server(dir);
  const auto c = server.client();
  const std::string path = "/api/v2/tailnet/-/device-attributes";
  REQUIRE(c.post_json(attributes_path(kAlice, "custom:old"), {{"value", "x"}}).status == 200);

  const json patch = {
      {"nodes",
       {{kAlice, {{"custom:flag", {{"value", true}}}, {"custom:old", nullptr}}},
        {"1002", {{"custom:tier", {{"value", "gold"}, {"expiry", rfc3339_in_days(2)}}}}}}},
      {"comment", "bulk posture attribute update"}};
  const auto done = c.send("PATCH", path, patch.dump(), "application/merge-patch+json");
  REQUIRE(done.status == 200);
  CHECK(done.body == "null");
  json alice = c.ok(c.get(attributes_path(kAlice)));
  CHECK(alice["attributes"]["custom:flag"] == true);
  CHECK_FALSE(alice["attributes"].contains("custom:old"));
  CHECK(c.ok(c.get(attributes_path("1002")))["expiries"].contains("custom:tier"));

  // One bad change refuses the whole batch.
  const json mixed = {{"nodes",
                       {{kAlice, {{"custom:flag", {{"value", false}}}}},
                        {"1002", {{"node:os", {{"value", "linux"}}}}}}}};
  CHECK(c.send("PATCH", path, mixed.dump(), "application/json").status == 400);
  const json unknown_device = {{"nodes",
                                {{kAlice, {{"custom:flag", {{"value", false}}}}},
                                 {"nNoSuchNode", {{"custom:x", {{"value", 1}}}}}}}};
  CHECK(c.send("PATCH", path, unknown_device.dump(), "application/json").status == 404);
  CHECK(c.ok(c.get(attributes_path(kAlice)))["attributes"]["custom:flag"] == true);

  for (const std::string& body :
       {std::string("{}"), std::string(R"({"nodes": []})"), std::string(R"({"nodes": {"x": 1}})"),
        std::string(R"({"nodes": {"x": {"custom:a": {"expiry": "2030-01-01T00:00:00Z"}}}})"),
        std::string(R"({"nodes": {"x": {"custom:a": {"value": 1, "extra": 2}}}})"),
        R"({"nodes": {}, "comment": ")" + std::string(201, 'c') + "\"}", std::string("nonsense")}) {
    INFO(body);
    CHECK(c.send("PATCH", path, body, "application/json").status == 400);
  }
  CHECK(c.send("PATCH", "/api/v2/tailnet/elsewhere/device-attributes", patch.dump(),
               "application/json")
            .status == 404);
  CHECK(c.ok(c.get(attributes_path(kAlice)))["attributes"]["custom:flag"] == true);
}

}  // namespace tsapi_devices_test
