#include "server_attributes.hpp"

#include <cctype>
#include <cmath>

namespace postern::server {
namespace {

bool is_word_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_'; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::optional<std::string> check_custom_key(std::string_view key) {
  if (key.substr(0, kCustomPrefix.size()) != kCustomPrefix) {
    return "only `custom:` attributes can be written through the API, not `" + std::string(key) +
           "`";
  }
  const auto name = key.substr(kCustomPrefix.size());
  if (name.empty()) return std::string("attribute key `custom:` has no name");
  if (key.size() > kMaxKeyLength) {
    return "attribute key is " + std::to_string(key.size()) + " characters long; the limit is " +
           std::to_string(kMaxKeyLength);
  }
  for (const char c : name) {
    if (!is_word_char(c)) {
      return "attribute key `" + std::string(key) +
             "` may contain only letters, digits and `_` after `custom:`";
    }
  }
  return std::nullopt;
}

std::optional<engine::AttrValue> parse_custom_value(const nlohmann::json& value,
                                                    std::string& error) {
  if (value.is_boolean()) return engine::AttrValue(value.get<bool>());
  if (value.is_string()) {
    const auto& s = value.get_ref<const std::string&>();
    if (s.size() > kMaxStringValue) {
      error = "string value is " + std::to_string(s.size()) + " characters long; the limit is " +
              std::to_string(kMaxStringValue);
      return std::nullopt;
    }
    for (const char c : s) {
      if (!is_word_char(c) && c != '.') {
        error = "string value may contain only letters, digits, `_` and `.`";
        return std::nullopt;
      }
    }
    return engine::AttrValue(s);
  }
  if (value.is_number()) {
    const double d = value.get<double>();
    if (!std::isfinite(d) || std::trunc(d) != d || std::fabs(d) > kMaxSafeInteger) {
      error = "number value must be an integer between -(2^53-1) and 2^53-1";
      return std::nullopt;
    }
    return engine::AttrValue(d);
  }
  error = "`value` must be a string, an integer or a boolean";
  return std::nullopt;
}

std::string_view value_type_name(const engine::AttrValue& value) {
  if (std::holds_alternative<std::string>(value)) return "string";
  if (std::holds_alternative<bool>(value)) return "boolean";
  return "number";
}

std::optional<std::string> check_key_consistency(const engine::Snapshot& snapshot,
                                                 std::string_view key,
                                                 const engine::AttrValue& value) {
  for (std::size_t i = 0; i < snapshot.device_count(); ++i) {
    const auto index = static_cast<engine::DeviceIndex>(i);
    for (const auto& [k, v] : snapshot.attributes(index)) {
      if (k == key) {
        if (v.index() != value.index()) {
          return "`" + std::string(key) + "` holds " + std::string(value_type_name(v)) +
                 " values (device `" + snapshot.device(index).hostname + "`); it cannot hold a " +
                 std::string(value_type_name(value));
        }
      } else if (iequals(k, key)) {
        return "`" + std::string(key) + "` differs only in case from `" + k + "` (device `" +
               snapshot.device(index).hostname + "`); keys are unique regardless of case";
      }
    }
  }
  return std::nullopt;
}

}  // namespace postern::server
