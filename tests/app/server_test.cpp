// `postern serve` driven as a real process over loopback HTTP (127.0.0.1:0): health, checks and
// explained denies, batch and filter, custom attributes written through the API (decision flips,
// §8.3 rules, persistence and audit with --db), the in-process Kandji sync against
// postern-kandji-sim, policy reloads (valid, invalid, SIGHUP), bearer auth, the token never
// echoed or logged, /v1/validate, startup refusals and graceful shutdown. Expiry taking effect is
// tested in tests/control with an injected clock, not here on the real one.

#include <fcntl.h>
#include <fmt/format.h>
#include <httplib.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "kandji_sim.hpp"
#include "postern/grammar/time.hpp"
#include "postern/store/store.hpp"
#include "process.hpp"
#include "scratch.hpp"

namespace server_test {

namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr const char* kApiToken = "srv-8d41f0c2b7e94a6f9e3a51c07d2b6e88";
constexpr const char* kKandjiToken = "kdj-3b9f1e7a2c5d4e8f9a0b1c2d3e4f5a6b";

std::string postern_binary() { return postern::test::binary("app/postern"); }
std::string sample(const std::string& name) {
  return std::string(POSTERN_SOURCE_DIR) + "/samples/" + name;
}

using Scratch = postern::test::ScratchDir;
using postern::test::Process;
using postern::test::slurp;
using postern::test::write_file;

// Replace the only occurrence of `from` in `text`.
std::string replace_once(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  REQUIRE(at != std::string::npos);
  REQUIRE(text.find(from, at + 1) == std::string::npos);
  return text.replace(at, from.size(), to);
}

// 1-based line of the first occurrence of `needle` in the file.
std::uint32_t line_of(const std::string& path, const std::string& needle) {
  const std::string text = slurp(path);
  const auto at = text.find(needle);
  REQUIRE(at != std::string::npos);
  return static_cast<std::uint32_t>(
      1 + std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(at), '\n'));
}

std::string rfc3339_in(int seconds) {
  const auto t = std::chrono::system_clock::now() + std::chrono::seconds(seconds);
  return postern::timefmt::format_rfc3339(
      std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count());
}

struct Reply {
  int status = 0;
  json body;
  std::string raw;
};

class Client {
 public:
  Client(int port, std::string token = {}) : port_(port), token_(std::move(token)) {}

  Reply call(const std::string& method, const std::string& path, const std::string& body = {},
             std::optional<std::string> token = std::nullopt) const {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(30, 0);
    httplib::Headers headers;
    const std::string t = token ? *token : token_;
    if (!t.empty()) headers.emplace("Authorization", "Bearer " + t);
    httplib::Result r = method == "POST" ? c.Post(path.c_str(), headers, body, "application/json")
                        : method == "DELETE"
                            ? c.Delete(path.c_str(), headers, body, "application/json")
                            : c.Get(path.c_str(), headers);
    REQUIRE(r);
    Reply out;
    out.status = r->status;
    out.raw = r->body;
    out.body = json::parse(r->body, nullptr, false);
    INFO(method << " " << path << " -> " << out.status << " " << out.raw.substr(0, 400));
    CHECK(r->get_header_value("Content-Type").rfind("application/json", 0) == 0);
    REQUIRE(!out.body.is_discarded());
    return out;
  }
  json ok(const std::string& method, const std::string& path, const json& body = nullptr,
          int expected = 200) const {
    auto r = call(method, path, body.is_null() ? std::string() : body.dump());
    INFO(method << " " << path << " -> " << r.status << " " << r.raw.substr(0, 400));
    REQUIRE(r.status == expected);
    return r.body;
  }
  json check(const std::string& src, const std::string& dst, bool explain = false,
             const json& extra = json::object()) const {
    json q = {{"src", src}, {"dst", dst}, {"explain", explain}};
    q.update(extra);
    return ok("POST", "/v1/check", q);
  }
  std::string decision(const std::string& src, const std::string& dst) const {
    return check(src, dst)["decision"].get<std::string>();
  }

 private:
  int port_;
  std::string token_;
};

// A running `postern serve`.
class Server {
 public:
  Server(const Scratch& scratch, std::vector<std::string> extra, const std::string& name = "serve",
         std::string token = {})
      : process_(args(std::move(extra))),
        port_(process_.wait_listening().value_or(0)),
        client_(port_, std::move(token)) {
    (void)scratch;
    (void)name;
    INFO("stdout:\n" << process_.out() << "\nstderr:\n" << process_.err());
    REQUIRE(port_ > 0);
  }
  Process& process() { return process_; }
  const Client& client() const { return client_; }
  [[nodiscard]] int port() const { return port_; }

 private:
  static std::vector<std::string> args(std::vector<std::string> extra) {
    std::vector<std::string> a = {postern_binary(), "serve", "--listen", "127.0.0.1:0"};
    bool has_policy = false;
    for (const auto& e : extra) has_policy = has_policy || e == "--policy";
    if (!has_policy) {
      a.insert(a.end(), {"--policy", sample("policy.hujson"), "--tailnet", sample("tailnet.json")});
    }
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }

  Process process_;
  int port_ = 0;
  Client client_;
};

// Runs `postern serve` expecting it to refuse to start; returns {exit status, stderr}.
std::pair<int, std::string> refused(const Scratch& scratch, const std::vector<std::string>& args) {
  (void)scratch;
  std::vector<std::string> a = {postern_binary(), "serve"};
  a.insert(a.end(), args.begin(), args.end());
  const auto r = postern::test::run_process(a);
  CHECK(r.out.find("listening on") == std::string::npos);
  return {r.exit_code, r.err};
}

