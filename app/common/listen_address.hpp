#pragma once
// What both servers (`postern serve`, `postern-kandji-sim`) read from their command line: a
// `--listen` address and a one-line secret file.

#include <optional>
#include <string>

namespace postern::app {

struct ListenAddress {
  std::string host;  // without brackets
  int port = 0;      // 0 = any free port
};

// `HOST:PORT` or `[v6]:PORT` (a bare IPv6 address needs brackets); nullopt when malformed.
std::optional<ListenAddress> parse_listen(const std::string& text);

// The first line of `path` without surrounding whitespace; nullopt when the file cannot be read
// or that line is blank.
std::optional<std::string> read_secret_line(const std::string& path);

}  // namespace postern::app
