#pragma once
// API access (issue 9): access keys `tskey-api-<id>-<secret>`, OAuth clients
// `tskey-client-<id>-<secret>` and the one-hour access tokens a client obtains with the
// client-credentials grant, with Tailscale's scope names. Only the SHA-256 of a secret is stored;
// a token is found by its public id and its secret compared in constant time. The operations are
// Tailnet members (tailnet.hpp, control/src/tailnet_keys.cpp); the types and rules live here.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace postern::control {

inline constexpr std::string_view kApiKeyPrefix = "tskey-api-";
inline constexpr std::string_view kOAuthClientPrefix = "tskey-client-";
inline constexpr std::int64_t kAccessTokenLifetime = 3600;           // seconds, as Tailscale's
inline constexpr std::int64_t kDefaultKeyLifetime = 90 * 24 * 3600;  // Tailscale's default
inline constexpr std::int64_t kMaxKeyLifetime = 365 * 24 * 3600;

// Audit actions; the target is "<kind>:<id>".
inline constexpr std::string_view kActionCreateKey = "Create API key";
inline constexpr std::string_view kActionRevokeKey = "Revoke API key";
inline constexpr std::string_view kActionCreateClient = "Create OAuth client";
inline constexpr std::string_view kActionRevokeClient = "Revoke OAuth client";

enum class CredentialKind : std::uint8_t { ApiKey, OAuthClient, AccessToken };
// "api-key", "oauth-client", "oauth-token": the store's `kind` and the actor prefix.
std::string_view kind_name(CredentialKind kind);

// Tailscale's scope names that mean something here: the write forms (each also has a `:read`
// form), `logs:configuration:read`, and `all` / `all:read`.
const std::vector<std::string>& grantable_scopes();
// What `granted` amounts to: each write scope adds its `:read` form, `all` is every scope and
// `all:read` every read scope. Sorted, without duplicates; unknown names are dropped.
std::vector<std::string> effective_scopes(const std::vector<std::string>& granted);
// A space-separated scope list (OAuth's `scope` parameter, the stored form): empty items dropped.
std::vector<std::string> split_scopes(std::string_view text);

// "90d", "12h", "30m" as seconds; nullopt for anything else (bounds are checked on create).
std::optional<std::int64_t> parse_lifetime(std::string_view text);

struct NewCredentialRequest {
  CredentialKind kind = CredentialKind::ApiKey;  // ApiKey or OAuthClient
  std::string description;                       // at most 100 characters
  // Seconds until it expires, 1 minute to 365 days. ApiKey: default 90 days; OAuthClient: none
  // (as Tailscale's clients; the tokens they obtain last an hour).
  std::optional<std::int64_t> lifetime;
  std::vector<std::string> scopes;  // OAuthClient: at least one; ApiKey: none (it has all)
};

// A credential as listed: never the secret, nor its hash.
struct CredentialView {
  std::string id;
  CredentialKind kind = CredentialKind::ApiKey;
  std::string description;
  std::vector<std::string> scopes;  // as granted; {"all"} for an access key
  std::int64_t created_at = 0;
  std::optional<std::int64_t> expires_at;
  std::optional<std::int64_t> revoked_at;
  std::optional<std::int64_t> last_used_at;
};

struct NewCredential {
  CredentialView view;
  std::string token;  // the whole token: shown once, stored nowhere
};

// Who a valid token speaks for.
struct Authenticated {
  std::string actor;                // "api-key:<id>" or "oauth-client:<client id>"
  std::vector<std::string> scopes;  // effective_scopes() of the grant
};

struct AccessToken {
  std::string token;  // `tskey-api-<id>-<secret>`, valid for expires_in seconds
  std::int64_t expires_in = kAccessTokenLifetime;
  std::vector<std::string> scopes;  // as granted
};

}  // namespace postern::control
