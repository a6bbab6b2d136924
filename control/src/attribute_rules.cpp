#include "postern/control/attribute_rules.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>

namespace postern::control {
namespace {

using grammar::DiagCode;

bool is_word_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_'; }

}  // namespace

std::optional<Error> check_custom_key(std::string_view key) {
  if (key.substr(0, kCustomPrefix.size()) != kCustomPrefix) {
    return invalid(DiagCode::K801,
                   fmt::format("only `custom:` attributes can be written, not `{}`", key),
                   "posture integrations write their own namespaces; node:* comes from devices");
  }
  const auto name = key.substr(kCustomPrefix.size());
  if (name.empty()) return invalid(DiagCode::K801, "attribute key `custom:` has no name");
  if (key.size() > kMaxKeyLength) {
    return invalid(DiagCode::K801,
                   fmt::format("attribute key is {} characters long; the limit is {}", key.size(),
                               kMaxKeyLength));
  }
  if (!std::all_of(name.begin(), name.end(), is_word_char)) {
    return invalid(DiagCode::K801,
                   fmt::format("attribute key `{}` may contain only letters, digits and `_` after "
                               "`custom:`",
                               key));
  }
  return std::nullopt;
}

std::optional<Error> check_custom_value(const engine::AttrValue& value) {
  if (const auto* s = std::get_if<std::string>(&value)) {
    if (s->size() > kMaxStringValue) {
      return invalid(DiagCode::K802,
                     fmt::format("string value is {} characters long; the limit is {}", s->size(),
                                 kMaxStringValue));
    }
    const bool word =
        std::all_of(s->begin(), s->end(), [](char c) { return is_word_char(c) || c == '.'; });
    if (!word) {
      return invalid(DiagCode::K802, "string value may contain only letters, digits, `_` and `.`");
    }
    return std::nullopt;
  }
  if (const auto* d = std::get_if<double>(&value)) {
    if (!std::isfinite(*d) || std::trunc(*d) != *d || std::fabs(*d) > kMaxSafeInteger) {
      return invalid(DiagCode::K802,
                     "number value must be an integer between -(2^53-1) and 2^53-1");
    }
  }
  return std::nullopt;
}

std::optional<Error> check_comment(std::string_view comment) {
  if (comment.size() <= kMaxCommentLength) return std::nullopt;
  return invalid(DiagCode::K807, fmt::format("comment is {} characters long; the limit is {}",
                                             comment.size(), kMaxCommentLength));
}

std::string_view value_type_name(const engine::AttrValue& value) {
  if (std::holds_alternative<std::string>(value)) return "string";
  if (std::holds_alternative<bool>(value)) return "boolean";
  return "number";
}

}  // namespace postern::control
