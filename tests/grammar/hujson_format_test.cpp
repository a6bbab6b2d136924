// hujson::format (tailscale/hujson's Format rules) and policy_etag. The corpus under
// tests/corpus/fmt/ pairs NNN-name.in.hujson with NNN-name.out.hujson (see its README); the
// upstream table below holds the input/output examples published with tailscale/hujson's own
// format tests, the reference for byte-identical output.
#include "postern/grammar/hujson_format.hpp"

#include <openssl/evp.h>

#include <array>
#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "corpus.hpp"
#include "postern/grammar/hujson.hpp"

namespace hujson_format_test {

namespace {

namespace fs = std::filesystem;
namespace hujson = postern::grammar::hujson;
namespace json = postern::grammar::json;
using postern::grammar::SourceFile;

std::string format_ok(std::string_view text) {
  auto result = hujson::format(text);
  INFO(text);
  REQUIRE(result.ok());
  REQUIRE(result.diags.empty());
  return *result.value;
}

std::string canonical_json(const std::string& text) {
  const auto parsed = hujson::parse(SourceFile("canonical", text));
  REQUIRE(parsed.ok());
  return json::to_json(*parsed.value);
}

// Independent of the code under test: OpenSSL's one-shot SHA-256, rendered by hand.
std::string sha256_hex(std::string_view bytes) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  REQUIRE(EVP_Digest(bytes.data(), bytes.size(), digest.data(), &length, EVP_sha256(), nullptr) ==
          1);
  static constexpr std::string_view kHex = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) {
    hex += kHex[digest[i] >> 4U];
    hex += kHex[digest[i] & 0xFU];
  }
  return hex;
}

struct Vector {
  std::string_view in;
  std::string_view want;  // as upstream writes it: one leading newline dropped, one final added
};

