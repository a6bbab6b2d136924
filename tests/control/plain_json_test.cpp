// read_plain_object against nlohmann's reader: an object it reads is one nlohmann reads to the
// same members (strings, numbers as doubles, booleans); everything else is given up on, never
// read to something else. Every JSONTestSuite text it accepts is valid JSON.
#include "postern/control/plain_json.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "corpus.hpp"

namespace plain_json_test {

using namespace postern;

// Reads `text` both ways; true when the one pass read it (and then to nlohmann's members).
bool read_alike(const std::string& text, std::size_t max_depth = 512) {
  INFO(text);
  const auto plain = control::read_plain_object(text, max_depth);
  if (!plain) return false;
  nlohmann::json expected;
  REQUIRE_NOTHROW(expected = nlohmann::json::parse(text));
  REQUIRE(expected.is_object());
  const auto members = plain->members();
  REQUIRE(members.size() == expected.size());  // a repeated key would have been merged
  for (const auto& [key, value] : members) {
    INFO("member " << key);
    REQUIRE(expected.contains(std::string(key)));
    const auto& want = expected[std::string(key)];
    if (const auto* text_value = std::get_if<std::string_view>(&value)) {
      REQUIRE(want.is_string());
      CHECK(*text_value == want.get<std::string>());
    } else if (const auto* number = std::get_if<double>(&value)) {
      REQUIRE(want.is_number());
      CHECK(*number == want.get<double>());
      CHECK(std::signbit(*number) == std::signbit(want.get<double>()));
    } else {
      REQUIRE(want.is_boolean());
      CHECK(std::get<bool>(value) == want.get<bool>());
    }
  }
  return true;
}

TEST_CASE("plain objects are read to nlohmann's members", "[control][json]") {
  const std::vector<std::string> plain = {
      R"({})",
      R"({"value": 13})",
      R"({"value": -0})",
      R"({"value": -0.0})",
      R"({"value": 1.5e3, "comment": "raise it"})",
      R"({"value": 9007199254740993})",
      R"({"value": 18446744073709551615})",
      R"({"value": -9223372036854775808})",
      // Fractions of more than 19 digits, which simdjson 3.0.1 reads wrongly (found by fuzzing).
      R"({"value": 0.95000000000000000000})",
      R"({"value": 0.30666666666666666666666664740989 })",
      R"({"value": -12345678901234567890.5e-3})",
      R"({"value": true, "expiry": "2026-01-31T18:00:00Z"})",
      R"( { "value" : "gold" , "comment" : "日本" } )",
      R"({"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8})",
  };
  for (const auto& text : plain) CHECK(read_alike(text));
}

TEST_CASE("everything else is given up on", "[control][json]") {
  const std::vector<std::string> others = {
      R"({"value": null})",
      R"({"value": [1]})",
      R"({"value": {"a": 1}})",
      R"({"value": "a\"b"})",
      R"({"val\u0075e": 1})",
      R"({"value": 1, "value": 2})",
      R"({"value": 18446744073709551616})",
      R"({"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9})",
      R"({"value": 1} x)",
      R"({"value": 1,})",
      R"({"value": 01})",
      R"({"value": tru})",
      R"({"value" 1})",
      R"({"value": "a": "b"}})",  // a string then `:`, balanced by one more `}` (found by fuzzing)
      R"({"value": "a": 1, "b": true}})",
      R"([1])",
      R"("value")",
      "",
      "{\"value\": \"\xff\"}",
  };
  for (const auto& text : others) CHECK_FALSE(read_alike(text));
  CHECK(read_alike(R"({"value": 1})", 2));
  CHECK_FALSE(read_alike(R"({"value": 1})", 1));
}

TEST_CASE("JSONTestSuite texts are read alike or given up on", "[control][json][conformance]") {
  const auto dir = std::filesystem::path(POSTERN_SOURCE_DIR) / ".." / "shared" / "conformance" /
                   "JSONTestSuite" / "test_parsing";
  if (!std::filesystem::is_directory(dir)) {
    WARN("skipped: " << dir.string() << " not found (JSONTestSuite lives in ../shared)");
    return;
  }
  std::size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const auto text = test::read_file(entry.path());
    INFO(entry.path().filename().string());
    read_alike(text);
    read_alike(R"({"value":)" + text + "}");
    read_alike(R"({"comment":"x","value":)" + text + R"(,"expiry":"y"})");
    ++files;
  }
  CHECK(files > 300);
}

}  // namespace plain_json_test
