// Canonical text of posture conditions, their equality, and the shared list of version attributes.
#include <array>
#include <charconv>
#include <string>
#include <string_view>
#include <variant>

#include "postern/grammar/posture.hpp"

namespace postern::grammar::posture {
namespace {

// Shortest fixed-notation text that reads back as the same double (the grammar has no exponent).
std::string number_text(double value) {
  std::array<char, 512> buffer{};
  const auto [ptr, ec] =
      std::to_chars(buffer.data(), buffer.data() + buffer.size(), value, std::chars_format::fixed);
  if (ec != std::errc{}) return "0";
  return std::string(buffer.data(), ptr);
}

std::string literal_text(const Literal& literal) {
  if (const auto* text = std::get_if<std::string>(&literal.value)) {
    // Single quotes unless the text holds one; a parsed string never holds both kinds.
    const char quote = text->find('\'') == std::string::npos ? '\'' : '"';
    return quote + *text + quote;
  }
  if (const auto* number = std::get_if<double>(&literal.value)) return number_text(*number);
  return std::get<bool>(literal.value) ? "true" : "false";
}

}  // namespace

std::string_view op_spelling(Op op) {
  switch (op) {
    case Op::Eq:
      return "==";
    case Op::Ne:
      return "!=";
    case Op::Lt:
      return "<";
    case Op::Le:
      return "<=";
    case Op::Gt:
      return ">";
    case Op::Ge:
      return ">=";
    case Op::In:
      return "IN";
    case Op::NotIn:
      return "NOT IN";
    case Op::IsSet:
      return "IS SET";
    case Op::NotSet:
      return "NOT SET";
    case Op::Bare:
      return "";
  }
  return "";
}

std::string to_string(const Condition& condition) {
  std::string out = condition.attribute;
  if (condition.op == Op::Bare) return out;
  out += ' ';
  out += op_spelling(condition.op);
  if (condition.op == Op::IsSet || condition.op == Op::NotSet) return out;
  if (condition.op == Op::In || condition.op == Op::NotIn) {
    out += " [";
    for (std::size_t i = 0; i < condition.operands.size(); ++i) {
      if (i > 0) out += ", ";
      out += literal_text(condition.operands[i]);
    }
    out += ']';
    return out;
  }
  if (!condition.operands.empty()) {
    out += ' ';
    out += literal_text(condition.operands.front());
  }
  return out;
}

bool equivalent(const Condition& a, const Condition& b) {
  if (a.ns != b.ns || a.key != b.key || a.attribute != b.attribute || a.op != b.op ||
      a.operands.size() != b.operands.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.operands.size(); ++i) {
    if (a.operands[i].value != b.operands[i].value) return false;
  }
  return true;
}

bool is_version_attribute(std::string_view attribute) {
  // Spec §5.1/§5.4 and docs/semantics.md#posture: the two `node:` versions plus SentinelOne's
  // agent version, which the integration documents with type "version".
  static constexpr std::array<std::string_view, 3> kVersionAttributes = {
      "node:osVersion", "node:tsVersion", "sentinelOne:agentVersion"};
  for (const auto name : kVersionAttributes) {
    if (attribute == name) return true;
  }
  return false;
}

}  // namespace postern::grammar::posture
