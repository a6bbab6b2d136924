#include "listen_address.hpp"

#include <array>
#include <cstring>
#include <fstream>

namespace postern::app {

std::optional<ListenAddress> parse_listen(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) return std::nullopt;
  ListenAddress out;
  out.host = text.substr(0, colon);
  if (out.host.front() == '[') {
    if (out.host.size() < 3 || out.host.back() != ']') return std::nullopt;
    out.host = out.host.substr(1, out.host.size() - 2);
  } else if (out.host.find(':') != std::string::npos) {
    return std::nullopt;
  }
  const std::string port = text.substr(colon + 1);
  if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  out.port = std::stoi(port);
  if (out.port > 65535) return std::nullopt;
  return out;
}

std::optional<std::string> read_secret_line(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  // Bounded: a path without an end (/dev/zero) or a first line longer than any token is no
  // token, and must not be read until memory runs out.
  std::array<char, 4096> buffer{};
  in.getline(buffer.data(), static_cast<std::streamsize>(buffer.size()));
  if (in.fail()) return std::nullopt;  // nothing read, or no line end within the buffer
  const std::string line(buffer.data(), std::strlen(buffer.data()));
  const auto begin = line.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos) return std::nullopt;
  const auto end = line.find_last_not_of(" \t\r\n");
  return line.substr(begin, end - begin + 1);
}

}  // namespace postern::app
