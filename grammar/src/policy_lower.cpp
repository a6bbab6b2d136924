// policy::lower: a HuJSON document to the typed policy AST (spec policy-language.md §1.3, §2-§6).
// Shapes only; names are resolved by engine::validate.
#include <array>
#include <utility>

#include "policy_lower_detail.hpp"

namespace postern::grammar::policy {
namespace {

using detail::Collector;
using detail::FieldSpec;
using detail::StrRef;

// Top-level keys (spec §2), matched case-insensitively.
enum TopKey : std::size_t {
  kAcls,
  kGrants,
  kGroups,
  kHosts,
  kTagOwners,
  kIpsets,
  kPostures,
  kDefaultSrcPosture,
  kSsh,
  kNodeAttrs,
  kAutoApprovers,
  kTests,
  kSshTests,
  kDerpMap,
  kDisableIpv4,
  kOneCgnatRoute,
  kRandomizeClientPort,
  kAttrConfig,
  kTopKeyCount
};
constexpr std::array<FieldSpec, kTopKeyCount> kTopKeys = {{
    {"acls"},
    {"grants"},
    {"groups"},
    {"hosts"},
    {"tagOwners"},
    {"ipsets"},
    {"postures"},
    {"defaultSrcPosture"},
    {"ssh"},
    {"nodeAttrs"},
    {"autoApprovers"},
    {"tests"},
    {"sshTests"},
    {"derpMap"},
    {"disableIPv4"},
    {"OneCGNATRoute"},
    {"randomizeClientPort"},
    {"attrConfig"},
}};

class Lowering {
 public:
  explicit Lowering(const SourceFile& file) : out_(file) {}

  LowerResult run(const json::Value& root) {
    if (!root.is_object()) {
      out_.error(DiagCode::S204, root.span,
                 "a policy must be an object, found " + detail::describe(root.kind),
                 "a policy file looks like `{\"acls\": [...], \"groups\": {...}}`");
      return finish();
    }
    const auto fields = detail::match_fields(out_, root, kTopKeys, "");
    auto get = [&](TopKey key) { return fields[key] != nullptr ? &fields[key]->value : nullptr; };
    if (const auto* v = get(kGroups)) groups(*v);
    if (const auto* v = get(kTagOwners)) tag_owners(*v);
    if (const auto* v = get(kHosts)) hosts(*v);
    if (const auto* v = get(kIpsets)) ipsets(*v);
    if (const auto* v = get(kPostures)) postures(*v);
    if (const auto* v = get(kDefaultSrcPosture)) {
      ast_.default_src_posture = detail::lower_string_list(out_, *v, "defaultSrcPosture");
    }
    if (const auto* v = get(kAcls)) acls(*v);
    if (const auto* v = get(kGrants)) grants(*v);
    if (const auto* v = get(kSsh)) ssh(*v);
    if (const auto* v = get(kTests)) tests(*v);
    if (const auto* v = get(kSshTests)) ssh_tests(*v);
    if (const auto* v = get(kNodeAttrs)) node_attrs(*v);
    opaque(get(kAutoApprovers), json::Kind::Object, "autoApprovers", ast_.auto_approvers);
    opaque(get(kDerpMap), json::Kind::Object, "derpMap", ast_.derp_map);
    opaque(get(kAttrConfig), json::Kind::Object, "attrConfig", ast_.attr_config);
    if (const auto* v = get(kDisableIpv4))
      detail::expect_kind(out_, *v, json::Kind::Bool, "disableIPv4");
    if (const auto* v = get(kRandomizeClientPort)) {
      detail::expect_kind(out_, *v, json::Kind::Bool, "randomizeClientPort");
    }
    if (const auto* v = get(kOneCgnatRoute)) one_cgnat_route(*v);
    return finish();
  }

 private:
  LowerResult finish() { return LowerResult{std::move(ast_), out_.finish()}; }

