// postern-kandji-sim driven as a real process over loopback HTTP: the Prism envelope, both
// pagination styles over a 10,000-device tenant, bearer auth, every fault kind, the admin API,
// the request log's redaction, reset, and the command line.

#include <httplib.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "process.hpp"
#include "scratch.hpp"

namespace kandji_sim_test {

namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr const char* kToken = "5f0c2a9e-7b4d-4e1a-9c3f-2d8e6b1a0f47";

// POSTERN_KANDJI_SIM overrides the binary, e.g. to run these tests against a sanitizer build.
std::string sim_binary() {
  if (const char* override_path = std::getenv("POSTERN_KANDJI_SIM")) return override_path;
  return postern::test::kandji_sim_binary();
}
std::string sample_devices() {
  return std::string(POSTERN_SOURCE_DIR) + "/samples/kandji-devices.json";
}

using Scratch = postern::test::ScratchDir;
using postern::test::slurp;
using postern::test::write_file;

// Runs the simulator with `args`, waits for its `listening on` line, stops it on destruction.
class Sim {
 public:
  explicit Sim(const std::vector<std::string>& args) : process_(with_binary(args)) {
    const auto port = process_.wait_listening();
    INFO("stdout: " << process_.out() << "\nstderr: " << process_.err());
    REQUIRE(port);
    port_ = *port;
  }

  // Sends `sig`, then the exit status (-1 when it did not exit normally).
  int stop(int sig = SIGTERM) { return process_.stop(sig); }

  [[nodiscard]] int port() const { return port_; }
  [[nodiscard]] std::unique_ptr<httplib::Client> client() const {
    auto c = std::make_unique<httplib::Client>("127.0.0.1", port());
    c->set_read_timeout(30, 0);
    return c;
  }

  httplib::Result get(const std::string& path_and_query, const std::string& token = kToken) const {
    httplib::Headers headers;
    if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
    return client()->Get(path_and_query.c_str(), headers);
  }
  json get_json(const std::string& path_and_query, const std::string& token = kToken) const {
    auto r = get(path_and_query, token);
    REQUIRE(r);
    INFO("status " << r->status << " body " << r->body.substr(0, 300));
    REQUIRE(r->status == 200);
    return json::parse(r->body);
  }
  json admin(const std::string& method, const std::string& path, const json& body = nullptr,
             int expected = 200) const {
    auto c = client();
    const std::string text = body.is_null() ? std::string() : body.dump();
    httplib::Result r = method == "POST"     ? c->Post(path.c_str(), text, "application/json")
                        : method == "DELETE" ? c->Delete(path.c_str())
                                             : c->Get(path.c_str());
    REQUIRE(r);
    INFO(method << " " << path << " -> " << r->status << " " << r->body);
    REQUIRE(r->status == expected);
    return json::parse(r->body);
  }
  void faults(const json& list) const { admin("POST", "/_sim/faults", list); }

 private:
  static std::vector<std::string> with_binary(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {sim_binary()};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }

  postern::test::Process process_;
  int port_ = 0;
};

std::string url_encode(const std::string& s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4U];
      out += kHex[c & 15U];
    }
  }
  return out;
}

constexpr const char* kPath = "/api/v1/prism/device_information";

// Walks every page the way the sync client does; returns the serials in order and the pages.
struct Walk {
  std::vector<std::string> serials;
  int pages = 0;
  std::vector<json> envelopes;
};

Walk walk(const Sim& sim, bool by_cursor, int limit = 300) {
  Walk w;
  std::optional<std::string> cursor;
  long offset = 0;
  for (int guard = 0; guard < 1000; ++guard) {
    std::string q = std::string(kPath) + "?limit=" + std::to_string(limit);
    if (by_cursor && cursor) q += "&cursor=" + url_encode(*cursor);
    if (!by_cursor && offset > 0) q += "&offset=" + std::to_string(offset);
    json page = sim.get_json(q);
    ++w.pages;
    for (const auto& row : page["data"]) w.serials.push_back(row["serial_number"]);
    w.envelopes.push_back(page);
    if (by_cursor) {
      if (!page["cursor"].is_string()) break;
      cursor = page["cursor"].get<std::string>();
    } else {
      offset += static_cast<long>(page["data"].size());
      if (page["data"].empty() || offset >= page["total"].get<long>()) break;
    }
  }
  return w;
}

std::vector<std::string> sample_args() {
  return {"--listen", "127.0.0.1:0", "--devices", sample_devices(), "--token", kToken};
}

std::vector<std::string> generated_args(int n, const std::string& style = "cursor") {
  return {"--listen", "127.0.0.1:0", "--generate", std::to_string(n), "--seed",
          "42",       "--token",     kToken,       "--page-style",    style};
}

