// `postern fmt`: runs the built binary, checking stdout, stderr, exit codes and the files left on
// disk (contents, modes, no temporaries).
#include <sys/stat.h>
#include <sys/wait.h>

#include <array>
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <string>

#include "postern/grammar/hujson_format.hpp"
#include "scratch.hpp"

namespace fmt_cli_test {

namespace {

namespace fs = std::filesystem;
using postern::test::slurp;
using postern::test::write_file;

struct Run {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// `prefix` goes before the binary (e.g. a pipe into it).
Run run_postern(const postern::test::ScratchDir& dir, const std::string& args,
                const std::string& prefix = "") {
  const auto binary = fs::path(POSTERN_BINARY_DIR) / "app" / "postern";
  REQUIRE(fs::exists(binary));
  const auto err_file = dir.path().parent_path() / (dir.path().filename().string() + ".stderr");
  const std::string command =
      prefix + "'" + binary.string() + "' " + args + " 2>'" + err_file.string() + "'";
  Run run;
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::array<char, 65536> buffer{};
  std::size_t n = 0;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) run.out.append(buffer.data(), n);
  const int status = pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  run.err = slurp(err_file);
  fs::remove(err_file);
  return run;
}

std::string quoted(const fs::path& path) { return "'" + path.string() + "'"; }

unsigned mode_of(const fs::path& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777U;
}

std::size_t entries_in(const fs::path& dir) {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dir)) ++n;
  return n;
}

const std::string kMessy = "// policy\n{\n  \"a\" : 1,\n  \"bcd\": [1,2,],\n}\n";
const std::string kFormatted = "// policy\n{\n\t\"a\":   1,\n\t\"bcd\": [1, 2],\n}\n";
const std::string kInvalid = "{\n  \"a\": [1 2]\n}\n";

}  // namespace

TEST_CASE("fmt: prints the formatted text", "[app][fmt]") {
  REQUIRE(postern::grammar::hujson::format(kMessy).value == kFormatted);
  const postern::test::ScratchDir dir("postern-fmt-cli");
  write_file(dir.file("messy.hujson"), kMessy);
  write_file(dir.file("tidy.hujson"), kFormatted);

  const auto run = run_postern(dir, "fmt " + quoted(dir.file("messy.hujson")));
  INFO(run.err);
  CHECK(run.exit_code == 0);
  CHECK(run.out == kFormatted);
  CHECK(run.err.empty());
  CHECK(slurp(dir.file("messy.hujson")) == kMessy);  // printing never touches the file

  const auto both = run_postern(
      dir, "fmt " + quoted(dir.file("messy.hujson")) + " " + quoted(dir.file("tidy.hujson")));
  CHECK(both.exit_code == 0);
  CHECK(both.out == kFormatted + kFormatted);
}

TEST_CASE("fmt: reads standard input for `-` or no file", "[app][fmt]") {
  const postern::test::ScratchDir dir("postern-fmt-cli");
  const auto dash = run_postern(dir, "fmt -", "printf '[1,\\n2,]' | ");
  CHECK(dash.exit_code == 0);
  CHECK(dash.out == "[\n\t1,\n\t2,\n]\n");
  const auto none = run_postern(dir, "fmt", "printf '{ \"a\" :1 }' | ");
  CHECK(none.exit_code == 0);
  CHECK(none.out == "{\"a\": 1}\n");
  const auto check = run_postern(dir, "fmt --check", "printf '[1,2]' | ");
  CHECK(check.exit_code == 1);
  CHECK(check.out == "<stdin>\n");
}

TEST_CASE("fmt --check: lists unformatted files and exits 1", "[app][fmt]") {
  const postern::test::ScratchDir dir("postern-fmt-cli");
  write_file(dir.file("messy.hujson"), kMessy);
  write_file(dir.file("tidy.hujson"), kFormatted);

  const auto tidy = run_postern(dir, "fmt --check " + quoted(dir.file("tidy.hujson")));
  CHECK(tidy.exit_code == 0);
  CHECK(tidy.out.empty());
  CHECK(tidy.err.empty());

  const auto mixed = run_postern(dir, "fmt --check " + quoted(dir.file("tidy.hujson")) + " " +
                                          quoted(dir.file("messy.hujson")));
  CHECK(mixed.exit_code == 1);
  CHECK(mixed.out == dir.file("messy.hujson").string() + "\n");
  CHECK(slurp(dir.file("messy.hujson")) == kMessy);
}

