#pragma once
// Attribute edits accepted but not yet committed and applied (group commit, decisions H12).
// Later edits are validated against the live state with the staged edits laid over it, so an
// edit is judged exactly as it would be if every earlier one were already applied.

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "postern/engine/engine.hpp"

namespace postern::control {

// Holders of one key spelling per value type (string, number, bool: AttrValue's order).
using HolderCounts = std::array<std::int64_t, 3>;

class AttributeStage {
 public:
  // What a staged edit left (device, key) as: its value (a delete shows the inventory file's
  // value through, or none) and whether the store holds a value for it.
  struct Entry {
    std::optional<engine::AttrValue> value;
    bool stored = false;
    std::uint64_t batch = 0;  // the batch of the last edit that wrote it
  };

  [[nodiscard]] const Entry* find(const std::string& device_key, const std::string& key) const;
  // Adds the staged edits' changes in holder counts of every spelling of `key` (any case).
  void add_usage(std::string_view key, std::map<std::string, HolderCounts>& counts) const;

  // Records an edit of `key` on `device_key` in `batch`, which replaces `old` with `entry`.
  void stage(const std::string& device_key, const std::string& key,
             const std::optional<engine::AttrValue>& old, Entry entry);
  // Lays `other`'s edits over this stage's, as part of `batch`.
  void merge(const AttributeStage& other, std::uint64_t batch);
  // `batch` is applied to the live state: its edits stop counting here.
  void settle(std::uint64_t batch);
  void clear();
  [[nodiscard]] bool empty() const noexcept { return entries_.empty(); }

 private:
  struct UsageChange {
    std::string key;  // exact spelling
    std::size_t type = 0;
    std::int64_t delta = 0;
    std::uint64_t batch = 0;
  };
  void count(const std::string& key, std::size_t type, std::int64_t delta, std::uint64_t batch);

  std::map<std::pair<std::string, std::string>, Entry> entries_;      // by (device key, key)
  std::map<std::string, std::map<std::string, HolderCounts>> usage_;  // lowercase → spelling
  std::vector<UsageChange> changes_;  // in order, to take each batch's share back out
};

}  // namespace postern::control
