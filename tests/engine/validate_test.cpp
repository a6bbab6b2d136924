#include "postern/engine/validate.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "corpus.hpp"
#include "postern/grammar/hujson.hpp"
#include "postern/grammar/policy_ast.hpp"

namespace validate_test {

using namespace postern;
using grammar::Diagnostic;
using grammar::Severity;
using grammar::SourceFile;

namespace {

struct Result {
  std::vector<Diagnostic> diags;
  std::string file_text;
};

// The whole pipeline, as postern validate runs it.
std::vector<Diagnostic> run(const SourceFile& file, const engine::ValidateContext& context = {}) {
  auto doc = grammar::hujson::parse(file);
  if (!doc.value) return doc.diags;
  auto lowered = grammar::policy::lower_all(file, *doc.value);
  auto diags = std::move(lowered.diags);
  auto more = engine::validate(file, lowered.ast, context);
  diags.insert(diags.end(), more.begin(), more.end());
  return diags;
}

std::string show(const SourceFile& file, const std::vector<Diagnostic>& diags) {
  return grammar::render_all(file, diags);
}

// Exactly one error, with this code, message and underlined snippet.
void expect_error(const std::string& text, std::string_view code, const std::string& message,
                  const std::string& snippet, const engine::ValidateContext& context = {}) {
  const SourceFile file("p.hujson", text);
  const auto diags = run(file, context);
  INFO(show(file, diags));
  REQUIRE(diags.size() == 1);
  CHECK(diags[0].severity == Severity::Error);
  CHECK(grammar::code_name(diags[0].code) == code);
  CHECK(diags[0].message == message);
  CHECK(std::string(file.slice(diags[0].span)) == snippet);
}

const std::string kPrelude = R"({
  "groups": {"group:eng": ["bob@example.com", "carol@example.com"], "group:admins": ["alice@example.com"]},
  "tagOwners": {"tag:web": ["autogroup:admin"], "tag:db": ["autogroup:admin"], "tag:prod": ["autogroup:admin"]},
  "hosts": {"corp-lan": "10.20.0.0/16"},
)";

std::string with_prelude(const std::string& body) { return kPrelude + body + "}"; }

}  // namespace

TEST_CASE("E20: each validation failure of the spec is rejected with its message",
          "[engine][validate]") {
  expect_error(
      with_prelude(
          R"("acls":[{"action":"accept","src":["autogroup:member"],"srcPosture":["posture:nope"],"dst":["tag:web:443"]}])"),
      "V305", "srcPosture: posture \"posture:nope\" not found", "\"posture:nope\"");
  expect_error(with_prelude(R"("postures":{"posture:x":["node:os > 'a'"]})"), "V318",
               "operator `>` is only valid for numbers and versions", ">");
  expect_error(with_prelude(R"("postures":{"trusted":["node:os == 'macos'"]})"), "V316",
               "postures[\"trusted\"]: posture names must start with \"posture:\"", "\"trusted\"");
  expect_error(
      with_prelude(R"("acls":[{"action":"accept","src":["tag:ghost"],"dst":["tag:web:80"]}])"),
      "V302", "src=tag not found: \"tag:ghost\"", "tag:ghost");
  expect_error(with_prelude(R"("acls":[{"action":"deny","src":["*"],"dst":["*:*"]}])"), "V311",
               "action=\"deny\" is not supported", "\"deny\"");
  expect_error(
      with_prelude(R"("acls":[{"action":"accept","src":["tag:web"],"dst":["autogroup:self:*"]}])"),
      "V309", "autogroup:self can only be used with users, groups, or supported autogroups",
      "autogroup:self");
  expect_error(with_prelude(R"("grants":[{"src":["*"],"dst":["autogroup:self"],"ip":["*"]}])"),
               "V309",
               "autogroup:self can only be used with users, groups, or supported autogroups",
               "autogroup:self");
  expect_error(R"({"groups":{"group:a":["group:b"],"group:b":["bob@example.com"]}})", "V307",
               "groups[\"group:a\"]: \"group:b\": group members cannot be recursive",
               "\"group:b\"");
  expect_error(with_prelude(R"("acls":[{"action":"accept","src":["*"],"dst":["tag:web"]}])"),
               "S206", "dst=\"tag:web\": port range \"web\": invalid first integer", "web");
}