// `postern integrations add kandji` for the simulator at `url` into `db`, with `token`. With the
// inventory it syncs at once, so a refused token makes it exit 1; without, the server's start does.
postern::test::ProcessResult add_kandji(const std::string& url, const std::string& db,
                                        const std::string& token, bool sync_at_once) {
  std::vector<std::string> argv = {
      postern_binary(),           "integrations", "add", "kandji", "--url", url, "--token-env",
      "SERVER_TEST_KANDJI_TOKEN", "--db",         db};
  if (sync_at_once) argv.insert(argv.end(), {"--tailnet", sample("tailnet.json")});
  auto added = postern::test::run_process(argv, {"SERVER_TEST_KANDJI_TOKEN=" + token});
  INFO(added.out << added.err);
  return added;
}

}  // namespace

TEST_CASE("health and checks on the samples", "[app][server]") {
  Scratch scratch;
  Server server(scratch, {});
  const auto& c = server.client();

  const json health = c.ok("GET", "/v1/health");
  CHECK(health["status"] == "ok");
  CHECK(health["policyVersion"] == 0);  // served from the file, not stored (no --db)
  CHECK(health["policyEtag"].get<std::string>().size() == 64);  // SHA-256 hex
  CHECK(health["devices"] == 10);

  SECTION("an accept names the deciding rule with file:line, like `postern check --format json`") {
    const json r = c.check("alice-mbp", "web-1:443");
    CHECK(r["decision"] == "accept");
    CHECK(r["allow"] == true);
    REQUIRE(r["results"].size() == 1);
    const json& one = r["results"][0];
    CHECK(one["src"] == "alice-mbp (100.64.0.1)");
    CHECK(one["dst"] == "web-1 (100.64.0.10)");
    CHECK(one["proto"] == 6);
    CHECK(one["port"] == 443);
    CHECK(one["rule"]["rule"] == "acls[0]");
    // Named by its file name only: answers do not tell clients where the server keeps its files.
    CHECK(one["rule"]["file"] == "policy.hujson");
    CHECK(r.dump().find(POSTERN_SOURCE_DIR) == std::string::npos);
    CHECK(one["rule"]["line"] == line_of(sample("policy.hujson"), R"("dst": ["tag:web:80,443"])"));
  }

  SECTION("an explained deny lists each rule failed only by posture, with actual values") {
    const json r = c.check("carol-mbp", "db-1:5432", true);
    CHECK(r["decision"] == "deny");
    CHECK(r["allow"] == false);
    const json& failures = r["results"][0]["postureFailures"];
    REQUIRE(failures.size() == 2);
    CHECK(failures[0]["rule"] == "acls[1]");
    CHECK(failures[0]["gate"] == "srcPosture");
    CHECK(failures[0]["postures"][0]["posture"] == "posture:trusted");
    const json& trusted = failures[0]["postures"][0]["failed"][0];
    CHECK(trusted["attribute"] == "kandji:agentInstalled");
    CHECK(trusted["actual"].is_null());
    CHECK(failures[1]["rule"] == "grants[0]");
    bool saw_os_version = false;
    for (const auto& p : failures[1]["postures"]) {
      for (const auto& f : p["failed"]) {
        if (f["attribute"] == "node:osVersion") {
          saw_os_version = true;
          CHECK(f["actual"] == "13.6.1");
        }
      }
    }
    CHECK(saw_os_version);
    // Without explain, no explanation (the throughput path).
    CHECK_FALSE(c.check("carol-mbp", "db-1:5432")["results"][0].contains("postureFailures"));
  }

  SECTION("srcPostureAttrs replaces the source's attributes for one query") {
    CHECK(c.check("carol-mbp", "db-1:5432", false,
                  {{"srcPostureAttrs", {{"kandji:agentInstalled", true}}}})["decision"] ==
          "accept");
    CHECK(c.decision("carol-mbp", "db-1:5432") == "deny");
  }

  SECTION("a user login must be accepted on every one of their devices; proto and ICMP") {
    const json r = c.check("alice@example.com", "web-1:443");
    CHECK(r["results"].size() == 2);
    CHECK(c.check("bob-win", "router-1:0", false, {{"proto", "icmp"}})["decision"] == "accept");
    CHECK(c.check("bob-win", "router-1:0", false, {{"proto", 17}})["decision"] == "deny");
  }

  SECTION("bad queries get a JSON error with a 4xx status") {
    auto r = c.call("POST", "/v1/check", R"({"src": "carol-mbp"})");
    CHECK(r.status == 400);
    CHECK(r.body["code"].is_string());
    r = c.call("POST", "/v1/check", R"({"src": "nobody", "dst": "db-1:5432"})");
    CHECK(r.status == 404);
    CHECK(r.body["code"].is_string());
    CHECK(r.body["message"].get<std::string>().find("`nobody`") != std::string::npos);
    r = c.call("POST", "/v1/check", R"({"src": "carol-mbp", "dst": "db-1:99999"})");
    CHECK(r.status == 400);
    r = c.call("POST", "/v1/check", R"({"src": "carol-mbp", "dst": "db-1:1", "proto": "bogus"})");
    CHECK(r.status == 400);
    r = c.call("POST", "/v1/check",
               R"({"src": "carol-mbp", "dst": "db-1:1", "srcPostureAttr": {}})");
    CHECK(r.status == 400);
    CHECK(r.body["message"] == "unknown field `srcPostureAttr`");
    r = c.call("POST", "/v1/check", "{not json");
    CHECK(r.status == 400);
    CHECK(r.body["message"].is_string());
    // Not JSON, though a one-pass read once answered it as {"src","dst"} (found by fuzzing).
    r = c.call("POST", "/v1/check", R"({"src": "carol-mbp", "dst": "db-1:5432": "x"}})");
    CHECK(r.status == 400);
    r = c.call("GET", "/v1/nothing-here");
    CHECK(r.status == 404);
    CHECK(r.body["message"].is_string());
  }

  SECTION("a batch answers in order, a bad query in its place") {
    const json body = {{"queries",
                        {{{"src", "alice-mbp"}, {"dst", "web-1:443"}},
                         {{"src", "carol-mbp"}, {"dst", "db-1:5432"}, {"explain", true}},
                         {{"src", "ghost"}, {"dst", "db-1:5432"}},
                         {{"src", "bob-win"}, {"dst", "web-1:80"}}}}};
    const json r = c.ok("POST", "/v1/check/batch", body);
    REQUIRE(r["results"].size() == 4);
    CHECK(r["results"][0]["decision"] == "accept");
    CHECK(r["results"][1]["decision"] == "deny");
    CHECK(r["results"][1]["postureFailures"].size() == 2);  // explain, per query
    CHECK_FALSE(r["results"][3].contains("postureFailures"));
    CHECK(r["results"][2]["error"]["code"].is_string());
    CHECK(r["results"][3]["decision"] == "accept");
    CHECK(c.call("POST", "/v1/check/batch", R"({"queries": 3})").status == 400);
    CHECK(c.call("POST", "/v1/check/batch",
                 R"({"queries": [{"src": "alice-mbp", "dst": "web-1:443": "x"}}]})")
              .status == 400);
  }

  SECTION("filter: the node's tailcfg FilterRules") {
    const json r = c.ok("GET", "/v1/filter/db-1");
    CHECK(r["node"]["nodeId"] == "nDb1SRV0011");
    REQUIRE(r["rules"].is_array());
    REQUIRE_FALSE(r["rules"].empty());
    bool saw_5432 = false;
    for (const auto& rule : r["rules"]) {
      CHECK(rule["SrcIPs"].is_array());
      for (const auto& d : rule["DstPorts"]) {
        if (d["Ports"]["First"] == 5432) saw_5432 = true;
      }
    }
    CHECK(saw_5432);
    CHECK(c.call("GET", "/v1/filter/nope").status == 404);
  }

  SECTION("graceful shutdown on SIGTERM and SIGINT") {
    CHECK(server.process().stop(SIGINT) == 0);
    CHECK(server.process().err().find("shutting down (SIGINT)") != std::string::npos);
  }
  CHECK(server.process().stop(SIGTERM) == 0);
}

