#pragma once
// The credential a request carries in its Authorization header, for the Authenticator to judge.

#include <optional>
#include <string>
#include <string_view>

namespace postern::http {

struct Credential {
  enum class Scheme { Bearer, Basic };
  Scheme scheme = Scheme::Bearer;
  std::string token;  // Bearer: the token; Basic: the user name (the token), or the password when
                      // the user name is empty
  std::string password;  // Basic with a user name: the password (OAuth client authentication
                         // sends client_id:client_secret this way)
};

// `Bearer TOKEN` or `Basic base64(TOKEN:)`; nullopt for any other scheme or a malformed value.
[[nodiscard]] std::optional<Credential> parse_authorization(std::string_view header_value);

// Standard base64 with padding (OpenSSL's encoder): what Basic credentials and Tailscale's policy
// answers (`acl`) carry.
[[nodiscard]] std::string base64_encode(std::string_view bytes);

}  // namespace postern::http