  void opaque(const json::Value* value, json::Kind kind, std::string_view where,
              std::optional<json::Value>& slot) {
    if (value != nullptr && detail::expect_kind(out_, *value, kind, where)) slot = *value;
  }

  void one_cgnat_route(const json::Value& value) {
    if (!detail::expect_kind(out_, value, json::Kind::String, "OneCGNATRoute")) return;
    if (value.text != "" && value.text != "mac-always" && value.text != "mac-never") {
      out_.error(DiagCode::S212, value.span, "invalid `OneCGNATRoute` value `" + value.text + "`",
                 "use \"\", \"mac-always\" or \"mac-never\"");
    }
  }

  // A map-like section: object whose keys are names; duplicates (exact spelling) rejected.
  template <class Fn>
  void each_entry(const json::Value& value, std::string_view where, Fn&& fn) {
    if (!detail::expect_kind(out_, value, json::Kind::Object, where)) return;
    std::vector<const json::Member*> seen;
    for (const auto& member : value.members) {
      if (detail::note_key(out_, seen, member, where)) fn(member);
    }
  }

  void groups(const json::Value& value) {
    each_entry(value, "groups", [&](const json::Member& m) {
      auto members = detail::lower_string_list(out_, m.value, detail::key_path("groups", m.key));
      ast_.groups[m.key] = members ? std::move(*members) : std::vector<Text>{};
      ast_.group_spans[m.key] = m.key_span;
    });
  }

  void tag_owners(const json::Value& value) {
    each_entry(value, "tagOwners", [&](const json::Member& m) {
      auto owners = detail::lower_string_list(out_, m.value, detail::key_path("tagOwners", m.key));
      ast_.tag_owners[m.key] = owners ? std::move(*owners) : std::vector<Text>{};
      ast_.tag_spans[m.key] = m.key_span;
    });
  }

  void hosts(const json::Value& value) {
    each_entry(value, "hosts", [&](const json::Member& m) {
      auto text = detail::lower_string(out_, m.value, detail::key_path("hosts", m.key));
      if (!text) return;
      if (auto prefix = ip::parse_prefix(text->value)) ast_.host_prefixes[m.key] = *prefix;
      ast_.hosts[m.key] = std::move(*text);
      ast_.host_spans[m.key] = m.key_span;
    });
  }

  void ipsets(const json::Value& value) {
    each_entry(value, "ipsets", [&](const json::Member& m) {
      const auto where = detail::key_path("ipsets", m.key);
      if (!detail::expect_kind(out_, m.value, json::Kind::Array, where)) return;
      std::vector<IpSetOp> ops;
      bool has_remove = false;
      std::vector<const json::Value*> bare;
      for (std::size_t i = 0; i < m.value.items.size(); ++i) {
        const auto& item = m.value.items[i];
        if (!detail::expect_kind(out_, item, json::Kind::String, detail::index_path(where, i))) {
          continue;
        }
        auto op = ipset_op(item, has_remove, bare);
        if (op) ops.push_back(std::move(*op));
      }
      if (has_remove) {
        for (const auto* item : bare) {
          out_.error(DiagCode::S210, item->span,
                     "bare target `" + item->text + "` in an ipset that uses `remove`",
                     "write `add " + item->text +
                         "`; bare targets are only allowed when every "
                         "operation adds");
        }
      }
      ast_.ipsets[m.key] = std::move(ops);
      ast_.ipset_spans[m.key] = m.key_span;
    });
  }

  std::optional<IpSetOp> ipset_op(const json::Value& item, bool& has_remove,
                                  std::vector<const json::Value*>& bare) {
    const auto ref = StrRef::of(item);
    IpSetOp op;
    auto target = ref;
    if (ref.text.starts_with("add ")) {
      target = ref.slice(4);
    } else if (ref.text.starts_with("remove ")) {
      op.add = false;
      has_remove = true;
      target = ref.slice(7);
    } else {
      bare.push_back(&item);
    }
    const auto t = target.text;
    const bool ok = ip::parse_prefix(t) || ip::parse_range(t) ||
                    (t.starts_with("host:") && t.size() > 5) || t == "autogroup:internet" ||
                    (t.starts_with("ipset:") && t.size() > 6);
    if (!ok) {
      out_.error(DiagCode::S210, target.whole(), "invalid ipset target `" + std::string(t) + "`",
                 "ipset operations are `add <target>` or `remove <target>`; targets are IPs, "
                 "CIDRs, ranges `a-b`, `host:<alias>`, `autogroup:internet` or `ipset:<name>`");
      return std::nullopt;
    }
    op.target = Text{std::string(t), target.whole()};
    return op;
  }