TEST_CASE("fmt -w: rewrites in place, keeps the mode, skips invalid files", "[app][fmt]") {
  const postern::test::ScratchDir dir("postern-fmt-cli");
  const auto messy = dir.file("messy.hujson");
  const auto bad = dir.file("bad.hujson");
  write_file(messy, kMessy);
  write_file(bad, kInvalid);
  fs::permissions(messy, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
  const unsigned mode_before = mode_of(messy);
  const auto bad_mode = mode_of(bad);

  const auto run = run_postern(dir, "fmt -w " + quoted(messy) + " " + quoted(bad));
  CHECK(run.exit_code == 1);  // the invalid file
  CHECK(run.out.empty());
  CHECK(run.err.rfind(bad.string() + ":2:11: error[H004]: ", 0) == 0);
  CHECK(run.err.find("help: ") != std::string::npos);
  CHECK(slurp(messy) == kFormatted);
  CHECK(mode_of(messy) == mode_before);
  CHECK(mode_before == 0640U);
  CHECK(slurp(bad) == kInvalid);  // never touched
  CHECK(mode_of(bad) == bad_mode);
  CHECK(entries_in(dir.path()) == 2);  // no temporary file left behind

  const auto again = run_postern(dir, "fmt -w " + quoted(messy));
  CHECK(again.exit_code == 0);
  CHECK(slurp(messy) == kFormatted);
  CHECK(run_postern(dir, "fmt --check " + quoted(messy)).exit_code == 0);
}

TEST_CASE("fmt -w: a symlink keeps pointing at the rewritten file", "[app][fmt]") {
  const postern::test::ScratchDir dir("postern-fmt-cli");
  const auto target = dir.file("real.hujson");
  const auto link = dir.file("link.hujson");
  write_file(target, kMessy);
  fs::create_symlink(target, link);
  const auto run = run_postern(dir, "fmt -w " + quoted(link));
  CHECK(run.exit_code == 0);
  CHECK(fs::is_symlink(link));
  CHECK(slurp(target) == kFormatted);
}

TEST_CASE("fmt: invalid input, usage and I/O errors", "[app][fmt]") {
  const postern::test::ScratchDir dir("postern-fmt-cli");
  write_file(dir.file("bad.hujson"), kInvalid);
  write_file(dir.file("messy.hujson"), kMessy);

  const auto invalid = run_postern(dir, "fmt " + quoted(dir.file("bad.hujson")));
  CHECK(invalid.exit_code == 1);
  CHECK(invalid.out.empty());
  CHECK(invalid.err.rfind(dir.file("bad.hujson").string() + ":2:11: error[H004]", 0) == 0);

  const auto missing = run_postern(dir, "fmt /nonexistent/postern.hujson");
  CHECK(missing.exit_code == 2);
  CHECK(missing.err.find("error[C701]") != std::string::npos);
  CHECK(missing.err.find("/nonexistent/postern.hujson") != std::string::npos);

  const auto directory = run_postern(dir, "fmt " + quoted(dir.path()));
  CHECK(directory.exit_code == 2);
  CHECK(directory.err.find("is a directory") != std::string::npos);

  const auto write_stdin = run_postern(dir, "fmt -w -", "printf '[1]' | ");
  CHECK(write_stdin.exit_code == 2);
  CHECK(write_stdin.err.find("error[C703]") != std::string::npos);

  const auto both = run_postern(dir, "fmt --check -w " + quoted(dir.file("messy.hujson")));
  CHECK(both.exit_code == 2);
  CHECK(slurp(dir.file("messy.hujson")) == kMessy);

  // An I/O error outranks an unformatted file.
  const auto mixed = run_postern(
      dir, "fmt --check " + quoted(dir.file("messy.hujson")) + " /nonexistent/postern.hujson");
  CHECK(mixed.exit_code == 2);
  CHECK(mixed.out == dir.file("messy.hujson").string() + "\n");
}

}  // namespace fmt_cli_test
