// SlicedAnswers: a batch answered in slices by several threads gives the text one BatchChecker
// gives answering the queries one after another, whether the other threads take slices, run
// too late to take any, or never run at all.
#include "sliced_answers.hpp"

#include <catch2/catch.hpp>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "answer_text.hpp"
#include "postern/control/query.hpp"
#include "sample_tailnet.hpp"

namespace sliced_answers_test {

using namespace postern;

namespace {

struct Fixture : test::SampleTailnet {
  Fixture() : SampleTailnet("postern-sliced-answers") {}
};

using Queries = std::vector<control::Outcome<control::QueryInput>>;
using Views = std::vector<control::Outcome<control::QueryView>>;

// The queries as a batch holds them (views into `queries`, which must outlive them).
Views views_of(const Queries& queries) {
  Views out;
  for (const auto& q : queries) {
    if (q) {
      out.emplace_back(control::view_of(q.value()));
    } else {
      out.emplace_back(q.error());
    }
  }
  return out;
}

// Names of every kind the index answers (id, nodeId, hostname in capitals, address, user login),
// unknown names, malformed destinations and unreadable queries, in a fixed pseudo-random order.
Queries mixed_queries(std::size_t count) {
  const std::vector<std::string> sources = {
      "alice-mbp", "ALICE-MBP",         "1001",   "nAl1ceMBP01", "carol-mbp", "erin-mbp",
      "bob-linux", "alice@example.com", "nobody", "100.64.0.1"};
  const std::vector<std::string> destinations = {
      "web-1:443", "db-1:5432", "WEB-1:80", "web-1", "db-1:99999", "[fd7a::1]:22", "router-1:22"};
  Queries out;
  std::size_t state = 7;
  for (std::size_t i = 0; i < count; ++i) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    if (state % 17 == 0) {
      out.emplace_back(control::invalid(grammar::DiagCode::C722, "a query must be a JSON object"));
      continue;
    }
    control::QueryInput input;
    input.src = sources[(state >> 8) % sources.size()];
    input.dst = destinations[(state >> 24) % destinations.size()];
    input.explain = (state >> 40) % 3 == 0;
    if ((state >> 44) % 5 == 0) input.proto = std::int64_t{17};
    out.emplace_back(std::move(input));
  }
  return out;
}

// One checker, one query after another: what the slices together must equal.
std::string one_by_one(const std::shared_ptr<const engine::Snapshot>& snap, const Queries& queries,
                       const app::AnswerFile& file) {
  std::string out;
  control::BatchChecker checker(snap, [&](const control::BatchChecker::Answer& a) {
    if (!out.empty()) out += ',';
    app::append_batch_answer(out, file, a);
  });
  for (const auto& q : queries) {
    if (q) {
      checker.add(q.value());
    } else {
      checker.add_error(q.error());
    }
  }
  checker.finish();
  return out;
}

}  // namespace

TEST_CASE("slices answered on other threads join into the one-by-one answers", "[sliced]") {
  Fixture f;
  const auto snap = f.tailnet->snapshot();
  const app::AnswerFile file(snap->file());
  for (const std::size_t count : std::vector<std::size_t>{0, 1, 63, 64, 65, 200, 1000}) {
    INFO(count << " queries");
    const auto queries = mixed_queries(count);
    const auto expected = one_by_one(snap, queries, file);

    const auto views = views_of(queries);
    std::vector<std::thread> threads;
    control::OtherThreads others{
        3, [&](std::function<void()> task) { threads.emplace_back(std::move(task)); }};
    std::string text;
    {
      app::SlicedAnswers answers(snap, file, views);
      answers.answer_all(others);
      answers.append_to(text);
    }
    for (auto& t : threads) t.join();
    CHECK(text == expected);
    const std::size_t slices =
        (count + app::SlicedAnswers::kSliceQueries - 1) / app::SlicedAnswers::kSliceQueries;
    CHECK(threads.size() == (slices > 1 ? std::min<std::size_t>(3, slices - 1) : 0));
  }
}

TEST_CASE("helpers that run late or never leave the caller to answer everything", "[sliced]") {
  Fixture f;
  const auto snap = f.tailnet->snapshot();
  const app::AnswerFile file(snap->file());
  const auto queries = mixed_queries(500);
  const auto views = views_of(queries);
  const auto expected = one_by_one(snap, queries, file);

  SECTION("never run (a stopping server destroys them)") {
    std::size_t posted = 0;
    control::OtherThreads others{1, [&](std::function<void()>) { ++posted; }};
    app::SlicedAnswers answers(snap, file, views);
    answers.answer_all(others);
    std::string text;
    answers.append_to(text);
    CHECK(posted == 1);
    CHECK(text == expected);
  }
  SECTION("run after the answer is complete and the answers are gone") {
    std::vector<std::function<void()>> late;
    control::OtherThreads others{2, [&](std::function<void()> task) { late.push_back(task); }};
    std::string text;
    {
      app::SlicedAnswers answers(snap, file, views);
      answers.answer_all(others);
      answers.append_to(text);
    }
    REQUIRE(late.size() == 2);
    for (auto& task : late) task();  // finds no slice left and touches nothing that is gone
    CHECK(text == expected);
  }
}

}  // namespace sliced_answers_test
