#include "postern/sync/redact.hpp"

namespace postern::sync {

std::string redact(std::string_view text, std::string_view secret) {
  std::string out(text);
  if (secret.empty()) return out;
  std::size_t pos = 0;
  while ((pos = out.find(secret, pos)) != std::string::npos) {
    out.replace(pos, secret.size(), kRedacted);
    pos += kRedacted.size();
  }
  return out;
}

std::string truncate_utf8(std::string_view text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return std::string(text);
  std::size_t cut = max_bytes;
  // Step back over continuation bytes so the cut lands on a character boundary.
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0U) == 0x80U) --cut;
  std::string out(text.substr(0, cut));
  out += "\xE2\x80\xA6";
  return out;
}

}  // namespace postern::sync
