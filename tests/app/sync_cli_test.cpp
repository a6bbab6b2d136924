// The sync CLI end to end: postern integrations/sync/attributes/audit against
// postern-kandji-sim on loopback. Every byte any command prints is checked for the token.
#include <pwd.h>
#include <signal.h>
#include <sqlite3.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <sstream>

#include "kandji_sim.hpp"
#include "process.hpp"
#include "scratch.hpp"

namespace sync_cli_test {

using nlohmann::json;
using postern::test::Process;
using postern::test::ProcessResult;
using postern::test::run_process;
using postern::test::ScratchDir;
using postern::test::Simulator;

namespace {

const std::string kToken = "9d4b1e7a-2c3f-4a5b-8e6d-1f0a2b3c4d5e";

struct Cli {
  ScratchDir scratch{"postern-sync-cli"};
  std::filesystem::path dir = scratch.path();
  std::string db = (dir / "postern.db").string();
  std::string tailnet = std::string(POSTERN_SOURCE_DIR) + "/samples/tailnet.json";
  std::string everything;  // all output of all commands

  ProcessResult run(std::vector<std::string> args, const std::vector<std::string>& env = {}) {
    args.insert(args.begin(), postern::test::binary("app/postern"));
    auto r = run_process(args, env);
    everything += r.out + r.err;
    return r;
  }
  std::filesystem::path file(const std::string& name, const std::string& text) {
    const auto p = dir / name;
    postern::test::write_file(p, text);
    return p;
  }
};

std::string samples_devices() {
  return std::string(POSTERN_SOURCE_DIR) + "/samples/kandji-devices.json";
}

}  // namespace

// Names chosen outside the admin's control (a device's host name, an actor given to the CLI)
// are shown without control bytes in text output: an ESC would drive the admin's terminal.
TEST_CASE("cli: attributes and audit text show control bytes as ?", "[app][sync]") {
  Cli cli;
  auto tailnet = json::parse(postern::test::slurp(cli.tailnet));
  for (auto& device : tailnet["devices"]) {
    if (device["hostname"] == "alice-mbp") device["hostname"] = "alice\x1b[2J";
  }
  const auto evil = cli.file("tailnet.json", tailnet.dump()).string();
  auto set = cli.run({"attributes", "100.64.0.1", "--set", "custom:x=1", "--actor",
                      "admin:e\x1b]0;t\x07", "--db", cli.db, "--tailnet", evil});
  REQUIRE(set.exit_code == 0);
  CHECK(set.out.rfind("alice?[2J (", 0) == 0);
  auto audit = cli.run({"audit", "--db", cli.db});
  REQUIRE(audit.exit_code == 0);
  CHECK(audit.out.find("  admin:e?]0;t?  Update node attribute  node:") != std::string::npos);
  CHECK(cli.everything.find('\x1b') == std::string::npos);
  CHECK(cli.everything.find('\x07') == std::string::npos);
}

// libpq's keyword/value form is not a file name: refused without quoting it (it names a
// password) and without creating a SQLite file of that name.
TEST_CASE("cli: a keyword/value PostgreSQL string as --db is refused and not quoted",
          "[app][sync]") {
  Cli cli;
  const std::string conninfo = "host=127.0.0.1 port=1 user=u password=SECRETPW";
  auto audit = cli.run({"audit", "--db", conninfo});
  CHECK(audit.exit_code == 2);
  CHECK(audit.err.find("error[C743]: --db looks like a PostgreSQL keyword/value") !=
        std::string::npos);
  auto set = cli.run({"attributes", "alice-mbp", "--set", "custom:x=1", "--db", " dbname = x",
                      "--tailnet", cli.tailnet});
  CHECK(set.exit_code == 2);
  CHECK(cli.everything.find("SECRETPW") == std::string::npos);
  CHECK_FALSE(std::filesystem::exists(conninfo));
  CHECK_FALSE(std::filesystem::exists(" dbname = x"));
}

// Reading commands never create a store: a mistyped --db is an error, not an empty store.
TEST_CASE("cli: reading commands refuse a missing store instead of creating it", "[app][sync]") {
  Cli cli;
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"integrations", "status", "--db", cli.db},
           {"integrations", "list", "--db", cli.db},
           {"attributes", "alice-mbp", "--db", cli.db, "--tailnet", cli.tailnet}}) {
    const auto r = cli.run(args);
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("error[C743]: no store at") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(cli.db));
  }
  // Flags that would be ignored are refused instead.
  CHECK(cli.run({"attributes", "alice-mbp", "--tailnet", cli.tailnet, "--expiry",
                 "2027-06-30T00:00:00Z"})
            .exit_code == 2);
  const auto mixed =
      cli.run({"check", "--policy", std::string(POSTERN_SOURCE_DIR) + "/samples/policy.hujson",
               "--tailnet", cli.tailnet, "--batch", "-", "--src", "alice-mbp"});
  CHECK(mixed.exit_code == 2);
  CHECK(mixed.err.find("excludes") != std::string::npos);
}