TEST_CASE("a parsed batch counts against the body memory with its body", "[app][server][limits]") {
  Scratch scratch;
  // Room for a 10,000-query body (about 0.5 MB) but not for its parsed queries as well.
  Server server(scratch, {"--max-body-bytes", "1048576", "--max-body-memory", "1048576"});
  const auto& c = server.client();
  const auto batch = [](int queries) {
    json list = json::array();
    for (int i = 0; i < queries; ++i) list.push_back({{"src", "alice-mbp"}, {"dst", "web-1:443"}});
    return json{{"queries", list}}.dump();
  };
  const auto big = batch(10000);
  REQUIRE(big.size() < 1048576 / 2);
  const auto refused = c.call("POST", "/v1/check/batch", big);
  CHECK(refused.status == 503);
  CHECK(refused.body["message"].get<std::string>().find("--max-body-memory") != std::string::npos);
  const auto small = c.call("POST", "/v1/check/batch", batch(1000));
  CHECK(small.status == 200);
  CHECK(small.body["results"].size() == 1000);
}

TEST_CASE("custom attributes through the API flip decisions, expiry flips them back",
          "[app][server][attributes]") {
  Scratch scratch;
  Server server(scratch, {});
  const auto& c = server.client();
  const std::string path = "/v1/devices/carol-mbp/attributes/custom:tier";

  REQUIRE(c.decision("carol-mbp", "db-1:5432") == "deny");
  // A write answers with the device's attributes as they now are (Tailscale's shape).
  CHECK(c.ok("POST", path,
             {{"value", "gold"}, {"comment", "JIT for INC-42"}})["attributes"]["custom:tier"] ==
        "gold");
  // grants[0]: posture:gold admits it on the very next check.
  const json r = c.check("carol-mbp", "db-1:5432");
  CHECK(r["decision"] == "accept");
  CHECK(r["results"][0]["rule"]["rule"] == "grants[0]");

  json attrs = c.ok("GET", "/v1/devices/nCar0lMBP05/attributes");
  CHECK(attrs["attributes"]["custom:tier"] == "gold");
  CHECK(attrs["attributes"]["node:os"] == "macos");
  CHECK_FALSE(attrs.contains("expiries"));  // omitted entirely when nothing expires (§8.2)

  CHECK_FALSE(c.ok("DELETE", path)["attributes"].contains("custom:tier"));
  CHECK(c.decision("carol-mbp", "db-1:5432") == "deny");
  CHECK_FALSE(
      c.ok("GET", "/v1/devices/carol-mbp/attributes")["attributes"].contains("custom:tier"));
  CHECK_FALSE(c.ok("DELETE", path)["attributes"].contains("custom:tier"));  // idempotent

  // With an expiry: accepted now and the expiry echoed back (its passing: tests/control).
  const std::string expiry = rfc3339_in(3600);
  c.ok("POST", path, {{"value", "platinum"}, {"expiry", expiry}});
  CHECK(c.decision("carol-mbp", "db-1:5432") == "accept");
  attrs = c.ok("GET", "/v1/devices/carol-mbp/attributes");
  CHECK(attrs["expiries"]["custom:tier"] == expiry);
  CHECK(server.process().stop() == 0);
}

