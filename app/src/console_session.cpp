#include "console_session.hpp"

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <array>
#include <chrono>

namespace postern::server::console {
namespace {

constexpr std::size_t kRandomBytes = 32;  // 256 bits

std::optional<std::string> random_hex() {
  std::array<unsigned char, kRandomBytes> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) return std::nullopt;
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const auto b : bytes) out += fmt::format("{:02x}", b);
  return out;
}

std::string digest(std::string_view id) {
  std::array<unsigned char, SHA256_DIGEST_LENGTH> out{};
  SHA256(reinterpret_cast<const unsigned char*>(id.data()), id.size(), out.data());
  return {reinterpret_cast<const char*>(out.data()), out.size()};
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// Only the console sends the CSRF header. Without a cookie it comes from a page whose session
// was ended (signed out in another tab, or expired): refused, so the page does not go on as the
// open loopback operator.
http::AuthDenial ended_session() {
  return http::AuthDenial{401, "the console session has ended; sign in again"};
}

}  // namespace

SessionStore::SessionStore(std::int64_t lifetime, Clock now)
    : lifetime_(lifetime), clock_(std::move(now)) {}

std::int64_t SessionStore::now() const {
  if (clock_) return clock_();
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::optional<NewSession> SessionStore::create(http::Principal principal, std::string token) {
  auto id = random_hex();
  auto csrf = random_hex();
  if (!id || !csrf) return std::nullopt;
  Session session{std::move(principal), std::move(token), std::move(*csrf), now() + lifetime_};
  std::lock_guard lock(mu_);
  const auto current = now();
  std::erase_if(sessions_,
                [current](const auto& entry) { return entry.second.expires_at <= current; });
  if (sessions_.size() >= kMaxSessions) {
    auto oldest = sessions_.begin();
    for (auto it = sessions_.begin(); it != sessions_.end(); ++it) {
      if (it->second.expires_at < oldest->second.expires_at) oldest = it;
    }
    sessions_.erase(oldest);
  }
  sessions_.emplace(digest(*id), session);
  return NewSession{std::move(*id), std::move(session)};
}

std::optional<Session> SessionStore::find(std::string_view id) {
  const auto key = digest(id);
  std::lock_guard lock(mu_);
  const auto it = sessions_.find(key);
  // The map is keyed by a digest, so its comparisons reveal nothing about the id; the final
  // check is constant-time all the same.
  if (it == sessions_.end() || !constant_time_equal(it->first, key)) return std::nullopt;
  if (it->second.expires_at <= now()) {
    sessions_.erase(it);
    return std::nullopt;
  }
  return it->second;
}

void SessionStore::remove(std::string_view id) {
  const auto key = digest(id);
  std::lock_guard lock(mu_);
  sessions_.erase(key);
}

std::size_t SessionStore::size() const {
  std::lock_guard lock(mu_);
  return sessions_.size();
}

std::optional<std::string_view> session_cookie(std::string_view cookie_header) {
  while (!cookie_header.empty()) {
    const auto semicolon = cookie_header.find(';');
    const auto pair = trim(cookie_header.substr(0, semicolon));
    cookie_header = semicolon == std::string_view::npos ? std::string_view{}
                                                        : cookie_header.substr(semicolon + 1);
    const auto equals = pair.find('=');
    if (equals == std::string_view::npos) continue;
    if (trim(pair.substr(0, equals)) == kCookieName) return trim(pair.substr(equals + 1));
  }
  return std::nullopt;
}

std::string set_cookie(std::string_view id, std::int64_t max_age, bool secure) {
  return fmt::format("{}={}; Path=/; Max-Age={}; HttpOnly; SameSite=Strict{}", kCookieName, id,
                     max_age, secure ? "; Secure" : "");
}

std::string clear_cookie(bool secure) { return set_cookie("", 0, secure); }

http::Credential bearer(std::string token) {
  http::Credential credential;
  credential.scheme = http::Credential::Scheme::Bearer;
  credential.token = std::move(token);
  return credential;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

http::AuthOutcome recheck(const http::Authenticator& inner, SessionStore& sessions,
                          std::string_view id, const Session& session,
                          const http::Request& request) {
  auto outcome = inner(bearer(session.token), request);
  const auto* denial = std::get_if<http::AuthDenial>(&outcome);
  if (denial != nullptr && denial->status == 401) sessions.remove(id);
  return outcome;
}

http::Authenticator with_sessions(http::Authenticator inner, SessionStore& sessions) {
  return [inner = std::move(inner), &sessions](const std::optional<http::Credential>& credential,
                                               const http::Request& request) -> http::AuthOutcome {
    const auto cookie_header = request.headers.get("Cookie");
    const auto id = cookie_header ? session_cookie(*cookie_header) : std::nullopt;
    if (credential || !id) {
      if (!credential && request.headers.get(kCsrfHeader)) return ended_session();
      if (!inner) return http::AuthDenial{401, "this server accepts no credentials"};
      return inner(credential, request);
    }
    const auto session = sessions.find(*id);
    if (!session) {
      return http::AuthDenial{401, "the console session has expired or was ended; sign in again"};
    }
    const auto csrf = request.headers.get(kCsrfHeader);
    if (!csrf || !constant_time_equal(*csrf, session->csrf)) {
      return http::AuthDenial{
          403, fmt::format("a request with the console's session cookie needs its {} header",
                           kCsrfHeader)};
    }
    if (!inner) return http::AuthDenial{401, "this server accepts no credentials"};
    auto outcome = recheck(inner, sessions, *id, *session, request);
    if (auto* denial = std::get_if<http::AuthDenial>(&outcome)) {
      if (denial->status != 401) return outcome;
      return http::AuthDenial{401,
                              "the key this console session signed in with is no longer "
                              "accepted; sign in again"};
    }
    std::get<http::Principal>(outcome).browser_session = true;  // audited as ADMIN_CONSOLE
    return outcome;
  };
}

}  // namespace postern::server::console