bool has_rate_headers(const httplib::Response& r) {
  for (const char* h :
       {"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "X-RateLimit-Limit-Hour",
        "X-RateLimit-Remaining-Hour", "X-RateLimit-Limit-Second", "X-RateLimit-Remaining-Second"}) {
    if (!r.has_header(h)) return false;
  }
  return true;
}

}  // namespace

TEST_CASE("the envelope has exactly Kandji's five keys and types", "[app][kandji_sim]") {
  Sim sim(sample_args());

  SECTION("no parameters: offset null, default limit 25, cursor null on the only page") {
    auto r = sim.get(kPath);
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->get_header_value("Content-Type").rfind("application/json", 0) == 0);
    CHECK(has_rate_headers(*r));
    CHECK(r->get_header_value("RateLimit-Limit") == "50");
    CHECK(r->get_header_value("X-RateLimit-Limit-Hour") == "10000");
    const json page = json::parse(r->body);
    REQUIRE(page.is_object());
    std::set<std::string> keys;
    for (const auto& [k, v] : page.items()) keys.insert(k);
    CHECK(keys == std::set<std::string>{"offset", "limit", "total", "data", "cursor"});
    CHECK(page["offset"].is_null());
    CHECK(page["limit"] == 25);
    CHECK(page["total"] == 7);
    CHECK(page["cursor"].is_null());
    REQUIRE(page["data"].is_array());
    CHECK(page["data"].size() == 7);
  }

  SECTION("offset=0 is echoed as 0; total is the tenant size, not the page length") {
    const json page = sim.get_json(std::string(kPath) + "?limit=2&offset=0");
    CHECK(page["offset"] == 0);
    CHECK(page["limit"] == 2);
    CHECK(page["total"] == 7);
    CHECK(page["data"].size() == 2);
    CHECK(page["cursor"].is_string());
  }

  SECTION("limit is clamped to 300; bad limits and offsets are 400 with a detail") {
    CHECK(sim.get_json(std::string(kPath) + "?limit=1000")["limit"] == 300);
    for (const char* bad : {"?limit=0", "?limit=abc", "?limit=-5", "?offset=-1", "?offset=x"}) {
      auto r = sim.get(std::string(kPath) + bad);
      REQUIRE(r);
      CHECK(r->status == 400);
      CHECK(json::parse(r->body).contains("detail"));
    }
  }

  SECTION("the sample tenant: serials, flags and null agent_installed as samples.md lists") {
    const json page = sim.get_json(std::string(kPath) + "?limit=300");
    std::map<std::string, json> by_serial;
    for (const auto& row : page["data"]) by_serial[row["serial_number"]] = row;
    REQUIRE(by_serial.size() == 7);
    const auto flags = [&](const std::string& s) {
      return std::pair(by_serial.at(s)["mdm_enabled"], by_serial.at(s)["agent_installed"]);
    };
    CHECK(flags("C02ALICE0001") == std::pair(json(true), json(true)));
    CHECK(flags("DMPALICE0002") == std::pair(json(true), json(false)));
    CHECK(flags("C02CAROL0005") == std::pair(json(true), json(false)));
    CHECK(flags("C02ERIN0006") == std::pair(json(true), json(true)));
    CHECK(flags("PF3BOBWIN004") == std::pair(json(false), json(nullptr)));
    CHECK(flags("C02GHOST0099") == std::pair(json(true), json(true)));
    CHECK(by_serial.count("Not Available") == 1);
    std::set<std::string> ids;
    for (const auto& [serial, row] : by_serial) {
      CHECK(row.size() == 43);
      CHECK(row["device_id"].get<std::string>().size() == 36);
      CHECK(row.contains("device__name"));
      CHECK(row.contains("last_checkin"));
      ids.insert(row["device_id"]);
    }
    CHECK(ids.size() == 7);
  }

  SECTION("prism/count and an HTML 404 for unknown paths") {
    CHECK(sim.get_json("/api/v1/prism/count?category=device_information") ==
          json{{"count", 7}, {"approximate", false}});
    auto r = sim.get("/api/v1/prism/nonsense");
    REQUIRE(r);
    CHECK(r->status == 404);
    CHECK(r->get_header_value("Content-Type").rfind("text/html", 0) == 0);
    CHECK(json::parse(r->body, nullptr, false).is_discarded());
  }

  SECTION("filter, device_families and a cursor bound to its query") {
    const std::string filter = R"({"serial_number":{"in":["C02ALICE0001","C02ERIN0006"]}})";
    json page = sim.get_json(std::string(kPath) + "?filter=" + url_encode(filter));
    CHECK(page["total"] == 2);
    page = sim.get_json(std::string(kPath) + "?device_families=iPhone,iPad");
    CHECK(page["total"] == 2);
    page = sim.get_json(std::string(kPath) +
                        "?filter=" + url_encode(R"({"mdm_enabled":{"eq":false}})"));
    REQUIRE(page["total"] == 1);
    CHECK(page["data"][0]["serial_number"] == "PF3BOBWIN004");

    const json first = sim.get_json(std::string(kPath) + "?limit=2");
    const std::string cursor = first["cursor"];
    auto r =
        sim.get(std::string(kPath) + "?limit=2&device_families=Mac&cursor=" + url_encode(cursor));
    REQUIRE(r);
    CHECK(r->status == 400);
    CHECK(json::parse(r->body)["detail"] == "invalid cursor");
    r = sim.get(std::string(kPath) + "?cursor=bm90LWEtY3Vyc29y");
    REQUIRE(r);
    CHECK(r->status == 400);
  }
}