// tailscale/hujson format_test.go `testdataFormat`, transcribed.
constexpr std::array kUpstream{
    Vector{"null", "null"},
    Vector{" \r\n\t//comment\n\n\n/**/null \r\t//comment\n\n\n/**/\r\n\t",
           "//comment\n\n/**/ null //comment\n\n/**/"},
    Vector{"//comment\r\n//comment\n\r/**\r/*/null", "//comment\n//comment\n/** /*/ null"},
    Vector{R"("\u000F\u000a\/\ud83d\ude02")", "\"\\u000f\\n/\xF0\x9F\x98\x82\""},
    Vector{"{\n\r\t \n\r\t }", "{}"},
    Vector{"{/**/}", "{ /**/ }"},
    Vector{"{//\r\t\n}", "{ //\n}"},
    Vector{"[\n\r\t \n\r\t ]", "[]"},
    Vector{"[/**/]", "[ /**/ ]"},
    Vector{"[//\r\t\n]", "[ //\n]"},
    Vector{"{\"name\" \t \t:\"value\" \t \t,\"name\":\"value\"}",
           "{\"name\": \"value\", \"name\": \"value\"}"},
    Vector{"{\"name\"/**/:\"value\"/**/,\"name\":\"value\"}",
           "{\"name\" /**/ : \"value\" /**/ , \"name\": \"value\"}"},
    Vector{"[null \t \t,null]", "[null, null]"},
    Vector{"[null/**/,null]", "[null /**/ , null]"},
    Vector{"[0//\n,]", "\n[\n\t0 //\n\t\t,\n]"},
    Vector{"[/*\n*/\n]", "[ /*\n\t */\n]"},
    Vector{"[/*\n\n*/\n]", "[ /*\n\n\t*/\n]"},
    Vector{"[ /*\n\t\n\t*/\n]", "[ /*\n\n\t*/\n]"},
    Vector{"[\n\t\t\t/*\n\n\t\tline1\n  line2\n\n\t\t\t*/\n\n\t\t]",
           "\n[\n\t/*\n\n\t\t\tline1\n\t  line2\n\n\t*/\n]"},
    Vector{"[\n\t\t/*\n\n  \tline1\n  line2\n\n\t\t*/\n\n\t]",
           "\n[\n\t/*\n\n\t\tline1\n\tline2\n\n\t*/\n]"},
    Vector{"[\n/*\n* line1\n* line2\n*/\n\t\t]", "\n[\n\t/*\n\t * line1\n\t * line2\n\t */\n]"},
    Vector{"[\n/*\n\t* line1\n* line2\n*/\n\t]", "\n[\n\t/*\n\t\t* line1\n\t* line2\n\t*/\n]"},
    Vector{"//\xF0\x9F\x98\x8A \r\t\xE2\x98\xB9\n/*\xF0\x9F\x98\x8A \r\t\xE2\x98\xB9\n*/null//"
           "\xF0\x9F\x98\x8A \r\t\n/*\r\t\n*/",
           "\n//\xF0\x9F\x98\x8A  \t\xE2\x98\xB9\n/*\xF0\x9F\x98\x8A  \t\xE2\x98\xB9\n */ null "
           "//\xF0\x9F\x98\x8A\n/*\n */"},
    Vector{
        "\n\t\t\n\t\t   // LineComment   \n\t\t/* \n  BlockComment     \n\t\t\t */\n\n\t{\n\t\t"
        "\n\t\t// LineComment   \n\t /* \nBlockComment     \n\t\t  */\n\n\"name\"\n\n\t\t\n// "
        "LineComment   \n/* \nBlockComment     \n\t */\n\n:\n\t\t\n    // LineComment   \n/* \n "
        "BlockComment     \n\t */\n\n\t\t\t   \"value\"\n\n\t\t\n         \t\t\t   // "
        "LineComment   \n\t\t   \t   /* \n\t\t\t                         BlockComment     "
        "\n\t\t\t\t\t*/\n\n\t\t\t   ,\n\n\t\t\n\t    \t\t   // LineComment      \n   \t\t\t   "
        "/* \n\t\t\t   BlockComment     \n\t\t\t\t\t*/\n\t\t\t   \n\n\t}\n\n\t\t\t\n// "
        "LineComment   \n/* \nBlockComment     \n\t */\n\n\n\n\t ",
        "\n// LineComment\n/*\nBlockComment\n*/\n\n{\n\t// LineComment\n\t/*\n\tBlockComment\n\t*/"
        "\n\n\t\"name\"\n\t\t// LineComment\n\t\t/*\n\t\tBlockComment\n\t\t*/\n\t\t:\n\t\t// "
        "LineComment\n\t\t/*\n\t\tBlockComment\n\t\t*/\n\t\t\"value\"\n\t\t// "
        "LineComment\n\t\t/*\n\t\tBlockComment\n\t\t*/\n\t\t,\n\n\t// "
        "LineComment\n\t/*\n\tBlockComment\n\t*/\n}\n\n// LineComment\n/*\nBlockComment\n*/"},
    Vector{"\n\t\t//line1\n\t\t{//line2\n\t\t\"name\"//line3\n\t\t://line4\n\t\t\"value\"//"
           "line5\n\t\t}//line6\n\t\t",
           "\n//line1\n{ //line2\n\t\"name\" //line3\n\t\t: //line4\n\t\t\"value\", //line5\n} "
           "//line6"},
    Vector{"/**//**/{/**//**/\"name\"/**//**/:/**//**/null/**//**/,}/**//**/",
           "/**/ /**/ { /**/ /**/ \"name\" /**/ /**/ : /**/ /**/ null /**/ /**/ } /**/ /**/"},
    Vector{"/**//**/{/**//**/\"name\"/**//**/:/**//**/null/**//**/,/**//**/}/**//**/",
           "/**/ /**/ { /**/ /**/ \"name\" /**/ /**/ : /**/ /**/ null /**/ /**/ , /**/ /**/ } /**/ "
           "/**/"},
    Vector{"/**//**/[/**//**/null/**//**/,]/**//**/",
           "/**/ /**/ [ /**/ /**/ null /**/ /**/ ] /**/ /**/"},
    Vector{"/**//**/[/**//**/null/**//**/,/**//**/]/**//**/",
           "/**/ /**/ [ /**/ /**/ null /**/ /**/ , /**/ /**/ ] /**/ /**/"},
    Vector{
        "{\n\t\t\t\t\"name\": \"value\",\n\t\t\t\t\"name______\": \"value\",\n\t\t\t\t\"name_\": "
        "\"value\",\n\t\t\t\t\"name___\": \"value\"\n\t\t\t}",
        "\n{\n\t\"name\":       \"value\",\n\t\"name______\": \"value\",\n\t\"name_\":      "
        "\"value\",\n\t\"name___\":    \"value\"\n}"},
    Vector{"{\n\t\t\"name\": \"value\",\n\t\t\"name______\": \"value\",\n\t\t// comment\n\t\t"
           "\"name_\": \"value\",\n\t\t\"name___\": \"value\"\n\t\t}",
           "\n{\n\t\"name\":       \"value\",\n\t\"name______\": \"value\",\n\t// comment\n\t"
           "\"name_\":   \"value\",\n\t\"name___\": \"value\",\n}"},
    Vector{"{\n\t\"name\": \"value\",\n\t\"name______\": \"value\",\n\n\n\t\"name_\": "
           "\"value\",\n\t\"name___\": \"value\"\n\t}",
           "\n{\n\t\"name\":       \"value\",\n\t\"name______\": \"value\",\n\n\t\"name_\":   "
           "\"value\",\n\t\"name___\": \"value\"\n}"},
    Vector{"{\n\t\t\t/**/ \"name\": \"value\",\n\t\t\t/**/ \"name______\": "
           "\"value\",/**/\n\t\t\t\"name_\"/**/: \"value\"/**/,\n\t\t\t\"name___\":/**/ "
           "\"value\"\n\t\t}",
           "\n{\n\t/**/ \"name\":         \"value\",\n\t/**/ \"name______\":   \"value\", "
           "/**/\n\t\"name_\" /**/ :  \"value\" /**/ ,\n\t\"name___\": /**/ \"value\",\n}"},
    Vector{"{\"foo\": \"bar\", \n\t// Comment1\n\t\"fizz\":\"buzz\"\n\t// Comment2\n,}",
           "\n{\n\t\"foo\": \"bar\",\n\t// Comment1\n\t\"fizz\": \"buzz\"\n\t\t// "
           "Comment2\n\t\t,\n}"},
    Vector{"\n\n\t//ACls\n\n// ACLs\n{\n\n\n\t\n\t\t\t\t\t// foo\n\t\t\t\t\t// "
           "foo\n\n\n\t\t\t\t\t\"k\"\n\n\n\t\t\t\t\t// bar\n\t\t\t\t\t// "
           "bar\n\n\n\t\t\t\t\t:\n\n\n\n\t\t\t\t\t// baz\n\t\t\t\t\t// "
           "baz\n\n\n\n\n\n\n\t\n\t\t\t\t\t\t\t\t[\t\t\t\t\t\t\t\t\t\"v\",\t\t\t\t\t\t\t\t\t]"
           "\n\n\t\t\t\t\t\t\t\t// gaz\n\t\t\t\t\t\t\t\t// gaz\n\n\t\t     // ,\n\n\t\t\t  // "
           "maz\n\n\n\n\n}\n\t",
           "\n//ACls\n\n// ACLs\n{\n\t// foo\n\t// foo\n\n\t\"k\"\n\t\t// bar\n\t\t// "
           "bar\n\t\t:\n\t\t// baz\n\t\t// baz\n\t\t[\"v\"],\n\n\t// gaz\n\t// gaz\n\n\t// "
           ",\n\n\t// maz\n}"},
    Vector{
        "\t\t\t   {\n\t\t\"a\" :     {\t\n\t\t\t\"b\" : [\n  \n\t\t\t  ],\n\t\t},\n  \n  \n  \n  "
        "}   ",
        "\n{\n\t\"a\": {\n\t\t\"b\": [],\n\t},\n}"},
    Vector{"{\"a\":{\"b\":[],\"c\":[\n\n\n\n\n\n\t],},}", "{\"a\": {\"b\": [], \"c\": []}}"},
    Vector{"\n\t[\n\t\t[\n\t\t\t\"a\",\n\t\t]\n\t\t,\n\t\t[\n\t\t\t\"a\",\n\t\t]\n\t\t,\n\t\t["
           "\n\t\t\t\"a\",\n\t\t]\n\n\t]\n\t\n\t",
           "\n[\n\t[\n\t\t\"a\",\n\t],\n\t[\n\t\t\"a\",\n\t],\n\t[\n\t\t\"a\",\n\t],\n]"},
    Vector{
        "\n\t{//fizzbuzz\n\t\"key\"\n\t\t\n\t\t:\"value\"\n\t\t\n\t\t,//wizzwuzzz \n\t\t\n\t// "
        "standalone comment\n\t\n\t\t// key comment\n\t\t\"key\":\"value\"}\n\t\n\t",
        "\n{ //fizzbuzz\n\t\"key\": \"value\", //wizzwuzzz\n\n\t// standalone comment\n\n\t// key "
        "comment\n\t\"key\": \"value\",\n}"},
};

