#pragma once
// The simulated tenant's devices, in a stable order. Each device carries a sequence number that
// only grows, so cursors can point "after device N" and survive inserts and removals, and a
// pre-serialised row so large pages are cheap to serve. Not thread-safe: SimState guards it.

#include <cstdint>
#include <string>
#include <vector>

#include "device_row.hpp"

namespace postern::kandji_sim {

struct StoredDevice {
  std::uint64_t seq = 0;
  Row row;
  std::string json;  // row.dump(), refreshed on every change
};

// Reads a fixture: a JSON array of rows, or an object whose `devices` (or `data`, so a saved
// Kandji response can be used as is) is one. Throws RowError with the file and entry named.
std::vector<Row> load_fixture(const std::string& path, FieldSetMode mode);

// `count` synthetic devices, see generated_row.
std::vector<Row> generate_devices(std::uint64_t count, std::uint64_t seed, FieldSetMode mode);

class DeviceStore {
 public:
  void assign(const std::vector<Row>& rows);
  [[nodiscard]] const std::vector<StoredDevice>& devices() const { return devices_; }

  struct UpsertResult {
    bool created = false;
    std::vector<Row> rows;  // every device now carrying the serial
  };
  // Merges `patch` (a JSON object; aliases allowed) into every device whose serial is `serial`,
  // or appends a new device with defaults when there is none. Throws RowError on bad types.
  UpsertResult upsert(const std::string& serial, const Row& patch, FieldSetMode mode);

  // Removes every device whose serial is `serial`; returns how many.
  std::size_t remove(const std::string& serial);

 private:
  std::vector<StoredDevice> devices_;
  std::uint64_t next_seq_ = 1;
};

}  // namespace postern::kandji_sim
