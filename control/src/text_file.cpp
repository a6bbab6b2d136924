#include "postern/control/text_file.hpp"

#include <fmt/format.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "postern/grammar/byte_size.hpp"

namespace postern::control {
namespace {

using grammar::DiagCode;

Error too_large(std::string_view name, std::string_view what, std::size_t max_bytes) {
  return invalid(
      DiagCode::C701,
      fmt::format("{} `{}` is larger than {}", what, name, grammar::byte_size_text(max_bytes)),
      fmt::format("a {} file is at most {}; check that the path names the right file", what,
                  grammar::byte_size_text(max_bytes)));
}

// Appends the rest of `in` to `text`, a chunk at a time, past `max_bytes` never.
Outcome<std::string> read_rest(std::istream& in, std::string text, std::string_view name,
                               std::string_view what, std::size_t max_bytes) {
  std::array<char, 64 * 1024> chunk{};
  while (in) {
    in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    const auto got = static_cast<std::size_t>(in.gcount());
    if (got > max_bytes - text.size()) return too_large(name, what, max_bytes);
    text.append(chunk.data(), got);
  }
  if (in.bad()) return invalid(DiagCode::C701, fmt::format("cannot read {} `{}`", what, name));
  return text;
}

}  // namespace

Outcome<std::string> read_text_file(const std::string& path, std::string_view what,
                                    std::size_t max_bytes, std::size_t spare) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return invalid(DiagCode::C701, fmt::format("cannot read {} `{}`: is a directory", what, path));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return invalid(DiagCode::C701,
                   fmt::format("cannot read {} `{}`: {}", what, path, std::strerror(errno)));
  }
  // One read of the size the file reports (68 MB at 100,000 devices), then whatever a growing
  // file, a device or a pipe (no size: the seek fails and nothing is consumed) has beyond it.
  in.seekg(0, std::ios::end);
  const auto reported = in.tellg();
  in.clear();
  std::string text;
  if (reported > 0) {
    const auto size = static_cast<std::size_t>(reported);
    if (size > max_bytes) return too_large(path, what, max_bytes);
    text.reserve(size + spare);
    text.resize(size);
    in.seekg(0);
    in.read(text.data(), static_cast<std::streamsize>(size));
    text.resize(static_cast<std::size_t>(in.gcount()));
    if (in.bad()) return invalid(DiagCode::C701, fmt::format("cannot read {} `{}`", what, path));
  }
  in.clear();
  return read_rest(in, std::move(text), path, what, max_bytes);
}

Outcome<std::string> read_text_stream(std::istream& in, std::string_view name,
                                      std::string_view what, std::size_t max_bytes) {
  return read_rest(in, {}, name, what, max_bytes);
}

}  // namespace postern::control