TEST_CASE("attribute writes follow the §8.3 rules", "[app][server][attributes]") {
  Scratch scratch;
  Server server(scratch, {});
  const auto& c = server.client();
  auto status = [&](const std::string& method, const std::string& path, const json& body) {
    const auto r = c.call(method, path, body.is_null() ? std::string() : body.dump());
    if (r.status != 200) {
      CHECK(r.body["code"].is_string());
      CHECK(r.body["message"].is_string());
    }
    return r.status;
  };
  const std::string dev = "/v1/devices/carol-mbp/attributes/";

  CHECK(status("POST", dev + "kandji:agentInstalled", {{"value", true}}) == 400);
  CHECK(status("POST", dev + "node:os", {{"value", "linux"}}) == 400);
  CHECK(status("POST", dev + "custom:", {{"value", 1}}) == 400);
  CHECK(status("POST", dev + "custom:bad-key", {{"value", 1}}) == 400);
  CHECK(status("POST", dev + "custom:" + std::string(121, 'k'), {{"value", 1}}) == 200);
  CHECK(status("POST", dev + "custom:" + std::string(122, 'k'), {{"value", 1}}) == 400);
  CHECK(status("POST", dev + "custom:note", {{"value", "has space"}}) == 400);
  CHECK(status("POST", dev + "custom:note", {{"value", std::string(256, 'a')}}) == 400);
  CHECK(status("POST", dev + "custom:note", {{"value", std::string(255, 'a')}}) == 200);
  CHECK(status("POST", dev + "custom:score", {{"value", 1.5}}) == 400);
  CHECK(status("POST", dev + "custom:score", {{"value", 9007199254740992.0}}) == 400);
  CHECK(status("POST", dev + "custom:score", {{"value", 87}}) == 200);
  CHECK(status("POST", dev + "custom:score", {{"value", json::array()}}) == 400);
  CHECK(status("POST", dev + "custom:score", json::object()) == 400);
  CHECK(status("POST", dev + "custom:score", {{"value", 1}, {"colour", "red"}}) == 400);
  CHECK(status("POST", dev + "custom:score", {{"value", 1}, {"expiry", "tomorrow"}}) == 400);
  CHECK(status("POST", dev + "custom:score", {{"value", 1}, {"expiry", rfc3339_in(-60)}}) == 400);
  CHECK(status("POST", "/v1/devices/nosuch/attributes/custom:score", {{"value", 1}}) == 404);
  CHECK(c.call("GET", "/v1/devices/nosuch/attributes").status == 404);
  // Bodies the one-pass reader leaves to the validating one (decisions H28) answer as before.
  CHECK(c.call("POST", dev + "custom:score", R"({"value": 1, "value": 2})").status == 400);
  CHECK(c.call("POST", dev + "custom:score", R"({"value": null})").status == 400);
  CHECK(c.call("POST", dev + "custom:score", R"({"value": 1} x)").status == 400);
  CHECK(c.call("POST", dev + "custom:note", R"({"value": "gold": "x"}})").status == 400);
  CHECK(c.call("POST", dev + "custom:level", R"({"value": 5, "expiry": null})").status == 200);
  CHECK(c.call("POST", dev + "custom:note", R"({"value": "gold"})").status == 200);
  CHECK(c.ok("GET", "/v1/devices/carol-mbp/attributes")["attributes"]["custom:note"] == "gold");
  // One type per key across the tailnet: bob-linux holds custom:tier as a string (inventory).
  CHECK(status("POST", dev + "custom:tier", {{"value", 3}}) == 409);
  CHECK(status("POST", dev + "custom:tier", {{"value", "silver"}}) == 200);
  // Keys are unique regardless of case.
  CHECK(status("POST", dev + "custom:Tier", {{"value", "silver"}}) == 409);
  // A value from the inventory file is not the API's to delete.
  CHECK(status("DELETE", "/v1/devices/bob-linux/attributes/custom:tier", nullptr) == 409);
  // The failed writes changed nothing.
  const json attrs = c.ok("GET", "/v1/devices/carol-mbp/attributes")["attributes"];
  CHECK(attrs["custom:score"] == 87);
  CHECK(attrs["custom:tier"] == "silver");
  CHECK_FALSE(attrs.contains("custom:Tier"));
  // A whole number comes back as one (it came back as `87.0`).
  CHECK(c.call("GET", "/v1/devices/carol-mbp/attributes").raw.find(R"("custom:score":87,)") !=
        std::string::npos);
}

TEST_CASE("with --db, API writes persist with an audit event and survive a restart",
          "[app][server][attributes]") {
  Scratch scratch;
  const std::string db = scratch.file("postern.db").string();
  {
    Server server(scratch, {"--db", db}, "first");
    server.client().ok("POST", "/v1/devices/carol-mbp/attributes/custom:tier",
                       {{"value", "gold"}, {"comment", "ticket 7"}});
    CHECK(server.client().decision("carol-mbp", "db-1:5432") == "accept");
    CHECK(server.process().stop() == 0);
  }
  {
    auto store = postern::store::open_sqlite_store(db);
    REQUIRE(store);
    postern::store::AuditQuery attribute_changes;
    attribute_changes.action = "Update node attribute";
    auto log = store.value()->audit_log(attribute_changes);
    REQUIRE(log);
    REQUIRE(log.value().size() == 1);
    const auto& e = log.value()[0];
    CHECK(e.origin == "CONFIG_API");
    INFO("actor: " << e.actor);
    CHECK(e.actor.find("127.0.0.1") != std::string::npos);  // the loopback operator, by address
    CHECK(e.action == "Update node attribute");
    CHECK(e.target == "node:nCar0lMBP05");
    const json details = json::parse(e.details);
    CHECK(details["comment"] == "ticket 7");
    CHECK(details["changes"][0]["key"] == "custom:tier");
    CHECK(details["changes"][0]["new"] == "gold");
    CHECK_FALSE(details["changes"][0].contains("old"));
  }
  Server again(scratch, {"--db", db}, "second");
  CHECK(again.client().decision("carol-mbp", "db-1:5432") == "accept");
  again.client().ok("DELETE", "/v1/devices/carol-mbp/attributes/custom:tier");
  CHECK(again.client().decision("carol-mbp", "db-1:5432") == "deny");
  auto store = postern::store::open_sqlite_store(db);
  REQUIRE(store);
  auto attrs = store.value()->device_attributes("nCar0lMBP05");
  REQUIRE(attrs);
  CHECK(attrs.value().count("custom:tier") == 0);
}

