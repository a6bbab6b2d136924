// read_query_batch: the queries of a batch body, read in slices on several threads, are the ones
// read_query gives one by one, errors in their places; a text that is not well-formed fails the
// whole batch; the views stay valid however the reading thread parses afterwards.
#include <catch2/catch.hpp>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "postern/control/query.hpp"

namespace query_batch_test {

using namespace postern;
using grammar::DiagCode;

// `count` queries of every shape a batch may hold: names, numbers and names as protocols,
// explain, posture attributes, and queries with errors (unknown field, wrong types, no dst).
std::vector<std::string> query_texts(std::size_t count) {
  const std::vector<std::string> shapes = {
      R"({"src":"node-%","dst":"100.64.0.%:443"})",
      R"({"src":"alice@example.com","dst":"web-%:22","proto":"UDP","explain":true})",
      R"({"dst":"[fd7a::%]:80","src":"n%","proto":17})",
      R"({"src":"carol-%","dst":"db:5432","srcPostureAttrs":{"custom:tier":"gold","n":%}})",
      R"({"src":"x%","dst":"y:1","prot":"tcp"})",
      R"({"src":%,"dst":"y:1"})",
      R"({"src":"only-src-%"})",
      R"({"src":"s\u00e9%","dst":"d\"q:1","proto":-1})",
      R"([%])",
  };
  std::vector<std::string> out;
  for (std::size_t i = 0; i < count; ++i) {
    std::string text = shapes[(i * 7) % shapes.size()];
    for (auto at = text.find('%'); at != std::string::npos; at = text.find('%')) {
      text.replace(at, 1, std::to_string(i));
    }
    out.push_back(text);
  }
  return out;
}

std::string batch_body(const std::vector<std::string>& queries) {
  std::string body = R"({"queries":[)";
  for (std::size_t i = 0; i < queries.size(); ++i) body += (i > 0 ? "," : "") + queries[i];
  return body + "]}";
}

// What a batch query must equal: the same text read alone.
void check_same(const control::Outcome<control::QueryView>& in_batch, const std::string& alone) {
  const auto expected = control::read_query(alone);
  REQUIRE(in_batch.ok() == expected.ok());
  if (!expected) {
    CHECK(in_batch.error().code == expected.error().code);
    CHECK(in_batch.error().message == expected.error().message);
    return;
  }
  const auto& view = in_batch.value();
  const auto& input = expected.value();
  CHECK(view.src == input.src);
  CHECK(view.dst == input.dst);
  CHECK(view.explain == input.explain);
  CHECK(view.src_attrs == input.src_attrs);
  if (const auto* name = std::get_if<std::string>(&input.proto)) {
    REQUIRE(std::holds_alternative<std::string_view>(view.proto));
    CHECK(std::get<std::string_view>(view.proto) == *name);
  } else {
    REQUIRE(std::holds_alternative<std::int64_t>(view.proto));
    CHECK(std::get<std::int64_t>(view.proto) == std::get<std::int64_t>(input.proto));
  }
}

struct Threads {
  std::vector<std::thread> threads;
  control::OtherThreads others(std::size_t count) {
    return {count, [this](std::function<void()> task) { threads.emplace_back(std::move(task)); }};
  }
  ~Threads() {
    for (auto& t : threads) t.join();
  }
};

TEST_CASE("a batch's queries are read alike on one thread or several", "[control][batch]") {
  for (const std::size_t count : std::vector<std::size_t>{0, 1, 255, 256, 257, 1000}) {
    for (const std::size_t helpers : std::vector<std::size_t>{0, 1, 3}) {
      INFO(count << " queries, " << helpers << " other threads");
      const auto texts = query_texts(count);
      Threads threads;
      const auto batch = control::read_query_batch(batch_body(texts), {}, threads.others(helpers));
      REQUIRE(batch.ok());
      const auto queries = batch.value().queries();
      REQUIRE(queries.size() == count);
      for (std::size_t i = 0; i < count; ++i) {
        INFO("query " << i << ": " << texts[i]);
        check_same(queries[i], texts[i]);
      }
    }
  }
}

TEST_CASE("the views outlive the reading thread's later parses and a move of the batch",
          "[control][batch]") {
  const auto texts = query_texts(600);
  auto first = control::read_query_batch(batch_body(texts), {}, {});
  REQUIRE(first.ok());
  // The thread parses other texts into its parser meanwhile, as a server thread does.
  REQUIRE(control::read_query(R"({"src":"overwrite-1","dst":"overwrite-2:1"})").ok());
  const auto second = control::read_query_batch(batch_body(query_texts(900)), {}, {});
  REQUIRE(second.ok());
  REQUIRE(control::read_query(R"({"src":"overwrite-3","dst":"overwrite-4:1"})").ok());
  const control::QueryBatch moved = std::move(first.value());
  REQUIRE(moved.queries().size() == texts.size());
  for (std::size_t i = 0; i < texts.size(); ++i) {
    INFO("query " << i << ": " << texts[i]);
    check_same(moved.queries()[i], texts[i]);
  }
}

TEST_CASE("a duplicate key anywhere fails the whole batch, the first one named",
          "[control][batch]") {
  auto texts = query_texts(800);
  texts[301] = R"({"src":"a","dst":"b:1","src":"c"})";
  texts[700] = R"({"src":"a","dst":"b:1","dst":"c:2"})";
  for (const std::size_t helpers : std::vector<std::size_t>{0, 2}) {
    Threads threads;
    const auto batch = control::read_query_batch(batch_body(texts), {}, threads.others(helpers));
    REQUIRE_FALSE(batch.ok());
    CHECK(batch.error().code == DiagCode::C723);
    CHECK(batch.error().message == "duplicate object key `src`");
  }
}

TEST_CASE("batch bodies that are not a batch, or too large a one, are refused",
          "[control][batch]") {
  const auto code_of = [](const std::string& body, std::size_t max_queries = 100) {
    const auto batch = control::read_query_batch(body, {max_queries, 512}, {});
    return batch.ok() ? std::optional<DiagCode>() : batch.error().code;
  };
  CHECK(code_of(R"({"queries":[)") == DiagCode::C723);
  CHECK(code_of(R"({"queries":[],"queries":[]})") == DiagCode::C723);
  CHECK(code_of(R"([])") == DiagCode::C722);
  CHECK(code_of(R"({"queries":{}})") == DiagCode::C722);
  CHECK(code_of(R"({"query":[]})") == DiagCode::C722);
  CHECK(code_of(R"({})") == DiagCode::C722);
  const auto three = batch_body(query_texts(3));
  CHECK(code_of(three, 3) == std::nullopt);
  CHECK(code_of(three, 2) == DiagCode::C724);
  const auto deep = R"({"queries":[)" + std::string(600, '[') + std::string(600, ']') + "]}";
  CHECK(code_of(deep) == DiagCode::C723);
}

}  // namespace query_batch_test
