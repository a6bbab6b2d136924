// Tailscale's policy file API on a real `postern serve` (spec tailscale-api.md §2.1-§2.4, traps
// 1, 3, 4): GET as HuJSON or JSON with a quoted ETag (the hash gitops-pusher computes), details,
// POST with If-Match / ts-default / 412 / empty-body reset, validate in both modes, preview; the
// GitOps round trip across a restart and the Terraform flow; bad input stores nothing.
#include <openssl/evp.h>

#include "postern/grammar/hujson_format.hpp"
#include "tsapi_harness.hpp"

namespace tsapi_policy_test {

using namespace tsapi_test;

namespace {

const std::string kAcl = "/api/v2/tailnet/-/acl";

const std::string kPolicyV1 = R"({
	// Members reach the web tier.
	"tagOwners": {"tag:web": ["autogroup:admin"]},
	"acls": [
		{"action": "accept", "src": ["autogroup:member"], "dst": ["tag:web:443"]},
	],
	"tests": [{"src": "alice@example.com", "accept": ["tag:web:443"], "deny": ["tag:web:22"]}],
}
)";

std::string with_comment(const std::string& text, const std::string& comment) {
  return "// " + comment + "\n" + text;
}

std::string quoted_hash(const std::string& text) {
  return "\"" + postern::grammar::hujson::policy_etag(text) + "\"";
}

std::string base64_decode(const std::string& text) {
  std::string out(text.size(), '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  REQUIRE(n >= 0);
  out.resize(static_cast<std::size_t>(n));
  while (!out.empty() && out.back() == '\0') out.pop_back();  // padding
  return out;
}

Reply post_policy(const Client& c, const std::string& text, const std::string& if_match = {},
                  const std::string& content_type = "application/hujson") {
  std::vector<std::pair<std::string, std::string>> headers;
  if (!if_match.empty()) headers.emplace_back("If-Match", if_match);
  return c.send("POST", kAcl, text, content_type, headers);
}

}  // namespace

TEST_CASE("GET acl: HuJSON by default, JSON on request, a quoted ETag, details",
          "[tsapi][policy]") {
  postern::test::ScratchDir dir("postern-tsapi-policy");
  Server server(dir);
  const auto c = server.client();

  // No Accept (what gitops-pusher and Raw() get): the stored text, comments kept.
  auto raw = c.send("GET", kAcl);
  REQUIRE(raw.status == 200);
  CHECK(raw.content_type.rfind("application/hujson", 0) == 0);
  CHECK(raw.body.find("The default policy") != std::string::npos);
  // Serving allow-all is said at start (a docs review found it silent), before "listening on".
  CHECK(server.process().err().find("serving Tailscale's default policy") != std::string::npos);
  CHECK(raw.header("ETag") == quoted_hash(raw.body));
  CHECK(c.get(kAcl, "application/hujson").body == raw.body);
  CHECK(c.get(kAcl, "*/*").body == raw.body);

  const json as_json = c.ok(c.get(kAcl, "application/json"));
  CHECK(as_json["acls"][0]["action"] == "accept");
  CHECK(c.get(kAcl).header("ETag") == raw.header("ETag"));

  for (const std::string details : {"1", "true"}) {
    const json d = c.ok(c.get(kAcl + "?details=" + details, "application/hujson"));
    CHECK(base64_decode(d["acl"].get<std::string>()) == raw.body);
    CHECK(d["warnings"].is_array());
    CHECK(d["errors"].is_null());
  }
  // `details=yes` is no request for details.
  CHECK(c.get(kAcl + "?details=yes", "application/hujson").body == raw.body);

  // The tailnet by name; another name is 404 {"message"}.
  CHECK(c.send("GET", "/api/v2/tailnet/example-tailnet.ts.net/acl").status == 200);
  CHECK(c.send("GET", "/api/v2/tailnet/example.com/acl").status == 404);
  // No credential: 401 {"message"}; unknown route 404; wrong method 405.
  CHECK(server.client("").send("GET", kAcl).status == 401);
  CHECK(server.client("tskey-api-wrong").send("GET", kAcl).status == 401);
  CHECK(c.send("GET", "/api/v2/tailnet/-/nothing-here").status == 404);
  CHECK(c.send("DELETE", kAcl).status == 405);
}