TEST_CASE("in-process sync: a Kandji change reaches checks without a restart",
          "[app][server][sync]") {
  Scratch scratch;
  postern::test::Simulator sim(scratch.path(), {"--devices", sample("kandji-devices.json")},
                               kKandjiToken);
  const std::string db = scratch.file("postern.db").string();
  // Connected by the CLI on the same store; the server picks it up at start.
  REQUIRE(add_kandji(sim.url(), db, kKandjiToken, false).exit_code == 0);
  write_file(scratch.file("api.token"), std::string(kApiToken) + "\n");
  Server server(scratch,
                {"--db", db, "--sync", "--sync-now-spacing", "0", "--api-token-file",
                 scratch.file("api.token").string(), "--access-log"},
                "serve", kApiToken);
  const auto& c = server.client();
  const json generation = c.ok("GET", "/v1/health")["policyGeneration"];

  // The first sync runs at start; the server logs each sync once its changes are live.
  constexpr std::string_view kSynced = " matched, ";  // only in a successful sync's line
  REQUIRE(server.process().wait_for_stderr(kSynced, 1));
  json list = c.ok("GET", "/v1/integrations");
  REQUIRE(list["integrations"].size() == 1);
  CHECK_FALSE(list["integrations"][0]["lastSync"].is_null());
  CHECK(list["sync"] == true);
  CHECK(list["syncNow"] == true);
  const json& kandji = list["integrations"][0];
  CHECK(kandji["provider"] == "kandji");
  CHECK(kandji["token"] == "set");
  CHECK(kandji["matchedCount"].get<int>() >= 3);
  CHECK(kandji["state"] == "ok");
  CHECK(c.ok("GET", "/v1/devices/carol-mbp/attributes")["attributes"]["kandji:agentInstalled"] ==
        false);
  CHECK(c.decision("carol-mbp", "db-1:5432") == "deny");
  CHECK(c.decision("alice-mbp", "db-1:5432") == "accept");  // agent installed per Kandji

  std::size_t syncs = 1;
  auto flip = [&](bool installed) {
    sim.post("/_sim/devices/C02CAROL0005", json{{"agent_installed", installed}}.dump());
    CHECK(c.ok("POST", "/v1/integrations/kandji/sync", nullptr, 202)["triggered"] == "kandji");
    REQUIRE(server.process().wait_for_stderr(kSynced, ++syncs));
  };
  flip(true);
  CHECK(c.decision("carol-mbp", "db-1:5432") == "accept");
  flip(false);
  CHECK(c.decision("carol-mbp", "db-1:5432") == "deny");
  CHECK(c.ok("GET", "/v1/health")["policyGeneration"] ==
        generation);  // applied live, not recompiled
  CHECK(c.call("POST", "/v1/integrations/jamf/sync").status == 404);

  // Sync failures read 0 from the first run on, not "no data" (an alert compares against it).
  httplib::Client scrape("127.0.0.1", server.port());
  const auto metrics =
      scrape.Get("/metrics", {{"Authorization", std::string("Bearer ") + kApiToken}});
  REQUIRE(metrics);
  CHECK(metrics->body.find("postern_sync_failures_total{integration=\"kandji\"} 0") !=
        std::string::npos);

  // Neither token ever shows up in a response or the log.
  list = c.ok("GET", "/v1/integrations");
  CHECK(list.dump().find(kKandjiToken) == std::string::npos);
  CHECK(list.dump().find(kApiToken) == std::string::npos);
  CHECK(server.process().stop() == 0);
  const std::string log = server.process().err();
  CHECK(log.find("sync kandji:") != std::string::npos);
  CHECK(log.find("POST /v1/check 200") != std::string::npos);
  CHECK(log.find(kKandjiToken) == std::string::npos);
  CHECK(log.find(kApiToken) == std::string::npos);

  // After a restart the configured integration's sync series read 0 before any run, so alerts
  // on them hold (they were absent until the first sync: an operator's review).
  Server restarted(scratch, {"--db", db, "--metrics-listen", "127.0.0.1:0"});
  REQUIRE(restarted.process().wait_for_stdout("\n", 2));  // "metrics on" follows "listening on"
  const auto out = restarted.process().out();
  const auto metrics_at = out.substr(out.find("metrics on 127.0.0.1:") + 21);
  httplib::Client open_scrape("127.0.0.1", std::stoi(metrics_at));
  const auto fresh = open_scrape.Get("/metrics");
  REQUIRE(fresh);
  for (const std::string series : {"postern_sync_runs_total", "postern_sync_failures_total",
                                   "postern_sync_changed_nodes_total"}) {
    CHECK(fresh->body.find(series + "{integration=\"kandji\"} 0") != std::string::npos);
  }
}

// Found by a console review: "Sync now" on an integration paused by a 401 answered 202 "sync
// started" and did nothing. It is refused, saying until when and how to resume.
TEST_CASE("sync now on an integration paused by an auth failure says how to resume",
          "[app][server][sync]") {
  Scratch scratch;
  postern::test::Simulator sim(scratch.path(), {"--devices", sample("kandji-devices.json")},
                               kKandjiToken);
  const std::string db = scratch.file("paused.db").string();
  // Created, then its first sync got 401.
  REQUIRE(add_kandji(sim.url(), db, "0a1b2c3d-0000-4a6b-8c7d-9e0f1a2b3c4d", true).exit_code == 1);
  Server server(scratch, {"--db", db, "--sync"});
  const auto r = server.client().call("POST", "/v1/integrations/kandji/sync");
  CHECK(r.status == 409);
  const auto message = r.body["message"].get<std::string>();
  CHECK(message.find("is paused until ") != std::string::npos);
  CHECK(message.find("401") != std::string::npos);
  CHECK(r.body["help"].get<std::string>().find("postern integrations update kandji") !=
        std::string::npos);
}

