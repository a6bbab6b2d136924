// Posture condition grammar (spec policy-language.md §5.3, docs/semantics.md#posture): every spec
// example, each decided UNCERTAIN point, every diagnostic with its underlined snippet, spans inside
// the policy file, analyze<>, and runs with and without actions.
#include "postern/grammar/posture.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <tao/pegtl/contrib/analyze.hpp>
#include <variant>
#include <vector>

#include "../../grammar/src/posture_rules.hpp"
#include "posture_support.hpp"

namespace posture_test {

namespace {

using postern::grammar::Span;
using postern::grammar::posture::Condition;
using postern::grammar::posture::Op;
using postern::test::expect_diag;
using postern::test::expect_posture;
using postern::test::parse_posture;
namespace posture = postern::grammar::posture;

Condition parsed(std::string_view text) {
  auto p = parse_posture(text);
  INFO(postern::grammar::render_all(p.file, p.result.diags));
  REQUIRE(p.result.ok());
  return *p.result.value;
}

std::string str(const Condition& c, std::size_t i) {
  return std::get<std::string>(c.operands.at(i).value);
}
double num(const Condition& c, std::size_t i) { return std::get<double>(c.operands.at(i).value); }
bool boolean(const Condition& c, std::size_t i) { return std::get<bool>(c.operands.at(i).value); }

}  // namespace

TEST_CASE("posture: the spec's official example conditions parse", "[grammar][posture]") {
  expect_posture("ip:country in ['CA', 'US', 'GB', 'NL']",
                 "ip:country IN ['CA', 'US', 'GB', 'NL']");
  expect_posture("node:os IN ['macos', 'linux']");
  expect_posture("node:osVersion == '13.4.0'");
  expect_posture("node:tsAutoUpdate == true");
  expect_posture("node:tsReleaseTrack == 'stable'");
  expect_posture("node:tsVersion >= '1.42.2'");
  expect_posture("custom:attr IS SET");
  expect_posture("falcon:ztaScore >= 70");
  expect_posture("sentinelOne:operationalState == 'na'");
  expect_posture("sentinelOne:activeThreats == 0");
  expect_posture("intune:complianceState == 'compliant'");
  expect_posture("intune:isSupervised == true");
  expect_posture("kandji:agentInstalled == true");
  expect_posture("fleet:present");
}

TEST_CASE("posture: the conditions of the spec's example corpus parse", "[grammar][posture]") {
  expect_posture("node:os == 'macos'");
  expect_posture("node:os == 'linux'");
  expect_posture("node:os == 'windows'");
  expect_posture("node:tsVersion >= '1.40'");
  expect_posture("node:tsVersion >= '1.40.0'");
  expect_posture("custom:score > 80");
  expect_posture("custom:tier != 'gold'");
  expect_posture("custom:tier IS SET");
  expect_posture("custom:tier NOT SET");
  expect_posture("ip:country IN ['US', 'CA']");
  expect_posture("ip:country NOT IN ['KP', 'IR']");
  expect_posture("ip:country in ['US', 'CA']", "ip:country IN ['US', 'CA']");
  expect_posture("node:tsAutoUpdate");
  expect_posture("node:osVersion >= '14'");
  expect_posture("node:osVersion >= '10.0.22000'");
  expect_posture("kolide:authState == 'Will Block'");
  expect_posture("huntress:defenderPolicyStatus IN ['Non Compliant', 'Gpo Conflict']");
  expect_posture("jamfPro:SIPEnabled == 'ENABLED'");
  expect_posture("fleetPolicy:disk_encryption_2 == true");
}

TEST_CASE("posture: the parts of a condition", "[grammar][posture]") {
  const auto c = parsed("ip:country NOT IN ['KP', 'IR']");
  CHECK(c.ns == "ip");
  CHECK(c.key == "country");
  CHECK(c.attribute == "ip:country");
  CHECK(c.op == Op::NotIn);
  REQUIRE(c.operands.size() == 2);
  CHECK(str(c, 0) == "KP");
  CHECK(c.operands[0].text == "'KP'");
  CHECK(str(c, 1) == "IR");

  const auto set = parsed("custom:attr IS SET");
  CHECK(set.op == Op::IsSet);
  CHECK(set.operands.empty());
  CHECK(parsed("custom:attr NOT SET").op == Op::NotSet);

  const std::vector<std::pair<std::string, Op>> ops = {
      {"==", Op::Eq}, {"!=", Op::Ne}, {"<", Op::Lt}, {"<=", Op::Le}, {">", Op::Gt}, {">=", Op::Ge}};
  for (const auto& [spelling, op] : ops) {
    const auto cmp = parsed("falcon:ztaScore " + spelling + " 70");
    CHECK(cmp.op == op);
    CHECK(posture::op_spelling(op) == spelling);
    CHECK(num(cmp, 0) == 70.0);
  }
}

TEST_CASE("posture: spans point into the policy file", "[grammar][posture]") {
  const auto p = parse_posture("ip:country  NOT IN ['KP', 'IR']  ");
  REQUIRE(p.result.ok());
  const auto& c = *p.result.value;
  CHECK(p.file.slice(c.attribute_span) == "ip:country");
  CHECK(p.file.slice(c.op_span) == "NOT IN");
  CHECK(p.file.slice(c.operands[1].span) == "'IR'");
  CHECK(p.file.slice(c.span) == "ip:country  NOT IN ['KP', 'IR']");
  // The condition starts on line 2, column 18 of the helper's policy text.
  CHECK(p.file.line_col(c.attribute_span.begin) == postern::grammar::LineCol{2, 18});

  const auto bad = parse_posture("node:os ~= 'macos'");
  REQUIRE(bad.result.diags.size() == 1);
  const std::string rendered = postern::grammar::render(bad.file, bad.result.diags.front());
  CHECK(rendered.rfind("policy.hujson:2:26: error[P104]: unknown operator `~=`\n", 0) == 0);
  CHECK(rendered.find("\n" + std::string(2 + 25, ' ') + "^~\n") != std::string::npos);
}

TEST_CASE("posture: strings with JSON escapes fall back to the whole string's span",
          "[grammar][posture][decision]") {
  // The file holds `"node:os == \"macos\""`; the decoded text is shorter than its span.
  const std::string raw = R"(node:os == \"macos\")";
  const postern::grammar::SourceFile file("p.hujson", "[\"" + raw + "\"]");
  const Span span{2, static_cast<std::uint32_t>(2 + raw.size())};
  const auto ok = posture::parse(file, "node:os == \"macos\"", span, false);
  REQUIRE(ok.ok());
  CHECK(str(*ok.value, 0) == "macos");
  CHECK(ok.value->operands[0].span == span);
  CHECK(ok.value->attribute_span == span);

  const auto bad = posture::parse(file, "node:os == \"macos", span, false);
  REQUIRE(bad.diags.size() == 1);
  CHECK(postern::grammar::code_name(bad.diags[0].code) == "P106");
  CHECK(bad.diags[0].span == span);

  // verbatim=true with a span whose length does not match the text is treated the same way.
  const auto mismatch = posture::parse(file, "node:os ~= 1", span, true);
  REQUIRE(mismatch.diags.size() == 1);
  CHECK(mismatch.diags[0].span == span);
}

TEST_CASE("posture decision: a bare attribute is its own operator meaning `== true`",
          "[grammar][posture][decision]") {
  const auto c = parsed("node:tsAutoUpdate");
  CHECK(c.op == Op::Bare);
  CHECK(c.operands.empty());
  CHECK(posture::op_spelling(Op::Bare).empty());
  expect_posture("  fleet:present\t ", "fleet:present");
}

TEST_CASE("posture decision: keywords and booleans are case-insensitive",
          "[grammar][posture][decision]") {
  expect_posture("node:os in ['macos']", "node:os IN ['macos']");
  expect_posture("node:os In ['macos']", "node:os IN ['macos']");
  expect_posture("node:os not in ['macos']", "node:os NOT IN ['macos']");
  expect_posture("node:os nOt   iN ['macos']", "node:os NOT IN ['macos']");
  expect_posture("custom:x is set", "custom:x IS SET");
  expect_posture("custom:x Not Set", "custom:x NOT SET");
  CHECK(boolean(parsed("kandji:agentInstalled == TRUE"), 0));
  CHECK_FALSE(boolean(parsed("kandji:agentInstalled == False"), 0));
  expect_posture("kandji:agentInstalled == True", "kandji:agentInstalled == true");
  // Attribute names stay case-sensitive: they keep their spelling.
  CHECK(parsed("JamfPro:SIPEnabled == 'ENABLED'").attribute == "JamfPro:SIPEnabled");
  // Keywords are whole words.
  expect_diag("node:os INSIDE ['a']", "P103", "INSIDE");
  expect_diag("kandji:agentInstalled == trueish", "P105", "trueish");
}

TEST_CASE("posture decision: single and double quotes, no escapes",
          "[grammar][posture][decision]") {
  CHECK(str(parsed("node:os == \"macos\""), 0) == "macos");
  expect_posture("node:os == \"macos\"", "node:os == 'macos'");
  // Each quote style holds the other one; to_string picks the style that needs no escape.
  CHECK(str(parsed("custom:x == \"it's\""), 0) == "it's");
  expect_posture("custom:x == \"it's\"");
  expect_posture("custom:x == 'say \"hi\"'");
  // A backslash is an ordinary character, so it cannot escape the closing quote.
  CHECK(str(parsed(R"(custom:x == 'a\b')"), 0) == R"(a\b)");
  expect_diag(R"(custom:x == 'it\'s')", "P112", "s");
  expect_posture("custom:x == ''");
  expect_posture("custom:x IN ['', ' ']");
}

TEST_CASE("posture decision: any spaces and tabs, none needed around symbols",
          "[grammar][posture][decision]") {
  expect_posture("node:os=='macos'", "node:os == 'macos'");
  expect_posture("falcon:ztaScore>=-5", "falcon:ztaScore >= -5");
  expect_posture("\t node:os \t==\t 'macos' \t", "node:os == 'macos'");
  expect_posture("node:os IN['macos','linux']", "node:os IN ['macos', 'linux']");
  expect_posture("node:os IN [ 'macos' , 'linux' ]", "node:os IN ['macos', 'linux']");
  expect_posture("custom:x   IS\t\tSET", "custom:x IS SET");
  // Line breaks (only possible through JSON escapes) are not whitespace.
  expect_diag("node:os ==\n'macos'", "P105", "\n");
}

TEST_CASE("posture decision: negative and decimal numbers", "[grammar][posture][decision]") {
  CHECK(num(parsed("custom:x > -3"), 0) == -3.0);
  CHECK(num(parsed("custom:x < 2.75"), 0) == 2.75);
  CHECK(num(parsed("custom:x == -0.5"), 0) == -0.5);
  CHECK(num(parsed("custom:x == 007"), 0) == 7.0);
  expect_posture("custom:x == 007", "custom:x == 7");
  expect_posture("custom:x == 1.50", "custom:x == 1.5");
  expect_posture("custom:x IN [1, -2, 3.25]");
  expect_diag("custom:x == 1.", "P114", "1.");
  expect_diag("custom:x == .5", "P105", ".5");
  expect_diag("custom:x == +5", "P105", "+");
  expect_diag("custom:x == 1e5", "P114", "1e5");
  expect_diag("custom:x == - 5", "P114", "-");
  expect_diag("node:tsVersion >= 1.42.2", "P114", "1.42.2");
  const std::string huge = "1" + std::string(400, '0');
  expect_diag("custom:x == " + huge, "P114", huge);
}

TEST_CASE("posture decision: one trailing comma in a list", "[grammar][posture][decision]") {
  expect_posture("node:os IN ['macos',]", "node:os IN ['macos']");
  expect_posture("node:os IN ['macos', 'linux' , ]", "node:os IN ['macos', 'linux']");
  expect_diag("node:os IN ['macos',,]", "P109", ",");
  expect_diag("node:os IN [,]", "P109", ",");
}

TEST_CASE("posture decision: list values share one type", "[grammar][posture][decision]") {
  expect_posture("custom:x IN [true, false]");
  expect_diag("custom:x IN ['a', 1]", "P115", "1");
  expect_diag("custom:x NOT IN [1, 2, true]", "P115", "true");
}

TEST_CASE("posture decision: ordering operators never take booleans",
          "[grammar][posture][decision]") {
  expect_diag("custom:x > true", "P116", "true");
  expect_diag("custom:x <= FALSE", "P116", "FALSE");
  // Strings are allowed by the grammar; whether the attribute is a version is the validator's call.
  expect_posture("node:os > 'a'");
}

TEST_CASE("posture: diagnostics underline the bad token", "[grammar][posture]") {
  expect_diag("", "P101", "");
  expect_diag("  \t ", "P101", "");
  expect_diag("os == 'macos'", "P102", "os");
  expect_diag("node: == 'macos'", "P102", "node:");
  expect_diag(":os == 'macos'", "P102", ":os");
  expect_diag("1node:os == 'macos'", "P102", "1node:os");
  expect_diag("node:os.version == '1'", "P102", "node:os.version");
  expect_diag("node_x:os == '1'", "P102", "node_x:os");
  expect_diag("== 'macos'", "P102", "==");
  expect_diag("node:os 'macos'", "P103", "'macos'");
  expect_diag("node:os macos", "P103", "macos");
  expect_diag("node:os LIKE 'mac%'", "P103", "LIKE");
  expect_diag("node:os [1]", "P103", "[");
  expect_diag("node:os ~= 'macos'", "P104", "~=");
  expect_diag("node:os = 'macos'", "P104", "=");
  expect_diag("node:os === 'macos'", "P104", "===");
  expect_diag("node:os =< 'macos'", "P104", "=<");
  expect_diag("node:os ==", "P105", "");
  expect_diag("node:os == macos", "P105", "macos");
  expect_diag("node:os != ", "P105", "");
  expect_diag("node:os == 'macos", "P106", "'macos");
  expect_diag("node:os == \"macos", "P106", "\"macos");
  expect_diag("node:os IN ['macos', 'linux]", "P106", "'linux]");
  expect_diag("node:os IN 'macos'", "P107", "'macos'");
  expect_diag("node:os NOT IN 'macos'", "P107", "'macos'");
  expect_diag("node:os IN", "P107", "");
  expect_diag("node:os == ['macos']", "P108", "['macos']");
  expect_diag("falcon:ztaScore >= [70, 80]", "P108", "[70, 80]");
  expect_diag("node:os != ['a', ']', 'b'", "P108", "['a', ']', 'b'");
  expect_diag("node:os IN [macos]", "P109", "macos");
  expect_diag("node:os IN ['macos',", "P109", "");
  expect_diag("node:os IN [['macos']]", "P109", "[");
  expect_diag("node:os IN ['macos' 'linux']", "P110", "'linux'");
  expect_diag("node:os IN ['macos'", "P110", "");
  expect_diag("node:os IN ['macos'))", "P110", ")");
  expect_diag("node:os IN []", "P111", "[]");
  expect_diag("node:os NOT IN [ ]", "P111", "[ ]");
  expect_diag("node:os == 'macos' extra", "P112", "extra");
  expect_diag("node:os == 'macos' AND node:tsAutoUpdate", "P112", "AND");
  expect_diag("custom:x IS SET 1", "P112", "1");
  expect_diag("node:os IN ['a'] ]", "P112", "]");
  expect_diag("node:os == 'a''b'", "P112", "'b'");
  expect_diag("custom:x IS NULL", "P113", "NULL");
  expect_diag("custom:x IS", "P113", "");
  expect_diag("custom:x IS NOT SET", "P113", "NOT");
  expect_diag("custom:x NOT 'a'", "P113", "'a'");
  expect_diag("custom:x NOT", "P113", "");
  expect_diag("custom:x == 12abc", "P114", "12abc");
}

TEST_CASE("posture: messages name the attribute, operator and token", "[grammar][posture]") {
  const auto message = [](std::string_view text) {
    const auto p = parse_posture(text);
    REQUIRE(p.result.diags.size() == 1);
    return p.result.diags.front().message;
  };
  CHECK(message("node:os 'macos'") == "expected operator after `node:os`");
  CHECK(message("node:os ~= 'macos'") == "unknown operator `~=`");
  CHECK(message("node:os in 'macos'") == "IN requires a list");
  CHECK(message("node:os not in 'macos'") == "NOT IN requires a list");
  CHECK(message("node:os == ['macos']") == "== requires a single value");
  CHECK(message("node:os == 'macos") == "unterminated string");
  CHECK(message("node:os == 'macos' extra") == "unexpected `extra` after condition");
  CHECK(message("os == 'macos'") == "invalid attribute `os`");
  CHECK(message("node:os >=") == "expected value after `>=`");
  CHECK(message("custom:x < true") == "operator `<` cannot compare booleans");
  CHECK(message("custom:x IN [1, 'a']") == "list mixes number and string values");
  CHECK(message("custom:x IN []") == "IN requires a non-empty list");
  // Long tokens are shortened in the message; the span keeps the whole token.
  const std::string long_word(100, 'x');
  CHECK(message("node:os == 'a' " + long_word) ==
        "unexpected `" + std::string(40, 'x') + "...` after condition");
  expect_diag("node:os == 'a' " + long_word, "P112", long_word);
}

TEST_CASE("posture: diagnostics follow the message style", "[grammar][posture]") {
  const std::vector<std::string> bad = {"",
                                        "os == 1",
                                        "node:os 'x'",
                                        "node:os ~= 1",
                                        "node:os ==",
                                        "node:os == 'x",
                                        "node:os IN 1",
                                        "node:os == [1]",
                                        "node:os IN [,]",
                                        "node:os IN [1",
                                        "node:os IN []",
                                        "node:os == 1 x",
                                        "node:os IS",
                                        "node:os == 1x",
                                        "node:os IN [1, 'a']",
                                        "node:os < false"};
  for (const auto& text : bad) {
    INFO(text);
    const auto p = parse_posture(text);
    REQUIRE(p.result.diags.size() == 1);
    const auto& d = p.result.diags.front();
    REQUIRE_FALSE(d.message.empty());
    CHECK(d.message.back() != '.');
    CHECK_FALSE(d.help.empty());
    CHECK(d.code != postern::grammar::DiagCode::H001);
  }
}

TEST_CASE("posture: to_string is canonical and round-trips", "[grammar][posture]") {
  expect_posture("custom:x  ==  -0.25", "custom:x == -0.25");
  expect_posture("custom:x == 123456789012345678901234567890",
                 "custom:x == 123456789012345677877719597056");
  expect_posture("custom:x NOT IN [\"a'b\", 'c']", "custom:x NOT IN [\"a'b\", 'c']");
  expect_posture("ip:country not in ['KP']", "ip:country NOT IN ['KP']");
  expect_posture("custom:x < 0.1");
  // equivalent() ignores spelling and spans but not values or operators.
  CHECK(posture::equivalent(parsed("custom:x == 'a'"), parsed(" custom:x==\"a\"")));
  CHECK_FALSE(posture::equivalent(parsed("custom:x == 'a'"), parsed("custom:x != 'a'")));
  CHECK_FALSE(posture::equivalent(parsed("custom:x == 'a'"), parsed("custom:x == 'b'")));
  CHECK_FALSE(posture::equivalent(parsed("custom:x == 1"), parsed("custom:x == '1'")));
  CHECK_FALSE(posture::equivalent(parsed("custom:x == 1"), parsed("custom:y == 1")));
  CHECK_FALSE(posture::equivalent(parsed("custom:x IN [1]"), parsed("custom:x IN [1, 2]")));
}

TEST_CASE("posture: version attributes", "[grammar][posture][decision]") {
  CHECK(posture::is_version_attribute("node:osVersion"));
  CHECK(posture::is_version_attribute("node:tsVersion"));
  CHECK(posture::is_version_attribute("sentinelOne:agentVersion"));
  CHECK_FALSE(posture::is_version_attribute("node:os"));
  CHECK_FALSE(posture::is_version_attribute("node:osversion"));
  CHECK_FALSE(posture::is_version_attribute("custom:version"));
  CHECK_FALSE(posture::is_version_attribute(""));
}

TEST_CASE("posture: the grammar has no loops without progress", "[grammar][posture][analyze]") {
  CHECK(tao::pegtl::analyze<posture::rules::condition>(-1) == 0);
}

namespace {

struct RawOutcome {
  bool ok = false;
  postern::grammar::DiagCode code{};
  std::size_t begin = 0;
  std::size_t end = 0;
};

// The grammar alone: no actions, no state.
RawOutcome match_without_actions(std::string_view text) {
  tao::pegtl::memory_input<tao::pegtl::tracking_mode::lazy> in(text.data(),
                                                               text.data() + text.size(), "raw");
  try {
    tao::pegtl::parse<posture::rules::condition, tao::pegtl::nothing, posture::control>(in);
    return RawOutcome{true, {}, 0, 0};
  } catch (const posture::SyntaxError& error) {
    return RawOutcome{false, error.code, error.begin, error.end};
  }
}

}  // namespace

TEST_CASE("posture: actions never change what the grammar matches", "[grammar][posture]") {
  const std::vector<std::string> inputs = {
      "node:os == 'macos'",     "ip:country in ['US', 'CA',]",
      "custom:x NOT SET",       "node:tsAutoUpdate",
      "falcon:ztaScore>=-70.5", "os == 1",
      "node:os ~= 'x'",         "node:os IN 'x'",
      "node:os == ['x']",       "node:os == 'x",
      "node:os == 'x' y",       "node:os IN []",
      "node:os IN ['a' 'b']",   "custom:x IS",
      "custom:x == 1e5",        "custom:x IN [1, 'a']",
      "custom:x > true",        "",
      "node:os NOT 'a'",        "custom:x == 1" + std::string(400, '0')};
  using postern::grammar::DiagCode;
  for (const auto& text : inputs) {
    INFO("condition: `" << text << "`");
    const RawOutcome raw = match_without_actions(text);
    const auto full = parse_posture(text);
    if (raw.ok) {
      // Only the checks that need built values may still reject it.
      if (!full.result.ok()) {
        REQUIRE(full.result.diags.size() == 1);
        const auto code = full.result.diags.front().code;
        CHECK((code == DiagCode::P114 || code == DiagCode::P115 || code == DiagCode::P116));
      }
    } else {
      REQUIRE_FALSE(full.result.ok());
      REQUIRE(full.result.diags.size() == 1);
      const auto& d = full.result.diags.front();
      CHECK(d.code == raw.code);
      CHECK(d.span.begin == full.text_span.begin + raw.begin);
      CHECK(d.span.end == full.text_span.begin + raw.end);
    }
  }
}

}  // namespace posture_test
