// API access: access keys, OAuth clients and their access tokens (api_access.hpp). Secrets come
// from OpenSSL's RAND_bytes, are shown once and stored only as SHA-256 hashes.
#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <nlohmann/json.hpp>

#include "postern/control/api_access.hpp"
#include "postern/grammar/ascii.hpp"
#include "postern/grammar/time.hpp"
#include "tailnet_impl.hpp"

namespace postern::control {
namespace {

using grammar::DiagCode;

constexpr std::size_t kIdBytes = 8;       // 16 hex digits after the kind letter
constexpr std::size_t kSecretBytes = 24;  // 192 bits
constexpr std::size_t kMaxTokenLength = 200;
constexpr std::size_t kMaxDescription = 100;
constexpr std::int64_t kMinKeyLifetime = 60;
constexpr std::int64_t kTouchInterval = 60;  // last_used_at is written at most once a minute
constexpr std::int64_t kPurgeInterval = 60;  // expired tokens are purged at most once a minute
// A client asking for a token per call would otherwise add rows without bound (an hour's worth of
// its grant rate); 1,000 an hour is one every 3.6 s, each usable for the hour.
constexpr std::int64_t kMaxLiveTokensPerClient = 1000;

constexpr std::array<std::string_view, 4> kWriteScopes = {
    "policy_file", "devices:core", "devices:posture_attributes", "feature_settings"};
constexpr std::string_view kLogsRead = "logs:configuration:read";

std::string hex(const unsigned char* bytes, std::size_t size) {
  std::string out;
  out.reserve(size * 2);
  for (std::size_t i = 0; i < size; ++i) out += fmt::format("{:02x}", bytes[i]);
  return out;
}

std::optional<std::string> random_hex(std::size_t bytes) {
  std::vector<unsigned char> buffer(bytes);
  if (RAND_bytes(buffer.data(), static_cast<int>(buffer.size())) != 1) return std::nullopt;
  return hex(buffer.data(), buffer.size());
}

std::string sha256_hex(std::string_view text) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int size = 0;
  EVP_Digest(text.data(), text.size(), digest.data(), &size, EVP_sha256(), nullptr);
  return hex(digest.data(), size);
}

bool same_hash(const std::string& a, const std::string& b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

bool is_token_text(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  });
}

// `<prefix><id>-<secret>`, split; nullopt when it is not that shape.
struct TokenParts {
  std::string_view id;
  std::string_view secret;
};
std::optional<TokenParts> split_token(std::string_view token, std::string_view prefix) {
  if (token.size() > kMaxTokenLength || token.substr(0, prefix.size()) != prefix) {
    return std::nullopt;
  }
  const auto rest = token.substr(prefix.size());
  const auto dash = rest.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  TokenParts parts{rest.substr(0, dash), rest.substr(dash + 1)};
  if (!is_token_text(parts.id) || !is_token_text(parts.secret)) return std::nullopt;
  return parts;
}

std::optional<CredentialKind> kind_from_name(std::string_view name) {
  for (auto kind :
       {CredentialKind::ApiKey, CredentialKind::OAuthClient, CredentialKind::AccessToken}) {
    if (kind_name(kind) == name) return kind;
  }
  return std::nullopt;
}

std::string join_scopes(const std::vector<std::string>& scopes) {
  return fmt::format("{}", fmt::join(scopes, " "));
}

bool is_grantable(const std::string& scope) {
  const auto& all = grantable_scopes();
  return std::find(all.begin(), all.end(), scope) != all.end();
}

Error refused(std::string message) {
  return invalid(DiagCode::K830, std::move(message),
                 "create an API access key with `postern keys create`, or obtain a token at "
                 "POST /api/v2/oauth/token with an OAuth client");
}

Error client_refused() {
  return invalid(DiagCode::K834,
                 "the OAuth client id or secret is wrong, or the client was "
                 "revoked or expired",
                 "create a client with `postern keys create --oauth --scope SCOPE`");
}

Error keys_need_store() {
  return invalid(DiagCode::K821, "API keys need a store", "run with --db FILE");
}

CredentialView view_of(const store::ApiCredential& row) {
  CredentialView view;
  view.id = row.id;
  view.kind = kind_from_name(row.kind).value_or(CredentialKind::ApiKey);
  view.description = row.description;
  view.scopes = split_scopes(row.scopes);
  view.created_at = row.created_at;
  view.expires_at = row.expires_at;
  view.revoked_at = row.revoked_at;
  view.last_used_at = row.last_used_at;
  return view;
}

