#include "credential_cache.hpp"

#include <iterator>

namespace postern::control {

void CredentialCache::remember(const store::ApiCredential& row, std::int64_t now) {
  std::lock_guard lock(mu_);
  const auto known = rows_.find(row.id);
  if (known != rows_.end()) {
    // Revocation is the one change authentication sees: the copy is replaced only then.
    if (row.revoked_at && !known->second.revoked_at) known->second = row;
    return;
  }
  if (rows_.size() >= kMaxEntries) {
    std::erase_if(rows_, [now](const auto& entry) {
      const auto& expires = entry.second.expires_at;
      return entry.second.revoked_at || (expires && *expires <= now);
    });
    if (rows_.size() >= kMaxEntries) rows_.erase(rows_.begin());
  }
  rows_.emplace(row.id, row);
}

void CredentialCache::forget(std::string_view id) {
  std::lock_guard lock(mu_);
  std::erase_if(rows_,
                [id](const auto& entry) { return entry.first == id || entry.second.parent == id; });
}

void CredentialCache::drop(std::string_view id) {
  std::lock_guard lock(mu_);
  rows_.erase(std::string(id));
}

std::optional<store::ApiCredential> CredentialCache::find(std::string_view id) const {
  std::lock_guard lock(mu_);
  const auto found = rows_.find(std::string(id));
  if (found == rows_.end()) return std::nullopt;
  return found->second;
}

}  // namespace postern::control