TEST_CASE("GET /api/v1/devices is a bare array with a substring serial filter and total headers",
          "[app][kandji_sim]") {
  Sim sim(sample_args());
  auto r = sim.get("/api/v1/devices?limit=3&offset=0");
  REQUIRE(r);
  REQUIRE(r->status == 200);
  CHECK(r->get_header_value("x-total-count") == "7");
  CHECK(r->get_header_value("x-total-pages") == "3");
  CHECK(has_rate_headers(*r));
  const json page = json::parse(r->body);
  REQUIRE(page.is_array());
  REQUIRE(page.size() == 3);
  CHECK(page[0]["device_name"] == "Alice's MacBook Pro");
  CHECK(page[0]["user"]["email"] == "alice@example.com");
  CHECK(page[0]["last_check_in"].get<std::string>().back() == 'Z');

  // `serial_number` is a contains-match, as Kandji's is.
  const json alice = sim.get_json("/api/v1/devices?serial_number=ALICE");
  CHECK(alice.size() == 2);
  const json ghost = sim.get_json("/api/v1/devices?serial_number=C02GHOST0099");
  REQUIRE(ghost.size() == 1);
  CHECK(ghost[0]["user"] == "");
  CHECK(sim.get_json("/api/v1/devices?offset=50").empty());
  CHECK(sim.get("/api/v1/devices", "")->status == 401);
  CHECK(sim.get("/api/v1/devices?limit=0")->status == 400);
}

TEST_CASE("cursor pagination over 10000 devices returns every device exactly once",
          "[app][kandji_sim]") {
  Sim sim(generated_args(10000, "cursor"));
  const Walk w = walk(sim, true);
  CHECK(w.pages == 34);
  REQUIRE(w.serials.size() == 10000);
  const std::set<std::string> unique(w.serials.begin(), w.serials.end());
  CHECK(unique.size() == 10000);
  CHECK(w.serials.front() == "C02SIM000001");
  CHECK(w.serials.back() == "C02SIM010000");
  for (std::size_t i = 0; i + 1 < w.envelopes.size(); ++i) {
    CHECK(w.envelopes[i]["cursor"].is_string());
    CHECK(w.envelopes[i]["offset"].is_null());
    CHECK(w.envelopes[i]["total"] == 10000);
  }
  CHECK(w.envelopes.back()["cursor"].is_null());
  CHECK(w.envelopes.back()["data"].size() == 10000 - 33 * 300);

  SECTION("a smaller limit wins; cursors survive devices removed mid-walk") {
    json page = sim.get_json(std::string(kPath) + "?limit=100");
    const std::string cursor = page["cursor"];
    // Remove the next device the walk would have served: the cursor still resumes correctly.
    sim.admin("DELETE", "/_sim/devices/C02SIM000101");
    page = sim.get_json(std::string(kPath) + "?limit=100&cursor=" + url_encode(cursor));
    CHECK(page["data"][0]["serial_number"] == "C02SIM000102");
    CHECK(page["total"] == 9999);
  }
}

TEST_CASE("offset pagination over 10000 devices returns every device exactly once",
          "[app][kandji_sim]") {
  Sim sim(generated_args(10000, "offset"));
  const Walk w = walk(sim, false);
  CHECK(w.pages == 34);
  REQUIRE(w.serials.size() == 10000);
  CHECK(std::set<std::string>(w.serials.begin(), w.serials.end()).size() == 10000);
  for (const auto& e : w.envelopes) CHECK(e["cursor"].is_null());
  CHECK(w.envelopes[1]["offset"] == 300);
  // An offset server ignores cursor parameters, as an older Prism would.
  CHECK(sim.get_json(std::string(kPath) + "?limit=5&cursor=anything")["data"].size() == 5);
}

