// HuJSON parser: values and spans, comments and trailing commas, every error code, the depth
// limit, the grammar's analyze<> check and runs with and without actions.
#include "postern/grammar/hujson.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <string>
#include <tao/pegtl.hpp>
#include <tao/pegtl/contrib/analyze.hpp>

#include "../../grammar/src/hujson_control.hpp"
#include "../../grammar/src/hujson_rules.hpp"

namespace hujson_test {

using postern::grammar::DiagCode;
using postern::grammar::Parsed;
using postern::grammar::SourceFile;
using postern::grammar::Span;
namespace hujson = postern::grammar::hujson;
namespace json = postern::grammar::json;

namespace {

json::Value parse_ok(const std::string& text) {
  const SourceFile file("test.hujson", text);
  auto parsed = hujson::parse(file);
  INFO(text);
  if (!parsed.ok()) INFO(postern::grammar::render_all(file, parsed.diags));
  REQUIRE(parsed.ok());
  REQUIRE(parsed.diags.empty());
  return std::move(*parsed.value);
}

std::string minified(const std::string& text) { return json::to_json(parse_ok(text)); }

// Exactly one error with `code`, underlining `snippet` (empty at end of input) at line:col.
void expect_diag(const std::string& text, const std::string& code, const std::string& snippet,
                 std::uint32_t line = 0, std::uint32_t column = 0) {
  const SourceFile file("test.hujson", text);
  const auto parsed = hujson::parse(file);
  INFO(text);
  REQUIRE_FALSE(parsed.ok());
  REQUIRE(parsed.diags.size() == 1);
  const auto& d = parsed.diags.front();
  INFO(postern::grammar::render(file, d));
  CHECK(std::string(postern::grammar::code_name(d.code)) == code);
  CHECK(std::string(file.slice(d.span)) == snippet);
  CHECK(d.span.begin <= d.span.end);
  CHECK(d.span.end <= text.size());
  CHECK_FALSE(d.message.empty());
  CHECK_FALSE(d.help.empty());
  if (line != 0) {
    const auto at = file.line_col(d.span.begin);
    CHECK(at.line == line);
    CHECK(at.column == column);
  }
}

// Runs the grammar alone (no actions): matching must not depend on actions.
bool matches_without_actions(const std::string& text) {
  namespace pegtl = tao::pegtl;
  struct DepthOnly {
    std::uint32_t depth = 0;
  } state;
  pegtl::memory_input<pegtl::tracking_mode::lazy> in(text.data(), text.size(), "test");
  try {
    return pegtl::parse<hujson::rules::text, pegtl::nothing, hujson::detail::control>(in, state);
  } catch (const hujson::detail::SyntaxError&) {
    return false;
  }
}

}  // namespace

TEST_CASE("grammar has no cycles without progress", "[grammar][hujson]") {
  CHECK(tao::pegtl::analyze<postern::grammar::hujson::rules::text>() == 0);
}

TEST_CASE("scalars keep kind, value, text and span", "[grammar][hujson]") {
  auto v = parse_ok("  null ");
  CHECK(v.is_null());
  CHECK(v.span == Span{2, 6});
  CHECK(parse_ok("true").boolean);
  CHECK_FALSE(parse_ok("false").boolean);
  v = parse_ok("-12.5e+2");
  CHECK(v.is_number());
  CHECK(v.text == "-12.5e+2");
  CHECK(v.number == -1250.0);
  v = parse_ok("\"a\\n\\u00e9\\ud83d\\ude00\"");
  CHECK(v.is_string());
  CHECK(v.text == "a\n\xc3\xa9\xf0\x9f\x98\x80");
  CHECK_FALSE(v.string_is_verbatim);
  v = parse_ok("\"plain \xc3\xa9\"");
  CHECK(v.string_is_verbatim);
  CHECK(v.span == Span{0, 10});
}

TEST_CASE("containers keep order, duplicates and spans", "[grammar][hujson]") {
  const std::string text = "{\"a\": [1, {\"b\": null}], \"a\": \"x\"}";
  const auto v = parse_ok(text);
  REQUIRE(v.is_object());
  CHECK(v.span == Span{0, static_cast<std::uint32_t>(text.size())});
  REQUIRE(v.members.size() == 2);  // the parser keeps duplicates; the policy layer rejects them
  CHECK(v.members[0].key == "a");
  CHECK(v.members[0].key_span == Span{1, 4});
  CHECK(v.members[1].key == "a");
  const auto& arr = v.members[0].value;
  REQUIRE(arr.is_array());
  CHECK(arr.span == Span{6, 22});
  REQUIRE(arr.items.size() == 2);
  CHECK(arr.items[1].span == Span{10, 21});
  CHECK(arr.items[1].members[0].value.is_null());
  CHECK(v.members[1].value.text == "x");
}

TEST_CASE("comments and one trailing comma are accepted", "[grammar][hujson]") {
  CHECK(minified("// lead\n{ /* a */ \"a\" /* b */ : /* c */ 1 /* d */, // e\n}\n") == "{\"a\":1}");
  CHECK(minified("[1, 2,]") == "[1,2]");
  CHECK(minified("[1, 2 /* x */ , // y\n ]") == "[1,2]");
  CHECK(minified("{\"a\": [],}") == "{\"a\":[]}");
  CHECK(minified("/* a /* b */ 1") == "1");  // block comments do not nest
  CHECK(minified("1 // trailing\n") == "1");
  CHECK(minified("/**/1/***/") == "1");
  CHECK(minified("\"// not a comment\"") == "\"// not a comment\"");
  CHECK(minified("[\"\\\"/*\"]") == "[\"\\\"/*\"]");
}

TEST_CASE("numbers overflowing a double are valid and keep their text", "[grammar][hujson]") {
  auto v = parse_ok("1e400");
  CHECK(std::isinf(v.number));
  CHECK(v.number > 0);
  CHECK(v.text == "1e400");
  v = parse_ok("-1e400");
  CHECK(std::isinf(v.number));
  CHECK(v.number < 0);
  CHECK(parse_ok("1e-400").number == 0.0);
  v = parse_ok("123456789012345678901234567890");
  CHECK(v.text == "123456789012345678901234567890");
  CHECK(v.number == Approx(1.2345678901234568e29));
  CHECK(hujson::number_value("0.1") == 0.1);
}

TEST_CASE("syntax errors: one located diagnostic with a stable code", "[grammar][hujson]") {
  expect_diag("}", "H002", "}", 1, 1);
  expect_diag("{\"a\": }", "H002", "}", 1, 7);
  expect_diag("[1, +2]", "H002", "+");
  expect_diag("['a']", "H002", "'");
  expect_diag("NaN", "H002", "N");
  expect_diag("", "H003", "", 1, 1);
  expect_diag("  // only a comment\n", "H003", "");
  expect_diag("[1, 2", "H003", "");
  expect_diag("{\"a\": 1", "H003", "");
  expect_diag("[1 2]", "H004", "2", 1, 4);
  expect_diag("[1:2]", "H004", ":");
  expect_diag("{\"a\": 1 \"b\": 2}", "H005", "\"", 1, 9);
  expect_diag("{\"a\" 1}", "H006", "1");
  expect_diag("{a: 1}", "H007", "a");
  expect_diag("{\n  \"a\": 1,\n  b: 2}", "H007", "b", 3, 3);
  expect_diag("\"abc", "H008", "");
  expect_diag("\"a\\", "H008", "");
  expect_diag("\"a\\x\"", "H009", "\\x");
  expect_diag("\"\\u12G4\"", "H009", "\\u12G");
  expect_diag("\"a\nb\"", "H010", "\n");
  expect_diag("\"a\tb\"", "H010", "\t");
  expect_diag("\"\xff\"", "H011", "\xff");
  expect_diag("\"\xc0\xaf\"", "H011", "\xc0");      // overlong
  expect_diag("\"\xed\xa0\x80\"", "H011", "\xed");  // encoded surrogate
  expect_diag("// \xfe\n1", "H011", "\xfe");        // line comment
  expect_diag("/* \xe2\x82 */ 1", "H011", "\xe2");  // block comment, truncated sequence
  expect_diag("[1, \xff]", "H011", "\xff");
  expect_diag("-", "H012", "");
  expect_diag("-a", "H012", "a");
  expect_diag("01", "H012", "01");
  expect_diag("[1.]", "H012", "]");
  expect_diag("1e", "H012", "");
  expect_diag("1e+x", "H012", "x");
  expect_diag("/* open", "H013", "");
  expect_diag("1 // no newline", "H014", "");
  expect_diag("1 2", "H015", "2", 1, 3);
  expect_diag("{} x", "H015", "x");
  expect_diag("1 / 2", "H017", "/");
  expect_diag("/", "H017", "/");
  expect_diag("tru", "H018", "tru");
  expect_diag("[nul]", "H018", "nul");
  expect_diag("True", "H002", "T");
  expect_diag("\xef\xbb\xbf{}", "H019", "\xef\xbb\xbf");
  expect_diag("\"\\ud800\"", "H020", "\\ud800");
  expect_diag("\"\\ud800\\u0041\"", "H020", "\\ud800");
  expect_diag("\"\\udc00\"", "H020", "\\udc00");
  expect_diag("[,]", "H021", ",");
  expect_diag("[1,,]", "H021", ",", 1, 4);
  expect_diag("{,}", "H021", ",");
  expect_diag("{\"a\":1,,}", "H021", ",");
}

TEST_CASE("messages follow Tailscale's wording", "[grammar][hujson]") {
  const SourceFile file("p.hujson", "{\"a\": }");
  const auto parsed = hujson::parse(file);
  REQUIRE(parsed.diags.size() == 1);
  CHECK(parsed.diags[0].message == "invalid character `}` at start of value");
  CHECK(postern::grammar::render(file, parsed.diags[0]).rfind("p.hujson:1:7: error[H002]: ", 0) ==
        0);
}

TEST_CASE("nesting is limited to kMaxDepth", "[grammar][hujson]") {
  const auto nested = [](std::size_t depth, char open, char close) {
    std::string s;
    for (std::size_t i = 0; i < depth; ++i) {
      s += open;
      if (open == '{') s += "\"k\":";
    }
    s += "0";
    s.append(depth, close);
    return s;
  };
  CHECK(parse_ok(nested(hujson::kMaxDepth, '[', ']')).is_array());
  CHECK(parse_ok(nested(hujson::kMaxDepth, '{', '}')).is_object());
  const std::string too_deep = nested(hujson::kMaxDepth + 1, '[', ']');
  expect_diag(too_deep, "H016", "[", 1, static_cast<std::uint32_t>(hujson::kMaxDepth + 1));
  // Far deeper input must still fail cleanly, without recursing further.
  expect_diag(std::string(1'000'000, '['), "H016", "[");
  CHECK_FALSE(matches_without_actions(std::string(100'000, '{') + "}"));
}

TEST_CASE("actions never change what matches", "[grammar][hujson]") {
  const char* cases[] = {"{}",  "[1,]", "{\"a\":1,}",  "// c\n[/* x */]",
                         "[,]", "1 //", "\"\\ud800\"", "[[[[1]]]]",
                         "tru", "01",   "{\"a\" 1}",   "\"\xff\""};
  for (const std::string text : cases) {
    INFO(text);
    const SourceFile file("t", text);
    CHECK(matches_without_actions(text) == hujson::parse(file).ok());
  }
}

TEST_CASE("standardize blanks comments and trailing commas in place", "[grammar][hujson]") {
  const std::string text = "{\n  // c\n  \"a\": [1, /* x */ 2,],\n}\n";
  const auto out = hujson::standardize(SourceFile("t", text));
  REQUIRE(out.ok());
  CHECK(out.value->size() == text.size());
  CHECK(*out.value == "{\n      \n  \"a\": [1,         2 ] \n}\n");
  CHECK(minified(*out.value) == "{\"a\":[1,2]}");
}

TEST_CASE("JsonWriter streams standard JSON", "[grammar][hujson]") {
  const std::string text =
      "{\"s\": \"q\\\"\\\\\\u0001\\t\", \"n\": [1e400, -0, {}], \"b\": [true, false, null,],}";
  std::string out;
  hujson::JsonWriter writer([&](std::string_view chunk) { out += chunk; }, 4);
  REQUIRE_FALSE(hujson::parse_events(text, writer).has_value());
  writer.flush();
  CHECK(out == "{\"s\":\"q\\\"\\\\\\u0001\\t\",\"n\":[1e400,-0,{}],\"b\":[true,false,null]}");
  CHECK(out == minified(text));
}

TEST_CASE("kind names", "[grammar][hujson]") {
  CHECK(json::kind_name(json::Kind::Object) == "object");
  CHECK(json::kind_name(json::Kind::Null) == "null");
  CHECK(json::kind_name(json::Kind::Bool) == "bool");
  CHECK(json::kind_name(json::Kind::Number) == "number");
  CHECK(json::kind_name(json::Kind::String) == "string");
  CHECK(json::kind_name(json::Kind::Array) == "array");
}

}  // namespace hujson_test
