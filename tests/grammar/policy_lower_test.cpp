#include <catch2/catch.hpp>
#include <string>

#include "postern/grammar/hujson.hpp"
#include "postern/grammar/policy_ast.hpp"

namespace policy_lower_test {

using namespace postern::grammar;
using policy::SelectorKind;

namespace {

struct Lowered {
  SourceFile file;
  policy::LowerResult result;
};

Lowered lower_text(const std::string& text) {
  SourceFile file("p.hujson", text);
  auto doc = hujson::parse(file);
  REQUIRE(doc.value.has_value());
  auto result = policy::lower_all(file, *doc.value);
  return Lowered{std::move(file), std::move(result)};
}

std::string errors_of(const Lowered& l) {
  std::string out;
  for (const auto& d : l.result.diags) {
    out += std::string(code_name(d.code)) + " " + d.message + " [" +
           std::string(l.file.slice(d.span)) + "]\n";
  }
  return out;
}

// Exactly one error with `code`, `message` and the underlined `snippet`.
void expect_error(const std::string& text, std::string_view code, const std::string& message,
                  const std::string& snippet) {
  const auto l = lower_text(text);
  INFO(errors_of(l));
  REQUIRE(l.result.diags.size() == 1);
  const auto& d = l.result.diags.front();
  CHECK(code_name(d.code) == code);
  CHECK(d.message == message);
  CHECK(std::string(l.file.slice(d.span)) == snippet);
}

}  // namespace

TEST_CASE("lowering the E1 policy keeps selectors, ports and spans", "[grammar][policy]") {
  const auto l = lower_text(R"({
    "groups": {"group:eng": ["bob@example.com"]},
    "acls": [{"action": "accept", "src": ["group:eng", "100.64.0.1", "corp", "host:lan"],
              "dst": ["tag:web:80,443", "*:*", "[fd7a:115c:a1e0::b]:5432", "fd7a::/48:22"]}],
  })");
  INFO(errors_of(l));
  REQUIRE(l.result.diags.empty());
  const auto& ast = l.result.ast;
  CHECK(ast.has_acls);
  CHECK_FALSE(ast.has_grants);
  REQUIRE(ast.acls.size() == 1);
  const auto& rule = ast.acls[0];
  CHECK(rule.action.value == "accept");
  REQUIRE(rule.src.size() == 4);
  CHECK(rule.src[0].kind == SelectorKind::Group);
  CHECK(rule.src[1].kind == SelectorKind::Address);
  CHECK(rule.src[2].kind == SelectorKind::Host);
  CHECK(rule.src[3].kind == SelectorKind::Host);
  CHECK(rule.src[3].name == "lan");  // `host:` prefix accepted and stripped
  REQUIRE(rule.dst.size() == 4);
  CHECK(rule.dst[0].selector.name == "tag:web");
  CHECK(std::string(l.file.slice(rule.dst[0].selector.source.span)) == "tag:web");
  CHECK(rule.dst[0].ports == std::vector<policy::PortRange>{{80, 80}, {443, 443}});
  CHECK(rule.dst[1].selector.kind == SelectorKind::Wildcard);
  CHECK(rule.dst[1].ports == std::vector<policy::PortRange>{{0, 65535}});
  CHECK(rule.dst[2].selector.kind == SelectorKind::Address);
  CHECK(ip::to_string(rule.dst[2].selector.prefix) == "fd7a:115c:a1e0::b");
  CHECK(rule.dst[3].selector.kind == SelectorKind::Address);  // unbracketed IPv6 CIDR accepted
  CHECK(rule.dst[3].selector.prefix.length == 48);
  CHECK_FALSE(rule.src_posture.has_value());
  CHECK(ast.groups.at("group:eng").at(0).value == "bob@example.com");
}

TEST_CASE("keys match case-insensitively and legacy aliases work", "[grammar][policy]") {
  const auto l = lower_text(R"({
    "ACLs": [{"Action": "accept", "Users": ["*"], "Ports": ["*:22"]}],
    "Tests": [{"User": "bob@example.com", "Allow": ["tag:web:22"]}],
  })");
  INFO(errors_of(l));
  REQUIRE(l.result.diags.empty());
  REQUIRE(l.result.ast.acls.size() == 1);
  CHECK(l.result.ast.acls[0].dst[0].ports == std::vector<policy::PortRange>{{22, 22}});
  REQUIRE(l.result.ast.tests.size() == 1);
  CHECK(l.result.ast.tests[0].src.value == "bob@example.com");
  CHECK(l.result.ast.tests[0].accept.at(0).value == "tag:web:22");
}