  void postures(const json::Value& value) {
    each_entry(value, "postures", [&](const json::Member& m) {
      const auto where = detail::key_path("postures", m.key);
      Posture posture;
      posture.name = Text{m.key, m.key_span};
      posture.span = m.value.span;
      if (!m.value.is_array()) {
        out_.error(DiagCode::S204, m.value.span, where + ": expected a list of conditions",
                   "write `\"" + m.key + "\": [\"node:os == 'macos'\"]`");
        return;
      }
      posture.entries = m.value.items.size();
      for (std::size_t i = 0; i < m.value.items.size(); ++i) {
        const auto& item = m.value.items[i];
        if (!detail::expect_kind(out_, item, json::Kind::String, detail::index_path(where, i))) {
          continue;
        }
        // The condition text sits inside the quotes of the JSON literal.
        const Span content{item.span.begin + 1, item.span.end > item.span.begin + 1
                                                    ? item.span.end - 1
                                                    : item.span.begin + 1};
        auto parsed = posture::parse(out_.file(), item.text, content, item.string_is_verbatim);
        for (auto& d : parsed.diags) out_.add(std::move(d));
        if (parsed.value) posture.conditions.push_back(std::move(*parsed.value));
      }
      ast_.postures[m.key] = std::move(posture);
    });
  }

  std::optional<std::vector<Text>> src_posture(const json::Member* member, std::string_view where) {
    if (member == nullptr) return std::nullopt;
    auto list = detail::lower_string_list(out_, member->value, std::string(where) + ".srcPosture");
    // A malformed list still counts as present so the default posture is not applied silently.
    return list ? std::move(*list) : std::vector<Text>{};
  }

  void missing(Span span, std::string_view where, std::string_view field) {
    out_.error(DiagCode::S205, span,
               std::string(where) + ": missing required field `" + std::string(field) + "`");
  }

  enum class Presence : bool { Optional, Required };

  // Reads the fields of one object (as matched by detail::match_fields) and remembers whether
  // every one was valid.
  class FieldReader {
   public:
    FieldReader(Lowering& lowering, const std::vector<const json::Member*>& fields, Span object,
                const std::string& where)
        : lowering_(lowering), fields_(fields), object_(object), where_(where) {}

    // Lowers field `index` (named `name`) into `target` with `lower`, one of the
    // detail::lower_* functions. An invalid value, or an absent required field, is reported
    // and makes the object invalid; an absent optional field leaves `target` as it is.
    template <class Target, class Lower>
    void read(std::size_t index, std::string_view name, Presence presence, Target& target,
              Lower lower) {
      const json::Member* member = fields_[index];
      if (member == nullptr) {
        if (presence == Presence::Required) {
          lowering_.missing(object_, where_, name);
          ok_ = false;
        }
        return;
      }
      auto value = lower(lowering_.out_, member->value, where_ + "." + std::string(name));
      if (value) {
        target = std::move(*value);
      } else {
        ok_ = false;
      }
    }
    void fail() { ok_ = false; }
    [[nodiscard]] bool ok() const { return ok_; }

   private:
    Lowering& lowering_;
    const std::vector<const json::Member*>& fields_;
    Span object_;
    const std::string& where_;
    bool ok_ = true;
  };

