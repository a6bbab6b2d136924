#include "attribute_keys.hpp"

#include <algorithm>

#include "postern/grammar/ascii.hpp"

namespace postern::engine {
namespace {

std::size_t& holders_of_type(AttributeKeyUsage& usage, const AttrValue& value) {
  if (std::holds_alternative<std::string>(value)) return usage.string_holders;
  if (std::holds_alternative<double>(value)) return usage.number_holders;
  return usage.bool_holders;
}

}  // namespace

void AttributeKeyIndex::count(std::string_view key, const AttrValue& value, int delta) {
  const std::string folded = grammar::ascii_lowered(key);
  auto& spellings = by_folded_key_[folded];
  auto it = std::find_if(spellings.begin(), spellings.end(),
                         [&](const AttributeKeyUsage& u) { return u.spelling == key; });
  if (it == spellings.end()) {
    if (delta < 0) return;  // nothing held under this spelling: nothing to forget
    it = spellings.insert(spellings.end(), AttributeKeyUsage{std::string(key), 0, 0, 0});
  }
  auto& holders = holders_of_type(*it, value);
  if (delta > 0) {
    ++holders;
  } else if (holders > 0) {
    --holders;
  }
  if (it->holders() == 0) spellings.erase(it);
  if (spellings.empty()) by_folded_key_.erase(folded);
}

std::vector<AttributeKeyUsage> AttributeKeyIndex::usage(std::string_view key) const {
  const auto it = by_folded_key_.find(grammar::ascii_lowered(key));
  return it == by_folded_key_.end() ? std::vector<AttributeKeyUsage>{} : it->second;
}

}  // namespace postern::engine
