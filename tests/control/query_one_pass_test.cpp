// The one-pass reader of plain queries (query_text_plain.hpp) against the validating reader:
// every text gives the same queries, errors and refusals either way, and the one pass is taken
// for plain batches and given up on everything else.
#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "corpus.hpp"
#include "postern/control/query.hpp"

namespace query_one_pass_test {

using namespace postern;
using grammar::DiagCode;

control::Outcome<control::QueryBatch> read(const std::string& body, bool one_pass,
                                           std::size_t max_queries = 100, std::size_t depth = 512) {
  return control::read_query_batch(body, {max_queries, depth, one_pass}, {});
}

void check_same_query(const control::Outcome<control::QueryView>& a,
                      const control::Outcome<control::QueryView>& b) {
  REQUIRE(a.ok() == b.ok());
  if (!a) {
    CHECK(a.error().code == b.error().code);
    CHECK(a.error().message == b.error().message);
    return;
  }
  CHECK(a.value().src == b.value().src);
  CHECK(a.value().dst == b.value().dst);
  CHECK(a.value().proto == b.value().proto);
  CHECK(a.value().explain == b.value().explain);
  CHECK(a.value().src_attrs == b.value().src_attrs);
}

// Read both ways; returns whether the one pass was taken.
bool check_same_batch(const std::string& body, std::size_t max_queries = 100,
                      std::size_t depth = 512) {
  INFO(body);
  const auto fast = read(body, true, max_queries, depth);
  const auto validating = read(body, false, max_queries, depth);
  REQUIRE(fast.ok() == validating.ok());
  CHECK_FALSE((validating.ok() && validating.value().read_in_one_pass()));
  if (!fast) {
    CHECK(fast.error().code == validating.error().code);
    CHECK(fast.error().message == validating.error().message);
    return false;
  }
  const auto a = fast.value().queries();
  const auto b = validating.value().queries();
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) check_same_query(a[i], b[i]);
  return fast.value().read_in_one_pass();
}

std::string batch_of(const std::string& query, std::size_t copies = 3) {
  std::string body = R"({"queries":[)";
  for (std::size_t i = 0; i < copies; ++i) body += (i > 0 ? "," : "") + query;
  return body + "]}";
}

TEST_CASE("plain batches are read in one pass, to the same queries", "[control][batch]") {
  const std::vector<std::string> plain = {
      R"({"queries":[]})",
      batch_of(R"({"src":"node-1","dst":"100.64.0.1:443"})"),
      batch_of(R"({"dst":"[fd7a:115c::1]:22","proto":"UDP","src":"alice@example.com"})"),
      batch_of(R"({"src":"a","dst":"b:1","explain":true})"),
      batch_of(R"({"src":"a","dst":"b:1","explain":false,"proto":"icmp"})"),
      batch_of(R"( { "src" : "sé" , "dst" : "日本:1" } )"),
      " \n" + batch_of(R"({"src":"","dst":""})") + "\t\r\n ",
      batch_of(R"({"src":"a","dst":"b:1","proto":"nonsense"})"),  // the check refuses it later
  };
  for (const auto& body : plain) {
    INFO(body);
    CHECK(check_same_batch(body));
  }
}

TEST_CASE("everything else is left to the validating reader, with its answer", "[control][batch]") {
  const std::vector<std::string> others = {
      // Queries the one pass does not read.
      batch_of(R"({"src":"a","dst":"b:1","proto":6})"),
      batch_of(R"({"src":"a\u0062","dst":"b:1"})"),
      batch_of(R"({"src":"a","dst":"b\"c:1"})"),
      batch_of(R"({"\u0073rc":"a","dst":"b:1"})"),
      batch_of(R"({"src":"a","dst":"b:1","srcPostureAttrs":{"custom:x":1}})"),
      batch_of(R"({"src":"a","dst":"b:1","prot":"tcp"})"),
      batch_of(R"({"src":"a"})"),
      batch_of(R"({"src":1,"dst":"b:1"})"),
      batch_of(R"({"src":null,"dst":"b:1"})"),
      batch_of(R"({"src":"a","dst":"b:1","explain":"yes"})"),
      batch_of(R"(["a","b:1"])"),
      // Duplicates and limits.
      batch_of(R"({"src":"a","dst":"b:1","src":"c"})"),
      batch_of(R"({"src":"a","dst":"b:1","explain":true,"explain":false})"),
      R"({"queries":[],"queries":[]})",
      R"({"queries":[],"other":1})",
      R"({"queries":{}})",
      R"({})",
      R"([])",
      R"("queries")",
      // Text that is not well-formed JSON, however plain it starts.
      batch_of(R"({"src":"a","dst":"b:1"})") + " x",
      batch_of(R"({"src":"a","dst":"b:1"})") + "}",
      batch_of(R"({"src":"a","dst":"b:1"})") + batch_of(R"({"src":"a","dst":"b:1"})"),
      R"({"queries":[{"src":"a","dst":"b:1"},]})",
      R"({"queries":[{"src":"a","dst":"b:1",}]})",
      R"({"queries":[{"src":"a" "dst":"b:1"}]})",
      R"({"queries":[{"src":"a""dst":"b:1"}]})",
      R"({"queries":[{"src":"a"x,"dst":"b:1"}]})",
      R"({"queries":[{"src":"a","dst":"b:1","explain":tru}]})",
      // A string followed by `:` where a comma belongs, made to look balanced by one more `}`:
      // simdjson's skipping of an unread value took `"b:1":` for a key (found by fuzzing).
      R"({"queries":[{"src":"a","dst":"b:1":"x","y":true}}]})",
      R"({"queries":[{"src":"a":"x"},"dst":"b:1"}]})",
      R"({"queries":[{"src":"a","dst":"b:1","proto":"tcp":"x"}}]})",
      R"({"queries":[{"src":"a","dst":"b:1","explain":truex}]})",
      R"({"queries":[{"src":"a","dst":"b:1"}])",
      R"({"queries":[{"src":"a","dst":"b:1"})",
      R"({"queries":[{"src":"a","dst":"b:1)",
      "{\"queries\":[{\"src\":\"a\x01\",\"dst\":\"b:1\"}]}",
      "{\"queries\":[{\"src\":\"a\xff\",\"dst\":\"b:1\"}]}",
      "",
      "   ",
  };
  for (const auto& body : others) {
    INFO(body);
    CHECK_FALSE(check_same_batch(body));
  }
}