TEST_CASE("the page-size option caps pages and a smaller client limit wins", "[app][kandji_sim]") {
  auto args = generated_args(250);
  args.insert(args.end(), {"--page-size", "100"});
  Sim sim(args);
  CHECK(sim.get_json(std::string(kPath) + "?limit=300")["limit"] == 100);
  CHECK(sim.get_json(std::string(kPath) + "?limit=40")["limit"] == 40);
  const Walk w = walk(sim, true, 300);
  CHECK(w.pages == 3);
  CHECK(w.serials.size() == 250);
}

TEST_CASE("generated tenants are deterministic and mix both field sets", "[app][kandji_sim]") {
  Sim a(generated_args(20));
  Sim b(generated_args(20));
  const json pa = a.get_json(std::string(kPath) + "?limit=20");
  CHECK(pa == b.get_json(std::string(kPath) + "?limit=20"));
  const json& legacy = pa["data"][9];  // every 10th generated device has the older shape
  CHECK(legacy.contains("model_identifier"));
  CHECK(legacy.contains("os_name"));
  CHECK_FALSE(legacy.contains("model_id"));
  CHECK_FALSE(legacy.contains("last_checkin"));
  const json& current = pa["data"][0];
  CHECK(current.size() == 43);
  CHECK(current.contains("model_id"));

  auto args = generated_args(3);
  args.insert(args.end(), {"--field-set", "legacy"});
  Sim c(args);
  const json legacy_page = c.get_json(kPath);
  for (const auto& row : legacy_page["data"]) {
    CHECK(row.contains("model_identifier"));
    CHECK_FALSE(row.contains("created_at"));
  }
}

TEST_CASE("bearer token checks answer 401 and 403", "[app][kandji_sim]") {
  auto args = sample_args();
  args.insert(args.end(), {"--forbidden-token", "prism-less-token"});
  Sim sim(args);

  const auto status_of = [&](const httplib::Headers& headers) {
    auto r = sim.client()->Get(kPath, headers);
    REQUIRE(r);
    CHECK(has_rate_headers(*r));
    if (r->status >= 400) CHECK(json::parse(r->body).contains("detail"));
    return r->status;
  };
  CHECK(status_of({}) == 401);
  CHECK(status_of({{"Authorization", "Bearer wrong-token"}}) == 401);
  CHECK(status_of({{"Authorization", std::string("Basic ") + kToken}}) == 401);
  CHECK(status_of({{"Authorization", std::string("Bearer ") + kToken}}) == 200);
  CHECK(status_of({{"Authorization", std::string("bearer ") + kToken}}) == 200);
  CHECK(status_of({{"Authorization", "Bearer prism-less-token"}}) == 403);

  SECTION("the admin API marks the token as lacking the permission, or replaces it") {
    sim.admin("POST", "/_sim/token", {{"has_permission", false}});
    CHECK(status_of({{"Authorization", std::string("Bearer ") + kToken}}) == 403);
    const json reply = sim.admin("POST", "/_sim/token", {{"token", "rotated-token"}});
    CHECK(reply.dump().find("rotated-token") == std::string::npos);
    CHECK(status_of({{"Authorization", std::string("Bearer ") + kToken}}) == 401);
    CHECK(status_of({{"Authorization", "Bearer rotated-token"}}) == 200);
    sim.admin("POST", "/_sim/token", {{"token", 5}}, 400);
    sim.admin("POST", "/_sim/token", {{"tokn", "x"}}, 400);
  }
}

