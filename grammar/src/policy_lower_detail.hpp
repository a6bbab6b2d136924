#pragma once
// Private helpers shared by the policy_*.cpp lowering files: error collection, key matching and
// located sub-strings of JSON string values.

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "postern/grammar/diag.hpp"
#include "postern/grammar/json_value.hpp"
#include "postern/grammar/policy_ast.hpp"

namespace postern::grammar::policy::detail {

inline constexpr std::size_t kMaxErrors = 50;

// Collects diagnostics, keeping at most kMaxErrors errors (warnings are always kept).
class Collector {
 public:
  explicit Collector(const SourceFile& file) : file_(file) {}

  void error(DiagCode code, Span span, std::string message, std::string help = {});
  void add(Diagnostic diag);
  [[nodiscard]] const SourceFile& file() const { return file_; }
  [[nodiscard]] std::size_t error_count() const { return errors_; }
  // Diagnostics in order, plus a note when errors were dropped.
  std::vector<Diagnostic> finish();

 private:
  const SourceFile& file_;
  std::vector<Diagnostic> diags_;
  std::size_t errors_ = 0;
  std::size_t dropped_ = 0;
};

// A decoded string (or part of one) that knows where its characters are in the file.
struct StrRef {
  std::string_view text;
  Span value_span;       // the whole JSON string literal, quotes included
  bool verbatim = true;  // no escapes: character i sits at value_span.begin + 1 + base + i
  std::size_t base = 0;  // offset of `text` inside the decoded string

  static StrRef of(const json::Value& value);
  [[nodiscard]] Span sub(std::size_t offset, std::size_t length) const;
  [[nodiscard]] Span whole() const { return sub(0, text.size()); }
  [[nodiscard]] StrRef slice(std::size_t offset, std::size_t length = std::string_view::npos) const;
};

struct FieldSpec {
  std::string_view name;        // canonical lower-camel spelling
  std::string_view alias = {};  // legacy spelling, matched the same way
};

// Matches an object's members against `specs` case-insensitively. Returns one pointer per spec
// (nullptr when absent). Unknown and duplicate keys are reported; the first occurrence wins.
std::vector<const json::Member*> match_fields(Collector& out, const json::Value& object,
                                              std::span<const FieldSpec> specs,
                                              std::string_view where);

// Reports a duplicate (exact spelling) key in a map-like object; returns true when `key` is new.
bool note_key(Collector& out, std::vector<const json::Member*>& seen, const json::Member& member,
              std::string_view where);

std::string describe(json::Kind kind);
// Reports S204 when `value` is not of `kind`; `where` names the place (`acls[0].src`).
bool expect_kind(Collector& out, const json::Value& value, json::Kind kind, std::string_view where);
std::optional<Text> lower_string(Collector& out, const json::Value& value, std::string_view where);
std::optional<std::vector<Text>> lower_string_list(Collector& out, const json::Value& value,
                                                   std::string_view where);
std::string index_path(std::string_view where, std::size_t index);
std::string key_path(std::string_view where, std::string_view key);

// ---- selectors, ports, protocols (policy_selectors.cpp) ----

std::optional<Selector> lower_selector(Collector& out, const StrRef& ref);
std::optional<std::vector<Selector>> lower_selector_list(Collector& out, const json::Value& value,
                                                         std::string_view where);
// `prefix` is prepended to port messages (`dst="tag:web:0": `).
std::optional<std::vector<PortRange>> lower_ports(Collector& out, const StrRef& ref,
                                                  std::string_view prefix);
std::optional<Destination> lower_destination(Collector& out, const json::Value& value);
std::optional<Proto> lower_proto(Collector& out, const json::Value& value, std::string_view where);
std::optional<IpSpec> lower_ip_spec(Collector& out, const json::Value& value);
bool is_wildcard_ports(const std::vector<PortRange>& ports);

}  // namespace postern::grammar::policy::detail
