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

// A policy file's control bytes (or a name quoted in a message, decoded from `\u001b`) would
// reach the terminal raw: an ESC drives it, a newline forges a line. One `?` per byte keeps the
// caret under its column.
TEST_CASE("render shows control bytes as ?, tabs kept", "[grammar][diag]") {
  using namespace std::string_literals;
  const SourceFile file("p.hujson", "{\"acls\":[]}\0\x1b[31m\t\x7f"s);
  const auto diag =
      make_error(DiagCode::H015, Span{11, 12}, "bad `\x1b]0;title\x07`", "line\nforged");
  CHECK(render(file, diag) ==
        "p.hujson:1:12: error[H015]: bad `?]0;title?`\n"
        "  {\"acls\":[]}??[31m\t?\n"
        "             ^\n"
        "  help: line?forged\n");
}

// C1 controls as UTF-8 encodes them (U+009B is a one-character CSI for some terminals); other
// two-byte characters stay.
TEST_CASE("printable replaces C1 controls byte for byte and keeps other UTF-8", "[grammar][diag]") {
  CHECK(printable("a\xc2\x9b"
                  "31mb") == "a??31mb");
  CHECK(printable("\xc2\x80\xc2\x9f\xc2\xa0\xc3\xa9") == "????\xc2\xa0\xc3\xa9");
  CHECK(printable("end\xc2") == "end\xc2");  // a cut sequence is not a control
  CHECK(printable("tab\tkept") == "tab\tkept");
  CHECK(printable("two\nlines\r\n", true) == "two\nlines?\n");
}

TEST_CASE("codes have stable names and summaries", "[grammar][diag]") {
  CHECK(code_name(DiagCode::H001) == "H001");
  CHECK(code_name(DiagCode::V301) == "V301");
  CHECK_FALSE(code_summary(DiagCode::P101).empty());
  CHECK(all_codes().size() >= 8);
}

}  // namespace diag_test
