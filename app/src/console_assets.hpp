#pragma once
// The admin console's files (app/console/), compiled into the binary at build time by
// app/console/embed_assets.cmake.

#include <span>
#include <string_view>

namespace postern::server {

struct ConsoleAsset {
  std::string_view name;   // file name, e.g. "app.js"
  std::string_view bytes;  // the file's exact contents
};

std::span<const ConsoleAsset> console_assets();

}  // namespace postern::server