TEST_CASE("fault injection", "[app][kandji_sim]") {
  Sim sim(generated_args(1000));
  const std::string page1 = std::string(kPath) + "?limit=100";

  SECTION("429 with Retry-After, RateLimit-Reset and Kong's body") {
    sim.faults(json::array(
        {{{"kind", "status"}, {"status", 429}, {"retry_after", 2}, {"ratelimit_reset", "7"}}}));
    auto r = sim.get(page1);
    REQUIRE(r);
    CHECK(r->status == 429);
    CHECK(r->get_header_value("Retry-After") == "2");
    CHECK(r->get_header_value("RateLimit-Reset") == "7");
    CHECK(json::parse(r->body) == json{{"message", "API rate limit exceeded"}});
    CHECK(sim.get(page1)->status == 200);  // times defaults to 1
  }

  SECTION("429 without Retry-After") {
    sim.faults({{"kind", "status"}, {"status", 429}});
    auto r = sim.get(page1);
    REQUIRE(r);
    CHECK(r->status == 429);
    CHECK_FALSE(r->has_header("Retry-After"));
    CHECK(has_rate_headers(*r));
  }

  SECTION("5xx: HTML page, empty body, repeated `times`, and forever") {
    sim.faults(json::array({{{"kind", "status"}, {"status", 502}, {"html", true}, {"times", 2}}}));
    for (int i = 0; i < 2; ++i) {
      auto r = sim.get(page1);
      REQUIRE(r);
      CHECK(r->status == 502);
      CHECK(r->get_header_value("Content-Type").rfind("text/html", 0) == 0);
      CHECK(r->body.find("<html>") != std::string::npos);
    }
    CHECK(sim.get(page1)->status == 200);
    sim.faults({{"kind", "status"}, {"status", 503}, {"times", -1}});
    for (int i = 0; i < 3; ++i) {
      auto r = sim.get(page1);
      REQUIRE(r);
      CHECK(r->status == 503);
      CHECK(r->body.empty());
    }
    sim.admin("DELETE", "/_sim/faults");
    CHECK(sim.get(page1)->status == 200);
  }

  SECTION("selectors: on_request and page") {
    sim.faults(json::array({{{"kind", "status"}, {"status", 500}, {"on_request", 2}},
                            {{"kind", "status"}, {"status", 504}, {"page", 3}}}));
    CHECK(sim.get(page1)->status == 200);                                         // request 1
    CHECK(sim.get(page1)->status == 500);                                         // request 2
    CHECK(sim.get(std::string(kPath) + "?limit=100&offset=100")->status == 200);  // page 2
    CHECK(sim.get(std::string(kPath) + "?limit=100&offset=200")->status == 504);  // page 3
    CHECK(sim.get(std::string(kPath) + "?limit=100&offset=200")->status == 200);
  }

  SECTION("slow") {
    // The request log shows the fault was applied; the client is not timed (no real clock).
    sim.faults({{"kind", "slow"}, {"delay_ms", 1}});
    auto r = sim.get(page1);
    REQUIRE(r);
    CHECK(r->status == 200);
    const json log = sim.admin("GET", "/_sim/requests");
    REQUIRE(log.size() == 1);
    CHECK(log[0]["faults"].dump().find("slow") != std::string::npos);
  }

  SECTION("truncated: a prefix of a valid page that does not parse") {
    const std::string full = sim.get(page1)->body;
    sim.faults({{"kind", "truncated"}});
    auto r = sim.get(page1);
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(json::parse(r->body, nullptr, false).is_discarded());
    CHECK(!r->body.empty());
    CHECK(full.rfind(r->body, 0) == 0);
    CHECK(r->body.size() < full.size());
  }

  SECTION("truncated with a dropped connection") {
    sim.faults({{"kind", "truncated"}, {"drop_connection", true}});
    auto r = sim.get(page1);
    CHECK_FALSE(r);  // the client sees a transport error, not a response
    CHECK(sim.get(page1)->status == 200);
  }

  SECTION("malformed, missing data, cursor of the wrong type") {
    sim.faults({{"kind", "malformed"}});
    auto r = sim.get(page1);
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(json::parse(r->body, nullptr, false).is_discarded());

    sim.faults({{"kind", "missing_data"}});
    json page = sim.get_json(page1);
    CHECK_FALSE(page.contains("data"));
    CHECK(page.contains("cursor"));

    sim.faults({{"kind", "cursor_wrong_type"}});
    page = sim.get_json(page1);
    CHECK(page["cursor"].is_number_integer());
    CHECK(page["data"].size() == 100);
  }

  SECTION("padded: the page followed by spaces up to `bytes`, still valid JSON") {
    const std::string full = sim.get(page1)->body;
    sim.faults({{"kind", "padded"}, {"bytes", 200000}});
    auto r = sim.get(page1);
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->body.size() == 200000);
    CHECK(r->body.rfind(full, 0) == 0);
    CHECK(r->body.find_first_not_of(' ', full.size()) == std::string::npos);
    CHECK(json::parse(r->body) == json::parse(full));
    sim.admin("POST", "/_sim/faults", {{"kind", "padded"}}, 400);  // needs bytes
  }

  SECTION("revoke_token_on_page: 401 from page 2 on, until the token is reissued") {
    sim.faults({{"kind", "revoke_token_on_page"}, {"page", 2}});
    json first = sim.get_json(page1);
    const std::string next =
        std::string(kPath) + "?limit=100&cursor=" + url_encode(first["cursor"].get<std::string>());
    CHECK(sim.get(next)->status == 401);
    CHECK(sim.get(page1)->status == 401);  // revoked for good, page 1 included
    sim.admin("POST", "/_sim/token", {{"token", kToken}});
    CHECK(sim.get(next)->status == 200);
    sim.admin("POST", "/_sim/faults", {{"kind", "revoke_token_on_page"}}, 400);  // needs page
  }

  SECTION("duplicate_rows: an offset walk repeats rows but loses none") {
    sim.faults({{"kind", "duplicate_rows"}, {"page", 3}, {"count", 2}});
    const Walk w = walk(sim, false, 100);
    const std::set<std::string> unique(w.serials.begin(), w.serials.end());
    CHECK(unique.size() == 1000);
    CHECK(w.serials.size() == 1002);
    const json& p3 = w.envelopes[2]["data"];
    const json& p2 = w.envelopes[1]["data"];
    CHECK(p3[0] == p2[98]);
    CHECK(p3[1] == p2[99]);
  }

  SECTION("duplicate_rows on a cursor walk") {
    sim.faults({{"kind", "duplicate_rows"}, {"page", 2}});
    const Walk w = walk(sim, true, 100);
    CHECK(std::set<std::string>(w.serials.begin(), w.serials.end()).size() == 1000);
    CHECK(w.serials.size() == 1001);
    CHECK(w.envelopes[1]["data"][0] == w.envelopes[0]["data"][99]);
  }

  SECTION("extra headers, listing and rejecting bad faults") {
    sim.faults(
        {{"kind", "status"}, {"status", 200}, {"headers", {{"X-RateLimit-Remaining-Hour", "0"}}}});
    CHECK(sim.admin("GET", "/_sim/faults").size() == 1);
    auto r = sim.get(page1);
    REQUIRE(r);
    CHECK(r->get_header_value("X-RateLimit-Remaining-Hour") == "0");
    CHECK(r->get_header_value_count("X-RateLimit-Remaining-Hour") == 1);
    for (const json& bad :
         {json{{"kind", "nope"}}, json{{"kind", "status"}}, json{{"kind", "status"}, {"status", 9}},
          json{{"kind", "slow"}, {"delay", 5}}, json{{"kind", "slow"}, {"times", 0}},
          json::array({json{{"kind", "malformed"}, {"page", 0}}})}) {
      INFO(bad.dump());
      sim.admin("POST", "/_sim/faults", bad, 400);
    }
    auto c = sim.client();
    auto bad_json = c->Post("/_sim/faults", "{not json", "application/json");
    REQUIRE(bad_json);
    CHECK(bad_json->status == 400);
  }
}

