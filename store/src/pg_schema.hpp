#pragma once
// The PostgreSQL schema, its migrations, and the lock keys and channel the replicas share.
#include <cstdint>

#include "pg_connection.hpp"

namespace postern::store::pg {

// Advisory lock keys (one namespace per database): arbitrary, fixed, distinct.
inline constexpr std::int64_t kMigrationLock = 0x706f7374'65726e01;  // "postern" + 1
inline constexpr std::int64_t kChangeLogLock = 0x706f7374'65726e02;
inline constexpr std::int64_t kPolicyLock = 0x706f7374'65726e03;
inline constexpr std::int64_t kSyncLeaseLock = 0x706f7374'65726e04;
// NOTIFY channel announcing change_log rows.
inline constexpr const char* kChangeChannel = "postern_changes";

// Creates schema_version when missing and applies every pending migration in one transaction,
// serialised by kMigrationLock so replicas starting together migrate once. Throws PgFailure when
// the database's schema is newer than this postern.
void apply_migrations(Connection& conn);
int schema_version();  // the version this postern writes

}  // namespace postern::store::pg
