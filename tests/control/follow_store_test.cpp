// A server's Tailnet and a CLI's Tailnet on one SQLite file, as `postern serve --db F` and
// `postern attributes ... --set` run side by side: what the CLI commits reaches the server's
// checks at its next follow_store(), and the server's own writes are not read back.
#include <catch2/catch.hpp>
#include <memory>
#include <string>

#include "open_tailnet.hpp"
#include "postern/control/query.hpp"
#include "postern/control/tailnet.hpp"
#include "postern/sync/clock.hpp"
#include "scratch.hpp"

namespace follow_store_test {

using namespace postern;

namespace {

struct Fixture {
  test::ScratchDir dir{"postern-control-follow"};
  sync::FakeClock clock;
  std::unique_ptr<control::Tailnet> server = open();
  std::unique_ptr<control::Tailnet> cli = open();
  control::Actor admin{"admin:alice", "CLI"};

  std::unique_ptr<control::Tailnet> open() {
    return test::open_tailnet({.db = dir.file("postern.db")}, clock);
  }

  bool server_accepts(const std::string& src, const std::string& dst) {
    control::QueryInput q;
    q.src = src;
    q.dst = dst;
    auto answer = control::check(*server->snapshot(), q);
    REQUIRE(answer.ok());
    return answer.value().answer.accept;
  }

  std::optional<control::AttributeView> on_server(const std::string& device,
                                                  const std::string& key) {
    auto view = server->device_attributes(device);
    REQUIRE(view.ok());
    for (const auto& a : view.value().attributes) {
      if (a.key == key) return a;
    }
    return std::nullopt;
  }

  std::int64_t now() { return sync::to_unix(clock.now()); }
};

}  // namespace

TEST_CASE("another process's attribute writes reach the server at its next follow",
          "[control][attributes][follow]") {
  Fixture f;
  CHECK(f.server->follow_store() == 0);  // nothing committed since it opened
  REQUIRE_FALSE(f.server_accepts("carol-mbp", "db-1:5432"));

  const auto expiry = f.now() + 3600;
  REQUIRE(f.cli->set_attribute("carol-mbp", "custom:tier", std::string("gold"), expiry, "INC-7",
                               f.admin));
  CHECK_FALSE(f.server_accepts("carol-mbp", "db-1:5432"));  // not followed yet
  CHECK(f.server->follow_store() == 1);
  CHECK(f.server_accepts("carol-mbp", "db-1:5432"));  // grants[0]: posture:gold
  const auto seen = f.on_server("carol-mbp", "custom:tier");
  REQUIRE(seen);
  CHECK(seen->source == "api");
  CHECK(seen->expires_at == expiry);
  CHECK(f.server->follow_store() == 0);  // read once

  SECTION("a delete") {
    REQUIRE(f.cli->delete_attribute("carol-mbp", "custom:tier", "", f.admin));
    CHECK(f.server->follow_store() == 1);
    CHECK_FALSE(f.server_accepts("carol-mbp", "db-1:5432"));
    CHECK_FALSE(f.on_server("carol-mbp", "custom:tier"));
  }
  SECTION("a changed value") {
    REQUIRE(f.cli->set_attribute("carol-mbp", "custom:tier", std::string("bronze"), std::nullopt,
                                 "", f.admin));
    CHECK(f.server->follow_store() == 1);
    CHECK_FALSE(f.server_accepts("carol-mbp", "db-1:5432"));
    CHECK(f.on_server("carol-mbp", "custom:tier")->value == engine::AttrValue{"bronze"});
  }
  SECTION("the server's own writes are not read back") {
    REQUIRE(f.server->set_attribute("carol-mbp", "custom:tier", std::string("platinum"),
                                    std::nullopt, "", f.admin));
    CHECK(f.server->follow_store() == 0);
    CHECK(f.server_accepts("carol-mbp", "db-1:5432"));
  }
}

TEST_CASE("one server per SQLite store and the CLI beside it", "[control][follow]") {
  test::ScratchDir dir{"postern-control-lock"};
  sync::FakeClock clock;
  const auto db = dir.file("postern.db");
  control::TailnetOptions server;
  server.tailnet_path = test::sample("tailnet.json");
  server.db = db;
  server.sole_server = true;
  auto first = control::Tailnet::open(server);
  REQUIRE(first.ok());
  const auto second = control::Tailnet::open(server);
  REQUIRE_FALSE(second.ok());
  CHECK(second.error().code == grammar::DiagCode::C774);
  CHECK(second.error().message.find("another `postern serve` (pid ") != std::string::npos);
  auto cli = server;
  cli.sole_server = false;
  CHECK(control::Tailnet::open(cli).ok());
  first.value().reset();  // the lock goes with the server
  CHECK(control::Tailnet::open(server).ok());
}

TEST_CASE("a Tailnet without a store follows nothing", "[control][attributes][follow]") {
  sync::FakeClock clock;
  const auto memory = test::open_tailnet({}, clock);
  CHECK(memory->follow_store() == 0);
}

}  // namespace follow_store_test