TEST_CASE("§9 rows with Tailscale's texts", "[engine][validate]") {
  expect_error(
      with_prelude(R"("acls":[{"action":"accept","src":["*"],"dst":["tag:nonexistent:22"]}])"),
      "V302", "dst=\"tag:nonexistent\": tag not found: \"tag:nonexistent\"", "tag:nonexistent");
  expect_error(with_prelude(R"("grants":[{"src":["*"],"dst":["tag:undefined-tag"],"ip":["*"]}])"),
               "V302", "tag not found: \"tag:undefined-tag\"", "tag:undefined-tag");
  expect_error(
      with_prelude(
          R"("grants":[{"src":["*"],"dst":["autogroup:internet"],"ip":["*"],"via":["tag:nonexistent"]}])"),
      "V302", "tag \"tag:nonexistent\" not found", "\"tag:nonexistent\"");
  expect_error(R"({"tagOwners":{"tag:сервер":[]}})", "V308",
               "tagOwners[\"tag:сервер\"]: tag names must start with a letter, after 'tag:'",
               "\"tag:сервер\"");
  expect_error(
      with_prelude(R"("acls":[{"action":"accept","src":["group:phantom"],"dst":["tag:web:80"]}])"),
      "V303", "group not defined in policy: \"group:phantom\"", "group:phantom");
  expect_error(
      with_prelude(R"("acls":[{"action":"accept","src":["autogroup:self"],"dst":["tag:web:80"]}])"),
      "V309", "\"autogroup:self\" not valid on the src side of a rule", "autogroup:self");
  expect_error(
      with_prelude(R"("acls":[{"action":"accept","src":["*"],"dst":["autogroup:danger-all:*"]}])"),
      "V310", "cannot use autogroup:danger-all as a dst", "autogroup:danger-all");
  expect_error(with_prelude(R"("grants":[{"src":["*"],"dst":["tag:web"]}])"), "V312",
               "ip and app can not both be empty", R"({"src":["*"],"dst":["tag:web"]})");
  expect_error(with_prelude(R"("grants":[{"src":["*"],"dst":["0.0.0.0/0"],"ip":["*"]}])"), "V313",
               "dst \"0.0.0.0/0\": to allow all IP addresses, use \"*\" or \"autogroup:internet\"",
               "0.0.0.0/0");
  expect_error(with_prelude(R"("grants":[{"src":["*"],"dst":["tag:web"],"app":{"web":[{}]}}])"),
               "V314", "capability name must have the form {domain}/{path}", "\"web\"");
  expect_error(
      with_prelude(
          R"("grants":[{"src":["*"],"dst":["tag:web"],"app":{"tailscale.com/cap/x":[{}]}}])"),
      "V314", "capability name must not be in the tailscale.com domain", "\"tailscale.com/cap/x\"");
  expect_error(
      with_prelude(
          R"("grants":[{"src":["*"],"dst":["autogroup:internet"],"ip":["*"],"via":["corp-lan"]}])"),
      "V315", "via can only be a tag", "\"corp-lan\"");
  expect_error(
      with_prelude(R"("ssh":[{"src":["group:admins"],"dst":["tag:prod"],"users":["root"]}])"),
      "V323", "action must be specified",
      R"({"src":["group:admins"],"dst":["tag:prod"],"users":["root"]})");
  expect_error(
      with_prelude(
          R"("ssh":[{"action":"Accept","src":["*"],"dst":["tag:prod"],"users":["root"]}])"),
      "V323", "\"Accept\" is not a valid action", "\"Accept\"");
  expect_error(
      with_prelude(
          R"("ssh":[{"action":"check","src":["*"],"dst":["tag:prod"],"users":["root"],"checkPeriod":"200h"}])"),
      "V323", "checkPeriod 200h0m0s is above the max (168h)", "\"200h\"");
  expect_error(
      with_prelude(
          R"("ssh":[{"action":"check","src":["*"],"dst":["tag:prod"],"users":["root"],"checkPeriod":"-1m"}])"),
      "V323", "checkPeriod -1m0s must be a positive duration", "\"-1m\"");
  expect_error(
      with_prelude(
          R"("ssh":[{"action":"check","src":["*"],"dst":["tag:prod"],"users":["root"],"checkPeriod":"abc"}])"),
      "V323", "time: invalid duration \"abc\"", "\"abc\"");
  expect_error(
      with_prelude(
          R"("ssh":[{"action":"accept","src":["*"],"dst":["corp-lan"],"users":["root"]}])"),
      "V323", "invalid dst \"corp-lan\"", "\"corp-lan\"");
  expect_error(
      with_prelude(R"("ssh":[{"action":"accept","src":["*"],"dst":["tag:prod"],"users":["*"]}])"),
      "V323", "user \"*\" is not valid", "\"*\"");
}

