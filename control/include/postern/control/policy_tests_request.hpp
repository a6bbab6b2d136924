#pragma once
// The first mode of Tailscale's `POST .../acl/validate` (spec tailscale-api.md §2.3): a JSON array
// of tests run against the current policy, which stays as it is.

#include <nlohmann/json_fwd.hpp>

#include "postern/control/outcome.hpp"
#include "postern/control/tailnet.hpp"

namespace postern::control {

// The current policy with its `tests` replaced by `tests` (objects in the policy's test shape,
// legacy `user`/`allow` names included), judged as a save would judge it. Not an array of
// objects: Invalid.
Outcome<PolicyVerdict> validate_tests(const Tailnet& tailnet, const nlohmann::json& tests);

}  // namespace postern::control
