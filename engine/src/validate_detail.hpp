#pragma once
// Private state of engine::validate, shared by validate*.cpp (one file per group of checks).

#include <string>
#include <string_view>
#include <vector>

#include "postern/engine/validate.hpp"

namespace postern::engine::detail {

namespace g = postern::grammar;
namespace pol = postern::grammar::policy;

// Which rule kind a selector sits in; the messages and a few rules differ (spec §3.2, §3.3, §4).
enum class RuleKind { Acl, Grant, Ssh };

class Validator {
 public:
  Validator(const g::SourceFile& file, const pol::Ast& ast, const ValidateContext& context)
      : file_(file), ast_(ast), context_(context) {}

  std::vector<g::Diagnostic> run();

  // validate.cpp: definitions
  void groups();
  void tag_owners();
  void hosts();
  void ipsets();

  // validate_rules.cpp: acls, grants, ssh
  void acls();
  void grants();
  void ssh();

  // validate_postures.cpp: posture definitions and references
  void postures();
  void posture_refs(const std::optional<std::vector<pol::Text>>& refs, std::string_view where,
                    g::Span rule_span);

  void error(g::DiagCode code, g::Span span, std::string message, std::string help = {});
  void warning(g::DiagCode code, g::Span span, std::string message, std::string help = {});
  void add(g::Diagnostic diag);

  [[nodiscard]] const pol::Ast& ast() const { return ast_; }

  // Reference checks shared by several sections.
  void check_tag_ref(const pol::Text& tag, std::string_view message_prefix);
  void check_group_ref(const pol::Text& group);
  void check_domain(const pol::Selector& selector, bool ssh);

 private:
  void selector_refs(const pol::Selector& selector, RuleKind kind, bool src_side,
                     std::string_view dst_entry);
  void self_rule(const std::vector<pol::Selector>& src, g::Span self_span, RuleKind kind);
  void ssh_rule(const pol::SshRule& rule);
  void localpart_user(const pol::Text& user);
  // validate_sections.cpp: sshTests destinations, nodeAttrs
  void ssh_tests();
  void node_attrs();
  void node_attr_target(const pol::Text& target);

  const g::SourceFile& file_;
  const pol::Ast& ast_;
  const ValidateContext& context_;
  std::vector<g::Diagnostic> diags_;
  std::size_t errors_ = 0;
  std::size_t dropped_ = 0;
};

bool is_role_autogroup(std::string_view name);
bool is_known_autogroup(std::string_view name);
bool is_grantable_tailscale_cap(std::string_view name);

}  // namespace postern::engine::detail