TEST_CASE("user:*@domain is checked only when the tailnet's domains are known",
          "[engine][validate]") {
  const auto policy = with_prelude(
      R"("acls":[{"action":"accept","src":["user:*@example.org"],"dst":["tag:web:80"]}])");
  const SourceFile file("p.hujson", policy);
  CHECK(run(file).empty());
  engine::ValidateContext context;
  context.domains_known = true;
  context.user_domains = {"example.com"};
  expect_error(policy, "V321",
               "example.org is not associated with this Tailnet and cannot be used in "
               "user:*@<domain> expressions",
               "user:*@example.org", context);
  context.user_domains.push_back("example.org");
  CHECK(run(file, context).empty());
}

TEST_CASE("warnings: empty srcPosture, unknown namespace, type clash", "[engine][validate]") {
  const SourceFile file("p.hujson", with_prelude(R"(
    "postures": {"posture:a": ["custom:score > 80"], "posture:b": ["custom:score == '87'"],
                 "posture:c": ["crowdstrike:zta >= 70"]},
    "acls": [{"action": "accept", "src": ["*"], "srcPosture": [], "dst": ["tag:web:80"]}],
  )"));
  const auto diags = run(file);
  INFO(show(file, diags));
  REQUIRE(diags.size() == 3);
  std::vector<std::string> codes;
  for (const auto& d : diags) {
    CHECK(d.severity == Severity::Warning);
    codes.emplace_back(grammar::code_name(d.code));
  }
  std::sort(codes.begin(), codes.end());
  CHECK(codes == std::vector<std::string>{"V324", "V325", "V326"});
}

TEST_CASE("empty postures are rejected, attrConfig is accepted", "[engine][validate]") {
  expect_error(R"({"postures": {"posture:none": []}})", "V317",
               "postures[\"posture:none\"]: a posture needs at least one condition", "[]");
  const SourceFile ok("p.hujson", R"({"attrConfig": {"custom:tier": {"type": "string"}}})");
  CHECK(run(ok).empty());
}

TEST_CASE("validation errors are capped at 50", "[engine][validate]") {
  std::string body = R"("acls": [)";
  for (int i = 0; i < 70; ++i) body += R"({"action": "accept", "src": ["tag:x"], "dst": ["*:*"]},)";
  body += "],";
  const SourceFile file("p.hujson", with_prelude(body));
  const auto diags = run(file);
  const auto errors = std::count_if(diags.begin(), diags.end(), [](const Diagnostic& d) {
    return d.severity == Severity::Error;
  });
  CHECK(errors == 50);
  CHECK(grammar::code_name(diags.back().code) == "S213");
}

TEST_CASE("the sample policy is valid", "[engine][validate]") {
  const auto path = std::filesystem::path(POSTERN_SOURCE_DIR) / "samples" / "policy.hujson";
  const SourceFile file(path.string(), test::read_file(path));
  const auto diags = run(file);
  INFO(show(file, diags));
  CHECK(diags.empty());
}

namespace {

std::vector<std::string> located(const SourceFile& file, const std::vector<Diagnostic>& diags,
                                 Severity severity) {
  std::vector<std::string> out;
  for (const auto& d : diags) {
    if (d.severity != severity) continue;
    const auto at = file.line_col(d.span.begin);
    out.push_back(std::string(grammar::code_name(d.code)) + " " + std::to_string(at.line) + ":" +
                  std::to_string(at.column));
  }
  std::sort(out.begin(), out.end());
  return out;
}

void run_corpus(const std::string& folder, bool valid) {
  for (const auto& path : test::corpus_files(folder)) {
    DYNAMIC_SECTION(path.filename().string()) {
      const auto text = test::read_file(path);
      const SourceFile file(path.string(), text);
      const auto diags = run(file);
      INFO(show(file, diags));
      auto expected_errors = test::header_values(text, "expect");
      auto expected_warnings = test::header_values(text, "warn");
      std::sort(expected_errors.begin(), expected_errors.end());
      std::sort(expected_warnings.begin(), expected_warnings.end());
      if (!valid) CHECK_FALSE(expected_errors.empty());
      if (valid) CHECK(expected_errors.empty());
      CHECK(located(file, diags, Severity::Error) == expected_errors);
      CHECK(located(file, diags, Severity::Warning) == expected_warnings);
    }
  }
}

}  // namespace

TEST_CASE("policy corpus: valid files have no errors", "[engine][validate][corpus]") {
  run_corpus("policy/valid", true);
}

TEST_CASE("policy corpus: invalid files have exactly the expected errors",
          "[engine][validate][corpus]") {
  run_corpus("policy/invalid", false);
}

}  // namespace validate_test
