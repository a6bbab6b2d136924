// Runs tests/corpus/posture/{valid,invalid}/ (format: tests/corpus/posture/README.md).
#include <catch2/catch.hpp>
#include <sstream>
#include <string>

#include "corpus.hpp"
#include "postern/grammar/posture.hpp"

namespace posture_corpus_test {

namespace {

namespace posture = postern::grammar::posture;
using postern::grammar::SourceFile;
using postern::grammar::Span;

// The condition is the first line after the leading `//` header, without its line break.
std::string condition_of(const std::string& text) {
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("//", 0) != 0) return line;
  }
  FAIL("no condition line after the header");
  return {};
}

postern::grammar::Parsed<posture::Condition> parse_case(const SourceFile& file) {
  return posture::parse(file, file.text(), Span{0, static_cast<std::uint32_t>(file.text().size())},
                        true);
}

}  // namespace

TEST_CASE("posture corpus: valid conditions parse and round-trip", "[grammar][posture][corpus]") {
  for (const auto& path : postern::test::corpus_files("posture/valid")) {
    DYNAMIC_SECTION(path.filename().string()) {
      const std::string text = postern::test::read_file(path);
      const auto expect = postern::test::header_values(text, "expect");
      REQUIRE(expect == std::vector<std::string>{"ok"});
      const SourceFile file(path.string(), condition_of(text));
      const auto result = parse_case(file);
      INFO(postern::grammar::render_all(file, result.diags));
      REQUIRE(result.ok());
      const std::string printed = posture::to_string(*result.value);
      const auto canonical = postern::test::header_values(text, "canonical");
      REQUIRE(canonical.size() == 1);
      CHECK(printed == canonical.front());
      const SourceFile again_file("canonical", printed);
      const auto again = parse_case(again_file);
      REQUIRE(again.ok());
      CHECK(posture::equivalent(*again.value, *result.value));
    }
  }
}

TEST_CASE("posture corpus: invalid conditions give the stated diagnostic",
          "[grammar][posture][corpus]") {
  for (const auto& path : postern::test::corpus_files("posture/invalid")) {
    DYNAMIC_SECTION(path.filename().string()) {
      const std::string text = postern::test::read_file(path);
      const auto expect = postern::test::header_values(text, "expect");
      REQUIRE(expect.size() == 1);
      // `CODE LINE:COL [SNIPPET]`
      std::istringstream fields(expect.front());
      std::string code;
      std::string position;
      fields >> code >> position;
      std::string snippet;
      std::getline(fields, snippet);
      if (!snippet.empty() && snippet.front() == ' ') snippet.erase(0, 1);

      const SourceFile file(path.string(), condition_of(text));
      const auto result = parse_case(file);
      INFO(postern::grammar::render_all(file, result.diags));
      REQUIRE_FALSE(result.ok());
      REQUIRE(result.diags.size() == 1);
      const auto& d = result.diags.front();
      CHECK(postern::grammar::code_name(d.code) == code);
      const auto at = file.line_col(d.span.begin);
      CHECK(std::to_string(at.line) + ":" + std::to_string(at.column) == position);
      CHECK(file.slice(d.span) == snippet);
    }
  }
}

}  // namespace posture_corpus_test
