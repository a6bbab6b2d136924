// engine::load_policy: the one pipeline every front end, test, benchmark and fuzzer uses.
#include "postern/engine/policy_load.hpp"

#include <catch2/catch.hpp>

#include "engine_fixture.hpp"

namespace policy_load_test {

namespace {

using namespace postern;

bool has_code(const engine::LoadedPolicy& loaded, grammar::DiagCode code) {
  return std::any_of(loaded.diags.begin(), loaded.diags.end(),
                     [&](const grammar::Diagnostic& d) { return d.code == code; });
}

}  // namespace

TEST_CASE("a valid policy loads with its AST and no errors", "[engine][policy_load]") {
  const auto loaded = engine::load_policy(
      "p.hujson", R"({"acls": [{"action": "accept", "src": ["*"], "dst": ["*:*"]},],})");
  INFO(grammar::render_all(loaded.file, loaded.diags));
  CHECK(loaded.ok());
  CHECK(loaded.error_count() == 0);
  REQUIRE(loaded.ast.has_value());
  CHECK(loaded.ast->acls.size() == 1);
  CHECK(loaded.file.path() == "p.hujson");
}

TEST_CASE("a syntax error stops the pipeline with no AST", "[engine][policy_load]") {
  const auto loaded = engine::load_policy("p.hujson", R"({"acls": [)");
  CHECK_FALSE(loaded.ok());
  CHECK_FALSE(loaded.ast.has_value());
  CHECK(loaded.error_count() >= 1);
}

TEST_CASE("shape and validation errors are reported in one run", "[engine][policy_load]") {
  // acls[0] has a shape error (no action); acls[1] refers to an undefined group.
  const auto loaded = engine::load_policy("p.hujson", R"({"acls": [
      {"src": ["*"], "dst": ["*:*"]},
      {"action": "accept", "src": ["group:nobody"], "dst": ["*:*"]},
  ]})");
  INFO(grammar::render_all(loaded.file, loaded.diags));
  CHECK_FALSE(loaded.ok());
  REQUIRE(loaded.ast.has_value());  // best effort: acls[1] kept so validation could run
  CHECK(loaded.error_count() >= 2);
  CHECK(has_code(loaded, grammar::DiagCode::V303));
}

TEST_CASE("warnings are counted and do not fail the load", "[engine][policy_load]") {
  auto loaded = engine::load_policy("p.hujson", R"({"acls": []})");
  REQUIRE(loaded.ok());
  grammar::Diagnostic warning;
  warning.severity = grammar::Severity::Warning;
  loaded.diags = {warning, warning};
  CHECK(loaded.ok());
  CHECK(loaded.warning_count() == 2);
  CHECK(loaded.error_count() == 0);
  grammar::Diagnostic error;
  error.severity = grammar::Severity::Error;
  loaded.diags.push_back(error);
  CHECK_FALSE(loaded.ok());
  CHECK(loaded.error_count() == 1);
}

TEST_CASE("validate_context collects the domains of non-shared users", "[engine][policy_load]") {
  const auto context = engine::validate_context(test::fixture_inventory());
  CHECK(context.domains_known);
  CHECK(context.user_domains == std::vector<std::string>{"example.com"});  // not partner.net

  const auto loaded = engine::load_policy(
      "p.hujson",
      R"({"acls": [{"action": "accept", "src": ["user:*@other.org"], "dst": ["*:*"]}]})", context);
  INFO(grammar::render_all(loaded.file, loaded.diags));
  CHECK(loaded.diags.size() >= 1);
  const auto unchecked = engine::load_policy(
      "p.hujson",
      R"({"acls": [{"action": "accept", "src": ["user:*@other.org"], "dst": ["*:*"]}]})");
  CHECK(unchecked.diags.empty());
}

// Regression (capture cases 625-err-ssh-b4, 626-err-ssh-d1): a member from another domain does not
// make that domain the tailnet's; validate_context is make_validate_context (owners' domains,
// else the most common member domain), not "every domain some user has".
TEST_CASE("validate_context: a minority member domain is not associated with the tailnet",
          "[engine][policy_load]") {
  engine::Inventory inventory;
  inventory.users = {engine::User{"odin@example.com", "member", false},
                     engine::User{"freya@example.com", "member", false},
                     engine::User{"thor@example.org", "member", false}};
  const auto context = engine::validate_context(inventory);
  CHECK(context.user_domains == std::vector<std::string>{"example.com"});
  const auto loaded = engine::load_policy(
      "p.hujson",
      R"({"ssh": [{"action": "accept", "src": ["user:*@example.org"], "dst": ["autogroup:self"],
                   "users": ["root"]}]})",
      context);
  INFO(grammar::render_all(loaded.file, loaded.diags));
  CHECK_FALSE(loaded.ok());

  inventory.users.push_back(engine::User{"loki@example.org", "owner", false});
  CHECK(engine::validate_context(inventory).user_domains ==
        std::vector<std::string>{"example.org"});
}

}  // namespace policy_load_test
