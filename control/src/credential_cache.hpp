#pragma once
// The API credentials this server has read from the store, so that requests with an API key or
// an OAuth token keep being answered while the store cannot be read (fail-static, as checks
// are). Only a fallback: every authentication reads the store first. A row is copied once, when
// first read: what authentication uses of it never changes but by revocation.
// A revocation forgets the credential and the tokens issued to it, here and (through the
// change log) on every replica.

#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "postern/store/store.hpp"

namespace postern::control {

class CredentialCache {
 public:
  // Bounded by the credentials that exist; past this many, expired entries go first.
  static constexpr std::size_t kMaxEntries = 65536;

  void remember(const store::ApiCredential& row, std::int64_t now);
  // The credential `id` and every credential whose parent it is (a revocation).
  void forget(std::string_view id);
  // The credential `id` alone (the store no longer has it): no scan of the others.
  void drop(std::string_view id);
  [[nodiscard]] std::optional<store::ApiCredential> find(std::string_view id) const;

 private:
  mutable std::mutex mu_;
  std::unordered_map<std::string, store::ApiCredential> rows_;
};

}  // namespace postern::control
