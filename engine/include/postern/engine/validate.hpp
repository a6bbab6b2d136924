#pragma once
// Semantic validation of a lowered policy (spec policy-language.md §3-§6, §9, E20): names resolve,
// autogroups are used where they are allowed, postures are well formed. Pure; no I/O.

#include <string>
#include <vector>

#include "postern/engine/inventory.hpp"
#include "postern/grammar/diag.hpp"
#include "postern/grammar/policy_ast.hpp"

namespace postern::engine {

struct ValidateContext {
  // Domains associated with the tailnet (the part after `@` of its members' logins). Only when
  // `domains_known` is true are `user:*@<domain>` selectors checked against them (--tailnet).
  bool domains_known = false;
  std::vector<std::string> user_domains;
};

// The domains associated with a tailnet, for `user:*@<domain>` and `localpart:*@<domain>`: the
// domains of its owners (role "owner"); with no owner listed, the domain most of its own
// (non-shared) users log in with, all of them on a tie. Users of other domains are invited
// members, whose domain Tailscale does not associate with the tailnet (docs/semantics.md).
ValidateContext make_validate_context(const Inventory& inventory);

// Maximum number of errors reported (warnings are not counted); a note says how many were dropped.
inline constexpr std::size_t kMaxValidationErrors = 50;

// Errors and warnings, in source order per section. The policy is valid when no diagnostic is an
// error.
std::vector<grammar::Diagnostic> validate(const grammar::SourceFile& file,
                                          const grammar::policy::Ast& ast,
                                          const ValidateContext& context = {});

// The integration and built-in attribute namespaces of spec §5.1 (`node`, `ip`, `custom`,
// `kandji`, ...); other namespaces get a warning.
bool is_known_attribute_namespace(std::string_view ns);

}  // namespace postern::engine