// Refusals say why only after the secret matched, so a guessed id learns nothing.
std::optional<Error> unusable(const store::ApiCredential& row, std::int64_t now) {
  if (row.revoked_at) {
    return refused(fmt::format("the credential `{}` was revoked", row.id));
  }
  if (row.expires_at && *row.expires_at <= now) {
    return refused(fmt::format("the credential `{}` expired at {}", row.id,
                               timefmt::format_rfc3339(*row.expires_at)));
  }
  return std::nullopt;
}

std::optional<Error> check_request(const NewCredentialRequest& request) {
  if (request.kind == CredentialKind::AccessToken) {
    return invalid(DiagCode::K831, "access tokens are obtained at POST /api/v2/oauth/token",
                   "create an access key or an OAuth client");
  }
  if (request.description.size() > kMaxDescription) {
    return invalid(DiagCode::C703,
                   fmt::format("the description is longer than {} characters", kMaxDescription));
  }
  if (grammar::has_ascii_control(request.description)) {
    return invalid(DiagCode::C703, "the description contains control characters");
  }
  if (request.lifetime &&
      (*request.lifetime < kMinKeyLifetime || *request.lifetime > kMaxKeyLifetime)) {
    return invalid(DiagCode::K832, "the lifetime must be between 1 minute and 365 days",
                   "give --expiry like 90d, 12h or 30m");
  }
  if (request.kind == CredentialKind::ApiKey && !request.scopes.empty()) {
    return invalid(DiagCode::K831, "an API access key has every scope",
                   "create an OAuth client (--oauth) for a credential with fewer scopes");
  }
  if (request.kind == CredentialKind::OAuthClient && request.scopes.empty()) {
    return invalid(
        DiagCode::K831, "an OAuth client needs at least one scope",
        fmt::format("give --scope with one of: {}", fmt::join(grantable_scopes(), ", ")));
  }
  for (const auto& scope : request.scopes) {
    if (!is_grantable(scope)) {
      return invalid(DiagCode::K831, fmt::format("unknown scope `{}`", scope),
                     fmt::format("supported scopes: {}", fmt::join(grantable_scopes(), ", ")));
    }
  }
  return std::nullopt;
}

// A fresh id and secret for `kind`; the id's first letter names the kind.
struct Minted {
  std::string id;
  std::string secret;
};
std::optional<Minted> mint(CredentialKind kind) {
  const char letter = kind == CredentialKind::ApiKey        ? 'k'
                      : kind == CredentialKind::OAuthClient ? 'c'
                                                            : 't';
  auto id = random_hex(kIdBytes);
  auto secret = random_hex(kSecretBytes);
  if (!id || !secret) return std::nullopt;
  return Minted{letter + *id, *secret};
}

sync::AuditEvent key_event(std::int64_t now, const Actor& actor, const store::ApiCredential& row,
                           std::string_view action, nlohmann::json details) {
  return sync::AuditEvent{0,
                          now,
                          actor.name,
                          fmt::format("{}:{}", row.kind, row.id),
                          std::string(action),
                          details.dump(),
                          actor.origin};
}

}  // namespace

std::string_view kind_name(CredentialKind kind) {
  switch (kind) {
    case CredentialKind::ApiKey:
      return "api-key";
    case CredentialKind::OAuthClient:
      return "oauth-client";
    case CredentialKind::AccessToken:
      return "oauth-token";
  }
  return "api-key";
}

const std::vector<std::string>& grantable_scopes() {
  static const std::vector<std::string> scopes = [] {
    std::vector<std::string> out{"all", "all:read"};
    for (auto scope : kWriteScopes) {
      out.emplace_back(scope);
      out.push_back(fmt::format("{}:read", scope));
    }
    out.emplace_back(kLogsRead);
    return out;
  }();
  return scopes;
}

