#pragma once
// The policy file's ETag and the `If-Match` precondition of a save, as Tailscale's policy file
// API defines them (spec tailscale-api.md §2.1, §2.2): the ETag is the quoted SHA-256 of the
// hujson-formatted text, so gitops-pusher sees "in sync" after a push; `"ts-default"` means
// "only while the policy is still the untouched default".

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "postern/control/outcome.hpp"
#include "postern/control/tailnet.hpp"

namespace postern::control {

// Tailscale's message for a failed If-Match; Terraform looks for the status, gitops-pusher
// prints the message.
inline constexpr std::string_view kPreconditionFailed = "precondition failed, invalid old hash";
// The If-Match value Terraform sends to create a policy over the default one.
inline constexpr std::string_view kDefaultEtag = "ts-default";

// `"<hex sha-256 of hujson.Format(text)>"`, quotes included (the ETag header's value).
std::string policy_etag(const PolicyState& policy);

// The default policy nobody has changed: never saved, or saved back unchanged by a reset.
bool is_untouched_default(const PolicyState& policy);

// The version a conditional save must still find (Tailnet::replace_policy's expected_version),
// or nullopt for an unconditional save (no If-Match). `if_match` is the header as sent: one or
// more comma-separated entity tags, quoted or not, `W/` ignored, `*` for any. A value naming
// neither the current ETag nor (with "ts-default") an untouched default is a Precondition error.
Outcome<std::optional<std::int64_t>> expected_version(const PolicyState& current,
                                                      std::optional<std::string_view> if_match);

}  // namespace postern::control
