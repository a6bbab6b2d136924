// Whole input files read with a bound (control/text_file.hpp): a path naming /dev/zero, a pipe
// or a file far larger than any policy must be a clear error, not an out-of-memory abort.
#include "postern/control/text_file.hpp"

#include <catch2/catch.hpp>
#include <sstream>
#include <string>

#include "scratch.hpp"

namespace text_file_test {

using postern::control::read_text_file;
using postern::control::read_text_stream;

TEST_CASE("text files are read whole up to their bound and refused past it", "[control][files]") {
  postern::test::ScratchDir dir{"postern-text-file"};
  const auto path = dir.file("policy.hujson").string();
  postern::test::write_file(path, std::string(1000, 'x'));

  auto exact = read_text_file(path, "policy", 1000, 64);
  REQUIRE(exact.ok());
  CHECK(exact.value() == std::string(1000, 'x'));
  CHECK(exact.value().capacity() >= 1064);  // the parser's padding is reserved

  auto over = read_text_file(path, "policy", 999);
  REQUIRE_FALSE(over.ok());
  CHECK(over.error().message == "policy `" + path + "` is larger than 999 bytes");
  CHECK(over.error().help.find("at most") != std::string::npos);
}

TEST_CASE("a device without an end, a directory and a missing file are errors",
          "[control][files]") {
  auto endless = read_text_file("/dev/zero", "tailnet inventory", 1 << 20);
  REQUIRE_FALSE(endless.ok());
  CHECK(endless.error().message == "tailnet inventory `/dev/zero` is larger than 1 MiB");

  postern::test::ScratchDir dir{"postern-text-file"};
  auto directory = read_text_file(dir.path().string(), "policy", 1 << 20);
  REQUIRE_FALSE(directory.ok());
  CHECK(directory.error().message.find("is a directory") != std::string::npos);

  auto missing = read_text_file(dir.file("none").string(), "token file", 1 << 20);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().message.find("No such file or directory") != std::string::npos);
}

TEST_CASE("a stream is read to its end within the bound", "[control][files]") {
  std::istringstream small(std::string(70'000, 'y'));
  auto read = read_text_stream(small, "standard input", "policy", 70'000);
  REQUIRE(read.ok());
  CHECK(read.value().size() == 70'000);

  std::istringstream large(std::string(70'001, 'y'));
  auto refused = read_text_stream(large, "standard input", "policy", 70'000);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().message == "policy `standard input` is larger than 70000 bytes");
}

}  // namespace text_file_test
