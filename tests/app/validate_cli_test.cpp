// Runs the built `postern` binary on temporary files and checks exit codes and output.
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "scratch.hpp"

namespace validate_cli_test {

namespace {

namespace fs = std::filesystem;

struct Run {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

Run run_postern(const std::string& args) {
  const auto binary = fs::path(POSTERN_BINARY_DIR) / "app" / "postern";
  REQUIRE(fs::exists(binary));
  const std::string command = "'" + binary.string() + "' " + args + " 2>&1";
  Run run;
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::array<char, 4096> buffer{};
  std::size_t n = 0;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0)
    run.output.append(buffer.data(), n);
  const int status = pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

struct TempFile : postern::test::TempFile {
  TempFile(const std::string& name, const std::string& text)
      : postern::test::TempFile("postern_validate_cli", name, text) {}
};

const std::string kSamples = std::string(POSTERN_SOURCE_DIR) + "/samples/";

}  // namespace

TEST_CASE("validate: the sample policy is valid", "[app][validate]") {
  const auto run = run_postern("validate '" + kSamples + "policy.hujson'");
  INFO(run.output);
  CHECK(run.exit_code == 0);
  CHECK(run.output.find("policy.hujson: valid") != std::string::npos);
  const auto with_tailnet = run_postern("validate --tailnet '" + kSamples + "tailnet.json' '" +
                                        kSamples + "policy.hujson'");
  INFO(with_tailnet.output);
  CHECK(with_tailnet.exit_code == 0);
}

TEST_CASE("validate: every error of a file at file:line:col, exit 1", "[app][validate]") {
  const TempFile file(
      "bad.hujson",
      "{\n"
      "  \"tagOwners\": {\"tag:web\": []},\n"
      "  \"acls\": [\n"
      "    {\"action\": \"deny\", \"src\": [\"tag:ghost\"], \"dst\": [\"tag:web\"]},\n"
      "  ],\n"
      "}\n");
  const auto run = run_postern("validate '" + file.path.string() + "'");
  INFO(run.output);
  CHECK(run.exit_code == 1);
  const auto p = file.path.string();
  CHECK(run.output.find(
            p + ":4:59: error[S206]: dst=\"tag:web\": port range \"web\": invalid first integer") !=
        std::string::npos);
  CHECK(run.output.find(p + ":4:16: error[V311]: action=\"deny\" is not supported") !=
        std::string::npos);
  CHECK(run.output.find(p + ":4:33: error[V302]: src=tag not found: \"tag:ghost\"") !=
        std::string::npos);
  CHECK(run.output.find(": invalid (3 errors, 0 warnings)") != std::string::npos);
}

TEST_CASE("validate: a HuJSON syntax error is located", "[app][validate]") {
  const TempFile file("syntax.hujson", "{\"acls\": [}\n");
  const auto run = run_postern("validate '" + file.path.string() + "'");
  INFO(run.output);
  CHECK(run.exit_code == 1);
  CHECK(run.output.find(file.path.string() + ":1:11: error[H") != std::string::npos);
}

TEST_CASE("validate: warnings are printed but keep the file valid", "[app][validate]") {
  const TempFile file("warn.hujson",
                      R"({"tagOwners": {"tag:web": []},
  "acls": [{"action": "accept", "src": ["*"], "srcPosture": [], "dst": ["tag:web:80"]}]})");
  const auto run = run_postern("validate '" + file.path.string() + "'");
  INFO(run.output);
  CHECK(run.exit_code == 0);
  CHECK(run.output.find("warning[V325]") != std::string::npos);
  CHECK(run.output.find(": valid (0 errors, 1 warning)") != std::string::npos);
}

TEST_CASE("validate: JSON output", "[app][validate]") {
  const TempFile file("json.hujson",
                      "{\"acls\": [{\"action\": \"deny\", \"src\": [\"*\"], \"dst\": [\"*:*\"]}]}");
  const auto run = run_postern("validate --format json '" + file.path.string() + "'");
  INFO(run.output);
  CHECK(run.exit_code == 1);
  CHECK(run.output.find("\"code\": \"V311\"") != std::string::npos);
  CHECK(run.output.find("\"line\": 1") != std::string::npos);
  CHECK(run.output.find("\"column\": 22") != std::string::npos);
  CHECK(run.output.find("\"severity\": \"error\"") != std::string::npos);
  CHECK(run.output.find("\"message\": \"action=\\\"deny\\\" is not supported\"") !=
        std::string::npos);
  CHECK(run.output.find("\"help\":") != std::string::npos);
  CHECK(run.output.find("\"file\":") != std::string::npos);
}

TEST_CASE("validate: usage and I/O errors exit 2", "[app][validate]") {
  CHECK(run_postern("validate").exit_code == 2);
  CHECK(run_postern("validate --format xml '" + kSamples + "policy.hujson'").exit_code == 2);
  const auto missing = run_postern("validate /nonexistent/policy.hujson");
  CHECK(missing.exit_code == 2);
  CHECK(missing.output.find("error[C701]") != std::string::npos);
  // A path without an end was read until memory ran out (an abort); now bounded.
  const auto endless = run_postern("validate /dev/zero");
  CHECK(endless.exit_code == 2);
  CHECK(endless.output.find("error[C701]: policy `/dev/zero` is larger than 64 MiB") !=
        std::string::npos);
  const TempFile bad_tailnet("tailnet.json", "{\"devices\": 5}");
  CHECK(run_postern("validate --tailnet '" + bad_tailnet.path.string() + "' '" + kSamples +
                    "policy.hujson'")
            .exit_code == 2);
  const auto help = run_postern("validate --help");
  CHECK(help.exit_code == 0);
  CHECK(help.output.find("--tailnet") != std::string::npos);
  CHECK(help.output.find("--format") != std::string::npos);
}

TEST_CASE("validate: several files, one invalid", "[app][validate]") {
  const TempFile bad("multi.hujson", "{\"acls\": 1}");
  const auto run =
      run_postern("validate '" + kSamples + "policy.hujson' '" + bad.path.string() + "'");
  INFO(run.output);
  CHECK(run.exit_code == 1);
  CHECK(run.output.find("policy.hujson: valid") != std::string::npos);
  CHECK(run.output.find("multi.hujson: invalid") != std::string::npos);
}

TEST_CASE("validate: the policy's tests run after validation (E17)", "[app][validate]") {
  const TempFile file("e17.hujson", R"({
  "groups": {"group:eng": ["bob@example.com"]},
  "tagOwners": {"tag:web": []},
  "postures": {"posture:stable": ["node:tsReleaseTrack == 'stable'"]},
  "defaultSrcPosture": ["posture:stable"],
  "acls": [{"action": "accept", "src": ["group:eng"], "dst": ["tag:web:443"]}],
  "tests": [
    {"src": "bob@example.com", "accept": ["tag:web:443"]},
    {"src": "bob@example.com", "srcPostureAttrs": {"node:tsReleaseTrack": "stable"}, "accept": ["tag:web:443"]},
  ],
})");
  const auto run = run_postern("validate '" + file.path.string() + "'");
  INFO(run.output);
  CHECK(run.exit_code == 1);
  CHECK(run.output.find("error[T4") != std::string::npos);
  CHECK(run.output.find(file.path.string() + ":8:") != std::string::npos);
}

}  // namespace validate_cli_test