TEST_CASE("admin device patches are visible on the next fetch", "[app][kandji_sim]") {
  Sim sim(sample_args());
  const auto row_of = [&](const std::string& serial) -> std::optional<json> {
    const json page = sim.get_json(std::string(kPath) + "?limit=300");
    for (const auto& row : page["data"]) {
      if (row["serial_number"] == serial) return row;
    }
    return std::nullopt;
  };

  REQUIRE(row_of("C02CAROL0005").value()["agent_installed"] == false);
  const json reply = sim.admin("POST", "/_sim/devices/C02CAROL0005", {{"agent_installed", true}});
  CHECK(reply["created"] == false);
  CHECK(row_of("C02CAROL0005").value()["agent_installed"] == true);
  sim.admin("POST", "/_sim/devices/C02CAROL0005", {{"agent_installed", nullptr}});
  CHECK(row_of("C02CAROL0005").value()["agent_installed"].is_null());

  SECTION("unknown serials are created with defaults, in the minimal form's spelling") {
    const json created = sim.admin("POST", "/_sim/devices/C02NEWMAC777",
                                   {{"device_name", "New Mac"}, {"mdm_enabled", false}}, 201);
    CHECK(created["created"] == true);
    const auto row = row_of("C02NEWMAC777");
    REQUIRE(row);
    CHECK((*row)["device__name"] == "New Mac");
    CHECK((*row)["mdm_enabled"] == false);
    CHECK((*row)["agent_installed"] == true);
    CHECK((*row).size() == 43);
    CHECK(sim.get_json(kPath)["total"] == 8);
  }

  SECTION("serials with spaces, removal and bad patches") {
    sim.admin("POST", "/_sim/devices/Not%20Available", {{"mdm_enabled", false}});
    CHECK(row_of("Not Available").value()["mdm_enabled"] == false);
    sim.admin("DELETE", "/_sim/devices/C02GHOST0099");
    CHECK_FALSE(row_of("C02GHOST0099"));
    CHECK(sim.get_json(kPath)["total"] == 6);
    sim.admin("DELETE", "/_sim/devices/C02GHOST0099", nullptr, 404);
    sim.admin("POST", "/_sim/devices/C02ALICE0001", {{"mdm_enabled", "yes"}}, 400);
    sim.admin("POST", "/_sim/devices/C02ALICE0001", json::array(), 400);
    CHECK(row_of("C02ALICE0001").value()["mdm_enabled"] == true);
  }
}

