#pragma once
// What the sync needs from the outside world's record of integrations, attributes and status.
// The sync reads through it and hands it the change set of a successful run (commit_sync); it
// never writes anywhere else. The control layer's implementation commits the change set to the
// store and applies exactly those writes to the live evaluator; store::Store implements it too,
// for tools and tests that run a sync without an evaluator.

#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>
#include <vector>

#include "postern/sync/records.hpp"
#include "postern/sync/result.hpp"

namespace postern::sync {

class SyncLedger {
 public:
  virtual ~SyncLedger() = default;
  virtual Result<std::vector<Integration>> list_integrations() = 0;
  virtual Result<std::optional<Integration>> find_integration(std::string_view provider) = 0;
  virtual Result<AttributeTable> load_attributes() = 0;
  virtual Result<SyncStatus> load_status(std::int64_t integration_id) = 0;
  // Status only (failed syncs, schedule), never attributes: reads the integration's status, lets
  // `edit` change it and saves it, in one transaction, so a write in between (a sync's commit, a
  // "sync now" on another replica) is not overwritten with what was read before it. Discarded
  // when the integration is gone; answers the status saved.
  virtual Result<SyncStatus> edit_status(std::int64_t integration_id,
                                         const std::function<void(SyncStatus&)>& edit) = 0;
  // Attributes, audit events and status of a successful sync, all or nothing. The schedule
  // (next_run, sync_requests) stays as stored: it changes while the sync runs.
  virtual Status commit_sync(const SyncCommit& commit) = 0;
};

}  // namespace postern::sync