std::vector<std::string> effective_scopes(const std::vector<std::string>& granted) {
  std::vector<std::string> out;
  auto add_reads = [&out] {
    for (auto scope : kWriteScopes) out.push_back(fmt::format("{}:read", scope));
    out.emplace_back(kLogsRead);
    out.emplace_back("all:read");
  };
  for (const auto& scope : granted) {
    if (scope == "all") {
      out.emplace_back("all");
      out.insert(out.end(), kWriteScopes.begin(), kWriteScopes.end());
      add_reads();
    } else if (scope == "all:read") {
      add_reads();
    } else if (std::find(kWriteScopes.begin(), kWriteScopes.end(), scope) != kWriteScopes.end()) {
      out.push_back(scope);
      out.push_back(scope + ":read");
    } else if (is_grantable(scope)) {
      out.push_back(scope);
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::optional<std::int64_t> parse_lifetime(std::string_view text) {
  if (text.size() < 2 || text.size() > 8) return std::nullopt;
  std::int64_t unit = 0;
  switch (text.back()) {
    case 'd':
      unit = 24 * 3600;
      break;
    case 'h':
      unit = 3600;
      break;
    case 'm':
      unit = 60;
      break;
    default:
      return std::nullopt;
  }
  const auto digits = text.substr(0, text.size() - 1);
  std::int64_t count = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), count);
  if (ec != std::errc{} || end != digits.data() + digits.size() || count <= 0) return std::nullopt;
  return count * unit;
}

Outcome<NewCredential> Tailnet::create_key(const NewCredentialRequest& request,
                                           const Actor& actor) {
  if (!store_) return keys_need_store();
  if (auto error = check_request(request)) return *error;
  const auto minted = mint(request.kind);
  if (!minted) return Error{ErrorKind::Internal, DiagCode::K830, "no random bytes available", {}};
  const auto now = this->now();
  store::ApiCredential row;
  row.id = minted->id;
  row.kind = std::string(kind_name(request.kind));
  row.secret_hash = sha256_hex(minted->secret);
  row.description = request.description;
  row.scopes = request.kind == CredentialKind::ApiKey ? "all" : join_scopes(request.scopes);
  row.created_at = now;
  const auto lifetime = request.kind == CredentialKind::ApiKey
                            ? request.lifetime.value_or(kDefaultKeyLifetime)
                            : request.lifetime;
  if (lifetime) row.expires_at = now + *lifetime;
  nlohmann::json details{{"description", row.description}, {"scopes", split_scopes(row.scopes)}};
  details["expires"] = row.expires_at ? nlohmann::json(timefmt::format_rfc3339(*row.expires_at))
                                      : nlohmann::json(nullptr);
  const auto action =
      request.kind == CredentialKind::ApiKey ? kActionCreateKey : kActionCreateClient;
  if (auto created =
          store_->create_credential(row, {key_event(now, actor, row, action, std::move(details))});
      !created) {
    return from_sync(created.error());
  }
  const auto prefix = request.kind == CredentialKind::ApiKey ? kApiKeyPrefix : kOAuthClientPrefix;
  return NewCredential{view_of(row), fmt::format("{}{}-{}", prefix, row.id, minted->secret)};
}

Outcome<std::vector<CredentialView>> Tailnet::list_keys() const {
  if (!store_) return keys_need_store();
  auto rows = store_->list_credentials();
  if (!rows) return from_sync(rows.error());
  std::vector<CredentialView> out;
  for (const auto& row : rows.value()) {
    if (row.kind != kind_name(CredentialKind::AccessToken)) out.push_back(view_of(row));
  }
  return out;
}

Done Tailnet::revoke_key(std::string_view id, const Actor& actor) {
  if (!store_) return keys_need_store();
  auto found = store_->find_credential(id);
  if (!found) return from_sync(found.error());
  const auto& row = found.value();
  if (!row || row->kind == kind_name(CredentialKind::AccessToken)) {
    return not_found(DiagCode::K833, fmt::format("no API key or OAuth client `{}`", id),
                     "`postern keys list` shows them");
  }
  const auto action =
      row->kind == kind_name(CredentialKind::ApiKey) ? kActionRevokeKey : kActionRevokeClient;
  const auto now = this->now();
  auto revoked =
      store_->revoke_credential(id, now, key_event(now, actor, *row, action, nlohmann::json{}));
  if (!revoked) return from_sync(revoked.error());
  impl_->credentials.forget(id);
  if (!revoked.value()) {
    return conflict(DiagCode::K833, fmt::format("`{}` is already revoked", id));
  }
  return done();
}

Outcome<Authenticated> Tailnet::authenticate(std::string_view token) {
  if (!store_) return refused("this server keeps no API keys (it runs without --db)");
  if (token.substr(0, kOAuthClientPrefix.size()) == kOAuthClientPrefix) {
    return refused(
        "an OAuth client secret is not an access token; exchange it for one at "
        "POST /api/v2/oauth/token");
  }
  const auto parts = split_token(token, kApiKeyPrefix);
  if (!parts) return refused("the credential is not an API access token (tskey-api-...)");
  const auto now = this->now();
  auto found = store_->find_credential(parts->id);
  std::optional<store::ApiCredential> row;
  if (found) {
    row = std::move(found.value());
    if (row) {
      impl_->credentials.remember(*row, now);
    } else {
      impl_->credentials.drop(parts->id);
    }
  } else {
    // The store cannot be read: a credential read from it before still authenticates, as
    // checks are still answered from memory (fail-static; revocations reach the cache).
    row = impl_->credentials.find(parts->id);
    if (!row) return from_sync(found.error());
  }
  const bool usable_kind = row && (row->kind == kind_name(CredentialKind::ApiKey) ||
                                   row->kind == kind_name(CredentialKind::AccessToken));
  // Hash even when the id is unknown, so both refusals take the same time.
  const auto given = sha256_hex(parts->secret);
  if (!usable_kind || !same_hash(given, row->secret_hash)) {
    return refused("unknown API access token");
  }
  if (auto error = unusable(*row, now)) return *error;
  if (found && (!row->last_used_at || now - *row->last_used_at >= kTouchInterval)) {
    (void)store_->touch_credential(row->id, now);  // bookkeeping only: never refuses a request
  }
  const bool is_token = row->kind == kind_name(CredentialKind::AccessToken);
  return Authenticated{
      is_token ? fmt::format("oauth-client:{}", row->parent) : fmt::format("api-key:{}", row->id),
      effective_scopes(split_scopes(row->scopes))};
}

Outcome<AccessToken> Tailnet::issue_access_token(std::string_view client_id,
                                                 std::string_view client_secret,
                                                 const std::vector<std::string>& scopes) {
  if (!store_) return keys_need_store();
  const auto parts = split_token(client_secret, kOAuthClientPrefix);
  if (!parts || (!client_id.empty() && client_id != parts->id)) return client_refused();
  auto found = store_->find_credential(parts->id);
  if (!found) return from_sync(found.error());
  const auto& client = found.value();
  const auto given = sha256_hex(parts->secret);
  const auto now = this->now();
  if (!client || client->kind != kind_name(CredentialKind::OAuthClient) ||
      !same_hash(given, client->secret_hash) || unusable(*client, now)) {
    return client_refused();
  }
  const auto allowed = effective_scopes(split_scopes(client->scopes));
  for (const auto& scope : scopes) {
    if (std::find(allowed.begin(), allowed.end(), scope) == allowed.end()) {
      return invalid(DiagCode::K831, fmt::format("the client may not grant the scope `{}`", scope),
                     fmt::format("its scopes: {}", client->scopes));
    }
  }
  auto live = store_->live_tokens(client->id, now);
  if (!live) return from_sync(live.error());
  if (live.value().count >= kMaxLiveTokensPerClient) {
    auto refused = conflict(DiagCode::K835,
                            fmt::format("the OAuth client `{}` holds {} unexpired access tokens, "
                                        "the most one client may hold",
                                        client->id, kMaxLiveTokensPerClient),
                            "use each token until it expires (an hour after it was issued) "
                            "instead of asking for one per call");
    // The first of them to expire makes room.
    refused.retry_after = std::max<std::int64_t>(1, live.value().first_expiry.value_or(now) - now);
    return refused;
  }
  const auto minted = mint(CredentialKind::AccessToken);
  if (!minted) return Error{ErrorKind::Internal, DiagCode::K830, "no random bytes available", {}};
  // Housekeeping, once a minute (each purge scans the tokens): a failure here loses nothing.
  if (auto last = impl_->tokens_purged_at.load();
      now - last >= kPurgeInterval && impl_->tokens_purged_at.compare_exchange_strong(last, now)) {
    (void)store_->purge_expired_tokens(now);
  }
  store::ApiCredential row;
  row.id = minted->id;
  row.kind = std::string(kind_name(CredentialKind::AccessToken));
  row.secret_hash = sha256_hex(minted->secret);
  row.scopes = scopes.empty() ? client->scopes : join_scopes(scopes);
  row.parent = client->id;
  row.created_at = now;
  row.expires_at = now + kAccessTokenLifetime;
  if (auto created = store_->create_credential(row, {}); !created) {
    return from_sync(created.error());
  }
  if (!client->last_used_at || now - *client->last_used_at >= kTouchInterval) {
    (void)store_->touch_credential(client->id, now);
  }
  return AccessToken{fmt::format("{}{}-{}", kApiKeyPrefix, row.id, minted->secret),
                     kAccessTokenLifetime, split_scopes(row.scopes)};
}

std::vector<std::string> split_scopes(std::string_view text) {
  std::vector<std::string> out;
  std::size_t begin = 0;
  while (begin < text.size()) {
    auto end = text.find(' ', begin);
    if (end == std::string_view::npos) end = text.size();
    if (end > begin) out.emplace_back(text.substr(begin, end - begin));
    begin = end + 1;
  }
  return out;
}

}  // namespace postern::control