// A console review saw "ok" for the whole of a 20 s sync: the list says when one is in flight.
TEST_CASE("an integration whose sync is in flight reads running", "[app][server][sync]") {
  Scratch scratch;
  postern::test::Simulator sim(scratch.path(), {"--devices", sample("kandji-devices.json")},
                               kKandjiToken);
  const std::string db = scratch.file("running.db").string();
  REQUIRE(add_kandji(sim.url(), db, kKandjiToken, false).exit_code == 0);  // synced at start
  Server server(scratch, {"--db", db, "--sync", "--sync-now-spacing", "0"});
  const auto& c = server.client();
  // The server logs each run's start ("kandji: sync started") and end (" matched, " on success):
  // the test blocks on those lines, never on a timer.
  constexpr std::string_view kStarted = "kandji: sync started";
  REQUIRE(server.process().wait_for_stderr(" matched, ", 1));  // the run at start has finished
  CHECK(c.ok("GET", "/v1/integrations")["integrations"][0]["running"] == false);
  sim.post("/_sim/faults", R"({"kind":"slow","delay_ms":60000,"times":-1})");
  CHECK(c.ok("POST", "/v1/integrations/kandji/sync", nullptr, 202)["triggered"] == "kandji");
  REQUIRE(server.process().wait_for_stderr(kStarted, 2));
  CHECK(c.ok("GET", "/v1/integrations")["integrations"][0]["running"] == true);
  // Asked during the run: one more follows it, at a time not known until this one ends.
  CHECK(c.ok("POST", "/v1/integrations/kandji/sync", nullptr, 202)["startsAt"].is_null());
  CHECK(server.process().stop() == 0);  // and the stop abandons it (SY12)
}

// Found by a state review: 400 paced "Sync now" requests made 400 Kandji syncs, each spending
// the tenant's hourly request budget. One that follows a run closely is planned after the spacing.
TEST_CASE("sync now right after a sync is planned for later and says when", "[app][server][sync]") {
  Scratch scratch;
  postern::test::Simulator sim(scratch.path(), {"--devices", sample("kandji-devices.json")},
                               kKandjiToken);
  const std::string db = scratch.file("spaced.db").string();
  REQUIRE(add_kandji(sim.url(), db, kKandjiToken, false).exit_code == 0);
  Server server(scratch, {"--db", db, "--sync", "--sync-now-spacing", "600"});
  const auto& c = server.client();
  REQUIRE(server.process().wait_for_stderr(" matched, ", 1));  // the run at start has finished
  const json before = c.ok("GET", "/v1/integrations")["integrations"][0];
  const json answer = c.ok("POST", "/v1/integrations/kandji/sync", nullptr, 202);
  CHECK(answer["triggered"] == "kandji");
  // RFC 3339 times in UTC compare as text: planned after the last attempt, not at it.
  const auto starts_at = answer["startsAt"].get<std::string>();
  CHECK(starts_at > before["lastAttempt"].get<std::string>());
  CHECK(c.ok("GET", "/v1/integrations")["integrations"][0]["nextRun"] == starts_at);
  CHECK(c.ok("POST", "/v1/integrations/kandji/sync", nullptr, 202)["startsAt"] == starts_at);
}

TEST_CASE("without --sync, triggering a sync is a 409", "[app][server][sync]") {
  Scratch scratch;
  Server server(scratch, {});
  const auto r = server.client().call("POST", "/v1/integrations/kandji/sync");
  CHECK(r.status == 409);
  CHECK(r.body["message"].get<std::string>().find("--sync") != std::string::npos);
  const json list = server.client().ok("GET", "/v1/integrations");
  CHECK(list["integrations"].empty());
  CHECK(list["sync"] == false);
  CHECK(list["syncNow"] == false);  // the console disables its button and says why
}

TEST_CASE("policy reloads: a valid change is served, an invalid one keeps the old policy",
          "[app][server][reload]") {
  Scratch scratch;
  const std::string policy = scratch.file("policy.hujson").string();
  const std::string original = slurp(sample("policy.hujson"));
  write_file(policy, original);
  Server server(
      scratch, {"--policy", policy, "--tailnet", sample("tailnet.json"), "--reload-interval", "1"});
  const auto& c = server.client();
  REQUIRE(c.decision("alice-mbp", "web-1:80") == "accept");
  // The API-set attribute survives a recompile.
  c.ok("POST", "/v1/devices/carol-mbp/attributes/custom:tier", {{"value", "gold"}});
  const json served = c.ok("GET", "/v1/health");
  auto generation = [&] { return c.ok("GET", "/v1/health")["policyGeneration"].get<int>(); };
  auto etag = [&] { return c.ok("GET", "/v1/health")["policyEtag"]; };
  const int first_generation = served["policyGeneration"].get<int>();

  SECTION("a file change is picked up by the mtime poll") {
    write_file(policy, replace_once(original, R"("tag:web:80,443")", R"("tag:web:443")"));
    REQUIRE(server.process().wait_for_stderr("reloaded: policy version"));
    const json changed = c.ok("GET", "/v1/health");
    CHECK(changed["policyEtag"] != served["policyEtag"]);
    CHECK(c.decision("alice-mbp", "web-1:80") == "deny");
    CHECK(c.decision("carol-mbp", "db-1:5432") == "accept");

    // Now an invalid policy: rejected, logged with its location, version 2 keeps serving.
    write_file(policy,
               replace_once(original, R"("posture:trusted": ["kandji:agentInstalled == true"])",
                            R"("posture:trusted": ["kandji:agentInstalled == "])"));
    REQUIRE(server.process().wait_for_stderr("reload rejected"));
    const std::string log = server.process().err();
    CHECK(log.find(policy + ":") != std::string::npos);
    CHECK(log.find("error[P") != std::string::npos);
    CHECK(c.ok("GET", "/v1/health")["policyEtag"] == changed["policyEtag"]);
    CHECK(generation() == changed["policyGeneration"].get<int>());
    CHECK(c.decision("alice-mbp", "web-1:80") == "deny");
    CHECK(c.decision("carol-mbp", "db-1:5432") == "accept");
  }

  SECTION("answers name the reloaded file's lines, the same path") {
    const json query = {{"src", "alice-mbp"}, {"dst", "web-1:80"}};
    const auto single_line = [&] {
      return c.ok("POST", "/v1/check", query)["results"][0]["rule"]["line"].get<int>();
    };
    const auto batch_line = [&] {
      const json body = {{"queries", json::array({query})}};
      return c.ok("POST", "/v1/check/batch", body)["results"][0]["rule"]["line"].get<int>();
    };
    const int line = single_line();
    CHECK(batch_line() == line);
    write_file(policy, "// two lines\n// down\n" + original);
    server.process().signal(SIGHUP);
    REQUIRE(server.process().wait_for_stderr("reloaded: policy version"));
    CHECK(single_line() == line + 2);
    CHECK(batch_line() == line + 2);
  }

  SECTION("SIGHUP reloads; a policy whose tests fail is rejected too") {
    // The tests block now expects something the rules deny.
    write_file(policy, replace_once(original, R"("deny":            ["printer:631"],)",
                                    R"("accept":          ["printer:631"],)"));
    server.process().signal(SIGHUP);
    REQUIRE(server.process().wait_for_stderr("test(s) failed"));
    CHECK(generation() == first_generation);
    CHECK(etag() == served["policyEtag"]);
    CHECK(c.decision("alice-mbp", "web-1:80") == "accept");
    write_file(policy, original);
    server.process().signal(SIGHUP);
    REQUIRE(server.process().wait_for_stderr("reloaded: policy version"));
    CHECK(generation() > first_generation);
    CHECK(etag() == served["policyEtag"]);
  }
  CHECK(server.process().stop() == 0);
}