TEST_CASE("GitOps round trip: ETag, If-Match, a concurrent change, validate, restart",
          "[tsapi][policy]") {
  postern::test::ScratchDir dir("postern-tsapi-gitops");
  std::string pushed;
  std::string pushed_etag;
  {
    Server server(dir);
    const auto c = server.client();
    const std::string etag0 = c.send("GET", kAcl).header("ETag");

    // gitops-pusher `test`, then `apply` with If-Match.
    CHECK(c.ok(c.send("POST", kAcl + "/validate", kPolicyV1, "application/hujson")) ==
          json::object());
    auto saved = post_policy(c, kPolicyV1, etag0);
    REQUIRE(saved.status == 200);
    CHECK(saved.body == kPolicyV1);  // no Accept: HuJSON, as the client's SetAndGet reads it
    CHECK(saved.header("ETag") == quoted_hash(kPolicyV1));
    // The ETag is what gitops-pusher computes from its file: "in sync" after the push.
    const auto formatted = *postern::grammar::hujson::format(kPolicyV1).value;
    CHECK(saved.header("ETag") == quoted_hash(formatted));

    // Two editors read the same version; the second save is refused with 412.
    const std::string etag1 = c.send("GET", kAcl).header("ETag");
    REQUIRE(post_policy(c, with_comment(kPolicyV1, "editor A"), etag1).status == 200);
    const auto late = post_policy(c, with_comment(kPolicyV1, "editor B"), etag1);
    CHECK(late.status == 412);
    CHECK(late.message() == "precondition failed, invalid old hash");
    // Quoting is lenient (the legacy client passes the header verbatim).
    const std::string etag2 = c.send("GET", kAcl).header("ETag");
    const std::string bare = etag2.substr(1, etag2.size() - 2);
    pushed = with_comment(kPolicyV1, "editor B again");
    saved = post_policy(c, pushed, bare);
    REQUIRE(saved.status == 200);
    pushed_etag = saved.header("ETag");
    CHECK(server.process().stop() == 0);
  }
  // A restart serves the last stored version: same text, same ETag.
  Server again(dir);
  const auto got = again.client().send("GET", kAcl);
  REQUIRE(got.status == 200);
  CHECK(got.body == pushed);
  CHECK(got.header("ETag") == pushed_etag);
}

TEST_CASE("Terraform flow: create over ts-default, read raw, validate, reset with an empty body",
          "[tsapi][policy]") {
  postern::test::ScratchDir dir("postern-tsapi-terraform");
  Server server(dir);
  const auto c = server.client();
  const std::string default_policy = c.send("GET", kAcl).body;

  // Plan-time validation of the HuJSON string.
  CHECK(c.ok(c.send("POST", kAcl + "/validate", kPolicyV1, "application/hujson")) ==
        json::object());
  // Create: only over the untouched default.
  REQUIRE(post_policy(c, kPolicyV1, "\"ts-default\"").status == 200);
  const auto again = post_policy(c, kPolicyV1, "\"ts-default\"");
  CHECK(again.status == 412);
  CHECK(again.message() == "precondition failed, invalid old hash");
  // Read raw.
  CHECK(c.get(kAcl, "application/hujson").body == kPolicyV1);
  // Update without If-Match.
  REQUIRE(post_policy(c, with_comment(kPolicyV1, "v2"), "", "application/json").status == 200);
  // Destroy with reset_acl_on_destroy: an empty body is the default policy again...
  const auto reset = post_policy(c, "");
  REQUIRE(reset.status == 200);
  CHECK(reset.body == default_policy);
  CHECK(c.send("GET", kAcl).body == default_policy);
  // ...so a new create with ts-default succeeds.
  CHECK(post_policy(c, kPolicyV1, "ts-default").status == 200);
}

TEST_CASE("POST acl takes SSH session recording as the official client marshals it",
          "[tsapi][policy]") {
  postern::test::ScratchDir dir("postern-tsapi-recorder");
  Server server(dir);
  const auto c = server.client();
  // tailscale-client-go's ACLSSH has `recorder` and `enforceRecorder`; Set and Validate send them.
  const std::string policy =
      R"({"tagOwners":{"tag:recorder":["autogroup:admin"]},)"
      R"("acls":[{"action":"accept","src":["*"],"dst":["*:*"]}],)"
      R"("ssh":[{"action":"accept","src":["autogroup:member"],"dst":["autogroup:self"],)"
      R"("users":["autogroup:nonroot"],"recorder":["tag:recorder"],"enforceRecorder":true}]})";
  CHECK(c.ok(c.send("POST", kAcl + "/validate", policy, "application/json")) == json::object());
  CHECK(post_policy(c, policy, "", "application/json").status == 200);
}

TEST_CASE("POST acl refuses bad policies with 400 {message, data} and stores nothing",
          "[tsapi][policy]") {
  postern::test::ScratchDir dir("postern-tsapi-bad-policy");
  Server server(dir);
  const auto c = server.client();
  const auto before = c.send("GET", kAcl);

  // A syntax error: `line L, column C: ...` (gitops-pusher annotates the file with it).
  auto r = post_policy(c, "{\n  \"acls\": [,]\n}");
  CHECK(r.status == 400);
  CHECK(r.message().rfind("line 2, column ", 0) == 0);
  // An unknown group.
  r = post_policy(c, R"({"acls": [{"action": "accept", "src": ["group:nope"], "dst": ["*:*"]}]})",
                  "", "application/json");
  CHECK(r.status == 400);
  CHECK(r.value["data"][0]["errors"].size() >= 1);
  // Failing tests: Tailscale's {"message": "test(s) failed", "data": [{user, errors}]}.
  std::string failing = kPolicyV1;
  failing.replace(failing.find(R"("deny": ["tag:web:22"])"), 22, R"("deny": ["tag:web:443"])");
  r = post_policy(c, failing);
  CHECK(r.status == 400);
  CHECK(r.message() == "test(s) failed");
  CHECK(r.value["data"][0]["user"] == "alice@example.com");
  CHECK_FALSE(r.value["data"][0]["errors"].empty());
  // Wrong content type: 415 {"message"}.
  CHECK(post_policy(c, kPolicyV1, "", "text/plain").status == 415);

  const auto after = c.send("GET", kAcl);
  CHECK(after.body == before.body);
  CHECK(after.header("ETag") == before.header("ETag"));
}