TEST_CASE("unknown fields are rejected", "[grammar][policy]") {
  expect_error(R"({"tests": [{"src": "a@b.c", "dst": ["x:1"], "accept": ["x:1"]}]})", "S202",
               "unknown field `dst`", "\"dst\"");
  expect_error(R"({"aclz": []})", "S202", "unknown field `aclz`", "\"aclz\"");
}

TEST_CASE("duplicate keys are rejected with both spans", "[grammar][policy]") {
  const auto l = lower_text(R"({"acls": [], "ACLS": []})");
  REQUIRE(l.result.diags.size() == 1);
  const auto& d = l.result.diags[0];
  CHECK(code_name(d.code) == "S203");
  CHECK(std::string(l.file.slice(d.span)) == "\"ACLS\"");
  REQUIRE(d.related.size() == 1);
  CHECK(std::string(l.file.slice(d.related[0].span)) == "\"acls\"");
  expect_error(R"({"groups": {"group:a": [], "group:a": []}})", "S203",
               "duplicate key `group:a` in groups", "\"group:a\"");
}

TEST_CASE("port specs follow Tailscale's rules and messages", "[grammar][policy]") {
  const auto acl = [](const std::string& dst) {
    return R"({"acls": [{"action": "accept", "src": ["*"], "dst": [")" + dst + R"("]}]})";
  };
  expect_error(acl("tag:web"), "S206", "dst=\"tag:web\": port range \"web\": invalid first integer",
               "web");
  expect_error(acl("autogroup:self"), "S206",
               "dst=\"autogroup:self\": port range \"self\": invalid first integer", "self");
  expect_error(acl("tag:server:ssh"), "S206",
               "dst=\"tag:server:ssh\": port range \"ssh\": invalid first integer", "ssh");
  expect_error(
      acl("tag:web:0"), "S206",
      "dst=\"tag:web:0\": port range \"0\": first port must be >0, or use '*' for wildcard", "0");
  expect_error(acl("tag:web:70000"), "S206",
               "dst=\"tag:web:70000\": port range \"70000\": invalid first integer", "70000");
  expect_error(acl("tag:web:90-80"), "S206",
               "dst=\"tag:web:90-80\": port range \"90-80\": first port must not be greater than "
               "last port",
               "90-80");
  expect_error(acl("tag:web:22, 80"), "S206",
               "dst=\"tag:web:22, 80\": port range \" 80\": invalid first integer", " 80");
  expect_error(acl("tag:web:80-x"), "S206",
               "dst=\"tag:web:80-x\": port range \"80-x\": invalid last integer", "80-x");
  expect_error(acl("web"), "S206", "dst=\"web\": missing port", "web");
  expect_error(acl("[10.0.0.1]:22"), "S209",
               "dst=\"[10.0.0.1]:22\": brackets are only allowed around an IPv6 address",
               "[10.0.0.1]");
  CHECK(policy::parse_ports("22,80,8000-8100") ==
        std::vector<policy::PortRange>{{22, 22}, {80, 80}, {8000, 8100}});
  CHECK_FALSE(policy::parse_ports("65536"));
  CHECK(policy::parse_ports("65535"));
}

TEST_CASE("protocols: names, numbers, and ports only for tcp/udp/sctp", "[grammar][policy]") {
  CHECK(policy::parse_proto("tcp") == 6);
  CHECK(policy::parse_proto("UDP") == 17);
  CHECK(policy::parse_proto("icmp") == 1);
  CHECK(policy::parse_proto("ipv6-icmp") == 58);
  CHECK(policy::parse_proto("ip-in-ip") == 4);
  CHECK(policy::parse_proto("fc") == 133);
  CHECK(policy::parse_proto("0") == 0);
  CHECK(policy::parse_proto("255") == 255);
  CHECK_FALSE(policy::parse_proto("256"));
  CHECK_FALSE(policy::parse_proto("06"));
  CHECK_FALSE(policy::parse_proto("*"));
  CHECK_FALSE(policy::parse_proto(""));
  expect_error(
      R"({"acls": [{"action": "accept", "src": ["*"], "proto": "gre", "dst": ["tag:router:47"]}]})",
      "S208", "protocol does not support specific ports", "\"tag:router:47\"");
  expect_error(R"({"acls": [{"action": "accept", "src": ["*"], "proto": "*", "dst": ["a:*"]}]})",
               "S207", "invalid protocol `*`", "\"*\"");
  const auto ok = lower_text(
      R"({"acls": [{"action": "accept", "src": ["*"], "proto": "gre", "dst": ["tag:router:*"]}]})");
  CHECK(ok.result.diags.empty());
  CHECK(ok.result.ast.acls.at(0).proto.number == 47);
}

