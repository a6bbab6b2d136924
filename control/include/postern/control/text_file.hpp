#pragma once
// Whole input files (policies, inventories, token files) read with a bound: a path may name a
// device or a pipe that never ends (`/dev/zero`), or a file far larger than any real one, and
// reading it unbounded ends in an out-of-memory abort.

#include <cstddef>
#include <istream>
#include <string>
#include <string_view>

#include "postern/control/outcome.hpp"

namespace postern::control {

inline constexpr std::size_t kMaxPolicyFileBytes = std::size_t{64} << 20;
// 100,000 devices take 68 MB.
inline constexpr std::size_t kMaxInventoryFileBytes = std::size_t{512} << 20;
inline constexpr std::size_t kMaxTokenFileBytes = std::size_t{64} << 10;

// The text of `path`, with `spare` more bytes reserved after it, or C701 saying why not: it
// cannot be opened or read, or it holds more than `max_bytes`. `what` names the file's role in
// the message ("policy", "tailnet inventory").
Outcome<std::string> read_text_file(const std::string& path, std::string_view what,
                                    std::size_t max_bytes, std::size_t spare = 0);

// The same for a stream already open (standard input), `name` shown for it.
Outcome<std::string> read_text_stream(std::istream& in, std::string_view name,
                                      std::string_view what, std::size_t max_bytes);

}  // namespace postern::control