TEST_CASE("acl/validate: tests against the current policy, or a proposed policy, always 200",
          "[tsapi][policy]") {
  postern::test::ScratchDir dir("postern-tsapi-validate");
  Server server(dir);
  const auto c = server.client();
  const std::string path = kAcl + "/validate";
  const std::string default_policy = c.send("GET", kAcl).body;
  // The default policy: alice reaches web-1 (100.64.0.10).
  CHECK(c.ok(c.post_json(path, json::parse(R"([{"src": "alice@example.com",
                                                  "accept": ["100.64.0.10:443"]}])"))) ==
        json::object());
  // The legacy client's names: user and allow.
  CHECK(c.ok(c.post_json(path, json::parse(R"([{"user": "alice@example.com",
                                                  "allow": ["100.64.0.10:443"]}])"))) ==
        json::object());
  auto failed = c.ok(c.post_json(
      path, json::parse(R"([{"src": "alice@example.com", "deny": ["100.64.0.10:443"]}])")));
  CHECK(failed["message"] == "test(s) failed");
  CHECK(failed["data"][0]["user"] == "alice@example.com");
  // A proposed policy whose tests fail, and one that does not parse: still 200.
  std::string failing = kPolicyV1;
  failing.replace(failing.find(R"("deny": ["tag:web:22"])"), 22, R"("deny": ["tag:web:443"])");
  CHECK(c.ok(c.send("POST", path, failing, "application/hujson"))["message"] == "test(s) failed");
  CHECK(c.ok(c.send("POST", path, "{\"acls\": [", "application/hujson"))["message"]
            .get<std::string>()
            .rfind("line 1, column ", 0) == 0);
  CHECK(c.ok(c.send("POST", path, "[{\"src\": ", "application/json")).contains("message"));
  CHECK(c.ok(c.send("POST", path, "[1, 2]", "application/json")).contains("message"));
  // Nothing at all is a bad request.
  CHECK(c.send("POST", path, "", "application/json").status == 400);
  // Validation never changes the stored policy.
  CHECK(c.send("GET", kAcl).body == default_policy);
}

TEST_CASE("acl/preview: rules for a user, rules reaching an IP:port", "[tsapi][policy]") {
  postern::test::ScratchDir dir("postern-tsapi-preview");
  Server server(dir);
  const auto c = server.client();
  const std::string policy = postern::test::slurp(sample("policy.hujson"));
  const std::string path = kAcl + "/preview";
  const std::string default_policy = c.send("GET", kAcl).body;

  auto r = c.ok(c.send("POST", path + "?type=user&previewFor=alice%40example.com", policy,
                       "application/hujson"));
  CHECK(r["type"] == "user");
  CHECK(r["previewFor"] == "alice@example.com");
  REQUIRE(r["matches"].size() == 4);
  CHECK(r["matches"][0]["users"][0] == "autogroup:member");
  CHECK(r["matches"][0]["ports"][0] == "tag:web:80,443");
  CHECK(r["matches"][0]["lineNumber"].is_number_integer());
  CHECK(r["matches"][1]["postures"][0] == "posture:trusted");
  CHECK(r["postures"]["posture:trusted"][0] == "kandji:agentInstalled == true");

  r = c.ok(
      c.send("POST", path + "?type=ipport&previewFor=10.20.1.5:631", policy, "application/hujson"));
  REQUIRE(r["matches"].size() == 1);
  CHECK(r["matches"][0]["users"][0] == "group:admins");
  // No match: an empty list, not null.
  r = c.ok(
      c.send("POST", path + "?type=ipport&previewFor=192.0.2.1:80", policy, "application/hujson"));
  CHECK(r["matches"] == json::array());

  CHECK(c.send("POST", path + "?type=group&previewFor=x", policy, "application/hujson").status ==
        400);
  CHECK(c.send("POST", path + "?type=ipport&previewFor=nohost", policy, "application/hujson")
            .status == 400);
  CHECK(c.send("POST", path + "?type=user", policy, "application/hujson").status == 400);
  CHECK(c.send("POST", path + "?type=user&previewFor=a%40b.c", "{\"acls\": [", "application/hujson")
            .status == 400);
  // Still serving, nothing stored.
  CHECK(c.send("GET", kAcl).body == default_policy);
}

}  // namespace tsapi_policy_test
