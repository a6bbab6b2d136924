// Data-driven HuJSON cases from tests/corpus/hujson/{valid,invalid} (format: that README).
#include <catch2/catch.hpp>
#include <sstream>
#include <string>

#include "corpus.hpp"
#include "postern/grammar/hujson.hpp"

namespace hujson_corpus_test {

namespace hujson = postern::grammar::hujson;
namespace json = postern::grammar::json;
using postern::grammar::SourceFile;

TEST_CASE("HuJSON corpus: valid files give the expected JSON", "[grammar][hujson][corpus]") {
  for (const auto& path : postern::test::corpus_files("hujson/valid")) {
    DYNAMIC_SECTION(path.filename().string()) {
      const SourceFile file(path.filename().string(), postern::test::read_file(path));
      const auto expected = postern::test::header_values(file.text(), "expect-json");
      REQUIRE(expected.size() == 1);
      const auto parsed = hujson::parse(file);
      INFO(postern::grammar::render_all(file, parsed.diags));
      REQUIRE(parsed.ok());
      CHECK(json::to_json(*parsed.value) == expected.front());

      std::string streamed;
      hujson::JsonWriter writer([&](std::string_view chunk) { streamed += chunk; });
      REQUIRE_FALSE(hujson::parse_events(file.text(), writer).has_value());
      writer.flush();
      CHECK(streamed == expected.front());

      const auto standard = hujson::standardize(file);
      REQUIRE(standard.ok());
      CHECK(standard.value->size() == file.text().size());
      const auto reparsed = hujson::parse(SourceFile("standard", *standard.value));
      REQUIRE(reparsed.ok());
      CHECK(json::to_json(*reparsed.value) == expected.front());
    }
  }
}

TEST_CASE("HuJSON corpus: invalid files give one located error", "[grammar][hujson][corpus]") {
  for (const auto& path : postern::test::corpus_files("hujson/invalid")) {
    DYNAMIC_SECTION(path.filename().string()) {
      const SourceFile file(path.filename().string(), postern::test::read_file(path));
      const auto expected = postern::test::header_values(file.text(), "expect");
      REQUIRE(expected.size() == 1);
      std::istringstream fields(expected.front());
      std::string code;
      std::uint32_t line = 0;
      std::uint32_t column = 0;
      char colon = 0;
      fields >> code >> line >> colon >> column;
      REQUIRE(colon == ':');

      const auto parsed = hujson::parse(file);
      REQUIRE_FALSE(parsed.ok());
      REQUIRE(parsed.diags.size() == 1);
      const auto& diag = parsed.diags.front();
      INFO(postern::grammar::render(file, diag));
      CHECK(std::string(postern::grammar::code_name(diag.code)) == code);
      const auto at = file.line_col(diag.span.begin);
      CHECK(at.line == line);
      CHECK(at.column == column);
      CHECK(diag.span.end <= file.text().size());
    }
  }
}

}  // namespace hujson_corpus_test
