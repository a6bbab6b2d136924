#pragma once
// Console sessions: after a sign-in with an API access token, the browser holds a random session
// id in an HttpOnly, SameSite=Strict cookie and a per-session CSRF token in page memory. A
// cookie-authenticated request is accepted only with the CSRF token in a header, so a page on
// another site cannot use the cookie (it can neither read the token nor set the header).
//
// Sessions live in memory (a restart signs everyone out). Ids and CSRF tokens are 256 random bits
// from OpenSSL's RAND_bytes; only a SHA-256 digest of each id is kept, and both are compared in
// constant time.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "postern/http/message.hpp"
#include "postern/http/server.hpp"

namespace postern::server::console {

inline constexpr std::string_view kCookieName = "postern_session";
inline constexpr std::string_view kCsrfHeader = "X-CSRF-Token";
inline constexpr std::int64_t kDefaultLifetime = 8 * 60 * 60;  // seconds
inline constexpr std::size_t kMaxSessions = 10'000;

struct Session {
  http::Principal principal;  // who signed in: the key behind the token
  // The token signed in with, asked again of the authenticator on every request, so a revoked
  // or expired key ends its sessions at once. Held in memory only; never logged or sent.
  std::string token;
  std::string csrf;  // 64 hex characters
  std::int64_t expires_at = 0;
};

struct NewSession {
  std::string id;  // the cookie value, 64 hex characters; never stored
  Session session;
};

class SessionStore {
 public:
  using Clock = std::function<std::int64_t()>;  // Unix seconds
  // `now` defaults to the system clock; tests pass their own.
  explicit SessionStore(std::int64_t lifetime = kDefaultLifetime, Clock now = {});

  // Starts a session for `principal`. When kMaxSessions are open the oldest is dropped.
  // nullopt only when the system's random generator fails.
  std::optional<NewSession> create(http::Principal principal, std::string token);
  // The live session behind a cookie value; expired ones are removed and not returned.
  std::optional<Session> find(std::string_view id);
  void remove(std::string_view id);
  [[nodiscard]] std::size_t size() const;
  [[nodiscard]] std::int64_t lifetime() const { return lifetime_; }

 private:
  std::int64_t now() const;

  std::int64_t lifetime_;
  Clock clock_;
  mutable std::mutex mu_;
  std::map<std::string, Session> sessions_;  // by SHA-256 digest of the id (raw bytes)
};

// The session cookie's value in a Cookie header; nullopt when absent.
std::optional<std::string_view> session_cookie(std::string_view cookie_header);
// Set-Cookie values: a new session's cookie, and one that deletes it.
std::string set_cookie(std::string_view id, std::int64_t max_age, bool secure);
std::string clear_cookie(bool secure);
// The credential a signed-in session presents to the authenticator.
http::Credential bearer(std::string token);
// `inner`'s answer to the session `id`'s token. Only a refused key (401) ends the session; a
// store that cannot answer now (503) leaves it for the next request.
http::AuthOutcome recheck(const http::Authenticator& inner, SessionStore& sessions,
                          std::string_view id, const Session& session,
                          const http::Request& request);
// Equal lengths and bytes, in time independent of where they differ.
bool constant_time_equal(std::string_view a, std::string_view b);

// The server's authenticator extended with sessions: a request with an Authorization header goes
// to `inner` unchanged; one with only a session cookie is the session's principal if and only if
// it carries the session's CSRF token and `inner` still accepts the session's token; one with the
// CSRF header but neither cookie nor Authorization is a console page whose session ended (401);
// anything else goes to `inner` as before.
http::Authenticator with_sessions(http::Authenticator inner, SessionStore& sessions);

}  // namespace postern::server::console
