// The CLI and the HTTP server give the same answer and the same error for the same request: one
// table of queries (tests/corpus/same_answer/queries.jsonl: answers, posture denials with
// explanations, and every kind of bad query) is answered by `postern check --batch --format json`
// and by a running `postern serve` through POST /v1/check/batch and POST /v1/check, and the
// answers must agree field for field (the single route's decision and error code too).
#include <httplib.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "json_files.hpp"
#include "process.hpp"

namespace same_answer_test {

using nlohmann::json;

namespace {

std::string sample(const std::string& name) {
  return std::string(POSTERN_SOURCE_DIR) + "/samples/" + name;
}

std::vector<std::string> table_lines() {
  std::ifstream in(std::string(POSTERN_TEST_DATA_DIR) + "/same_answer/queries.jsonl");
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

json post(int port, const std::string& path, const std::string& body, int& status) {
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(30, 0);
  auto r = client.Post(path.c_str(), body, "application/json");
  REQUIRE(r);
  status = r->status;
  return json::parse(r->body);
}

// The CLI names the policy file as it was given; the server by its last path component only
// (answers must not tell clients where the server keeps its files).
json file_by_name(json value) {
  return postern::test::rename_files(std::move(value), [](const std::string& path) {
    return std::filesystem::path(path).filename().string();
  });
}

}  // namespace

TEST_CASE("CLI and HTTP answer one table of queries alike", "[app][server][cli]") {
  const auto lines = table_lines();
  REQUIRE(lines.size() >= 25);
  const std::string policy = sample("policy.hujson");
  const std::string tailnet = sample("tailnet.json");
  const std::string postern = postern::test::binary("app/postern");

  const auto cli = postern::test::run_process(
      {postern, "check", "--policy", policy, "--tailnet", tailnet, "--batch",
       std::string(POSTERN_TEST_DATA_DIR) + "/same_answer/queries.jsonl", "--format", "json"});
  INFO(cli.err);
  CHECK(cli.exit_code == 2);  // the table holds bad queries
  std::vector<json> cli_answers;
  std::istringstream out(cli.out);
  for (std::string line; std::getline(out, line);) cli_answers.push_back(json::parse(line));
  REQUIRE(cli_answers.size() == lines.size());

  postern::test::Process server({postern, "serve", "--listen", "127.0.0.1:0", "--policy", policy,
                                 "--tailnet", tailnet, "--threads", "2"});
  const auto port = server.wait_listening();
  REQUIRE(port);

  std::string batch = R"({"queries": [)";
  for (std::size_t i = 0; i < lines.size(); ++i) batch += (i ? "," : "") + lines[i];
  batch += "]}";
  int status = 0;
  const json http_batch = post(*port, "/v1/check/batch", batch, status);
  REQUIRE(status == 200);
  REQUIRE(http_batch["results"].size() == lines.size());

  std::size_t answered = 0;
  std::size_t refused = 0;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    INFO("query " << i + 1 << ": " << lines[i]);
    json from_cli = file_by_name(cli_answers[i]);
    const json& from_batch = http_batch["results"][i];
    CHECK(from_batch.dump().find(POSTERN_SOURCE_DIR) == std::string::npos);
    if (from_cli.contains("error")) {
      CHECK(from_cli["line"] == i + 1);
      from_cli.erase("line");
    }
    CHECK(from_cli == from_batch);

    const json single = post(*port, "/v1/check", lines[i], status);
    if (from_batch.contains("error")) {
      ++refused;
      CHECK(status / 100 == 4);
      // A body that is not an object is refused by the HTTP layer before any query parsing.
      if (lines[i].front() == '{') CHECK(single["code"] == from_batch["error"]["code"]);
      CHECK(single["message"].is_string());
    } else {
      ++answered;
      CHECK(status == 200);
      CHECK(single["decision"] == from_batch["decision"]);
      CHECK(single["allow"] == from_batch["allow"]);
    }
  }
  CHECK(answered >= 9);
  CHECK(refused >= 15);

  // The table twelve times in one batch: answered in 64-query slices by both server threads,
  // every answer in its place.
  constexpr std::size_t kRepeats = 12;
  std::string repeated = R"({"queries": [)";
  for (std::size_t r = 0; r < kRepeats; ++r) {
    for (std::size_t i = 0; i < lines.size(); ++i) repeated += (r + i ? "," : "") + lines[i];
  }
  repeated += "]}";
  const json sliced = post(*port, "/v1/check/batch", repeated, status);
  REQUIRE(status == 200);
  REQUIRE(sliced["results"].size() == kRepeats * lines.size());
  for (std::size_t k = 0; k < sliced["results"].size(); ++k) {
    INFO("answer " << k);
    CHECK(sliced["results"][k] == http_batch["results"][k % lines.size()]);
  }
  CHECK(server.stop() == 0);
}

}  // namespace same_answer_test
