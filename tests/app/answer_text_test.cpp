// The server's fast answer writer (answer_text) against the nlohmann shapes (decision_json) that
// the CLI prints: the same bytes for accepts, denies, explained denies with posture failures,
// user sources with several devices, errors, and text that needs escaping.
#include "answer_text.hpp"

#include <catch2/catch.hpp>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "decision_json.hpp"
#include "json_files.hpp"
#include "postern/control/attribute_json.hpp"
#include "postern/control/query.hpp"
#include "sample_tailnet.hpp"

namespace answer_text_test {

using namespace postern;

namespace {

struct Fixture : test::SampleTailnet {
  Fixture() : SampleTailnet("postern-answer-text") {}
};

// What the nlohmann shapes give, with the file named by its label (as the server does).
nlohmann::json relabelled(nlohmann::json value, const std::string& label) {
  return test::rename_files(std::move(value), [&](const std::string&) { return label; });
}

std::string expected_check(const engine::Snapshot& snap, const control::CheckAnswer& checked,
                           bool explain, const std::string& label) {
  const auto& [query, answer] = checked;
  nlohmann::json results = nlohmann::json::array();
  for (std::size_t i = 0; i < answer.decisions.size(); ++i) {
    results.push_back(app::decision_json(snap.file(), answer.decisions[i], query.src.labels[i],
                                         query.dst.labels[0], query.proto, query.port, explain));
  }
  const nlohmann::json whole = {{"decision", answer.accept ? "accept" : "deny"},
                                {"allow", answer.accept},
                                {"results", std::move(results)}};
  return relabelled(whole, label).dump();
}

}  // namespace

TEST_CASE("single-check answers are the nlohmann shapes byte for byte", "[answer_text]") {
  Fixture f;
  const auto snap = f.tailnet->snapshot();
  // Rule objects written per answer, or once per policy load on this thread (twice over, so
  // that the second round reads what the first made).
  const bool per_load = GENERATE(false, true, true);
  const app::AnswerFile file(snap->file(),
                             per_load ? snap->policy_identity() : std::shared_ptr<const void>());
  const std::string label(file.label());
  CHECK(label == "policy.hujson");
  const std::vector<std::pair<std::string, std::string>> queries = {
      {"alice-mbp", "web-1:443"},   {"alice-mbp", "db-1:5432"}, {"bob@example.com", "web-1:443"},
      {"erin-mbp", "web-1:443"},    {"carol-mbp", "web-1:22"},  {"alice-mbp", "100.64.0.99:80"},
      {"bob-linux", "alice-mbp:1"},
  };
  for (const bool explain : {false, true}) {
    for (const auto& [src, dst] : queries) {
      control::QueryInput input;
      input.src = src;
      input.dst = dst;
      input.explain = explain;
      const auto checked = control::check(*snap, input);
      if (!checked) continue;  // an address not in the tailnet, say
      std::string text;
      app::append_check_answer(text, file, checked.value(), explain);
      INFO(src << " -> " << dst << (explain ? " (explain)" : ""));
      CHECK(text == expected_check(*snap, checked.value(), explain, label));
    }
  }
}

TEST_CASE("batch answers are the nlohmann shapes byte for byte", "[answer_text]") {
  Fixture f;
  const auto snap = f.tailnet->snapshot();
  const bool per_load = GENERATE(false, true, true);
  const app::AnswerFile file(snap->file(),
                             per_load ? snap->policy_identity() : std::shared_ptr<const void>());
  const std::string label(file.label());
  std::vector<std::pair<std::string, std::string>> produced;
  control::BatchChecker checker(snap, [&](const control::BatchChecker::Answer& a) {
    std::string text;
    app::append_batch_answer(text, file, a);
    produced.emplace_back(text, relabelled(app::batch_answer_json(snap->file(), a), label).dump());
  });
  for (const auto& [src, dst, explain] : std::vector<std::tuple<std::string, std::string, bool>>{
           {"alice-mbp", "web-1:443", false},
           {"erin-mbp", "web-1:443", true},
           {"erin-mbp", "web-1:443", false},
           {"carol-mbp", "db-1:5432", true},
           {"nobody \"quoted\"\n", "web-1:443", false},
       }) {
    control::QueryInput input;
    input.src = src;
    input.dst = dst;
    input.explain = explain;
    checker.add(input);
  }
  checker.add_error(control::invalid(grammar::DiagCode::C703, "`dst` must be a \"host:port\""));
  checker.finish();
  REQUIRE(produced.size() == 6);
  for (const auto& [fast, reference] : produced) CHECK(fast == reference);
}

TEST_CASE("rule objects made once per policy load name that load's lines", "[answer_text]") {
  // Two loads of files with the same label, whose acls[0] sits on different lines, answered in
  // turn on one thread: each answer names its own load's line.
  const grammar::SourceFile first("one/policy.hujson", "{}");
  const grammar::SourceFile second("two/policy.hujson", "{}");
  const auto accept_text = [](const app::AnswerFile& file, std::uint32_t line, std::size_t index) {
    engine::Decision decision;
    decision.allow = true;
    decision.reason = engine::Reason::Rule;
    decision.rule = engine::RuleRef{engine::RuleKind::Acl, index, {}, line};
    control::BatchChecker::Answer answer;
    answer.accept = true;
    answer.decision = &decision;
    std::string text;
    app::append_batch_answer(text, file, answer);
    return text;
  };
  const auto expected = [](std::uint32_t line, std::size_t index) {
    return R"({"allow":true,"decision":"accept","rule":{"file":"policy.hujson","line":)" +
           std::to_string(line) + R"(,"rule":"acls[)" + std::to_string(index) + R"(]"}})";
  };
  auto load_one = std::make_shared<int>(1);
  const auto load_two = std::make_shared<int>(2);
  for (int round = 0; round < 2; ++round) {
    CHECK(accept_text(app::AnswerFile(first, load_one), 3, 0) == expected(3, 0));
    CHECK(accept_text(app::AnswerFile(first, load_one), 4, 1) == expected(4, 1));
    CHECK(accept_text(app::AnswerFile(second, load_two), 9, 0) == expected(9, 0));
  }
  // A load made after the first was freed (perhaps at its address) is a new load.
  load_one.reset();
  const auto load_three = std::make_shared<int>(3);
  CHECK(accept_text(app::AnswerFile(first, load_three), 5, 0) == expected(5, 0));
  CHECK(accept_text(app::AnswerFile(second, load_two), 9, 0) == expected(9, 0));
}

TEST_CASE("strings that need escaping are escaped as nlohmann does", "[answer_text]") {
  for (const std::string& text :
       {std::string("plain"), std::string("quote \" and \\ backslash"), std::string("tab\tnl\n"),
        std::string("\x01\x1f control"), std::string("caf\xc3\xa9"), std::string("bad \xff utf8"),
        std::string()}) {
    std::string out;
    app::append_json_string(out, text);
    CHECK(out ==
          nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }
}

// Strings are scanned eight bytes at a time: every byte value at every place of a word and of
// the bytes after the last whole word.
TEST_CASE("every byte at every place of a string is escaped as nlohmann does", "[answer_text]") {
  for (std::size_t length : {std::size_t{7}, std::size_t{8}, std::size_t{19}}) {
    for (std::size_t place = 0; place < length; ++place) {
      for (int byte = 0; byte < 256; ++byte) {
        std::string text(length, 'a');
        text[place] = static_cast<char>(byte);
        std::string out;
        app::append_json_string(out, text);
        INFO("length " << length << ", byte " << byte << " at " << place);
        CHECK(out ==
              nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
      }
    }
  }
}

TEST_CASE("a rule names the policy file by its last path component, escaped once",
          "[answer_text]") {
  const grammar::SourceFile source("/etc/postern/team \"a\"/pol\\icy.hujson", "{}");
  const app::AnswerFile file(source);
  CHECK(file.label() == "pol\\icy.hujson");
  CHECK(file.rule_opening() == R"({"file":"pol\\icy.hujson","line":)");
  CHECK(&file.source() == &source);
  const grammar::SourceFile bare("policy.hujson", "{}");
  CHECK(app::AnswerFile(bare).rule_opening() == R"({"file":"policy.hujson","line":)");
}

TEST_CASE("attribute answers: keys in order, whole numbers as integers, expiries when any",
          "[answer_text]") {
  control::DeviceAttributesView view{0, "n1", {}};
  view.attributes.push_back({"custom:count", engine::AttrValue{13.0}, "api", 5, std::nullopt});
  view.attributes.push_back(
      {"custom:note", engine::AttrValue{std::string("a \"b\"")}, "api", 5, 1'900'000'000});
  view.attributes.push_back({"custom:ok", engine::AttrValue{false}, "api", 5, std::nullopt});
  view.attributes.push_back({"node:ratio", engine::AttrValue{0.5}, "node", {}, std::nullopt});
  std::string text;
  app::append_attributes_answer(text, view);
  CHECK(text == R"({"attributes":{"custom:count":13,"custom:note":"a \"b\"","custom:ok":false,)"
                R"("node:ratio":0.5},"expiries":{"custom:note":"2030-03-17T17:46:40Z"}})");
  CHECK(control::attribute_value_json(engine::AttrValue{13.0}).dump() == "13");
  CHECK(control::attribute_value_json(engine::AttrValue{-9007199254740991.0}).dump() ==
        "-9007199254740991");

  view.attributes.resize(1);
  text.clear();
  app::append_attributes_answer(text, view);
  CHECK(text == R"({"attributes":{"custom:count":13}})");  // no "expiries" without one
}

}  // namespace answer_text_test
