#pragma once
// The provider-independent sync (spec kandji.md §3.6): fetch everything, match, diff against the
// store, commit only the changes in one transaction with one audit event per changed node, and
// record status. A failed fetch writes nothing but status; an authentication failure pauses the
// integration.

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "postern/sync/matcher.hpp"
#include "postern/sync/provider.hpp"
#include "postern/sync/ledger.hpp"

namespace postern::sync {


struct EngineOptions {
  FetchOptions fetch;
  std::chrono::seconds auth_pause{24 * 3600};
  // Mass-removal guard: removals are held back for one sync when the snapshot is empty, or when
  // they would strip more than this share of the nodes the last successful sync matched.
  double removal_guard_ratio = 0.5;
  std::size_t max_error_bytes = 500;
};

struct SyncReport {
  bool ok = false;
  std::optional<SyncError> error;
  std::size_t provider_devices = 0;
  std::size_t matched = 0;
  std::size_t possible_matched = 0;
  std::size_t changed_nodes = 0;  // = audit events written
  std::size_t removals_held = 0;  // nodes whose removal the guard postponed
  std::vector<std::string> ambiguous_serials;
  int pages = 0;
  Millis duration{0};
};

struct SyncProgress {
  int pages = 0;
  std::size_t devices = 0;
  std::optional<std::size_t> matched;  // known once matching ran
};

// Where the engine gets an integration's token (the control layer reads the secret store).
using TokenReader = std::function<Result<std::string>(const Integration&)>;

// What removing an integration deletes: every attribute its provider wrote (one audit event per
// node) and the "Removed posture integration" event itself, by `actor`.
struct RemovalPlan {
  std::vector<AttributeWrite> writes;
  std::vector<AuditEvent> events;
};
RemovalPlan plan_removal(const Integration& integration, const AttributeTable& current,
                         const std::string& actor, std::int64_t now);

class SyncEngine {
 public:
  SyncEngine(SyncLedger& ledger, HttpTransport& transport, Clock& clock, TokenReader tokens,
             EngineOptions options = {});

  // One full sync of `integration` against `nodes`. Thread-safe for different integrations.
  SyncReport sync(const Integration& integration, const std::vector<TailnetNode>& nodes,
                  const std::function<void(const SyncProgress&)>& progress = {});

  [[nodiscard]] const EngineOptions& options() const { return options_; }

 private:
  void record_failure(const Integration& integration, const SyncError& error,
                      const std::string& token, TimePoint started, SyncReport& report);

  SyncLedger& ledger_;
  HttpTransport& transport_;
  Clock& clock_;
  TokenReader tokens_;
  EngineOptions options_;
};

}  // namespace postern::sync
