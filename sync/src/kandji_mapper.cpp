// Kandji Prism device_information page -> provider devices. Pure; tolerant of unknown keys and of
// both historical field sets (spec kandji.md §1.3, §3.4).
#include <nlohmann/json.hpp>

#include "postern/grammar/time.hpp"
#include "postern/sync/kandji.hpp"

namespace postern::sync::kandji_mapper {
namespace {

using nlohmann::json;

SyncError protocol(std::string message) {
  return SyncError{SyncErrorKind::Protocol, std::move(message)};
}

std::string_view type_name(const json& value) {
  switch (value.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::boolean:
      return "a boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      return "a number";
    case json::value_t::string:
      return "a string";
    case json::value_t::array:
      return "an array";
    case json::value_t::object:
      return "an object";
    default:
      return "an unsupported value";
  }
}

std::optional<std::int64_t> integer(const json& object, const char* key) {
  const auto it = object.find(key);
  if (it == object.end() || !it->is_number_integer()) return std::nullopt;
  return it->get<std::int64_t>();
}

// A posture flag: bool as is; null or missing -> false (no agent / not reported); the strings
// "true"/"false" (the /details endpoint's style) accepted; anything else is malformed.
Result<bool> flag(const json& row, const char* key, std::size_t index) {
  const auto it = row.find(key);
  if (it == row.end() || it->is_null()) return false;
  if (it->is_boolean()) return it->get<bool>();
  if (it->is_string()) {
    std::string text = it->get<std::string>();
    for (auto& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (text == "true") return true;
    if (text == "false") return false;
  }
  return protocol("`data[" + std::to_string(index) + "]." + key + "` is " +
                  std::string(type_name(*it)) + ", expected a boolean or null");
}

std::optional<std::int64_t> timestamp(const json& row) {
  for (const char* key : {"last_checkin", "updated_at", "last_check_in", "last_collected_at"}) {
    const auto it = row.find(key);
    if (it != row.end() && it->is_string()) {
      if (auto t = timefmt::parse_rfc3339(it->get_ref<const std::string&>())) return t;
    }
  }
  return std::nullopt;
}

}  // namespace

Result<KandjiPage> map_page(std::string_view body) {
  // nlohmann's lexer ends its input at a NUL byte: a page cut there would read as its prefix.
  if (body.find('\0') != std::string_view::npos) {
    return protocol("the response is not valid JSON (it holds a NUL byte)");
  }
  const json doc = json::parse(body.begin(), body.end(), nullptr, false);
  if (doc.is_discarded()) return protocol("the response is not valid JSON");
  if (!doc.is_object()) {
    return protocol("the response is " + std::string(type_name(doc)) + ", expected an object");
  }
  const auto data = doc.find("data");
  if (data == doc.end()) return protocol("the response has no `data` array");
  if (!data->is_array()) {
    return protocol("`data` is " + std::string(type_name(*data)) + ", expected an array");
  }
  KandjiPage page;
  if (const auto cursor = doc.find("cursor"); cursor != doc.end() && !cursor->is_null()) {
    if (!cursor->is_string()) {
      return protocol("`cursor` is " + std::string(type_name(*cursor)) +
                      ", expected a string or null");
    }
    if (!cursor->get_ref<const std::string&>().empty()) page.cursor = cursor->get<std::string>();
  }
  page.total = integer(doc, "total");
  page.offset = integer(doc, "offset");
  page.limit = integer(doc, "limit");
  page.rows = data->size();
  page.devices.reserve(data->size());
  std::size_t index = 0;
  for (const json& row : *data) {
    const std::string where = "`data[" + std::to_string(index) + "]`";
    if (!row.is_object()) {
      return protocol(where + " is " + std::string(type_name(row)) + ", expected an object");
    }
    const auto id = row.find("device_id");
    if (id == row.end() || !id->is_string() || id->get_ref<const std::string&>().empty()) {
      return protocol(where + " has no `device_id` string");
    }
    const auto serial = row.find("serial_number");
    std::string serial_text;
    if (serial != row.end() && serial->is_string()) serial_text = serial->get<std::string>();
    auto mdm = flag(row, "mdm_enabled", index);
    if (!mdm) return mdm.error();
    auto agent = flag(row, "agent_installed", index);
    if (!agent) return agent.error();
    ++index;
    if (serial_text.find_first_not_of(" \t\r\n") == std::string::npos) {
      ++page.rows_without_serial;
      continue;
    }
    ProviderDevice device;
    device.provider_id = id->get<std::string>();
    device.serials.push_back(std::move(serial_text));
    device.attributes.emplace(std::string(kKandjiMdmEnabled), mdm.value());
    device.managed = mdm.value();
    device.attributes.emplace(std::string(kKandjiAgentInstalled), agent.value());
    device.last_seen = timestamp(row);
    page.devices.push_back(std::move(device));
  }
  return page;
}

}  // namespace postern::sync::kandji_mapper