TEST_CASE("bearer auth: required when configured, the token never echoed or logged",
          "[app][server][auth]") {
  Scratch scratch;
  write_file(scratch.file("api.token"), std::string("  ") + kApiToken + "  \n");
  Server server(scratch, {"--api-token-file", scratch.file("api.token").string(), "--access-log"},
                "serve", kApiToken);
  const auto& c = server.client();
  for (const auto& [method, path] : std::vector<std::pair<std::string, std::string>>{
           {"GET", "/v1/health"},
           {"POST", "/v1/check"},
           {"GET", "/v1/devices/carol-mbp/attributes"},
           {"POST", "/v1/devices/carol-mbp/attributes/custom:tier"}}) {
    INFO(method << " " << path);
    for (const std::string& bad : {std::string(), std::string("wrong"),
                                   std::string(kApiToken) + "x", std::string(kApiToken, 10)}) {
      const auto r = c.call(method, path, R"({"value": "gold"})", bad);
      CHECK(r.status == 401);
      CHECK(r.body["message"].is_string());
    }
  }
  // Nothing was written by the rejected requests.
  CHECK_FALSE(
      c.ok("GET", "/v1/devices/carol-mbp/attributes")["attributes"].contains("custom:tier"));
  CHECK(c.ok("GET", "/v1/health")["status"] == "ok");
  CHECK(c.decision("alice-mbp", "web-1:443") == "accept");
  // An error message that would quote a request path carrying the token does not leak it either.
  const auto r = c.call("GET", std::string("/v1/devices/") + kApiToken + "/attributes");
  CHECK(r.status == 404);
  CHECK(r.raw.find(kApiToken) == std::string::npos);
  CHECK(c.call("GET", "/nosuchpage").status == 404);
  CHECK(server.process().stop() == 0);
  const std::string log = server.process().err();
  CHECK(log.find("GET /v1/health 401") != std::string::npos);
  CHECK(log.find(kApiToken) == std::string::npos);
  // Each line says from where and as whom; an unknown path is named as such, not left blank.
  CHECK(log.find("GET /v1/health 200") != std::string::npos);
  CHECK(log.find(" us from 127.0.0.1 as ") != std::string::npos);
  CHECK(log.find("GET (no route) 404") != std::string::npos);
  CHECK(server.process().out().find(kApiToken) == std::string::npos);
}

TEST_CASE("a token file others may read is warned about at start", "[app][server][auth]") {
  Scratch scratch;
  const auto token_file = scratch.file("api.token");
  write_file(token_file, std::string(kApiToken) + "\n");
  for (const auto mode : {0644, 0600}) {
    REQUIRE(::chmod(token_file.c_str(), static_cast<mode_t>(mode)) == 0);
    Server server(scratch, {"--api-token-file", token_file.string()}, "serve", kApiToken);
    CHECK(server.client().ok("GET", "/v1/health")["status"] == "ok");
    CHECK(server.process().stop() == 0);
    const std::string log = server.process().err();
    INFO(log);
    CHECK((log.find("(mode 0644)") != std::string::npos) == (mode == 0644));
    CHECK((log.find("chmod 600") != std::string::npos) == (mode == 0644));
    CHECK(log.find(kApiToken) == std::string::npos);
  }
}