  // Lowers every object of the array `value` (the top-level section `section`, e.g. "acls")
  // into an Entry appended to `out`: checks the shapes, matches the object's keys against
  // `specs`, sets the entry's index and span (the object's) and lets `lower_one(entry, where,
  // fields by spec, a FieldReader over them)` fill it. An entry with an invalid field is left out.
  template <class Entry, std::size_t N, class LowerOne>
  void lower_entries(const json::Value& value, std::string_view section,
                     const std::array<FieldSpec, N>& specs, std::vector<Entry>& out,
                     LowerOne lower_one) {
    if (!detail::expect_kind(out_, value, json::Kind::Array, section)) return;
    for (std::size_t i = 0; i < value.items.size(); ++i) {
      const auto& item = value.items[i];
      const auto where = detail::index_path(section, i);
      if (!detail::expect_kind(out_, item, json::Kind::Object, where)) continue;
      const auto f = detail::match_fields(out_, item, specs, where);
      FieldReader fields(*this, f, item.span, where);
      Entry entry;
      entry.index = i;
      entry.span = item.span;
      lower_one(entry, where, f, fields);
      if (fields.ok()) out.push_back(std::move(entry));
    }
  }

  void acls(const json::Value& value) {
    ast_.has_acls = true;
    static constexpr std::array<FieldSpec, 5> kFields = {{
        {"action"},
        {"src", "users"},
        {"proto"},
        {"dst", "ports"},
        {"srcPosture"},
    }};
    lower_entries(
        value, "acls", kFields, ast_.acls,
        [&](AclRule& rule, const std::string& where, const std::vector<const json::Member*>& f,
            FieldReader& fields) {
          fields.read(0, "action", Presence::Required, rule.action, detail::lower_string);
          fields.read(1, "src", Presence::Required, rule.src, detail::lower_selector_list);
          fields.read(2, "proto", Presence::Optional, rule.proto, detail::lower_proto);
          if (f[3] == nullptr) {
            missing(rule.span, where, "dst");
            fields.fail();
          } else if (detail::expect_kind(out_, f[3]->value, json::Kind::Array, where + ".dst")) {
            const auto& list = f[3]->value.items;
            for (std::size_t d = 0; d < list.size(); ++d) {
              if (!detail::expect_kind(out_, list[d], json::Kind::String,
                                       detail::index_path(where + ".dst", d))) {
                continue;
              }
              auto dst = detail::lower_destination(out_, list[d]);
              if (!dst) continue;
              if (rule.proto.number && !proto_has_ports(*rule.proto.number) &&
                  !detail::is_wildcard_ports(dst->ports)) {
                out_.error(
                    DiagCode::S208, list[d].span, "protocol does not support specific ports",
                    "only tcp, udp and sctp have ports; use `*` as the port with protocol `" +
                        rule.proto.source.value + "`");
                continue;
              }
              rule.dst.push_back(std::move(*dst));
            }
          } else {
            fields.fail();
          }
          rule.src_posture = src_posture(f[4], where);
        });
  }

  void grants(const json::Value& value) {
    ast_.has_grants = true;
    static constexpr std::array<FieldSpec, 6> kFields = {{
        {"src"},
        {"dst"},
        {"ip"},
        {"app"},
        {"srcPosture"},
        {"via"},
    }};
    lower_entries(
        value, "grants", kFields, ast_.grants,
        [&](Grant& grant, const std::string& where, const std::vector<const json::Member*>& f,
            FieldReader& fields) {
          fields.read(0, "src", Presence::Required, grant.src, detail::lower_selector_list);
          fields.read(1, "dst", Presence::Required, grant.dst, detail::lower_selector_list);
          if (f[2] != nullptr &&
              detail::expect_kind(out_, f[2]->value, json::Kind::Array, where + ".ip")) {
            const auto& list = f[2]->value.items;
            grant.ip_entries = list.size();
            for (std::size_t k = 0; k < list.size(); ++k) {
              if (!detail::expect_kind(out_, list[k], json::Kind::String,
                                       detail::index_path(where + ".ip", k))) {
                continue;
              }
              if (auto spec = detail::lower_ip_spec(out_, list[k]))
                grant.ip.push_back(std::move(*spec));
            }
          }
          if (f[3] != nullptr &&
              detail::expect_kind(out_, f[3]->value, json::Kind::Object, where + ".app")) {
            std::vector<const json::Member*> seen;
            for (const auto& cap : f[3]->value.members) {
              if (!detail::note_key(out_, seen, cap, where + ".app")) continue;
              if (detail::expect_kind(out_, cap.value, json::Kind::Array,
                                      detail::key_path(where + ".app", cap.key))) {
                grant.app_capabilities.push_back(Text{cap.key, cap.key_span});
              }
            }
          }
          grant.src_posture = src_posture(f[4], where);
          // An invalid `via` is reported but keeps the grant, so validation still checks the rest.
          if (f[5] != nullptr) {
            if (auto via = detail::lower_string_list(out_, f[5]->value, where + ".via")) {
              grant.via = std::move(*via);
            }
          }
        });
  }

