// The policy ETag: SHA-256 (OpenSSL EVP) of the HuJSON-formatted policy, as Tailscale serves it.
#include <fmt/format.h>
#include <openssl/evp.h>

#include <array>
#include <iterator>
#include <stdexcept>
#include <string>
#include <string_view>

#include "postern/grammar/hujson_format.hpp"

namespace postern::grammar::hujson {
namespace {

std::string sha256_hex(std::string_view bytes) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), digest.data(), &length, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("SHA-256 failed in OpenSSL");  // only on allocation failure
  }
  std::string hex;
  hex.reserve(2U * length);
  for (unsigned int i = 0; i < length; ++i) {
    fmt::format_to(std::back_inserter(hex), "{:02x}", digest[i]);
  }
  return hex;
}

}  // namespace

std::string policy_etag(std::string_view policy_text) {
  const auto formatted = format(policy_text);
  return sha256_hex(formatted.ok() ? std::string_view(*formatted.value) : policy_text);
}

}  // namespace postern::grammar::hujson
