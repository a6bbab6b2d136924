// `postern check` and `postern filter` end to end: the built binary on the samples and temp files.
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

namespace check_cli_test {

namespace {

struct Run {
  int exit_code = -1;
  std::string out;
};

Run run(const std::string& args) {
  const std::string cmd = std::string(POSTERN_BINARY_DIR) + "/app/postern " + args + " 2>/dev/null";
  Run r;
  FILE* pipe = popen(cmd.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::array<char, 4096> buf{};
  std::size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) r.out.append(buf.data(), n);
  const int status = pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::string samples() {
  const std::string dir = std::string(POSTERN_SOURCE_DIR) + "/samples";
  return "--policy " + dir + "/policy.hujson --tailnet " + dir + "/tailnet.json";
}

std::string temp_file(const std::string& name, const std::string& text) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("postern_check_cli_" + std::to_string(getpid()) + "_" + name);
  std::ofstream(path) << text;
  return path.string();
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.rfind(prefix, 0) == 0;
}

}  // namespace

TEST_CASE("check: a posture deny is explained with the actual value", "[app][check]") {
  auto r = run("check " + samples() + " --src alice-mbp --dst db-1:5432 --explain");
  CHECK(r.exit_code == 1);
  CHECK(starts_with(r.out, "deny"));
  CHECK(r.out.find("kandji:agentInstalled == true") != std::string::npos);
  CHECK(r.out.find("actual: unset") != std::string::npos);
  CHECK(r.out.find("policy.hujson:") != std::string::npos);
}

TEST_CASE("check: --attrs replaces the source's attributes", "[app][check]") {
  auto r = run("check " + samples() +
               " --src alice-mbp --dst db-1:5432 --attrs '{\"kandji:agentInstalled\": true}'");
  CHECK(r.exit_code == 0);
  CHECK(starts_with(r.out, "accept"));
  auto j = run("check " + samples() +
               " --src 100.64.0.1 --dst 100.64.0.11:5432 --format json --attrs "
               "'{\"kandji:agentInstalled\": true}'");
  CHECK(j.exit_code == 0);
  auto doc = nlohmann::json::parse(j.out);
  CHECK(doc["decision"] == "accept");
  CHECK(doc["results"][0]["rule"]["line"].get<int>() > 0);
}

TEST_CASE("check: usage errors exit 2", "[app][check]") {
  CHECK(run("check " + samples() + " --src no-such-device --dst db-1:5432").exit_code == 2);
  CHECK(run("check " + samples() + " --src alice-mbp --dst db-1").exit_code == 2);
  CHECK(run("check " + samples() + " --src alice-mbp --dst db-1:22 --proto bogus").exit_code == 2);
  CHECK(run("check " + samples() + " --src alice-mbp --dst db-1:22 --attrs '[1]'").exit_code == 2);
  CHECK(run("check " + samples()).exit_code == 2);
  // A batch file that cannot be opened says why.
  const std::string missing_batch = "check " + samples() + " --batch /nonexistent/queries.jsonl";
  CHECK(run(missing_batch).exit_code == 2);
  const auto missing = run(missing_batch + " 2>&1 | cat");  // the message, through stdout
  CHECK(missing.out.find("cannot read `/nonexistent/queries.jsonl`: No such file or directory") !=
        std::string::npos);
}

// A docs review typed a command that does not exist and read only "A subcommand is required".
TEST_CASE("an unknown command is named with the commands there are", "[app][check]") {
  const auto r = run("frob 2>&1 | cat");
  CHECK(r.out.find("unknown command `frob`; the commands are validate, fmt, check") !=
        std::string::npos);
  CHECK(run("frob").exit_code == 2);
}

// A device's owner picks its host name, and the tailnet file carries it to the admin's terminal:
// its control bytes are shown as `?` in text output (JSON output escapes them).
TEST_CASE("check: control bytes in device names do not reach the terminal", "[app][check]") {
  const std::string dir = std::string(POSTERN_SOURCE_DIR) + "/samples";
  auto tailnet = nlohmann::json::parse(std::ifstream(dir + "/tailnet.json"));
  for (auto& device : tailnet["devices"]) {
    if (device["hostname"] != "alice-mbp") continue;
    device["hostname"] = "alice\x1b[2J\n\xc2\x9b";
    device["name"] = "alice\x1b]0;title\x07.example-tailnet.ts.net";
  }
  const auto path = temp_file("evil_tailnet.json", tailnet.dump());
  const std::string files = "--policy " + dir + "/policy.hujson --tailnet " + path;
  auto r = run("check " + files + " --src 100.64.0.1 --dst db-1:5432 --explain");
  CHECK(r.exit_code == 1);
  CHECK(starts_with(r.out, "deny alice?[2J??? (100.64.0.1) -> db-1"));
  CHECK(r.out.find('\x1b') == std::string::npos);
  CHECK(r.out.find('\x07') == std::string::npos);
  auto j = run("check " + files + " --src 100.64.0.1 --dst db-1:5432 --format json");
  CHECK(j.out.find('\x1b') == std::string::npos);
  CHECK(nlohmann::json::parse(j.out)["results"].size() == 1);
}

TEST_CASE("check --batch answers every line in order", "[app][check]") {
  const auto path = temp_file("batch.jsonl",
                              "{\"src\":\"alice-mbp\",\"dst\":\"db-1:5432\",\"proto\":\"tcp\"}\n"
                              "{\"src\":\"alice-mbp\",\"dst\":\"db-1:5432\",\"proto\":\"tcp\","
                              "\"srcPostureAttrs\":{\"kandji:agentInstalled\":true}}\n"
                              "{\"src\":\"alice-mbp\",\"dst\":\"[fd7a:115c:a1e0::b]:5432\","
                              "\"srcPostureAttrs\":{\"kandji:agentInstalled\":true}}\n");
  auto r = run("check " + samples() + " --batch " + path);
  CHECK(r.exit_code == 0);
  std::istringstream lines(r.out);
  std::string l1, l2, l3;
  std::getline(lines, l1);
  std::getline(lines, l2);
  std::getline(lines, l3);
  CHECK(starts_with(l1, "deny"));
  CHECK(starts_with(l2, "accept"));
  CHECK(starts_with(l3, "accept"));
  auto j = run("check " + samples() + " --batch " + path + " --format json");
  std::istringstream jl(j.out);
  std::getline(jl, l1);
  CHECK(nlohmann::json::parse(l1)["decision"] == "deny");
}

TEST_CASE("filter: tailcfg FilterRules for one node, shaped as GET /v1/filter", "[app][filter]") {
  auto r = run("filter " + samples() + " --node db-1");
  CHECK(r.exit_code == 0);
  auto doc = nlohmann::json::parse(r.out);
  CHECK(doc["node"]["nodeId"] == "nDb1SRV0011");
  const auto& rules = doc["rules"];
  REQUIRE(rules.is_array());
  REQUIRE_FALSE(rules.empty());
  for (const auto& rule : rules) {
    CHECK(rule.contains("SrcIPs"));
    REQUIRE(rule.contains("DstPorts"));
    for (const auto& d : rule["DstPorts"]) {
      CHECK(d["Ports"]["First"].get<int>() <= d["Ports"]["Last"].get<int>());
    }
  }
  CHECK(run("filter " + samples() + " --node nope").exit_code == 2);
}

}  // namespace check_cli_test
