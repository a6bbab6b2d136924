#include "postern/control/outcome.hpp"

#include <pwd.h>
#include <unistd.h>

#include <cstdlib>

#include "postern/control/actor.hpp"

namespace postern::control {

Error invalid(grammar::DiagCode code, std::string message, std::string help) {
  return Error{ErrorKind::Invalid, code, std::move(message), std::move(help)};
}

Error not_found(grammar::DiagCode code, std::string message, std::string help) {
  return Error{ErrorKind::NotFound, code, std::move(message), std::move(help)};
}

Error conflict(grammar::DiagCode code, std::string message, std::string help) {
  return Error{ErrorKind::Conflict, code, std::move(message), std::move(help)};
}

Error from_sync(const sync::SyncError& error) {
  using sync::SyncErrorKind;
  switch (error.kind) {
    case SyncErrorKind::Store:
      return Error{ErrorKind::Unavailable, grammar::DiagCode::K820, error.message, {}};
    case SyncErrorKind::Config:
      return Error{ErrorKind::Invalid, grammar::DiagCode::Y606, error.message, {}};
    case SyncErrorKind::Discarded:
      return Error{ErrorKind::Conflict, grammar::DiagCode::Y609, error.message, {}};
    case SyncErrorKind::Auth:
      return Error{ErrorKind::Unavailable, grammar::DiagCode::Y602, error.message, {}};
    case SyncErrorKind::RateLimited:
      return Error{ErrorKind::Unavailable, grammar::DiagCode::Y603, error.message, {}};
    case SyncErrorKind::Transient:
      return Error{ErrorKind::Unavailable, grammar::DiagCode::Y604, error.message, {}};
    case SyncErrorKind::Protocol:
      return Error{ErrorKind::Unavailable, grammar::DiagCode::Y605, error.message, {}};
  }
  return Error{ErrorKind::Internal, grammar::DiagCode::Y601, error.message, {}};
}

namespace {

// The account running this process, looked up once: getpwuid is neither cheap (it reads
// /etc/passwd) nor thread-safe (a static buffer), and server threads call local_admin per write.
std::string local_login() {
  const char* user = std::getenv("USER");
  std::string login = user != nullptr ? user : "";
  if (login.empty()) {
    if (const passwd* pw = ::getpwuid(::geteuid()); pw != nullptr && pw->pw_name != nullptr) {
      login = pw->pw_name;
    }
  }
  if (login.empty()) login = "uid" + std::to_string(::geteuid());
  return login;
}

}  // namespace

Actor local_admin(std::string_view origin) {
  static const std::string login = local_login();
  return Actor{"admin:" + login, std::string(origin)};
}

}  // namespace postern::control
