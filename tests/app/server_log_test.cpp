// The server's log (app/src/server_log.hpp): line format, levels, secrets never written, and
// warnings that repeat at request rate written at counts 1, 2, 4, 8, ...
#include "server_log.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <sstream>
#include <string>
#include <vector>

namespace server_log_test {

using postern::server::Log;

namespace {

// The message part of each line ("<time> <level> <message>").
std::vector<std::string> messages(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    const auto level_end = line.find(' ', line.find(' ') + 1);
    out.push_back(line.substr(level_end + 1));
  }
  return out;
}

}  // namespace

TEST_CASE("server log: a repeating warning is written at counts 1, 2, 4, 8", "[app][log]") {
  std::ostringstream out;
  Log log(out, "info");
  for (int i = 0; i < 10; ++i) log.warn_repeating("answered 503 [K820]: database is full");
  for (int i = 0; i < 3; ++i) log.warn_repeating("answered 500 [K999]: other");
  CHECK(messages(out.str()) == std::vector<std::string>{
                                   "answered 503 [K820]: database is full",
                                   "answered 503 [K820]: database is full (2 times so far)",
                                   "answered 503 [K820]: database is full (4 times so far)",
                                   "answered 503 [K820]: database is full (8 times so far)",
                                   "answered 500 [K999]: other",
                                   "answered 500 [K999]: other (2 times so far)",
                               });
  CHECK(out.str().find(" warning answered 503") != std::string::npos);
}

TEST_CASE("server log: secrets are redacted, levels below the set one dropped", "[app][log]") {
  std::ostringstream out;
  Log log(out, "warn");
  log.add_secret("tskey-api-SECRET");
  log.info("not written");
  log.warn_repeating("store failed for tskey-api-SECRET");
  log.error("again tskey-api-SECRET");
  const auto text = out.str();
  CHECK(text.find("SECRET") == std::string::npos);
  CHECK(messages(text) ==
        std::vector<std::string>{"store failed for [REDACTED]", "again [REDACTED]"});
}

TEST_CASE("server log: a message cannot forge a record or carry an escape", "[app][log]") {
  std::ostringstream out;
  Log log(out, "info");
  log.info("sync kandji: a\n2026-01-01T00:00:00.000Z info forged \x1b[2Jline");
  log.warn_repeating("answered 500: \r\x1b]0;title\x07");
  const std::string text = out.str();
  CHECK(text.find("info sync kandji: a\n    2026-01-01T00:00:00.000Z info forged ?[2Jline\n") !=
        std::string::npos);
  CHECK(text.find("warning answered 500: ??]0;title?\n") != std::string::npos);
  std::istringstream lines(text);
  int records = 0;
  for (std::string line; std::getline(lines, line);) records += line.rfind("    ", 0) != 0;
  CHECK(records == 2);
}

TEST_CASE("server log: many distinct repeating messages stay bounded", "[app][log]") {
  std::ostringstream out;
  Log log(out, "info");
  for (int i = 0; i < 1000; ++i) log.warn_repeating("failure " + std::to_string(i));
  const auto lines = messages(out.str());
  CHECK(lines.size() == 1000);  // each new message is written once
  CHECK(std::none_of(lines.begin(), lines.end(), [](const std::string& line) {
    return line.find("so far") != std::string::npos;
  }));
}

}  // namespace server_log_test