TEST_CASE("/v1/validate answers like Tailscale's /acl/validate", "[app][server][validate]") {
  Scratch scratch;
  Server server(scratch, {});
  const auto& c = server.client();
  const std::string original = slurp(sample("policy.hujson"));
  auto validate = [&](const std::string& text) {
    const auto r = c.call("POST", "/v1/validate", text);
    REQUIRE(r.status == 200);
    return r.body;
  };
  const json generation = c.ok("GET", "/v1/health")["policyGeneration"];
  CHECK(validate(original) == json::object());

  const json broken = validate(replace_once(original, R"("src": ["group:eng"], "proto": "icmp")",
                                            R"("src": ["group:nobody"], "proto": "icmp")"));
  CHECK(broken["message"].get<std::string>().rfind("line ", 0) == 0);
  REQUIRE(broken["data"].is_array());
  REQUIRE_FALSE(broken["data"].empty());
  CHECK(broken["data"][0]["code"].get<std::string>()[0] == 'V');
  CHECK(broken["data"][0]["line"].is_number());

  const json failing = validate(replace_once(original, R"("deny":            ["printer:631"],)",
                                             R"("accept":          ["printer:631"],)"));
  CHECK(failing["message"] == "test(s) failed");
  REQUIRE(failing["data"].size() == 1);
  CHECK(failing["data"][0]["user"] == "bob@example.com");
  CHECK(failing["data"][0]["errors"].size() == 1);

  CHECK(c.call("POST", "/v1/validate", "").status == 400);
  CHECK(c.call("POST", "/v1/validate", "[]").status == 400);
  // Validation never changes what is served.
  CHECK(c.ok("GET", "/v1/health")["policyGeneration"] == generation);
}

// The issue 8 regression: the default was 8 threads whatever the machine, which on 2 cores cost a
// context switch every other request.
TEST_CASE("one HTTP thread per usable core unless --threads says otherwise", "[app][server]") {
  Scratch scratch;
  cpu_set_t set;
  CPU_ZERO(&set);
  REQUIRE(sched_getaffinity(0, sizeof(set), &set) == 0);
  const auto cores = CPU_COUNT(&set);
  SECTION("the default") {
    Server server(scratch, {});
    CHECK(server.process().wait_for_stderr(fmt::format("with {} HTTP threads", cores)));
  }
  SECTION("--threads 3") {
    Server server(scratch, {"--threads", "3"});
    CHECK(server.process().wait_for_stderr("with 3 HTTP threads"));
  }
}

TEST_CASE("serve refuses to start on bad configuration", "[app][server]") {
  Scratch scratch;
  SECTION("an invalid policy, with the located errors") {
    const std::string policy = scratch.file("bad.hujson").string();
    write_file(policy,
               "{\"acls\": [{\"action\": \"accept\", \"src\": [\"group:ghost\"], "
               "\"dst\": [\"*:*\"]}]}\n");
    const auto [status, err] = refused(
        scratch,
        {"--policy", policy, "--tailnet", sample("tailnet.json"), "--listen", "127.0.0.1:0"});
    CHECK(status == 2);
    CHECK(err.find(policy + ":1:") != std::string::npos);
    CHECK(err.find("error[C772]") != std::string::npos);
  }
  SECTION("a non-loopback address without a token") {
    const auto [status, err] = refused(scratch, {"--policy", sample("policy.hujson"), "--tailnet",
                                                 sample("tailnet.json"), "--listen", "0.0.0.0:0"});
    CHECK(status == 2);
    CHECK(err.find("error[C771]") != std::string::npos);
  }
  SECTION("a second server on one SQLite store, and a metrics address in use") {
    // Found by an operator's review: both started, and each checked writes against its own
    // live state. The CLI keeps working beside the one server.
    const std::string db = scratch.file("one.db").string();
    Server first(scratch, {"--db", db, "--metrics-listen", "127.0.0.1:0"});
    REQUIRE(first.process().wait_for_stdout("\n", 2));  // "metrics on" follows "listening on"
    const auto second =
        refused(scratch, {"--policy", sample("policy.hujson"), "--tailnet", sample("tailnet.json"),
                          "--db", db, "--listen", "127.0.0.1:0"});
    CHECK(second.first == 2);
    CHECK(second.second.find("error[C774]") != std::string::npos);
    CHECK(second.second.find(fmt::format("(pid {})", first.process().pid())) != std::string::npos);
    const auto cli = postern::test::run_process({postern_binary(), "attributes", "carol-mbp",
                                                 "--db", db, "--tailnet", sample("tailnet.json"),
                                                 "--set", "custom:tier=gold"});
    CHECK(cli.exit_code == 0);
    // Nothing is printed before every listener is bound: scripts read the first line as started.
    const auto out = first.process().out();
    const auto metrics_at = out.substr(out.find("metrics on ") + 11);
    const auto busy = metrics_at.substr(0, metrics_at.find('\n'));
    postern::test::Process third({postern_binary(), "serve", "--policy", sample("policy.hujson"),
                                  "--tailnet", sample("tailnet.json"), "--listen", "127.0.0.1:0",
                                  "--metrics-listen", busy, "--db",
                                  scratch.file("third.db").string(), "--sync"});
    // With --sync the scheduler has started by then (before any request can ask for a sync);
    // the failed start stops it cleanly.
    CHECK(third.wait_exit() == 2);
    CHECK(third.out().find("listening on") == std::string::npos);
    CHECK(third.err().find("error[C770]") != std::string::npos);
  }
  SECTION("an unreadable or endless token file, a malformed --listen") {
    auto r = refused(
        scratch, {"--policy", sample("policy.hujson"), "--tailnet", sample("tailnet.json"),
                  "--api-token-file", scratch.file("missing").string(), "--listen", "127.0.0.1:0"});
    CHECK(r.first == 2);
    CHECK(r.second.find("error[C773]") != std::string::npos);
    // A token file without a line end in sight (it was read until memory ran out).
    r = refused(scratch, {"--policy", sample("policy.hujson"), "--tailnet", sample("tailnet.json"),
                          "--api-token-file", "/dev/zero", "--listen", "127.0.0.1:0"});
    CHECK(r.first == 2);
    CHECK(r.second.find("error[C773]") != std::string::npos);
    r = refused(scratch, {"--policy", sample("policy.hujson"), "--tailnet", sample("tailnet.json"),
                          "--listen", "127.0.0.1"});
    CHECK(r.first == 2);
    CHECK(r.second.find("error[C703]") != std::string::npos);
  }
}

}  // namespace server_test