TEST_CASE("grant ip items", "[grammar][policy]") {
  const auto l = lower_text(
      R"({"grants": [{"src": ["*"], "dst": ["tag:db"], "ip": ["*", "443", "80-443", "tcp:443", "icmp:*", "6:22"]}]})");
  INFO(errors_of(l));
  REQUIRE(l.result.diags.empty());
  const auto& ip = l.result.ast.grants.at(0).ip;
  REQUIRE(ip.size() == 6);
  CHECK_FALSE(ip[0].proto.number);
  CHECK(ip[3].proto.number == 6);
  CHECK(ip[3].ports == std::vector<policy::PortRange>{{443, 443}});
  CHECK(ip[4].proto.number == 1);
  CHECK(ip[5].proto.number == 6);
  expect_error(R"({"grants": [{"src": ["*"], "dst": ["tag:db"], "ip": ["icmp"]}]})", "S206",
               "port range \"icmp\": invalid first integer", "icmp");
  expect_error(R"({"grants": [{"src": ["*"], "dst": ["tag:db"], "ip": ["tcp:0"]}]})", "S206",
               "port range \"0\": first port must be >0, or use '*' for wildcard", "0");
  expect_error(R"({"grants": [{"src": ["*"], "dst": ["tag:db"], "ip": ["icmp:22"]}]})", "S208",
               "protocol does not support specific ports", "22");
}

TEST_CASE("selectors are classified by spelling", "[grammar][policy]") {
  const auto kind = [](std::string_view s) { return policy::classify_selector(s)->kind; };
  CHECK(kind("*") == SelectorKind::Wildcard);
  CHECK(kind("alice@example.com") == SelectorKind::User);
  CHECK(kind("alice@github") == SelectorKind::User);
  CHECK(kind("user:*@example.com") == SelectorKind::UserDomain);
  CHECK(policy::classify_selector("user:*@example.com")->name == "example.com");
  CHECK(kind("group:eng") == SelectorKind::Group);
  CHECK(kind("tag:web") == SelectorKind::Tag);
  CHECK(kind("autogroup:member") == SelectorKind::Autogroup);
  CHECK(kind("corp-lan") == SelectorKind::Host);
  CHECK(kind("10.0.0.0/8") == SelectorKind::Address);
  CHECK(kind("fd7a:115c:a1e0::1") == SelectorKind::Address);
  CHECK(kind("ipset:office") == SelectorKind::IpSet);
  CHECK(kind("svc:web") == SelectorKind::Service);
  CHECK_FALSE(policy::classify_selector("user:b*b@example.com"));
  CHECK_FALSE(policy::classify_selector("10.0.0.1-10.0.0.9"));
  CHECK_FALSE(policy::classify_selector("tag:"));
  CHECK_FALSE(policy::classify_selector("foo:bar"));
  CHECK_FALSE(policy::classify_selector(""));
}

TEST_CASE("postures are parsed in place with file positions", "[grammar][policy]") {
  const auto l = lower_text(
      R"({"postures": {"posture:mac": ["node:os == 'macos'", "node:tsVersion >= '1.40'"]},
  "defaultSrcPosture": ["posture:mac"]})");
  INFO(errors_of(l));
  REQUIRE(l.result.diags.empty());
  const auto& p = l.result.ast.postures.at("posture:mac");
  REQUIRE(p.conditions.size() == 2);
  CHECK(p.entries == 2);
  CHECK(std::string(l.file.slice(p.conditions[1].attribute_span)) == "node:tsVersion");
  REQUIRE(l.result.ast.default_src_posture);
  CHECK(l.result.ast.default_src_posture->at(0).value == "posture:mac");
  const auto bad = lower_text(R"({"postures": {"posture:x": ["node:os ~= 'macos'"]}})");
  REQUIRE(bad.result.diags.size() == 1);
  CHECK(bad.file.line_col(bad.result.diags[0].span.begin).column == 38);
  expect_error(R"({"postures": {"posture:x": "node:os == 'macos'"}})", "S204",
               "postures[\"posture:x\"]: expected a list of conditions", "\"node:os == 'macos'\"");
}

