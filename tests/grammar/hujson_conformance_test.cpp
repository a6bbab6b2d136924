// JSONTestSuite (../shared/conformance/JSONTestSuite, MIT, Nicolas Seriot) through the HuJSON parser:
// every y_ file is accepted and equals nlohmann::json's value, every n_ file is rejected except
// the few that HuJSON's comments or trailing comma make valid, and every i_ file has an explicit
// decision (docs/semantics.md#hujson).
#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "corpus.hpp"
#include "postern/grammar/hujson.hpp"

namespace hujson_conformance_test {

namespace hujson = postern::grammar::hujson;
namespace json = postern::grammar::json;
using postern::grammar::SourceFile;

namespace {

// n_ files that are valid HuJSON: one trailing comma, or a terminated comment.
const std::set<std::string> kValidInHujson = {
    "n_array_extra_comma.json",              // ["",]
    "n_array_number_and_comma.json",         // [1,]
    "n_object_trailing_comma.json",          // {"id":0,}
    "n_object_trailing_comment.json",        // {"a":"b"}/**/
    "n_structure_object_with_comment.json",  // {"a":/*comment*/"b"}
};

// Decision per i_ file: empty = accepted, otherwise the expected code of the one error.
const std::map<std::string, std::string> kImplementationDefined = {
    // Valid numbers beyond a double: accepted, text kept, value +-inf or 0.
    {"i_number_double_huge_neg_exp.json", ""},
    {"i_number_huge_exp.json", ""},
    {"i_number_neg_int_huge_exp.json", ""},
    {"i_number_pos_double_huge_exp.json", ""},
    {"i_number_real_neg_overflow.json", ""},
    {"i_number_real_pos_overflow.json", ""},
    {"i_number_real_underflow.json", ""},
    {"i_number_too_big_neg_int.json", ""},
    {"i_number_too_big_pos_int.json", ""},
    {"i_number_very_big_negative_int.json", ""},
    // Unpaired surrogates in \u escapes are rejected (H020).
    {"i_object_key_lone_2nd_surrogate.json", "H020"},
    {"i_string_1st_surrogate_but_2nd_missing.json", "H020"},
    {"i_string_1st_valid_surrogate_2nd_invalid.json", "H020"},
    {"i_string_incomplete_surrogate_and_escape_valid.json", "H020"},
    {"i_string_incomplete_surrogate_pair.json", "H020"},
    {"i_string_incomplete_surrogates_escape_valid.json", "H020"},
    {"i_string_invalid_lonely_surrogate.json", "H020"},
    {"i_string_invalid_surrogate.json", "H020"},
    {"i_string_inverted_surrogates_U+1D11E.json", "H020"},
    {"i_string_lone_second_surrogate.json", "H020"},
    // Invalid UTF-8 is rejected everywhere (H011); UTF-16 text is not UTF-8 either.
    {"i_string_UTF-16LE_with_BOM.json", "H011"},
    {"i_string_UTF-8_invalid_sequence.json", "H011"},
    {"i_string_UTF8_surrogate_U+D800.json", "H011"},
    {"i_string_invalid_utf-8.json", "H011"},
    {"i_string_iso_latin_1.json", "H011"},
    {"i_string_lone_utf8_continuation_byte.json", "H011"},
    {"i_string_not_in_unicode_range.json", "H011"},
    {"i_string_overlong_sequence_2_bytes.json", "H011"},
    {"i_string_overlong_sequence_6_bytes.json", "H011"},
    {"i_string_overlong_sequence_6_bytes_null.json", "H011"},
    {"i_string_truncated-utf-8.json", "H011"},
    {"i_string_utf16BE_no_BOM.json", "H002"},  // a NUL byte where a value must start
    {"i_string_utf16LE_no_BOM.json", "H002"},  // `[` then a NUL byte
    // 500 levels are within kMaxDepth (512).
    {"i_structure_500_nested_arrays.json", ""},
    // A UTF-8 byte order mark is rejected (H019), as Go's encoding/json does.
    {"i_structure_UTF-8_BOM_empty_object.json", "H019"},
};

// Structural equality with nlohmann (objects: nlohmann keeps the last duplicate, so do we here).
bool same_value(const json::Value& ours, const nlohmann::json& theirs) {
  switch (ours.kind) {
    case json::Kind::Null:
      return theirs.is_null();
    case json::Kind::Bool:
      return theirs.is_boolean() && theirs.get<bool>() == ours.boolean;
    case json::Kind::Number:
      return theirs.is_number() && theirs.get<double>() == ours.number;
    case json::Kind::String:
      return theirs.is_string() && theirs.get<std::string>() == ours.text;
    case json::Kind::Array: {
      if (!theirs.is_array() || theirs.size() != ours.items.size()) return false;
      for (std::size_t i = 0; i < ours.items.size(); ++i) {
        if (!same_value(ours.items[i], theirs[i])) return false;
      }
      return true;
    }
    case json::Kind::Object: {
      if (!theirs.is_object()) return false;
      std::map<std::string, const json::Value*> last;
      for (const auto& m : ours.members) last[m.key] = &m.value;
      if (last.size() != theirs.size()) return false;
      for (const auto& [key, value] : last) {
        const auto it = theirs.find(key);
        if (it == theirs.end() || !same_value(*value, *it)) return false;
      }
      return true;
    }
  }
  return false;
}

std::string file_name(const std::filesystem::path& p) { return p.filename().string(); }

// The suite is read from ../shared beside the checkout, never copied into the repository; empty
// (with a warning) when it is absent.
std::vector<std::filesystem::path> suite_files() {
  const auto dir = std::filesystem::path(POSTERN_SOURCE_DIR) / ".." / "shared" / "conformance" /
                   "JSONTestSuite" / "test_parsing";
  std::vector<std::filesystem::path> files;
  if (!std::filesystem::is_directory(dir)) {
    WARN("skipped: " << dir.string() << " not found (JSONTestSuite lives in ../shared)");
    return files;
  }
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.is_regular_file()) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

TEST_CASE("JSONTestSuite y_: accepted, same value as nlohmann", "[grammar][hujson][conformance]") {
  const auto files = suite_files();
  if (files.empty()) return;
  std::size_t count = 0;
  for (const auto& path : files) {
    const auto name = file_name(path);
    if (name.rfind("y_", 0) != 0) continue;
    ++count;
    DYNAMIC_SECTION(name) {
      const SourceFile file(name, postern::test::read_file(path));
      const auto parsed = hujson::parse(file);
      INFO(postern::grammar::render_all(file, parsed.diags));
      REQUIRE(parsed.ok());
      const auto expected = nlohmann::json::parse(file.text());
      CHECK(same_value(*parsed.value, expected));
      // Re-serialised standard JSON means the same to nlohmann.
      CHECK(nlohmann::json::parse(json::to_json(*parsed.value)) == expected);
    }
  }
  CHECK(count == 95);
}

TEST_CASE("JSONTestSuite n_: rejected unless HuJSON makes them valid",
          "[grammar][hujson][conformance]") {
  const auto files = suite_files();
  if (files.empty()) return;
  std::size_t count = 0;
  for (const auto& path : files) {
    const auto name = file_name(path);
    if (name.rfind("n_", 0) != 0) continue;
    ++count;
    DYNAMIC_SECTION(name) {
      const SourceFile file(name, postern::test::read_file(path));
      const auto parsed = hujson::parse(file);
      if (kValidInHujson.count(name) != 0) {
        INFO(postern::grammar::render_all(file, parsed.diags));
        REQUIRE(parsed.ok());
        // Its standard-JSON form is what a strict parser accepts.
        CHECK_NOTHROW(nlohmann::json::parse(json::to_json(*parsed.value)));
      } else {
        REQUIRE_FALSE(parsed.ok());
        REQUIRE(parsed.diags.size() == 1);
        CHECK(parsed.diags[0].span.end <= file.text().size());
      }
    }
  }
  CHECK(count == 188);
}

TEST_CASE("JSONTestSuite i_: each has a decision", "[grammar][hujson][conformance]") {
  const auto files = suite_files();
  if (files.empty()) return;
  std::size_t count = 0;
  for (const auto& path : files) {
    const auto name = file_name(path);
    if (name.rfind("i_", 0) != 0) continue;
    ++count;
    DYNAMIC_SECTION(name) {
      const auto decision = kImplementationDefined.find(name);
      REQUIRE(decision != kImplementationDefined.end());
      const SourceFile file(name, postern::test::read_file(path));
      const auto parsed = hujson::parse(file);
      INFO(postern::grammar::render_all(file, parsed.diags));
      if (decision->second.empty()) {
        CHECK(parsed.ok());
      } else {
        REQUIRE(parsed.diags.size() == 1);
        CHECK(std::string(postern::grammar::code_name(parsed.diags[0].code)) == decision->second);
      }
    }
  }
  CHECK(count == kImplementationDefined.size());
}

}  // namespace hujson_conformance_test
