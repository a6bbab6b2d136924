#pragma once
// Who asked for a change and through which door: recorded with every audit event.

#include <string>

namespace postern::control {

// Where a change came from (Tailscale's audit-log `origin` values, plus CLI and FILE).
inline constexpr std::string_view kOriginCli = "CLI";
inline constexpr std::string_view kOriginApi = "CONFIG_API";
inline constexpr std::string_view kOriginConsole = "ADMIN_CONSOLE";
inline constexpr std::string_view kOriginControl = "CONTROL";  // the sync, expiry
inline constexpr std::string_view kOriginFile = "FILE";        // the served policy file changed

struct Actor {
  std::string name;    // "admin:alice", "api-key:kAbc123", "integration:kandji"
  std::string origin;  // one of kOrigin*
};

// "admin:<login>" from $USER, else from the account the process runs as.
Actor local_admin(std::string_view origin);

}  // namespace postern::control
