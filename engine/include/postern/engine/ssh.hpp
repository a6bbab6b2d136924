#pragma once
// Tailscale SSH decisions (spec policy-language.md §2 `ssh`, §6.5 `sshTests`): may a source open
// an SSH session to a destination as a given local login, and does it need a `check`?
// Rules are tried in policy order and the first one that matches source, destination, login and
// source posture decides, as Tailscale's SSH server does with the rules it receives.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "postern/engine/engine.hpp"
#include "postern/engine/inventory.hpp"
#include "postern/grammar/policy_ast.hpp"

namespace postern::engine {

enum class SshAction : std::uint8_t { Deny, Accept, Check };

// "accept" / "check" / "deny".
std::string_view ssh_action_name(SshAction action);

// Who is at one end of an SSH session. A user's device has `user`; a tagged device only `tags`.
struct SshPeer {
  std::string user;
  std::vector<std::string> tags;
  std::vector<grammar::ip::Address> addresses;
  bool external = false;            // shared-in device: not posture-checked
  const AttrMap* attrs = nullptr;   // the source's posture attributes (none = every attr unset)
};

// The peer a device of the inventory is.
SshPeer ssh_peer_of(const Device& device);

// An `ssh` rule that matched source, destination and login but whose posture gate failed.
struct SshNearMiss {
  std::size_t rule = 0;  // index into `ssh`
  std::uint32_t line = 0;
  bool from_default = false;  // the gate was defaultSrcPosture, not the rule's srcPosture
  std::vector<PostureFailure> postures;
};

struct SshDecision {
  SshAction action = SshAction::Deny;
  std::optional<std::size_t> rule;  // index into `ssh` of the deciding rule
  grammar::Span rule_span;
  std::uint32_t line = 0;         // 1-based line of the deciding rule
  std::string check_period;       // `check` rules: as written, or "12h" (Tailscale's default)
  std::vector<SshNearMiss> near_misses;  // deny: rules that matched all but the source posture
};

class SshPolicy {
 public:
  SshPolicy(const grammar::SourceFile& file, const grammar::policy::Ast& ast,
            const Inventory& inventory, CompileOptions options = {});
  ~SshPolicy();
  SshPolicy(const SshPolicy&) = delete;
  SshPolicy& operator=(const SshPolicy&) = delete;

  // May `src` open SSH to `dst` as local user `login`?
  [[nodiscard]] SshDecision check(const SshPeer& src, const SshPeer& dst,
                                  std::string_view login) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Run the policy's `sshTests` (spec §6.5) and append their failures to `result` in the shape
// of `tests` failures (Tailscale answers both with "test(s) failed").
void run_ssh_tests(const grammar::SourceFile& file, const grammar::policy::Ast& ast,
                   const Inventory* inventory, CompileOptions options, TestRunResult& result);

}  // namespace postern::engine
