#include "device_store.hpp"

#include <algorithm>
#include <fstream>
#include <iterator>

namespace postern::kandji_sim {

std::vector<Row> load_fixture(const std::string& path, FieldSetMode mode) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw RowError("cannot read devices file `" + path + "`");
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  Row doc = Row::parse(text, nullptr, false);
  if (doc.is_discarded()) throw RowError("devices file `" + path + "` is not valid JSON");
  const Row* list = &doc;
  if (doc.is_object()) {
    if (doc.contains("devices")) {
      list = &doc["devices"];
    } else if (doc.contains("data")) {
      list = &doc["data"];
    }
  }
  if (!list->is_array()) {
    throw RowError("devices file `" + path +
                   "` must hold a JSON array of devices or an object with a `devices` array");
  }
  std::vector<Row> rows;
  rows.reserve(list->size());
  std::uint64_t ordinal = 0;
  for (const auto& entry : *list) {
    ++ordinal;
    try {
      rows.push_back(complete_row(canonical_keys(entry), mode, ordinal));
    } catch (const RowError& e) {
      throw RowError("devices file `" + path + "`, device " + std::to_string(ordinal) + ": " +
                     e.what());
    }
  }
  return rows;
}

std::vector<Row> generate_devices(std::uint64_t count, std::uint64_t seed, FieldSetMode mode) {
  std::vector<Row> rows;
  rows.reserve(count);
  for (std::uint64_t i = 1; i <= count; ++i) rows.push_back(generated_row(i, seed, mode));
  return rows;
}

void DeviceStore::assign(const std::vector<Row>& rows) {
  devices_.clear();
  devices_.reserve(rows.size());
  next_seq_ = 1;
  for (const auto& row : rows) devices_.push_back({next_seq_++, row, row.dump()});
}

DeviceStore::UpsertResult DeviceStore::upsert(const std::string& serial, const Row& patch,
                                              FieldSetMode mode) {
  Row changes = canonical_keys(patch);
  UpsertResult result;
  for (auto& device : devices_) {
    if (device.row.value("serial_number", std::string()) != serial) continue;
    for (const auto& [key, value] : changes.items()) device.row[key] = value;
    device.json = device.row.dump();
    result.rows.push_back(device.row);
  }
  if (!result.rows.empty()) return result;
  if (!changes.contains("serial_number")) changes["serial_number"] = serial;
  Row row = complete_row(changes, mode, next_seq_);
  devices_.push_back({next_seq_++, row, row.dump()});
  result.created = true;
  result.rows.push_back(std::move(row));
  return result;
}

std::size_t DeviceStore::remove(const std::string& serial) {
  const auto before = devices_.size();
  std::erase_if(devices_, [&serial](const StoredDevice& d) {
    return d.row.value("serial_number", std::string()) == serial;
  });
  return before - devices_.size();
}

}  // namespace postern::kandji_sim