TEST_CASE("the one pass keeps the batch limits", "[control][batch]") {
  const auto three = batch_of(R"({"src":"a","dst":"b:1"})", 3);
  CHECK(check_same_batch(three, 3));
  CHECK_FALSE(check_same_batch(three, 2));
  CHECK(read(three, true, 2).error().code == DiagCode::C724);
  CHECK(check_same_batch(three, 100, 4));
  CHECK_FALSE(check_same_batch(three, 100, 3));
  CHECK(read(three, true, 100, 3).error().code == DiagCode::C723);
}

TEST_CASE("a plain single query reads as the validating reader reads it", "[control][batch]") {
  const std::vector<std::string> texts = {
      R"({"src":"node-1","dst":"100.64.0.1:443"})",
      R"({"src":"a","dst":"b:1","proto":"udp","explain":true})",
      R"({"src":"a","dst":"b:1","proto":17})",
      R"({"src":"a\u0062","dst":"b:1"})",
      R"({"src":"a","dst":"b:1","src":"c"})",
      R"({"src":"a","dst":"b:1","explain":tru})",
      R"({"src":"a"})",
  };
  for (const bool explain_default : {false, true}) {
    for (const auto& text : texts) {
      INFO(text << " explain by default: " << explain_default);
      const auto alone = control::read_query(text, explain_default);
      const auto in_batch = read(batch_of(text, 1), false);
      if (!in_batch) {
        REQUIRE_FALSE(alone.ok());
        CHECK(alone.error().message == in_batch.error().message);
        continue;
      }
      auto expected = in_batch.value().queries()[0];
      if (expected && text.find("explain") == std::string::npos) {
        expected.value().explain = explain_default;
      }
      const auto read_alone =
          alone ? control::Outcome<control::QueryView>(control::view_of(alone.value()))
                : control::Outcome<control::QueryView>(alone.error());
      check_same_query(read_alone, expected);
    }
  }
  // The depth limit holds for a plain query too, counted as the validating reader counts it.
  CHECK(control::read_query(texts[0], false, 2).ok());
  CHECK(control::read_query(texts[0], false, 1).error().code == DiagCode::C723);
  // Whatever follows a plain object makes it no query.
  for (const std::string tail : {" x", "}", ",", R"({"src":"a","dst":"b:1"})"}) {
    const auto text = R"({"src":"a","dst":"b:1"})" + tail;
    INFO(text);
    const auto alone = control::read_query(text);
    REQUIRE_FALSE(alone.ok());
    CHECK(alone.error().code == DiagCode::C723);
  }
}

// Every JSONTestSuite text (../shared, never copied here; skipped without it) as a whole body,
// as a query's value, and after a plain batch: refused or read alike both ways.
TEST_CASE("JSONTestSuite texts inside and around plain batches read alike both ways",
          "[control][batch][conformance]") {
  const auto dir = std::filesystem::path(POSTERN_SOURCE_DIR) / ".." / "shared" / "conformance" /
                   "JSONTestSuite" / "test_parsing";
  if (!std::filesystem::is_directory(dir)) {
    WARN("skipped: " << dir.string() << " not found (JSONTestSuite lives in ../shared)");
    return;
  }
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  CHECK(files.size() > 300);
  std::size_t one_pass = 0;
  for (const auto& path : files) {
    const auto text = test::read_file(path);
    INFO(path.filename().string());
    const std::vector<std::string> bodies = {
        text,
        batch_of(text, 1),
        batch_of(R"({"src":"a","dst":"b:1","explain":)" + text + "}", 2),
        batch_of(R"({"src":)" + text + R"(,"dst":"b:1"})", 2),
        batch_of(R"({"src":"a","dst":"b:1"})", 2) + text,
    };
    for (const auto& body : bodies) one_pass += check_same_batch(body) ? 1U : 0U;
  }
  CHECK(one_pass > 0);  // texts such as "true" or a plain string make plain queries
}

}  // namespace query_one_pass_test