  void ssh(const json::Value& value) {
    static constexpr std::array<FieldSpec, 9> kFields = {{
        {"action"},
        {"src"},
        {"dst"},
        {"users"},
        {"srcPosture"},
        {"checkPeriod"},
        {"acceptEnv"},
        {"recorder"},
        {"enforceRecorder"},
    }};
    lower_entries(
        value, "ssh", kFields, ast_.ssh,
        [&](SshRule& rule, const std::string& where, const std::vector<const json::Member*>& f,
            FieldReader& fields) {
          // A missing action is reported by validation with Tailscale's text.
          rule.action = Text{"", rule.span};
          fields.read(0, "action", Presence::Optional, rule.action, detail::lower_string);
          fields.read(1, "src", Presence::Required, rule.src, detail::lower_selector_list);
          fields.read(2, "dst", Presence::Required, rule.dst, detail::lower_string_list);
          // `"users": null` counts as absent, as in Tailscale ("users must be specified").
          rule.has_users = f[3] != nullptr && f[3]->value.kind != json::Kind::Null;
          if (rule.has_users) {
            fields.read(3, "users", Presence::Optional, rule.users, detail::lower_string_list);
          }
          rule.src_posture = src_posture(f[4], where);
          fields.read(5, "checkPeriod", Presence::Optional, rule.check_period,
                      detail::lower_string);
          fields.read(6, "acceptEnv", Presence::Optional, rule.accept_env,
                      detail::lower_string_list);
          fields.read(7, "recorder", Presence::Optional, rule.recorder, detail::lower_string_list);
          if (f[8] != nullptr) {
            if (detail::expect_kind(out_, f[8]->value, json::Kind::Bool,
                                    where + ".enforceRecorder")) {
              rule.enforce_recorder = f[8]->value.boolean;
            } else {
              fields.fail();
            }
          }
        });
  }

  void ssh_tests(const json::Value& value) {
    static constexpr std::array<FieldSpec, 6> kFields = {{
        {"src"},
        {"dst"},
        {"accept"},
        {"check"},
        {"deny"},
        {"srcPostureAttrs"},
    }};
    lower_entries(
        value, "sshTests", kFields, ast_.ssh_tests,
        [&](SshTest& test, const std::string& where, const std::vector<const json::Member*>& f,
            FieldReader& fields) {
          fields.read(0, "src", Presence::Required, test.src, detail::lower_string);
          fields.read(1, "dst", Presence::Required, test.dst, detail::lower_string_list);
          fields.read(2, "accept", Presence::Optional, test.accept, detail::lower_string_list);
          fields.read(3, "check", Presence::Optional, test.check, detail::lower_string_list);
          fields.read(4, "deny", Presence::Optional, test.deny, detail::lower_string_list);
          if (f[5] != nullptr) {
            test.has_src_posture_attrs = true;
            if (!posture_attrs(f[5]->value, where + ".srcPostureAttrs", test.src_posture_attrs)) {
              fields.fail();
            }
          }
        });
  }