TEST_CASE("the request log records requests and never the token", "[app][kandji_sim]") {
  Scratch dir;
  const fs::path log_file = dir.file("requests.jsonl");
  auto args = sample_args();
  args.insert(args.end(), {"--request-log", log_file.string()});
  Sim sim(args);

  sim.get(std::string(kPath) + "?limit=300");
  sim.get(std::string(kPath) + "?limit=2", "wrong-token");
  sim.get(std::string(kPath) + "?limit=3&token=" + std::string(kToken));  // a careless client
  sim.faults({{"kind", "status"}, {"status", 503}});
  sim.get(std::string(kPath) + "?limit=4");

  const json log = sim.admin("GET", "/_sim/requests");
  REQUIRE(log.size() == 4);
  CHECK(log.dump().find(kToken) == std::string::npos);
  CHECK(log[0]["method"] == "GET");
  CHECK(log[0]["path"] == kPath);
  CHECK(log[0]["query"] == "limit=300");
  CHECK(log[0]["status"] == 200);
  CHECK(log[0]["authorized"] == true);
  CHECK(log[0]["page"] == 1);
  CHECK(log[1]["status"] == 401);
  CHECK(log[1]["authorized"] == false);
  CHECK(log[2]["query"] == "limit=3&token=[REDACTED]");
  CHECK(log[3]["status"] == 503);
  CHECK(log[3]["faults"] == json::array({"status"}));

  const std::string file = slurp(log_file);
  CHECK(file.find(kToken) == std::string::npos);
  std::istringstream lines(file);
  int count = 0;
  for (std::string line; std::getline(lines, line);) {
    CHECK_FALSE(json::parse(line, nullptr, false).is_discarded());
    ++count;
  }
  CHECK(count == 4);

  sim.admin("DELETE", "/_sim/requests");
  CHECK(sim.admin("GET", "/_sim/requests").empty());
}

TEST_CASE("reset restores the initial tenant and token and clears faults and log",
          "[app][kandji_sim]") {
  Sim sim(sample_args());
  sim.admin("POST", "/_sim/devices/C02CAROL0005", {{"agent_installed", true}});
  sim.admin("DELETE", "/_sim/devices/C02ALICE0001");
  sim.faults({{"kind", "status"}, {"status", 500}, {"times", -1}});
  sim.admin("POST", "/_sim/token", {{"token", "another"}});
  sim.get(kPath, "another");

  sim.admin("POST", "/_sim/reset");
  CHECK(sim.admin("GET", "/_sim/faults").empty());
  CHECK(sim.admin("GET", "/_sim/requests").empty());
  const json page = sim.get_json(std::string(kPath) + "?limit=300");
  CHECK(page["total"] == 7);
  for (const auto& row : page["data"]) {
    if (row["serial_number"] == "C02CAROL0005") CHECK(row["agent_installed"] == false);
  }
  CHECK(sim.get(kPath, "another")->status == 401);
  CHECK(sim.admin("GET", "/_sim/requests").size() == 2);
}

TEST_CASE("rate limits can be enforced", "[app][kandji_sim]") {
  auto args = sample_args();
  args.insert(args.end(), {"--rate-limit-hour", "3", "--enforce-rate-limits"});
  Sim sim(args);
  for (int i = 0; i < 3; ++i) CHECK(sim.get(kPath)->status == 200);
  auto r = sim.get(kPath);
  REQUIRE(r);
  CHECK(r->status == 429);
  CHECK(r->get_header_value("X-RateLimit-Remaining-Hour") == "0");
  CHECK(r->has_header("Retry-After"));
}

