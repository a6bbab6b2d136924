#pragma once
// A size limit as messages name it: "64 MiB", "64 KiB", or exact bytes when neither is whole.
#include <cstddef>
#include <string>

namespace postern::grammar {

[[nodiscard]] inline std::string byte_size_text(std::size_t bytes) {
  constexpr std::size_t kKiB = 1024;
  if (bytes != 0 && bytes % (kKiB * kKiB) == 0) return std::to_string(bytes / kKiB / kKiB) + " MiB";
  if (bytes != 0 && bytes % kKiB == 0) return std::to_string(bytes / kKiB) + " KiB";
  return std::to_string(bytes) + " bytes";
}

}  // namespace postern::grammar
