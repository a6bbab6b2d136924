#pragma once
// One Kandji Prism `device_information` row: completing a minimal fixture entry into a full,
// realistic row in either historical field set, and synthesising rows for --generate.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>

namespace postern::kandji_sim {

using Row = nlohmann::ordered_json;

// Which of the two historical row shapes (spec §1.3) a row is served in.
enum class FieldSet {
  Current,  // 43 keys, `model_id`, `last_checkin*`, `created_at`, ...
  Legacy,   // 2023–2024 captures: `model_identifier`, `os_name`, no `last_checkin*`
};

// Per-run choice: Auto keeps each device's own shape (a fixture row carrying `model_identifier`
// or `os_name` is legacy; every 10th generated device is legacy); the others force one shape.
enum class FieldSetMode { Auto, Current, Legacy };

// Thrown for fixture or patch content the simulator cannot turn into a row.
class RowError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Renames the documented minimal-form aliases (`device_name`, `platform`, `user_email`,
// `user_name`, `user_id`, `last_check_in`) to their Prism spelling and checks the types of the
// keys a client depends on. Throws RowError naming the offending key.
Row canonical_keys(const Row& input);

// Completes `input` (already canonical) into a full row: every key of the chosen field set is
// present, missing ones get defaults derived deterministically from the serial number (and from
// `ordinal` for `device_id`, so two entries sharing a serial still get distinct ids), and keys the
// simulator does not know are kept (so a pasted real row survives unchanged).
Row complete_row(const Row& input, FieldSetMode mode, std::uint64_t ordinal);

// The shape a completed row is in.
FieldSet field_set_of(const Row& row);

// Device number `index` (1-based) of a synthetic tenant: serial `C02SIM` + six digits, all other
// values drawn from a generator seeded with (seed, index), so a run is reproducible.
Row generated_row(std::uint64_t index, std::uint64_t seed, FieldSetMode mode);

// 64-bit FNV-1a, used for deterministic defaults and cursor fingerprints.
std::uint64_t fnv1a(std::string_view text, std::uint64_t basis = 1469598103934665603ULL);

// ISO-8601 with microseconds and `+00:00`, the Prism timestamp style.
std::string prism_timestamp(std::int64_t unix_micros);

}  // namespace postern::kandji_sim