  void node_attrs(const json::Value& value) {
    ast_.has_node_attrs = true;
    static constexpr std::array<FieldSpec, 4> kFields = {{
        {"target"},
        {"attr"},
        {"app"},
        {"ipPool"},
    }};
    lower_entries(
        value, "nodeAttrs", kFields, ast_.node_attrs,
        [&](NodeAttr& entry, const std::string& where, const std::vector<const json::Member*>& f,
            FieldReader& fields) {
          fields.read(0, "target", Presence::Required, entry.target, detail::lower_string_list);
          fields.read(1, "attr", Presence::Optional, entry.attr, detail::lower_string_list);
          if (f[2] != nullptr) {
            if (detail::expect_kind(out_, f[2]->value, json::Kind::Object, where + ".app")) {
              std::vector<const json::Member*> seen;
              for (const auto& cap : f[2]->value.members) {
                if (detail::note_key(out_, seen, cap, where + ".app")) {
                  entry.app_capabilities.push_back(Text{cap.key, cap.key_span});
                }
              }
            } else {
              fields.fail();
            }
          }
          fields.read(3, "ipPool", Presence::Optional, entry.ip_pool, detail::lower_string_list);
        });
  }

  void tests(const json::Value& value) {
    static constexpr std::array<FieldSpec, 5> kFields = {{
        {"src", "user"},
        {"srcPostureAttrs"},
        {"proto"},
        {"accept", "allow"},
        {"deny"},
    }};
    lower_entries(
        value, "tests", kFields, ast_.tests,
        [&](TestCase& test, const std::string& where, const std::vector<const json::Member*>& f,
            FieldReader& fields) {
          fields.read(0, "src", Presence::Required, test.src, detail::lower_string);
          if (f[1] != nullptr) {
            test.has_src_posture_attrs = true;
            if (!posture_attrs(f[1]->value, where + ".srcPostureAttrs", test.src_posture_attrs)) {
              fields.fail();
            }
          }
          fields.read(2, "proto", Presence::Optional, test.proto, detail::lower_proto);
          fields.read(3, "accept", Presence::Optional, test.accept, detail::lower_string_list);
          fields.read(4, "deny", Presence::Optional, test.deny, detail::lower_string_list);
          if (f[3] == nullptr && f[4] == nullptr) {
            out_.error(
                DiagCode::S211, test.span, where + ": a test needs `accept` or `deny`",
                "list the destinations the source must (`accept`) or must not (`deny`) reach");
            fields.fail();
          }
        });
  }

  bool posture_attrs(const json::Value& value, const std::string& where,
                     std::map<std::string, AttrLiteral>& attrs) {
    if (!detail::expect_kind(out_, value, json::Kind::Object, where)) return false;
    bool ok = true;
    std::vector<const json::Member*> seen;
    for (const auto& m : value.members) {
      if (!detail::note_key(out_, seen, m, where)) {
        ok = false;
        continue;
      }
      switch (m.value.kind) {
        case json::Kind::String:
          attrs[m.key] = m.value.text;
          break;
        case json::Kind::Number:
          attrs[m.key] = m.value.number;
          break;
        case json::Kind::Bool:
          attrs[m.key] = m.value.boolean;
          break;
        default:
          out_.error(DiagCode::S211, m.value.span,
                     detail::key_path(where, m.key) + ": value must be a string, number or boolean",
                     "found " + detail::describe(m.value.kind));
          ok = false;
      }
    }
    return ok;
  }

  Collector out_;
  Ast ast_;
};

}  // namespace

LowerResult lower_all(const SourceFile& file, const json::Value& root) {
  return Lowering(file).run(root);
}

Parsed<Ast> lower(const SourceFile& file, const json::Value& root) {
  auto result = lower_all(file, root);
  Parsed<Ast> parsed;
  const bool errors = result.has_errors();
  parsed.diags = std::move(result.diags);
  if (!errors) parsed.value = std::move(result.ast);
  return parsed;
}

}  // namespace postern::grammar::policy