// Error lines lose their control bytes but keep their lines: a policy's rendered diagnostics.
TEST_CASE("cli: an error made of lines keeps them", "[app][sync]") {
  Cli cli;
  const auto policy = cli.file("bad.hujson", "{\"acls\": [}\n");
  auto r = cli.run({"check", "--policy", policy.string(), "--tailnet", cli.tailnet, "--src",
                    "alice-mbp", "--dst", "db-1:22"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("is invalid\n") != std::string::npos);
  CHECK(r.err.find("\n  {\"acls\": [}\n") != std::string::npos);
}

TEST_CASE("cli: add, sync, status, attributes, audit, pause and resume, remove", "[app][sync]") {
  Cli cli;
  Simulator sim(cli.dir, {"--devices", samples_devices()}, kToken);
  const std::string env = "KANDJI_TOKEN=" + kToken;

  auto add = cli.run({"integrations", "add", "kandji", "--url", sim.url(), "--token-env",
                      "KANDJI_TOKEN", "--db", cli.db, "--tailnet", cli.tailnet},
                     {env});
  REQUIRE(add.exit_code == 0);
  CHECK(add.out.find("token: set") != std::string::npos);
  CHECK(add.out.find("matched 5 of 6 possible") != std::string::npos);

  auto again = cli.run({"integrations", "add", "kandji", "--url", sim.url(), "--token-env",
                        "KANDJI_TOKEN", "--db", cli.db},
                       {env});
  CHECK(again.exit_code == 1);
  CHECK(again.err.find("error[C742]") != std::string::npos);

  auto status = cli.run({"integrations", "status", "--db", cli.db, "--format", "json"});
  REQUIRE(status.exit_code == 0);
  const json s = json::parse(status.out)[0];
  CHECK(s["token"] == "set");
  CHECK(s["providerHostCount"] == 7);
  CHECK(s["matchedCount"] == 5);
  CHECK(s["possibleMatchedCount"] == 6);
  CHECK(s["lastError"].is_null());
  CHECK_FALSE(s["lastSync"].is_null());

  auto once = cli.run({"sync", "--once", "--db", cli.db, "--tailnet", cli.tailnet});
  REQUIRE(once.exit_code == 0);
  CHECK(once.out.find("0 node(s) changed") != std::string::npos);

  auto attrs = cli.run(
      {"attributes", "carol-mbp", "--db", cli.db, "--tailnet", cli.tailnet, "--format", "json"});
  REQUIRE(attrs.exit_code == 0);
  CHECK(json::parse(attrs.out)["attributes"]["kandji:agentInstalled"] == false);
  // An unknown device is wrong input (2), as `check` and `filter` say (it was 1 here only).
  CHECK(cli.run({"attributes", "nosuch", "--db", cli.db, "--tailnet", cli.tailnet}).exit_code == 2);

  // Revoke: 401 pauses; --once refuses while paused; update with a new token resumes.
  sim.post("/_sim/token", R"({"token": "rotated-token-0000"})");
  auto denied = cli.run({"sync", "--once", "--db", cli.db, "--tailnet", cli.tailnet});
  CHECK(denied.exit_code == 1);
  CHECK(denied.err.find("error[Y602]") != std::string::npos);
  auto paused = cli.run({"sync", "--once", "--db", cli.db, "--tailnet", cli.tailnet});
  CHECK(paused.exit_code == 1);
  CHECK(paused.err.find("error[Y608]") != std::string::npos);
  auto paused_status = cli.run({"integrations", "status", "kandji", "--db", cli.db});
  CHECK(paused_status.out.find("paused until") != std::string::npos);
  // The hint names what resumes it; a bare update was a dead end ("nothing to update").
  CHECK(paused_status.out.find("update kandji --token-file FILE") != std::string::npos);
  auto bare = cli.run({"integrations", "update", "kandji", "--db", cli.db});
  CHECK(bare.exit_code == 2);
  CHECK(bare.err.find("even the same one, also resumes") != std::string::npos);

  // A new URL without the token is refused and changes nothing (no audit event either): the
  // stored token is never sent to a host it was not given for.
  auto moved = cli.run(
      {"integrations", "update", "kandji", "--url", "https://elsewhere.example", "--db", cli.db});
  CHECK(moved.exit_code == 2);
  CHECK(moved.err.find("error[C745]") != std::string::npos);
  CHECK(moved.err.find("elsewhere.example") != std::string::npos);
  auto unmoved = cli.run({"integrations", "status", "kandji", "--db", cli.db, "--format", "json"});
  CHECK(unmoved.out.find("elsewhere") == std::string::npos);

  sim.post("/_sim/devices/C02CAROL0005", R"({"agent_installed": true})");
  const auto new_token = cli.file("new-token.txt", "rotated-token-0000\n");
  auto update = cli.run({"integrations", "update", "kandji", "--token-file", new_token.string(),
                         "--db", cli.db, "--tailnet", cli.tailnet});
  REQUIRE(update.exit_code == 0);
  CHECK(update.out.find("1 node(s) changed") != std::string::npos);
  attrs = cli.run(
      {"attributes", "nCar0lMBP05", "--db", cli.db, "--tailnet", cli.tailnet, "--format", "json"});
  CHECK(json::parse(attrs.out)["attributes"]["kandji:agentInstalled"] == true);
  CHECK(json::parse(attrs.out)["sources"]["kandji:agentInstalled"] == "kandji");

  auto audit = cli.run({"audit", "--db", cli.db, "--format", "json"});
  REQUIRE(audit.exit_code == 0);
  std::vector<json> events;
  std::istringstream lines(audit.out);
  for (std::string line; std::getline(lines, line);) events.push_back(json::parse(line));
  REQUIRE(events.size() == 1 + 5 + 1 + 1);  // create, 5 nodes, update, carol's flip
  CHECK(events[0]["action"] == "Create posture integration");
  CHECK(events[6]["action"] == "Update posture integration");
  CHECK(events[6]["details"]["token_rotated"] == "yes");
  CHECK(events[7]["target"] == "node:nCar0lMBP05");
  CHECK(events[7]["details"]["changes"][0] ==
        json{{"key", "kandji:agentInstalled"}, {"old", false}, {"new", true}});
  auto recent = cli.run({"audit", "--db", cli.db, "--since", "1h"});
  CHECK(recent.exit_code == 0);
  CHECK(cli.run({"audit", "--db", cli.db, "--since", "yesterday"}).exit_code == 2);

  auto remove = cli.run({"integrations", "remove", "kandji", "--db", cli.db});
  REQUIRE(remove.exit_code == 0);
  // Removing the integration removes every attribute it wrote.
  attrs = cli.run(
      {"attributes", "nCar0lMBP05", "--db", cli.db, "--tailnet", cli.tailnet, "--format", "json"});
  REQUIRE(attrs.exit_code == 0);
  CHECK_FALSE(json::parse(attrs.out)["attributes"].contains("kandji:agentInstalled"));
  CHECK_FALSE(json::parse(attrs.out)["attributes"].contains("kandji:mdmEnabled"));
  CHECK(json::parse(attrs.out)["attributes"]["node:os"] == "macos");
  CHECK_FALSE(std::filesystem::exists(cli.db + ".secrets/kandji.token"));

  // The token never appears in any output, the database or its WAL.
  for (const std::string& secret : {kToken, std::string("rotated-token-0000")}) {
    CHECK(cli.everything.find(secret) == std::string::npos);
    for (const char* suffix : {"", "-wal"}) {
      CHECK(postern::test::slurp(cli.db + suffix).find(secret) == std::string::npos);
    }
  }
}

TEST_CASE("cli: bad URL, missing token and unknown provider are usage errors", "[app][sync]") {
  Cli cli;
  const auto token = cli.file("t.txt", kToken);
  auto bad_url = cli.run({"integrations", "add", "kandji", "--url", "ftp://x", "--token-file",
                          token.string(), "--db", cli.db});
  CHECK(bad_url.exit_code == 2);
  CHECK(bad_url.err.find("error[Y606]") != std::string::npos);
  auto no_token = cli.run({"integrations", "add", "kandji", "--url", "acme.api.kandji.io",
                           "--token-env", "POSTERN_SURELY_UNSET_VAR", "--db", cli.db});
  CHECK(no_token.exit_code == 2);
  CHECK(no_token.err.find("error[C741]") != std::string::npos);
  auto unknown = cli.run({"integrations", "add", "jamf", "--url", "x.example", "--token-file",
                          token.string(), "--db", cli.db});
  CHECK(unknown.exit_code == 2);
  CHECK(unknown.err.find("error[C740]") != std::string::npos);
  auto none = cli.run({"sync", "--once", "--db", cli.db, "--tailnet", cli.tailnet});
  CHECK(none.exit_code == 1);
  for (const auto& cmd : std::vector<std::vector<std::string>>{{"integrations", "add", "--help"},
                                                               {"integrations", "status", "--help"},
                                                               {"sync", "--help"},
                                                               {"attributes", "--help"},
                                                               {"audit", "--help"}}) {
    auto help = cli.run(cmd);
    CHECK(help.exit_code == 0);
    CHECK(help.out.find("--db") != std::string::npos);
  }
  CHECK(cli.run({"integrations", "--help"}).out.find("status") != std::string::npos);
  CHECK(cli.everything.find(kToken) == std::string::npos);
}

TEST_CASE("cli: a sync killed at any instant leaves the database consistent", "[app][sync]") {
  Cli cli;
  Simulator sim(cli.dir, {"--generate", "3000", "--seed", "11"}, kToken);
  // A tailnet with one node per simulated serial, so the first sync writes 6000 attributes and
  // 3000 audit events in one transaction.
  const json devices = json::parse(sim.get("/_sim/devices"));
  const json& list = devices.is_array() ? devices : devices.at("devices");
  json tailnet{{"users", json::array({{{"loginName", "ops@example.com"}, {"role", "admin"}}})},
               {"devices", json::array()}};
  int n = 0;
  for (const auto& d : list) {
    const std::string serial = d.value("serial_number", "");
    if (serial.empty()) continue;
    ++n;
    tailnet["devices"].push_back({{"id", std::to_string(10000 + n)},
                                  {"nodeId", "nGen" + std::to_string(n)},
                                  {"name", "gen-" + std::to_string(n) + ".example.ts.net"},
                                  {"hostname", "gen-" + std::to_string(n)},
                                  {"addresses", json::array({"100.80." + std::to_string(n / 250) +
                                                             "." + std::to_string(n % 250 + 1)})},
                                  {"user", "ops@example.com"},
                                  {"os", "macOS"},
                                  {"clientVersion", "1.86.2"},
                                  {"postureIdentity", {{"serialNumbers", json::array({serial})}}}});
  }
  const auto tailnet_path = cli.file("tailnet.json", tailnet.dump());
  const auto token = cli.file("t.txt", kToken);
  const std::string node_count = std::to_string(n);

  for (int delay_ms : {0, 60, 150, 300, 500, 800, 1200, 2000}) {
    INFO("killed after " << delay_ms << " ms");
    const auto db = cli.dir / ("crash-" + std::to_string(delay_ms) + ".db");
    REQUIRE(cli.run({"integrations", "add", "kandji", "--url", sim.url(), "--token-file",
                     token.string(), "--db", db.string()})
                .exit_code == 0);
    Process sync({postern::test::binary("app/postern"), "sync", "--once", "--db", db.string(),
                  "--tailnet", tailnet_path.string()});
    // The one real-clock wait in this file, on purpose: the kill lands at an arbitrary instant
    // of the run (fetch, diff or commit), and the assertion holds for every instant.
    if (!sync.wait_exit(std::chrono::milliseconds(delay_ms))) sync.stop(SIGKILL);

    sqlite3* raw = nullptr;
    REQUIRE(sqlite3_open(db.c_str(), &raw) == SQLITE_OK);
    auto scalar = [&](const char* sql) {
      sqlite3_stmt* st = nullptr;
      REQUIRE(sqlite3_prepare_v2(raw, sql, -1, &st, nullptr) == SQLITE_OK);
      REQUIRE(sqlite3_step(st) == SQLITE_ROW);
      std::string out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
      sqlite3_finalize(st);
      return out;
    };
    CHECK(scalar("PRAGMA integrity_check") == "ok");
    const std::string rows = scalar("SELECT count(*) FROM attributes");
    const std::string events =
        scalar("SELECT count(*) FROM audit_log WHERE action = 'Update node attribute'");
    const std::string synced = scalar(
        "SELECT count(*) FROM sync_status WHERE json_extract(data, '$.last_success') "
        "IS NOT NULL");
    // All of the sync or none of it.
    if (rows == "0") {
      CHECK(events == "0");
      CHECK(synced == "0");
    } else {
      CHECK(rows == std::to_string(2 * n));
      CHECK(events == node_count);
      CHECK(synced == "1");
    }
    sqlite3_close(raw);
  }
}

// Regression: without $USER (cron, containers) the audit actor was "admin:unknown".
TEST_CASE("cli: the audit actor falls back to the process's account without $USER", "[app][sync]") {
  Cli cli;
  Simulator sim(cli.dir, {"--devices", samples_devices()}, kToken);
  auto add = cli.run({"integrations", "add", "kandji", "--url", sim.url(), "--token-env",
                      "KANDJI_TOKEN", "--db", cli.db},
                     {"KANDJI_TOKEN=" + kToken, "USER="});
  REQUIRE(add.exit_code == 0);
  auto audit = cli.run({"audit", "--db", cli.db, "--format", "json"});
  REQUIRE(audit.exit_code == 0);
  const json first = json::parse(audit.out.substr(0, audit.out.find('\n')));
  const passwd* account = getpwuid(geteuid());
  REQUIRE(account != nullptr);
  CHECK(first["actor"] == std::string("admin:") + account->pw_name);
}

}  // namespace sync_cli_test
