// GET /metrics of a real `postern serve`: behind the API credentials on the main listener, open on
// a loopback --metrics-listen, refused on any other address; the exposition parsed line by line
// (Prometheus text format 0.0.4) and its counters matched against the requests this test made.
#include <httplib.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "process.hpp"
#include "scratch.hpp"

namespace auth_metrics_test {

namespace {

using postern::test::Process;
using postern::test::run_process;

std::string postern_binary() { return postern::test::binary("app/postern"); }
std::string sample(const std::string& name) {
  return std::string(POSTERN_SOURCE_DIR) + "/samples/" + name;
}

// Every sample of an exposition, by its full series text (`name{labels}`), with the TYPE of each
// metric family. A line that fits neither form fails the test.
struct Exposition {
  std::map<std::string, double> samples;
  std::map<std::string, std::string> types;

  [[nodiscard]] double at(const std::string& series) const {
    const auto it = samples.find(series);
    if (it == samples.end()) FAIL("no sample " << series);
    return it->second;
  }
};

Exposition parse_exposition(const std::string& text) {
  static const std::regex kSample(
      R"(^([a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})?) (\S+)$)");
  static const std::regex kType(
      R"(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$)");
  static const std::regex kHelp(R"(^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* .*$)");
  Exposition out;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    std::smatch m;
    if (line.empty() || std::regex_match(line, kHelp)) continue;
    if (std::regex_match(line, m, kType)) {
      out.types[m[1]] = m[2];
    } else if (std::regex_match(line, m, kSample)) {
      out.samples[m[1]] = std::stod(m[5]);
    } else {
      FAIL("not Prometheus text format: `" << line << "`");
    }
  }
  return out;
}

struct Server {
  postern::test::ScratchDir dir{"postern-metrics"};
  std::string db = dir.file("postern.db").string();
  std::string token_file = dir.file("token").string();
  std::unique_ptr<Process> process;
  int port = 0;
  int metrics_port = 0;

  explicit Server(bool with_token_file) {
    postern::test::write_file(token_file, "file-token-6b1d9e0c4a7f\n");
    std::vector<std::string> argv{postern_binary(),
                                  "serve",
                                  "--tailnet",
                                  sample("tailnet.json"),
                                  "--policy",
                                  sample("policy.hujson"),
                                  "--db",
                                  db,
                                  "--listen",
                                  "127.0.0.1:0",
                                  "--metrics-listen",
                                  "127.0.0.1:0"};
    if (with_token_file) {
      argv.push_back("--api-token-file");
      argv.push_back(token_file);
    }
    process = std::make_unique<Process>(argv);
    const auto listening = process->wait_listening();
    REQUIRE(listening);
    port = *listening;
    REQUIRE(process->wait_for_stdout("metrics on 127.0.0.1:"));
    const auto out = process->out();
    metrics_port = std::stoi(out.substr(out.find("metrics on 127.0.0.1:") + 21));
  }

  httplib::Result get(int at, const std::string& path, const httplib::Headers& headers = {}) {
    httplib::Client client("127.0.0.1", at);
    return client.Get(path.c_str(), headers);
  }
  // The exposition once every sample in `expected` has its value (bounded: 10 s).
  Exposition scrape_until(const std::map<std::string, double>& expected) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    for (;;) {
      const auto scraped = get(metrics_port, "/metrics");
      REQUIRE(scraped);
      REQUIRE(scraped->status == 200);
      auto parsed = parse_exposition(scraped->body);
      bool complete = true;
      for (const auto& [series, value] : expected) {
        const auto it = parsed.samples.find(series);
        complete = complete && it != parsed.samples.end() && it->second == value;
      }
      if (complete || std::chrono::steady_clock::now() > deadline) return parsed;
    }
  }
  int post(const std::string& path, const std::string& body, const httplib::Headers& headers) {
    httplib::Client client("127.0.0.1", port);
    auto r = client.Post(path.c_str(), headers, body, "application/json");
    REQUIRE(r);
    return r->status;
  }
};

const httplib::Headers kFileToken{{"Authorization", "Bearer file-token-6b1d9e0c4a7f"}};

}  // namespace

