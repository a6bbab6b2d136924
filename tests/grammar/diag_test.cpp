#include "postern/grammar/diag.hpp"

#include <catch2/catch.hpp>

namespace diag_test {

using namespace postern::grammar;

TEST_CASE("line_col counts 1-based lines and byte columns", "[grammar][diag]") {
  const SourceFile file("p.hujson", "ab\ncd\r\n\nxyz");
  CHECK(file.line_col(0) == LineCol{1, 1});
  CHECK(file.line_col(1) == LineCol{1, 2});
  CHECK(file.line_col(3) == LineCol{2, 1});
  CHECK(file.line_col(7) == LineCol{3, 1});
  CHECK(file.line_col(10) == LineCol{4, 3});
  CHECK(file.line_text(2) == "cd");
  CHECK(file.line_text(4) == "xyz");
  CHECK(file.line_text(5).empty());
}

TEST_CASE("render prints location, code, source line and underline", "[grammar][diag]") {
  const SourceFile file("policy.hujson", "{\n  \"acls\": [}\n");
  const auto diag = make_error(DiagCode::H001, Span{13, 14}, "unexpected `}`", "close the array");
  CHECK(render(file, diag) ==
        "policy.hujson:2:12: error[H001]: unexpected `}`\n"
        "    \"acls\": [}\n"
        "             ^\n"
        "  help: close the array\n");
}

TEST_CASE("codes have stable names and summaries", "[grammar][diag]") {
  CHECK(code_name(DiagCode::H001) == "H001");
  CHECK(code_name(DiagCode::V301) == "V301");
  CHECK_FALSE(code_summary(DiagCode::P101).empty());
  CHECK(all_codes().size() >= 8);
}

}  // namespace diag_test
