// `postern hujson`: runs the built binary, checking stdout, stderr and the exit code separately.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "postern/grammar/hujson.hpp"
#include "scratch.hpp"

namespace hujson_cli_test {

namespace {

namespace fs = std::filesystem;

struct Run {
  int exit_code = -1;
  std::string out;
  std::string err;
};

struct TempFile : postern::test::TempFile {
  TempFile(const std::string& name, const std::string& text)
      : postern::test::TempFile("postern_hujson_cli", name, text) {}
};

using postern::test::slurp;

// `prefix` goes before the binary (e.g. a pipe into it).
Run run_postern(const std::string& args, const std::string& prefix = "") {
  const auto binary = fs::path(POSTERN_BINARY_DIR) / "app" / "postern";
  REQUIRE(fs::exists(binary));
  const TempFile err_file("stderr.txt", "");
  const std::string command =
      prefix + "'" + binary.string() + "' " + args + " 2>'" + err_file.path.string() + "'";
  Run run;
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::array<char, 65536> buffer{};
  std::size_t n = 0;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) run.out.append(buffer.data(), n);
  const int status = pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  run.err = slurp(err_file.path);
  return run;
}

}  // namespace

TEST_CASE("hujson: prints standard JSON", "[app][hujson]") {
  const TempFile file(
      "ok.hujson", "// policy\n{\"a\": [1, 2,], /* c */ \"s\": \"\\u00e9\\n\", \"n\": 1e400,}\n");
  const auto run = run_postern("hujson '" + file.path.string() + "'");
  INFO(run.err);
  CHECK(run.exit_code == 0);
  CHECK(run.out == "{\"a\":[1,2],\"s\":\"\xc3\xa9\\n\",\"n\":1e400}\n");
  CHECK(run.err.empty());

  const auto check = run_postern("hujson --check '" + file.path.string() + "'");
  CHECK(check.exit_code == 0);
  CHECK(check.out.empty());

  const auto piped = run_postern("hujson -", "printf '[1,]' | ");
  CHECK(piped.exit_code == 0);
  CHECK(piped.out == "[1]\n");
}

TEST_CASE("hujson: invalid input gives one located error and no output", "[app][hujson]") {
  const TempFile file("bad.hujson", "{\n  \"a\": [1 2]\n}\n");
  const auto run = run_postern("hujson '" + file.path.string() + "'");
  CHECK(run.exit_code == 1);
  CHECK(run.out.empty());
  CHECK(run.err.rfind(file.path.string() + ":2:11: error[H004]: invalid character `2` after array "
                                           "element\n",
                      0) == 0);
  CHECK(run.err.find("help: ") != std::string::npos);
}

TEST_CASE("hujson: I/O errors exit 2", "[app][hujson]") {
  const auto run = run_postern("hujson /nonexistent/postern.hujson");
  CHECK(run.exit_code == 2);
  CHECK(run.out.empty());
  CHECK(run.err.find("error[C701]") != std::string::npos);
  CHECK(run_postern("hujson").exit_code == 2);  // missing FILE is a usage error
}

TEST_CASE("hujson: a large file streams and still reports exact positions", "[app][hujson]") {
  // Over 8 MiB, so the consumed-page release path runs; long strings keep the test fast.
  const std::string chunk = "  \"" + std::string(1000, 'x') + "\", // note\n";
  std::string text = "[\n";
  while (text.size() < (9U << 20U)) text += chunk;
  text += "  0\n]\n";
  const TempFile file("big.hujson", text);
  const auto run = run_postern("hujson '" + file.path.string() + "'");
  REQUIRE(run.exit_code == 0);
  const auto parsed = postern::grammar::hujson::parse(postern::grammar::SourceFile("big", text));
  REQUIRE(parsed.ok());
  CHECK(run.out == postern::grammar::json::to_json(*parsed.value) + "\n");

  // An error near the end of the same file is located on its real line.
  const std::size_t lines = static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
  text.insert(text.size() - 3, "x");  // `0x` on the last element line
  const TempFile bad("big_bad.hujson", text);
  const auto failed = run_postern("hujson '" + bad.path.string() + "'");
  CHECK(failed.exit_code == 1);
  CHECK(failed.out.empty());
  CHECK(failed.err.rfind(bad.path.string() + ":" + std::to_string(lines - 1) + ":4: error[H004]",
                         0) == 0);
}

}  // namespace hujson_cli_test
