// The decision corpus (tests/corpus/decisions/README.md): every worked example of the spec, each
// answer checked with both the reference evaluator and the compiled engine.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cctype>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>

#include "corpus.hpp"
#include "postern/engine/engine.hpp"
#include "postern/engine/policy_load.hpp"
#include "reference_evaluator.hpp"

namespace decisions_test {

using namespace postern;
namespace ip = grammar::ip;

namespace {

constexpr std::string_view kDefaultNow = "2026-01-01T00:00:00Z";

struct Query {
  std::string line;
  std::string src;
  std::string dst;
  std::uint8_t proto = engine::kProtoTcp;
  bool icmp = false;
  std::uint16_t port = 0;
  bool accept = false;
  std::optional<test::RefAttrs> attrs;
  std::int64_t now = 0;
  // Checked against the compiled engine's Decision only (README: explanation fields).
  std::optional<std::string> rule;  // `acls[0]` / `grants[2]` (engine::rule_name)
  std::optional<std::uint32_t> rule_line;
  std::optional<std::string> reason;  // `rule`, `allow-all`, `no-rule`, `posture-failed`
  std::vector<std::string> misses;    // every near miss, in order (miss_text)
};

std::string reason_name(engine::Reason reason) {
  switch (reason) {
    case engine::Reason::Rule:
      return "rule";
    case engine::Reason::AllowAll:
      return "allow-all";
    case engine::Reason::NoRule:
      return "no-rule";
    case engine::Reason::PostureFailed:
      return "posture-failed";
  }
  return "unknown";
}

// `acls[0]/posture:trusted{kandji:agentInstalled=false}`: the rule (`(default)` when its gate was
// defaultSrcPosture), then each posture of the gate with its failing conditions as
// `ATTRIBUTE=ACTUAL` (the device's value as a policy literal, or `unset`).
std::string miss_text(const engine::NearMiss& miss) {
  auto out = engine::rule_name(miss.rule);
  if (miss.from_default) out += "(default)";
  for (const auto& posture : miss.postures) {
    out += "/" + posture.posture + "{";
    for (std::size_t i = 0; i < posture.conditions.size(); ++i) {
      const auto& c = posture.conditions[i];
      if (i != 0) out += ",";
      out += c.attribute + "=" + (c.actual ? engine::attr_value_text(*c.actual) : "unset");
    }
    out += "}";
  }
  return out;
}

// The `key=value` options after ANSWER, separated by spaces. A value runs to the next space
// outside quotes ('...', "...") and brackets ({...}, [...]), so a JSON value may hold spaces.
std::vector<std::pair<std::string, std::string>> split_options(const std::string& text) {
  INFO("options: " << text);
  std::vector<std::pair<std::string, std::string>> out;
  std::size_t i = 0;
  while (true) {
    while (i < text.size() && text[i] == ' ') ++i;
    if (i == text.size()) break;
    const auto eq = text.find('=', i);
    const auto space = text.find(' ', i);
    if (eq == std::string::npos || (space != std::string::npos && space < eq)) {
      FAIL("query option without `=`: " << text.substr(i));
    }
    auto key = text.substr(i, eq - i);
    const auto start = eq + 1;
    int depth = 0;
    char quote = 0;
    for (i = start; i < text.size(); ++i) {
      const char c = text[i];
      if (quote != 0) {
        if (c == '\\' && quote == '"') {
          ++i;
        } else if (c == quote) {
          quote = 0;
        }
      } else if (c == '"' || c == '\'') {
        quote = c;
      } else if (c == '{' || c == '[' || c == '(') {
        ++depth;
      } else if (c == '}' || c == ']' || c == ')') {
        --depth;
      } else if (c == ' ' && depth == 0) {
        break;
      }
    }
    INFO("option " << key);
    REQUIRE(quote == 0);
    REQUIRE(depth == 0);
    i = std::min(i, text.size());
    out.emplace_back(std::move(key), text.substr(start, i - start));
  }
  return out;
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

test::RefAttrs attrs_from_json(const std::string& text) {
  const auto json = nlohmann::json::parse(text);
  REQUIRE(json.is_object());
  test::RefAttrs out;
  for (const auto& [key, value] : json.items()) {
    if (value.is_string()) {
      out[key] = value.get<std::string>();
    } else if (value.is_boolean()) {
      out[key] = value.get<bool>();
    } else {
      REQUIRE(value.is_number());
      out[key] = value.get<double>();
    }
  }
  return out;
}

// `SRC -> DST PROTO ANSWER [OPTION=VALUE]...`, options `attrs=`, `now=`, `rule=`, `reason=`,
// `miss=` (README). Anything malformed or unknown fails the test.
Query parse_query(const std::string& line) {
  INFO("query: " << line);
  Query q;
  q.line = line;
  std::istringstream in(line);
  std::string arrow, proto, answer;
  in >> q.src >> arrow >> q.dst >> proto >> answer;
  REQUIRE(arrow == "->");
  REQUIRE((answer == "accept" || answer == "deny"));
  q.accept = answer == "accept";
  const auto slash = proto.find('/');
  const auto name = proto.substr(0, slash);
  if (name == "icmp") {
    REQUIRE(slash == std::string::npos);
    q.icmp = true;
  } else {
    const auto number = grammar::policy::parse_proto(name);
    REQUIRE(number.has_value());
    q.proto = *number;
    if (slash != std::string::npos)
      q.port = static_cast<std::uint16_t>(std::stoi(proto.substr(slash + 1)));
  }
  q.now = *engine::parse_rfc3339(kDefaultNow);
  std::string rest;
  std::getline(in, rest);
  static const std::regex rule_syntax(
      R"(((?:acls|grants)\[(?:0|[1-9][0-9]*)\])(?:@([1-9][0-9]*))?)");
  static const std::regex miss_syntax(
      R"((?:acls|grants)\[(?:0|[1-9][0-9]*)\](?:\(default\))?(?:/posture:[^/{}]+\{[^{}]+\})+)");
  std::set<std::string> seen;
  for (const auto& [key, value] : split_options(rest)) {
    INFO("option " << key << "=" << value);
    REQUIRE_FALSE(value.empty());
    if (key != "miss" && !seen.insert(key).second) FAIL("query option given twice: " << key);
    if (key == "attrs") {
      q.attrs = attrs_from_json(value);
    } else if (key == "now") {
      const auto now = engine::parse_rfc3339(value);
      REQUIRE(now.has_value());
      q.now = *now;
    } else if (key == "rule") {
      std::smatch m;
      if (!std::regex_match(value, m, rule_syntax)) FAIL("malformed rule= (want acls[N]@LINE)");
      q.rule = m[1].str();
      if (m[2].matched) q.rule_line = static_cast<std::uint32_t>(std::stoul(m[2].str()));
    } else if (key == "reason") {
      if (value != "rule" && value != "allow-all" && value != "no-rule" &&
          value != "posture-failed") {
        FAIL("malformed reason= (want rule, allow-all, no-rule or posture-failed)");
      }
      q.reason = value;
    } else if (key == "miss") {
      if (!std::regex_match(value, miss_syntax)) {
        FAIL("malformed miss= (want RULE[(default)]/POSTURE{ATTR=ACTUAL,...}...)");
      }
      q.misses.push_back(value);
    } else {
      FAIL("unknown query option: " << key);
    }
  }
  if (!q.misses.empty() && q.accept) FAIL("miss= on an accept query");
  return q;
}

// The addresses a query side names: a device's own addresses, or one literal address.
std::vector<ip::Address> endpoint(const engine::Inventory& inventory, const std::string& name) {
  if (const auto address = ip::parse_address(name)) return {*address};
  const auto found = engine::find_devices(inventory, name);
  INFO("device " << name);
  REQUIRE(found.size() == 1);
  return inventory.devices[found.front()].addresses;
}

// Address pairs of one family each (README: every family both sides have).
std::vector<std::pair<ip::Address, ip::Address>> pairs(const engine::Inventory& inventory,
                                                       const Query& q) {
  std::vector<std::pair<ip::Address, ip::Address>> out;
  for (const auto& s : endpoint(inventory, q.src)) {
    for (const auto& d : endpoint(inventory, q.dst)) {
      if (s.v6 == d.v6) out.emplace_back(s, d);
    }
  }
  return out;
}

bool error_matches(const grammar::Diagnostic& d, const std::string& alternatives) {
  if (d.severity != grammar::Severity::Error) return false;
  const auto haystack =
      lower(std::string(grammar::code_name(d.code)) + " " + d.message + " " + d.help);
  std::size_t start = 0;
  while (start <= alternatives.size()) {
    auto end = alternatives.find(" | ", start);
    if (end == std::string::npos) end = alternatives.size();
    const auto needle = lower(alternatives.substr(start, end - start));
    if (!needle.empty() && haystack.find(needle) != std::string::npos) return true;
    start = end + 3;
  }
  return false;
}

const engine::Inventory& fixture() {
  static const engine::Inventory inventory = [] {
    const auto text =
        test::read_file(test::corpus_root() / "decisions" / "fixture" / "tailnet.json");
    auto result = engine::load_inventory(text);
    REQUIRE(result.errors.empty());
    return *result.inventory;
  }();
  return inventory;
}

void run_case(const std::filesystem::path& path) {
  const auto text = test::read_file(path);
  const auto& inventory = fixture();
  const auto loaded =
      engine::load_policy(path.filename().string(), text, engine::validate_context(inventory));

  const auto rejects = test::header_values(text, "expect-reject");
  if (!rejects.empty()) {
    REQUIRE(rejects.size() == 1);
    INFO("diagnostics:\n" << grammar::render_all(loaded.file, loaded.diags));
    CHECK_FALSE(loaded.ok());
    CHECK(std::any_of(loaded.diags.begin(), loaded.diags.end(),
                      [&](const auto& d) { return error_matches(d, rejects.front()); }));
    return;
  }
  INFO("diagnostics:\n" << grammar::render_all(loaded.file, loaded.diags));
  REQUIRE(loaded.ok());
  const auto& ast = *loaded.ast;

  const auto now = *engine::parse_rfc3339(kDefaultNow);
  for (const auto& expect : test::header_values(text, "tests")) {
    INFO("tests: " << expect);
    const auto result = engine::run_policy_tests(loaded.file, ast, &inventory, {.now = now});
    if (expect == "pass") {
      CHECK(result.passed);
      CHECK(result.failures.empty());
    } else {
      REQUIRE(expect.rfind("fail ", 0) == 0);
      const auto user = expect.substr(5);
      CHECK_FALSE(result.passed);
      CHECK(std::any_of(result.failures.begin(), result.failures.end(),
                        [&](const auto& f) { return f.user == user && !f.errors.empty(); }));
    }
  }

  std::vector<Query> queries;
  for (const auto& line : test::header_values(text, "query")) queries.push_back(parse_query(line));
  const auto has_tests = !test::header_values(text, "tests").empty();
  REQUIRE((!queries.empty() || has_tests));

  const test::ReferenceEvaluator reference(ast, inventory);
  std::map<std::int64_t, std::unique_ptr<engine::Engine>> engines;  // one compile per `now`
  for (const auto& q : queries) {
    auto& compiled = engines[q.now];
    if (!compiled) compiled = engine::Engine::compile(loaded.file, ast, inventory, {.now = q.now});
    REQUIRE(compiled);
    const auto address_pairs = pairs(inventory, q);
    INFO("query: " << q.line);
    REQUIRE_FALSE(address_pairs.empty());
    engine::AttrMap engine_attrs;
    if (q.attrs) engine_attrs.insert(q.attrs->begin(), q.attrs->end());
    for (const auto& [src, dst] : address_pairs) {
      const std::uint8_t proto =
          q.icmp ? (src.v6 ? engine::kProtoIcmpV6 : engine::kProtoIcmp) : q.proto;
      INFO(ip::to_string(src) << " -> " << ip::to_string(dst) << " proto " << int{proto} << " port "
                              << q.port);
      const test::RefQuery ref_query{src, dst, proto, q.port, q.attrs ? &*q.attrs : nullptr, q.now};
      CHECK(reference.allowed(ref_query) == q.accept);
      engine::Request request;
      request.src = src;
      request.dst = dst;
      request.proto = proto;
      request.port = q.port;
      request.src_attrs = q.attrs ? &engine_attrs : nullptr;
      const auto decision = compiled->check(request);
      CHECK(decision.allow == q.accept);
      if (decision.allow) {
        CHECK((decision.rule.has_value() || decision.reason == engine::Reason::AllowAll));
      }
      if (q.rule) {
        REQUIRE(decision.rule.has_value());
        CHECK(engine::rule_name(*decision.rule) == *q.rule);
        if (q.rule_line) CHECK(decision.rule->line == *q.rule_line);
      }
      if (q.reason) CHECK(reason_name(decision.reason) == *q.reason);
      if (!q.misses.empty()) {
        std::vector<std::string> misses;
        for (const auto& miss : decision.near_misses) misses.push_back(miss_text(miss));
        CHECK(misses == q.misses);
      }
    }
  }
}

}  // namespace

TEST_CASE("every worked example of the spec gives its stated answers", "[engine][decisions]") {
  std::size_t cases = 0;
  for (const auto& path : test::corpus_files("decisions")) {
    if (path.extension() != ".hujson") continue;
    ++cases;
    DYNAMIC_SECTION(path.filename().string()) { run_case(path); }
  }
  CHECK(cases >= 40);
}

TEST_CASE("the fixture is the spec's shared fixture", "[engine][decisions]") {
  const auto& inventory = fixture();
  CHECK(inventory.devices.size() == 10);
  CHECK(inventory.users.size() == 4);
  const auto d5 = engine::find_devices(inventory, "carol-mac");
  REQUIRE(d5.size() == 1);
  const auto& carol = inventory.devices[d5.front()];
  CHECK(std::get<std::string>(carol.attributes.at("node:tsVersion")) == "1.40");
  CHECK(carol.expiries.at("custom:prodAccess") == *engine::parse_rfc3339("2099-01-01T00:00:00Z"));
  const auto x1 = engine::find_devices(inventory, "dave-laptop");
  REQUIRE(x1.size() == 1);
  CHECK(inventory.devices[x1.front()].is_external);
  CHECK(inventory.devices[x1.front()].attributes.empty());
}

}  // namespace decisions_test