TEST_CASE("tests entries: srcPostureAttrs types and accept/deny", "[grammar][policy]") {
  const auto l = lower_text(R"({"tests": [{"src": "bob@example.com",
    "srcPostureAttrs": {"node:tsVersion": "1.61", "node:tsAutoUpdate": true, "falcon:ztaScore": 80},
    "proto": "tcp", "accept": ["tag:web:443"], "deny": ["tag:db:5432"]}]})");
  INFO(errors_of(l));
  REQUIRE(l.result.diags.empty());
  const auto& t = l.result.ast.tests.at(0);
  CHECK(t.has_src_posture_attrs);
  CHECK(std::get<std::string>(t.src_posture_attrs.at("node:tsVersion")) == "1.61");
  CHECK(std::get<bool>(t.src_posture_attrs.at("node:tsAutoUpdate")));
  CHECK(std::get<double>(t.src_posture_attrs.at("falcon:ztaScore")) == 80.0);
  CHECK(t.proto.number == 6);
  expect_error(
      R"({"tests": [{"src": "a@b.c", "srcPostureAttrs": {"k:x": [1]}, "deny": ["a:1"]}]})", "S211",
      "tests[0].srcPostureAttrs[\"k:x\"]: value must be a string, number or boolean", "[1]");
  expect_error(R"({"tests": [{"src": "a@b.c"}]})", "S211",
               "tests[0]: a test needs `accept` or `deny`", R"({"src": "a@b.c"})");
}

TEST_CASE("shape errors are all collected and capped at 50", "[grammar][policy]") {
  std::string text = R"({"acls": [)";
  for (int i = 0; i < 60; ++i) text += R"({"action": "accept", "src": ["*"], "dst": ["x:0"]},)";
  text += "]}";
  const auto l = lower_text(text);
  std::size_t errors = 0;
  for (const auto& d : l.result.diags) errors += d.severity == Severity::Error ? 1U : 0U;
  CHECK(errors == 50);
  REQUIRE_FALSE(l.result.diags.empty());
  CHECK(code_name(l.result.diags.back().code) == "S213");
  CHECK(l.result.diags.back().message == "too many errors: 10 more not shown");
}

TEST_CASE("lower() returns a value only without errors", "[grammar][policy]") {
  SourceFile good("p", R"({"acls": []})");
  CHECK(policy::lower(good, *hujson::parse(good).value).ok());
  SourceFile bad("p", R"({"acls": {}})");
  const auto parsed = policy::lower(bad, *hujson::parse(bad).value);
  CHECK_FALSE(parsed.ok());
  CHECK(parsed.has_errors());
  SourceFile not_object("p", "[]");
  CHECK(policy::lower(not_object, *hujson::parse(not_object).value).has_errors());
}

TEST_CASE("ipsets, ssh rules and opaque sections", "[grammar][policy]") {
  const auto l = lower_text(R"({
    "ipsets": {"ipset:office": ["add 10.0.0.0/8", "remove 10.1.0.0/16", "add host:lan", "add 10.2.0.1-10.2.0.9"]},
    "ssh": [{"action": "check", "src": ["group:a"], "dst": ["tag:x"], "users": ["root"], "checkPeriod": "12h", "acceptEnv": ["GIT_*"]}],
    "nodeAttrs": [{"target": ["*"], "attr": ["funnel"]}],
    "attrConfig": {"custom:tier": {"type": "string"}},
    "disableIPv4": false, "OneCGNATRoute": "mac-never", "randomizeClientPort": true,
  })");
  INFO(errors_of(l));
  REQUIRE(l.result.diags.empty());
  const auto& ops = l.result.ast.ipsets.at("ipset:office");
  REQUIRE(ops.size() == 4);
  CHECK_FALSE(ops[1].add);
  CHECK(ops[2].target.value == "host:lan");
  REQUIRE(l.result.ast.ssh.size() == 1);
  CHECK(l.result.ast.ssh[0].check_period->value == "12h");
  REQUIRE(l.result.ast.node_attrs.size() == 1);
  CHECK(l.result.ast.node_attrs[0].attr[0].value == "funnel");
  CHECK(l.result.ast.attr_config.has_value());  // accepted and kept, not interpreted
  expect_error(R"({"ipsets": {"ipset:x": ["10.0.0.0/8", "remove 10.1.0.0/16"]}})", "S210",
               "bare target `10.0.0.0/8` in an ipset that uses `remove`", "\"10.0.0.0/8\"");
  expect_error(R"({"ipsets": {"ipset:x": ["add tag:web"]}})", "S210",
               "invalid ipset target `tag:web`", "tag:web");
  expect_error(R"({"OneCGNATRoute": "sometimes"})", "S212",
               "invalid `OneCGNATRoute` value `sometimes`", "\"sometimes\"");
}

}  // namespace policy_lower_test