TEST_CASE("concurrent walks and admin calls are served consistently", "[app][kandji_sim]") {
  Sim sim(generated_args(1000));
  constexpr int kWalkers = 4;
  std::vector<std::size_t> unique_counts(kWalkers, 0);
  std::vector<std::thread> threads;
  std::atomic<bool> walking{true};
  for (int i = 0; i < kWalkers; ++i) {
    threads.emplace_back([&, i] {
      // No Catch assertions off the main thread: collect, then check below.
      std::set<std::string> seen;
      std::optional<std::string> cursor;
      httplib::Client c("127.0.0.1", sim.port());
      const httplib::Headers auth = {{"Authorization", std::string("Bearer ") + kToken}};
      for (int guard = 0; guard < 100; ++guard) {
        std::string q = std::string(kPath) + "?limit=50";
        if (cursor) q += "&cursor=" + url_encode(*cursor);
        auto r = c.Get(q.c_str(), auth);
        if (!r || r->status != 200) return;
        const json page = json::parse(r->body);
        for (const auto& row : page["data"]) seen.insert(row["serial_number"].get<std::string>());
        if (!page["cursor"].is_string()) break;
        cursor = page["cursor"].get<std::string>();
      }
      unique_counts[static_cast<std::size_t>(i)] = seen.size();
    });
  }
  std::thread patcher([&] {
    httplib::Client c("127.0.0.1", sim.port());
    for (int n = 1; walking.load() && n <= 200; ++n) {
      char serial[32];
      std::snprintf(serial, sizeof serial, "C02SIM%06d", n);
      const json patch = {{"agent_installed", n % 2 == 0}};
      c.Post((std::string("/_sim/devices/") + serial).c_str(), patch.dump(), "application/json");
      c.Get("/_sim/requests");
    }
  });
  for (auto& t : threads) t.join();
  walking = false;
  patcher.join();
  for (auto count : unique_counts) CHECK(count == 1000);
  CHECK(sim.admin("GET", "/_sim/requests").size() == kWalkers * 20);
}

TEST_CASE("command line", "[app][kandji_sim]") {
  Scratch dir;
  const auto run = [&](const std::vector<std::string>& args) {
    std::vector<std::string> argv = {sim_binary()};
    argv.insert(argv.end(), args.begin(), args.end());
    auto result = postern::test::run_process(argv);
    return std::pair(result.exit_code, result.out + result.err);
  };

  SECTION("--help documents every option and the admin API") {
    auto [code, text] = run({"--help"});
    CHECK(code == 0);
    for (const char* word :
         {"--listen", "--devices", "--token", "--page-style", "--page-size", "--generate", "--seed",
          "--request-log", "--allow-remote", "/_sim/faults", "revoke_token_on_page",
          "duplicate_rows", "/api/v1/devices", "--field-set", "--forbidden-token"}) {
      CHECK(text.find(word) != std::string::npos);
    }
  }

  SECTION("usage errors exit 2 with a message") {
    CHECK(run({"--listen", "0.0.0.0:0", "--generate", "1", "--token", "t"}).first == 2);
    CHECK(run({"--listen", "0.0.0.0:0", "--generate", "1", "--token", "t"})
              .second.find("non-loopback") != std::string::npos);
    CHECK(run({"--generate", "1"}).first == 2);
    CHECK(run({"--token", "t"}).first == 2);
    CHECK(run({"--listen", "127.0.0.1", "--generate", "1", "--token", "t"}).first == 2);
    CHECK(run({"--page-style", "sideways", "--generate", "1", "--token", "t"}).first != 0);
    const fs::path bad = dir.file("bad.json");
    write_file(bad, R"([{"serial_number": "X1", "mdm_enabled": "true"}])");
    auto [code, text] = run({"--devices", bad.string(), "--token", "t"});
    CHECK(code == 2);
    CHECK(text.find("mdm_enabled") != std::string::npos);
    write_file(bad, "{ not json");
    CHECK(run({"--devices", bad.string(), "--token", "t"}).first == 2);
  }

  SECTION("a minimal fixture, {\"devices\": [...]} form, token file, clean SIGINT exit") {
    const fs::path fixture = dir.file("min.json");
    write_file(fixture, R"({"devices": [
      {"serial_number": "C02MIN000001", "device_name": "Min Mac", "platform": "macOS",
       "mdm_enabled": true, "agent_installed": false, "os_version": "14.5"},
      {"serial_number": "DMPMIN000002", "platform": "iOS"}]})");
    const fs::path token_file = dir.file("token");
    write_file(token_file, std::string(kToken) + "\n");
    Sim sim({"--listen", "127.0.0.1:0", "--devices", fixture.string(), "--token-file",
             token_file.string()});
    const json page = sim.get_json(kPath);
    REQUIRE(page["data"].size() == 2);
    const json& mac = page["data"][0];
    CHECK(mac["device__name"] == "Min Mac");
    CHECK(mac["device__family"] == "Mac");
    CHECK(mac["os_version"] == "14.5");
    CHECK(mac["display_os_version"] == "14.5");
    CHECK(mac["agent_installed"] == false);
    CHECK(mac["agent_version"].is_null());
    CHECK(mac.size() == 43);
    const json& phone = page["data"][1];
    CHECK(phone["device__family"] == "iPhone");
    CHECK(phone["agent_installed"].is_null());
    CHECK(phone["mdm_enabled"] == true);
    CHECK(sim.stop(SIGINT) == 0);
  }
}

}  // namespace kandji_sim_test
