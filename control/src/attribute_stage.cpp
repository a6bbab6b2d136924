#include "attribute_stage.hpp"

#include <algorithm>

#include "postern/grammar/ascii.hpp"

namespace postern::control {

const AttributeStage::Entry* AttributeStage::find(const std::string& device_key,
                                                  const std::string& key) const {
  const auto it = entries_.find({device_key, key});
  return it == entries_.end() ? nullptr : &it->second;
}

void AttributeStage::add_usage(std::string_view key,
                               std::map<std::string, HolderCounts>& counts) const {
  const auto it = usage_.find(grammar::ascii_lowered(key));
  if (it == usage_.end()) return;
  for (const auto& [spelling, staged] : it->second) {
    auto& total = counts[spelling];
    for (std::size_t type = 0; type < total.size(); ++type) total[type] += staged[type];
  }
}

void AttributeStage::count(const std::string& key, std::size_t type, std::int64_t delta,
                           std::uint64_t batch) {
  usage_[grammar::ascii_lowered(key)][key][type] += delta;
  changes_.push_back(UsageChange{key, type, delta, batch});
}

void AttributeStage::stage(const std::string& device_key, const std::string& key,
                           const std::optional<engine::AttrValue>& old, Entry entry) {
  if (old) count(key, old->index(), -1, entry.batch);
  if (entry.value) count(key, entry.value->index(), +1, entry.batch);
  entries_[{device_key, key}] = std::move(entry);
}

void AttributeStage::merge(const AttributeStage& other, std::uint64_t batch) {
  for (const auto& [where, entry] : other.entries_) {
    auto& mine = entries_[where];
    mine = entry;
    mine.batch = batch;
  }
  for (const auto& change : other.changes_) count(change.key, change.type, change.delta, batch);
}

void AttributeStage::settle(std::uint64_t batch) {
  std::erase_if(entries_, [&](const auto& item) { return item.second.batch == batch; });
  std::erase_if(changes_, [&](const UsageChange& change) {
    if (change.batch != batch) return false;
    const auto lower = grammar::ascii_lowered(change.key);
    auto& spellings = usage_[lower];
    auto& counts = spellings[change.key];
    counts[change.type] -= change.delta;
    if (counts == HolderCounts{}) spellings.erase(change.key);
    if (spellings.empty()) usage_.erase(lower);
    return true;
  });
}

void AttributeStage::clear() {
  entries_.clear();
  usage_.clear();
  changes_.clear();
}

}  // namespace postern::control