TEST_CASE("/metrics counts requests, checks and the policy version", "[app][metrics]") {
  Server s(true);
  const std::string check = R"({"src":"alice-mbp","dst":"alice-mbp:22"})";
  for (int i = 0; i < 3; ++i) CHECK(s.post("/v1/check", check, kFileToken) == 200);
  CHECK(s.post("/v1/check/batch", R"({"queries":[)" + check + "," + check + "]}", kFileToken) ==
        200);
  CHECK(s.post("/v1/check", check, {}) == 401);

  // The server records an exchange once its last byte is written, which may be just after the
  // client has read it: scrape until all five requests are counted.
  const auto m = s.scrape_until(
      {{R"(postern_http_request_duration_seconds_count{method="POST",route="/v1/check"})", 4},
       {R"(postern_http_request_duration_seconds_count{method="POST",route="/v1/check/batch"})",
        1}});

  CHECK(m.types.at("postern_http_requests_total") == "counter");
  CHECK(m.types.at("postern_http_request_duration_seconds") == "histogram");
  CHECK(m.types.at("postern_checks_total") == "counter");
  CHECK(m.types.at("postern_policy_version") == "gauge");
  CHECK(m.at(R"(postern_http_requests_total{method="POST",route="/v1/check",status="200"})") == 3);
  CHECK(m.at(R"(postern_http_requests_total{method="POST",route="/v1/check",status="401"})") == 1);
  CHECK(
      m.at(R"(postern_http_requests_total{method="POST",route="/v1/check/batch",status="200"})") ==
      1);
  CHECK(m.at(R"(postern_http_request_duration_seconds_count{method="POST",route="/v1/check"})") ==
        4);
  CHECK(
      m.at(
          R"(postern_http_request_duration_seconds_bucket{method="POST",route="/v1/check",le="+Inf"})") ==
      4);
  CHECK(m.at("postern_checks_total") == 5);  // three single checks, two batch queries
  CHECK(m.at("postern_policy_version") == 1);
  CHECK(m.at("postern_attribute_changes_total") == 0);

  // An attribute write shows up at the next scrape.
  CHECK(s.post("/v1/devices/nAl1ceMBP01/attributes/custom:tier", R"({"value":"gold"})",
               kFileToken) == 200);
  const auto again = s.get(s.metrics_port, "/metrics");
  REQUIRE(again);
  const auto counted = parse_exposition(again->body);
  CHECK(counted.at("postern_attribute_changes_total") == 1);
  // Each server thread counts its own requests and every scrape adds what was answered since the
  // one before: a second scrape counts nothing twice.
  CHECK(counted.at(
            R"(postern_http_requests_total{method="POST",route="/v1/check",status="200"})") == 3);
  CHECK(counted.at(
            R"(postern_http_request_duration_seconds_count{method="POST",route="/v1/check"})") ==
        4);
  CHECK(counted.at(
            R"(postern_http_request_duration_seconds_sum{method="POST",route="/v1/check"})") > 0);
  const auto scraped = s.get(s.metrics_port, "/metrics");
  REQUIRE(scraped);
  CHECK(scraped->status == 200);
  CHECK(scraped->get_header_value("Content-Type").rfind("text/plain; version=0.0.4", 0) == 0);
}

TEST_CASE("/metrics on the main listener takes the API credentials", "[app][metrics]") {
  Server s(true);
  const auto none = s.get(s.port, "/metrics");
  REQUIRE(none);
  CHECK(none->status == 401);
  const auto with_file_token = s.get(s.port, "/metrics", kFileToken);
  REQUIRE(with_file_token);
  CHECK(with_file_token->status == 200);

  const auto created = run_process({postern_binary(), "keys", "create", "--db", s.db});
  REQUIRE(created.exit_code == 0);
  const auto key = created.out.substr(0, created.out.size() - 1);
  const auto with_key = s.get(s.port, "/metrics", {{"Authorization", "Bearer " + key}});
  REQUIRE(with_key);
  CHECK(with_key->status == 200);
  CHECK(parse_exposition(with_key->body).samples.count("postern_checks_total") == 1);
  // Only the metrics route is on the metrics listener.
  const auto other = s.get(s.metrics_port, "/v1/health");
  REQUIRE(other);
  CHECK(other->status == 404);
}

TEST_CASE("metrics: --metrics-listen refuses a non-loopback address", "[app][metrics]") {
  postern::test::ScratchDir dir{"postern-metrics-refused"};
  const auto result = run_process({postern_binary(), "serve", "--tailnet", sample("tailnet.json"),
                                   "--policy", sample("policy.hujson"), "--listen", "127.0.0.1:0",
                                   "--metrics-listen", "0.0.0.0:0"});
  CHECK(result.exit_code == 2);
  CHECK(result.err.find("loopback") != std::string::npos);
}

}  // namespace auth_metrics_test
