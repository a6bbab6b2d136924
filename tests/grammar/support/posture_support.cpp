#include "posture_support.hpp"

#include <catch2/catch.hpp>

namespace postern::test {

using grammar::Severity;
using grammar::Span;
namespace posture = grammar::posture;

PostureParse parse_posture(std::string_view condition) {
  const std::string prefix = "{\"postures\": {\n  \"posture:x\": [\"";
  std::string text = prefix;
  text += condition;
  text += "\"]}}\n";
  const Span span{static_cast<std::uint32_t>(prefix.size()),
                  static_cast<std::uint32_t>(prefix.size() + condition.size())};
  grammar::SourceFile file("policy.hujson", text);
  auto result = posture::parse(file, condition, span, true);
  return PostureParse{std::move(file), span, std::move(result)};
}

void expect_posture(std::string_view condition, std::string_view canonical) {
  INFO("condition: `" << condition << "`");
  const auto parsed = parse_posture(condition);
  INFO(grammar::render_all(parsed.file, parsed.result.diags));
  REQUIRE(parsed.result.ok());
  CHECK(parsed.result.diags.empty());
  const std::string printed = posture::to_string(*parsed.result.value);
  CHECK(printed == (canonical.empty() ? condition : canonical));
  const auto again = parse_posture(printed);
  REQUIRE(again.result.ok());
  CHECK(posture::equivalent(*again.result.value, *parsed.result.value));
  CHECK(posture::to_string(*again.result.value) == printed);
}

void expect_diag(std::string_view condition, std::string_view code, std::string_view snippet) {
  INFO("condition: `" << condition << "`");
  const auto parsed = parse_posture(condition);
  INFO(grammar::render_all(parsed.file, parsed.result.diags));
  CHECK_FALSE(parsed.result.ok());
  REQUIRE(parsed.result.diags.size() == 1);
  const auto& diag = parsed.result.diags.front();
  CHECK(diag.severity == Severity::Error);
  CHECK(grammar::code_name(diag.code) == code);
  CHECK(parsed.file.slice(diag.span) == snippet);
  CHECK(diag.span.begin >= parsed.text_span.begin);
  CHECK(diag.span.end <= parsed.text_span.end);
  if (snippet.empty()) CHECK(diag.span.begin == parsed.text_span.end);
}

}  // namespace postern::test
