// Live data for checks: `postern check --db` answers on the synced attributes laid over the
// tailnet file. carol-mbp is denied db-1:5432 by posture:trusted until Kandji reports her agent.
#include <httplib.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "kandji_sim.hpp"
#include "process.hpp"

namespace live_data_test {

using postern::test::run_process;

TEST_CASE("live data: a sync flips carol's access through posture:trusted", "[app][sync]") {
  const auto dir =
      std::filesystem::temp_directory_path() / ("postern-live-data-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string token = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
  const std::string src = POSTERN_SOURCE_DIR;
  const std::string db = (dir / "postern.db").string();
  const std::string tailnet = src + "/samples/tailnet.json";
  const std::string policy = src + "/samples/policy.hujson";
  const std::string postern = postern::test::binary("app/postern");
  {
    postern::test::Simulator sim(dir, {"--devices", src + "/samples/kandji-devices.json"}, token);
    auto check = [&] {
      return run_process({postern, "check", "--db", db, "--policy", policy, "--tailnet", tailnet,
                          "--src", "carol-mbp", "--dst", "db-1:5432"});
    };
    auto sync_once = [&] {
      return run_process({postern, "sync", "--once", "--db", db, "--tailnet", tailnet}).exit_code;
    };
    REQUIRE(run_process({postern, "integrations", "add", "kandji", "--url", sim.url(),
                         "--token-env", "LIVE_TOKEN", "--db", db, "--tailnet", tailnet},
                        {"LIVE_TOKEN=" + token})
                .exit_code == 0);
    auto denied = check();
    INFO(denied.out << denied.err);
    CHECK(denied.exit_code == 1);
    CHECK(denied.out.rfind("deny", 0) == 0);

    sim.post("/_sim/devices/C02CAROL0005", R"({"agent_installed": true})");
    REQUIRE(sync_once() == 0);
    auto accepted = check();
    INFO(accepted.out << accepted.err);
    CHECK(accepted.exit_code == 0);
    CHECK(accepted.out.rfind("accept", 0) == 0);

    sim.post("/_sim/devices/C02CAROL0005", R"({"agent_installed": false})");
    REQUIRE(sync_once() == 0);
    auto denied_again = check();
    CHECK(denied_again.exit_code == 1);
  }
  std::filesystem::remove_all(dir);
}

// `postern serve --db F` and the CLI writing F: the server applies what the CLI committed within
// a tick (it logs each time), without a restart or SIGHUP (found by an operator's review: the
// server kept serving the values it had read at start).
TEST_CASE("live data: a running server follows the CLI's writes to its store", "[app][sync]") {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("postern-live-follow-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string src = POSTERN_SOURCE_DIR;
  const std::string db = (dir / "postern.db").string();
  const std::string tailnet = src + "/samples/tailnet.json";
  const std::string postern = postern::test::binary("app/postern");
  {
    postern::test::Process serve({postern, "serve", "--policy", src + "/samples/policy.hujson",
                                  "--tailnet", tailnet, "--db", db, "--listen", "127.0.0.1:0"});
    const auto port = serve.wait_listening();
    REQUIRE(port);
    httplib::Client client("127.0.0.1", *port);
    const auto allowed = [&] {
      const auto r =
          client.Post("/v1/check", R"({"src":"carol-mbp","dst":"db-1:5432"})", "application/json");
      REQUIRE(r);
      INFO(r->body);
      REQUIRE(r->status == 200);
      return nlohmann::json::parse(r->body).at("allow").get<bool>();
    };
    const auto cli = [&](const std::string& option, const std::string& value) {
      const auto r = run_process(
          {postern, "attributes", "carol-mbp", "--db", db, "--tailnet", tailnet, option, value});
      INFO(r.out << r.err);
      REQUIRE(r.exit_code == 0);
    };
    constexpr std::string_view kFollowed = "another process committed to the store";
    CHECK_FALSE(allowed());
    cli("--set", "custom:tier=gold");
    REQUIRE(serve.wait_for_stderr(kFollowed, 1));
    CHECK(allowed());  // grants[0]: posture:gold
    cli("--delete", "custom:tier");
    REQUIRE(serve.wait_for_stderr(kFollowed, 2));
    CHECK_FALSE(allowed());
    CHECK(serve.stop() == 0);
  }
  std::filesystem::remove_all(dir);
}

}  // namespace live_data_test
