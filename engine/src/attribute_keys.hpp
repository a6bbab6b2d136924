#pragma once
// Tailnet-wide attribute key usage (Engine::attribute_key_usage): case-folded key -> the
// spellings held and how many devices hold each with which value type. Updated per change.
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "postern/engine/engine.hpp"

namespace postern::engine {

class AttributeKeyIndex {
 public:
  void add(std::string_view key, const AttrValue& value) { count(key, value, +1); }
  void remove(std::string_view key, const AttrValue& value) { count(key, value, -1); }
  [[nodiscard]] std::vector<AttributeKeyUsage> usage(std::string_view key) const;

 private:
  void count(std::string_view key, const AttrValue& value, int delta);
  std::unordered_map<std::string, std::vector<AttributeKeyUsage>> by_folded_key_;
};

}  // namespace postern::engine