std::string upstream_want(std::string_view want) {
  if (want.starts_with('\n')) want.remove_prefix(1);
  return std::string(want) + "\n";
}

struct CorpusCase {
  std::string name;
  fs::path in;
  fs::path out;
};

std::vector<CorpusCase> corpus_cases() {
  std::vector<CorpusCase> cases;
  constexpr std::string_view kIn = ".in.hujson";
  for (const auto& path : postern::test::corpus_files("fmt")) {
    const std::string file = path.filename().string();
    if (!file.ends_with(kIn)) continue;
    const std::string name = file.substr(0, file.size() - kIn.size());
    cases.push_back({name, path, path.parent_path() / (name + ".out.hujson")});
  }
  return cases;
}

}  // namespace

TEST_CASE("format: tailscale/hujson's own examples", "[grammar][hujson][format]") {
  for (std::size_t i = 0; i < kUpstream.size(); ++i) {
    DYNAMIC_SECTION("upstream example " << i) {
      const auto& vector = kUpstream.at(i);
      const std::string got = format_ok(vector.in);
      CHECK(got == upstream_want(vector.want));
      CHECK(format_ok(got) == got);
    }
  }
}

TEST_CASE("format: corpus pairs, idempotent, meaning kept", "[grammar][hujson][format][corpus]") {
  const auto cases = corpus_cases();
  CHECK(cases.size() >= 40);
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name) {
      REQUIRE(fs::exists(c.out));
      const std::string in = postern::test::read_file(c.in);
      const std::string expected = postern::test::read_file(c.out);
      const std::string got = format_ok(in);
      CHECK(got == expected);
      CHECK(format_ok(got) == got);
      CHECK(format_ok(expected) == expected);
      CHECK(canonical_json(got) == canonical_json(in));
    }
  }
}

