#pragma once
// Posture conditions (spec policy-language.md §5.3): `ns:key OP value`, parsed from a JSON string
// literal that sits inside a policy file so every error points into that file.

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "postern/grammar/diag.hpp"

namespace postern::grammar::posture {

enum class Op : std::uint8_t {
  Eq,      // ==
  Ne,      // !=
  Lt,      // <
  Le,      // <=
  Gt,      // >
  Ge,      // >=
  In,      // IN [..]
  NotIn,   // NOT IN [..]
  IsSet,   // IS SET
  NotSet,  // NOT SET
  Bare,    // just the attribute: means `== true` (docs/semantics.md)
};

std::string_view op_spelling(Op op);  // "==", "IN", "NOT SET", "" for Bare

struct Literal {
  std::variant<std::string, double, bool> value;
  std::string text;  // as written, e.g. `'macos'`, `1.5`, `true`
  Span span;         // in the policy file
};

struct Condition {
  std::string ns;         // "node"
  std::string key;        // "tsVersion"
  std::string attribute;  // "node:tsVersion" (policy spelling, case kept)
  Span attribute_span;
  Op op = Op::Bare;
  Span op_span;
  std::vector<Literal> operands;  // 1 for comparisons, the list for IN/NOT IN, 0 for SET/Bare
  Span span;                      // the whole condition
};

// Parse one condition. `text` is the decoded string value; `text_span` is the span of its content
// in `file` (inside the quotes). When `verbatim` is true (no escapes in the JSON string), error
// positions are exact byte positions in `file`; otherwise they fall back to the string's start.
Parsed<Condition> parse(const SourceFile& file, std::string_view text, Span text_span,
                        bool verbatim);

// Canonical text: `node:os == 'macos'`, `ip:country IN ['US', 'CA']`, `custom:x IS SET`.
// parse(to_string(c)) yields an equal condition (round-trip invariant checked by tests/fuzz).
std::string to_string(const Condition& condition);

// The equality of the round-trip invariant: same attribute, operator and operand values (in order);
// spans and the operands' original spelling (`"a"` vs `'a'`, `1.50` vs `1.5`) are ignored.
bool equivalent(const Condition& a, const Condition& b);

// Attributes whose string values are versions: they accept `<`, `<=`, `>`, `>=` (compared with
// engine::compare_versions). Shared by the validator and the engine so both use one list.
bool is_version_attribute(std::string_view attribute);

}  // namespace postern::grammar::posture