TEST_CASE("format: the sample policy", "[grammar][hujson][format]") {
  const auto path = fs::path(POSTERN_SOURCE_DIR) / "samples" / "policy.hujson";
  const std::string text = postern::test::read_file(path);
  const std::string got = format_ok(text);
  CHECK(format_ok(got) == got);
  CHECK(canonical_json(got) == canonical_json(text));
  CHECK(got.ends_with("}\n"));
  CHECK(got.find("\n\t\"groups\": {\n") != std::string::npos);  // tabs, one level per depth
  CHECK(got.find("\n  ") == std::string::npos);  // no line indented with spaces is left
}

TEST_CASE("format: invalid input gives the parser's diagnostic", "[grammar][hujson][format]") {
  const auto result = hujson::format("{\"a\": [1 2]}");
  CHECK_FALSE(result.ok());
  REQUIRE(result.diags.size() == 1);
  CHECK(postern::grammar::code_name(result.diags.front().code) == "H004");
  CHECK(result.diags.front().span.begin == 9);

  CHECK_FALSE(hujson::format("").ok());
  CHECK_FALSE(hujson::format("// only a comment\n").ok());
  CHECK_FALSE(hujson::format("[1] // no final newline").ok());
}

TEST_CASE("format: nesting at the parser's limit", "[grammar][hujson][format]") {
  const std::size_t depth = hujson::kMaxDepth;
  // Wider than 80 bytes, so some levels expand (one more tab per expanded level).
  const std::string text = std::string(depth, '[') + std::string(depth, ']');
  const std::string got = format_ok(text);
  CHECK(format_ok(got) == got);
  CHECK(got.find("\n\t") != std::string::npos);
  CHECK(canonical_json(got) == canonical_json(text));
  CHECK_FALSE(hujson::format(std::string(depth + 1, '[') + std::string(depth + 1, ']')).ok());
}

TEST_CASE("policy_etag: SHA-256 of the formatted text", "[grammar][hujson][format]") {
  CHECK(hujson::policy_etag("null") ==
        "38e0b9de817f645c4bec37c0d4a3e58baecccb040f5718dc069a72c7385a0bed");
  CHECK(hujson::policy_etag("null") == sha256_hex("null\n"));
  const std::string policy = "{\n  // c\n  \"acls\": [{\"action\": \"accept\"}],\n}";
  CHECK(hujson::policy_etag(policy) == sha256_hex(format_ok(policy)));
  CHECK(hujson::policy_etag(policy) == hujson::policy_etag(format_ok(policy)));
  CHECK(hujson::policy_etag(policy).size() == 64);
  // Unparsable text hashes as it is.
  CHECK(hujson::policy_etag("{oops") == sha256_hex("{oops"));
  CHECK(hujson::policy_etag("") == sha256_hex(""));
}

}  // namespace hujson_format_test
