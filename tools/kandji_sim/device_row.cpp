#include "device_row.hpp"

#include <fmt/format.h>

#include <array>
#include <chrono>
#include <stdexcept>
#include <utility>
#include <vector>

#include "postern/grammar/time.hpp"

namespace postern::kandji_sim {
namespace {

// The current Prism row, in the key order of the spec's §4.2 sample.
constexpr std::array<std::string_view, 43> kCurrentKeys = {
    "device_id",
    "device__name",
    "device__family",
    "device__user_id",
    "device__user_name",
    "device__user_email",
    "blueprint_id",
    "blueprint_name",
    "tags",
    "asset_tag",
    "serial_number",
    "model_id",
    "count",
    "created_at",
    "updated_at",
    "last_changed_at",
    "last_collected_at",
    "device_capacity",
    "host_name",
    "local_hostname",
    "apple_silicon",
    "model",
    "model_name",
    "shared_ipad",
    "cellular_technology",
    "data_roaming",
    "hotspot",
    "first_enrollment_date",
    "last_enrollment_date",
    "agent_version",
    "mdm_enabled",
    "agent_installed",
    "os_version",
    "os_build",
    "marketing_name",
    "supplemental_build_version",
    "supplemental_os_version_extra",
    "display_os_version",
    "last_checkin",
    "last_checkin_agent",
    "last_checkin_mdm",
    "battery_health",
    "lost_mode_status",
};

// Keys the older shape lacks (it has `model_identifier` and `os_name` instead).
constexpr std::array<std::string_view, 11> kNotInLegacy = {
    "created_at",
    "last_changed_at",
    "last_checkin",
    "last_checkin_agent",
    "last_checkin_mdm",
    "marketing_name",
    "battery_health",
    "lost_mode_status",
    "count",
    "tags",
    "model_id",
};

constexpr std::array<std::pair<std::string_view, std::string_view>, 6> kAliases = {{
    {"device_name", "device__name"},
    {"platform", "device__family"},
    {"user_email", "device__user_email"},
    {"user_name", "device__user_name"},
    {"user_id", "device__user_id"},
    {"last_check_in", "last_checkin"},
}};

template <std::size_t N>
bool contains(const std::array<std::string_view, N>& keys, std::string_view key) {
  for (auto k : keys) {
    if (k == key) return true;
  }
  return false;
}

// splitmix64: a tiny, fully specified generator, so --seed gives the same tenant everywhere.
struct SplitMix {
  std::uint64_t state;
  std::uint64_t next() {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30U)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27U)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31U);
  }
  std::uint64_t below(std::uint64_t n) { return next() % n; }
};

struct Hardware {
  const char* model;
  const char* model_name;
  const char* model_id;
  double capacity;
};

struct OsRelease {
  const char* version;
  const char* build;
  const char* marketing;  // nullptr where Prism reports null (non-Mac)
};

constexpr std::array<Hardware, 4> kMacs = {{
    {"MacBook Pro", "MacBook Pro (14-inch, M3, Nov 2023)", "Mac15,3", 494.0},
    {"MacBook Air", "MacBook Air (M2, 2022)", "Mac14,2", 228.0},
    {"iMac", "iMac (24-inch, 2023)", "Mac15,4", 494.0},
    {"Mac mini", "Mac mini (2023)", "Mac14,3", 245.0},
}};
constexpr std::array<OsRelease, 3> kMacOs = {{
    {"15.5", "24F74", "Sequoia"},
    {"14.7.2", "23H311", "Sonoma"},
    {"14.6.1", "23G93", "Sonoma"},
}};
constexpr Hardware kIphone = {"iPhone", "iPhone 15", "iPhone15,4", 128.0};
constexpr Hardware kIpad = {"iPad", "iPad (10th generation) (Wi-Fi)", "iPad13,18", 64.0};
constexpr Hardware kAppleTv = {"Apple TV", "Apple TV 4K (3rd generation)", "AppleTV14,1", 64.0};
constexpr std::array<OsRelease, 2> kIos = {
    {{"18.5", "22F76", nullptr}, {"17.6.1", "21G93", nullptr}}};
constexpr OsRelease kTvOs = {"18.5", "22L572", nullptr};

constexpr std::array<const char*, 12> kFirstNames = {"Priya", "Marco", "Amara", "Jonas",
                                                     "Mei",   "Tomas", "Leila", "Owen",
                                                     "Sofia", "Ravi",  "Ines",  "Kenji"};
constexpr std::array<const char*, 12> kLastNames = {"Raman",  "Bellini", "Okafor", "Berg",
                                                    "Chen",   "Novak",   "Haddad", "Price",
                                                    "Moreau", "Iyer",    "Costa",  "Sato"};

// 2025-06-10T08:00:00Z, the simulated "now" all default timestamps hang off.
constexpr std::int64_t kBaseMicros = 1749542400LL * 1000000LL;
constexpr std::int64_t kSecond = 1000000LL;
constexpr std::int64_t kDay = 86400LL * kSecond;

std::string uuid_from(std::uint64_t a, std::uint64_t b) {
  // UUIDv4 layout: version nibble 4, variant bits 10.
  b = (b & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL;
  a = (a & 0xFFFFFFFFFFFF0FFFULL) | 0x0000000000004000ULL;
  return fmt::format("{:08x}-{:04x}-{:04x}-{:04x}-{:012x}", a >> 32U, (a >> 16U) & 0xFFFFU,
                     a & 0xFFFFU, b >> 48U, b & 0xFFFFFFFFFFFFULL);
}

std::string host_label(const std::string& name) {
  std::string out;
  for (char c : name) {
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
      out += c;
    } else if (c >= 'A' && c <= 'Z') {
      out += static_cast<char>(c - 'A' + 'a');
    } else if (c == ' ' || c == '-' || c == '_') {
      if (!out.empty() && out.back() != '-') out += '-';
    }
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out.empty() ? "device" : out;
}

std::string local_name(const std::string& name) {
  std::string out;
  for (char c : name) {
    if (c == ' ') {
      out += '-';
    } else if (c != '\'') {
      out += c;
    }
  }
  return out;
}

bool is_mobile(const std::string& family) { return family == "iPhone" || family == "iPad"; }

const Hardware& hardware_for(const std::string& family, std::uint64_t h) {
  if (family == "iPhone") return kIphone;
  if (family == "iPad") return kIpad;
  if (family == "AppleTV" || family == "tvOS") return kAppleTv;
  return kMacs[h % kMacs.size()];
}

const OsRelease& os_for(const std::string& family, std::uint64_t h) {
  if (is_mobile(family)) return kIos[h % kIos.size()];
  if (family == "AppleTV" || family == "tvOS") return kTvOs;
  return kMacOs[h % kMacOs.size()];
}

std::string os_name_for(const std::string& family) {
  if (family == "iPhone") return "iOS";
  if (family == "iPad") return "iPadOS";
  if (family == "AppleTV" || family == "tvOS") return "tvOS";
  return "macOS";
}

// A platform spelling from a minimal fixture (`macOS`, `iOS`, ...) as Prism's device family.
std::string family_of(std::string platform) {
  if (platform == "macOS" || platform == "Mac" || platform == "mac") return "Mac";
  if (platform == "iOS" || platform == "iPhone") return "iPhone";
  if (platform == "iPadOS" || platform == "iPad") return "iPad";
  if (platform == "tvOS" || platform == "AppleTV") return "AppleTV";
  return platform;
}

const Row* find(const Row& input, std::string_view key) {
  auto it = input.find(key);
  return it == input.end() ? nullptr : &*it;
}

std::string string_or(const Row& input, std::string_view key, const std::string& fallback) {
  const Row* v = find(input, key);
  return v != nullptr && v->is_string() ? v->get<std::string>() : fallback;
}

}  // namespace

std::uint64_t fnv1a(std::string_view text, std::uint64_t basis) {
  std::uint64_t h = basis;
  for (char c : text) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ULL;
  }
  return h;
}

std::string prism_timestamp(std::int64_t unix_micros) {
  return timefmt::format_rfc3339_micros(timefmt::Micros{std::chrono::microseconds{unix_micros}});
}

Row canonical_keys(const Row& input) {
  if (!input.is_object()) throw RowError("a device must be a JSON object");
  Row out = Row::object();
  for (const auto& [key, value] : input.items()) {
    std::string name = key;
    for (const auto& [alias, canonical] : kAliases) {
      if (key == alias) name = canonical;
    }
    if (name != key && input.contains(name)) continue;  // the Prism spelling wins
    out[name] = value;
  }
  if (const Row* v = find(out, "device__family"); v != nullptr && v->is_string()) {
    out["device__family"] = family_of(v->get<std::string>());
  }
  const auto require = [&out](std::string_view key, bool ok, const char* what) {
    if (find(out, key) != nullptr && !ok) {
      throw RowError("`" + std::string(key) + "` must be " + what);
    }
  };
  const auto type_ok = [&out](std::string_view key, auto pred) {
    const Row* v = find(out, key);
    return v == nullptr || pred(*v);
  };
  require("serial_number", type_ok("serial_number", [](const Row& v) { return v.is_string(); }),
          "a string");
  require("device_id", type_ok("device_id", [](const Row& v) { return v.is_string(); }),
          "a string");
  require("device__name", type_ok("device__name", [](const Row& v) { return v.is_string(); }),
          "a string");
  require("device__family", type_ok("device__family", [](const Row& v) { return v.is_string(); }),
          "a string");
  require("mdm_enabled", type_ok("mdm_enabled", [](const Row& v) { return v.is_boolean(); }),
          "true or false");
  require("agent_installed",
          type_ok("agent_installed", [](const Row& v) { return v.is_boolean() || v.is_null(); }),
          "true, false or null");
  return out;
}

Row complete_row(const Row& input, FieldSetMode mode, std::uint64_t ordinal) {
  const Row* serial_value = find(input, "serial_number");
  if (serial_value == nullptr) throw RowError("missing `serial_number`");
  const std::string serial = serial_value->get<std::string>();
  const std::uint64_t h = fnv1a(serial);
  SplitMix rng{h};

  const std::string family = string_or(input, "device__family", "Mac");
  const Hardware& hw = hardware_for(family, rng.next());
  const OsRelease& os = os_for(family, rng.next());
  const bool mobile = is_mobile(family);
  const bool mac = family == "Mac";

  const auto pick = [&input](std::string_view key, Row fallback) {
    const Row* v = find(input, key);
    return v != nullptr ? *v : std::move(fallback);
  };
  const std::string label = serial.empty() ? "unknown" : serial;
  const std::string name =
      string_or(input, "device__name", family + "-" + host_label(label).substr(0, 24));
  const Row agent = pick("agent_installed", mac ? Row(true) : Row(nullptr));
  const bool has_agent = agent.is_boolean() && agent.get<bool>();
  const Row os_version = pick("os_version", os.version);
  const Row os_build = pick("os_build", os.build);
  const Row model_id = pick("model_id", pick("model_identifier", hw.model_id));

  const std::int64_t created = kBaseMicros -
                               (200 + static_cast<std::int64_t>(rng.below(600))) * kDay -
                               static_cast<std::int64_t>(rng.below(86400)) * kSecond -
                               static_cast<std::int64_t>(rng.below(1000000));
  const std::int64_t checkin = kBaseMicros - static_cast<std::int64_t>(rng.below(86400)) * kSecond -
                               static_cast<std::int64_t>(rng.below(1000000));
  const std::int64_t enrolled = created - static_cast<std::int64_t>(rng.below(600)) * kSecond -
                                static_cast<std::int64_t>(rng.below(1000000));
  const std::int64_t mdm_checkin = checkin - static_cast<std::int64_t>(rng.below(900)) * kSecond;
  const std::int64_t collected = checkin + 17 * kSecond;
  const std::int64_t changed = collected + 4 * kSecond;
  const std::int64_t updated = changed + 31 * kSecond;

  const std::uint64_t id_hash = fnv1a(std::to_string(ordinal), h);
  SplitMix id_rng{id_hash};
  const std::uint64_t id_a = id_rng.next();
  const std::uint64_t id_b = id_rng.next();
  const std::uint64_t bp = fnv1a(family);

  // Defaults in kCurrentKeys order (checked below): a plain vector avoids the linear key
  // searches of an ordered_json object, which dominated generating large tenants.
  std::vector<Row> defaults;
  defaults.reserve(kCurrentKeys.size());
  defaults.emplace_back(uuid_from(id_a, id_b));                           // device_id
  defaults.emplace_back(name);                                            // device__name
  defaults.emplace_back(family);                                          // device__family
  defaults.emplace_back("");                                              // device__user_id
  defaults.emplace_back("");                                              // device__user_name
  defaults.emplace_back("");                                              // device__user_email
  defaults.emplace_back(uuid_from(bp, fnv1a("blueprint", bp)));           // blueprint_id
  defaults.emplace_back(mac ? "Default Blueprint" : "Mobile Devices");    // blueprint_name
  defaults.emplace_back(nullptr);                                         // tags
  defaults.emplace_back("");                                              // asset_tag
  defaults.emplace_back(serial);                                          // serial_number
  defaults.emplace_back(model_id);                                        // model_id
  defaults.emplace_back(nullptr);                                         // count
  defaults.emplace_back(prism_timestamp(created));                        // created_at
  defaults.emplace_back(prism_timestamp(updated));                        // updated_at
  defaults.emplace_back(prism_timestamp(changed));                        // last_changed_at
  defaults.emplace_back(prism_timestamp(collected));                      // last_collected_at
  defaults.emplace_back(hw.capacity);                                     // device_capacity
  defaults.emplace_back(mobile ? Row(nullptr) : Row(host_label(name)));   // host_name
  defaults.emplace_back(mobile ? Row(nullptr) : Row(local_name(name)));   // local_hostname
  defaults.emplace_back(mac ? Row(true) : Row(nullptr));                  // apple_silicon
  defaults.emplace_back(hw.model);                                        // model
  defaults.emplace_back(hw.model_name);                                   // model_name
  defaults.emplace_back(family == "iPad" ? Row(false) : Row(nullptr));    // shared_ipad
  defaults.emplace_back(mobile ? Row("None") : Row(nullptr));             // cellular_technology
  defaults.emplace_back(mobile ? Row(false) : Row(nullptr));              // data_roaming
  defaults.emplace_back(nullptr);                                         // hotspot
  defaults.emplace_back(prism_timestamp(enrolled));                       // first_enrollment_date
  defaults.emplace_back(prism_timestamp(enrolled));                       // last_enrollment_date
  defaults.emplace_back(has_agent ? Row("4.9.2 (5381)") : Row(nullptr));  // agent_version
  defaults.emplace_back(true);                                            // mdm_enabled
  defaults.emplace_back(agent);                                           // agent_installed
  defaults.emplace_back(os_version);                                      // os_version
  defaults.emplace_back(os_build);                                        // os_build
  defaults.emplace_back(os.marketing != nullptr ? Row(os.marketing)
                                                : Row(nullptr));  // marketing_name
  defaults.emplace_back(os_build);                                // supplemental_build_version
  defaults.emplace_back(nullptr);                                 // supplemental_os_version_extra
  defaults.emplace_back(os_version);                              // display_os_version
  defaults.emplace_back(prism_timestamp(checkin));                // last_checkin
  defaults.emplace_back(has_agent ? Row(prism_timestamp(checkin))
                                  : Row(nullptr));      // last_checkin_agent
  defaults.emplace_back(prism_timestamp(mdm_checkin));  // last_checkin_mdm
  defaults.emplace_back(nullptr);                       // battery_health
  defaults.emplace_back(nullptr);                       // lost_mode_status
  if (defaults.size() != kCurrentKeys.size()) throw std::logic_error("row defaults out of step");

  FieldSet shape = FieldSet::Current;
  if (mode == FieldSetMode::Legacy ||
      (mode == FieldSetMode::Auto &&
       (find(input, "model_identifier") != nullptr || find(input, "os_name") != nullptr))) {
    shape = FieldSet::Legacy;
  }

  Row out = Row::object();
  // ordered_map is a vector of pairs; appending directly skips its per-insert key search (the
  // keys are distinct by construction).
  auto& entries =
      static_cast<std::vector<Row::object_t::value_type>&>(out.get_ref<Row::object_t&>());
  entries.reserve(kCurrentKeys.size() + input.size());
  for (std::size_t i = 0; i < kCurrentKeys.size(); ++i) {
    const std::string_view key = kCurrentKeys[i];
    if (shape == FieldSet::Legacy && contains(kNotInLegacy, key)) {
      if (key == "model_id") entries.emplace_back("model_identifier", model_id);
      continue;
    }
    entries.emplace_back(std::string(key), pick(key, defaults[i]));
    if (shape == FieldSet::Legacy && key == "os_version") {
      entries.emplace_back("os_name", pick("os_name", os_name_for(family)));
    }
  }
  for (const auto& [key, value] : input.items()) {
    if (contains(kCurrentKeys, key) || key == "model_identifier" || key == "os_name") continue;
    entries.emplace_back(key, value);
  }
  return out;
}

FieldSet field_set_of(const Row& row) {
  return row.contains("model_identifier") && !row.contains("model_id") ? FieldSet::Legacy
                                                                       : FieldSet::Current;
}

Row generated_row(std::uint64_t index, std::uint64_t seed, FieldSetMode mode) {
  SplitMix rng{seed ^ (index * 0xD1B54A32D192ED03ULL)};
  const std::string serial = fmt::format("C02SIM{:06}", index);

  Row in = Row::object();
  in["serial_number"] = serial;
  const std::uint64_t kind = rng.below(100);
  const std::string family = kind < 80 ? "Mac" : (kind < 92 ? "iPhone" : "iPad");
  in["device__family"] = family;

  const bool assigned = rng.below(10) < 7;
  const char* first = kFirstNames[rng.below(kFirstNames.size())];
  const char* last = kLastNames[rng.below(kLastNames.size())];
  if (assigned) {
    const std::string user = std::string(first) + " " + last;
    std::string email = host_label(std::string(first)) + "." + host_label(std::string(last)) +
                        std::to_string(index) + "@example.test";
    in["device__user_id"] = std::to_string(10000 + index);
    in["device__user_name"] = user;
    in["device__user_email"] = email;
    in["device__name"] = std::string(first) + "'s " + (family == "Mac" ? "Mac" : family) + " " +
                         std::to_string(index);
  } else {
    in["device__name"] = (family == "Mac" ? "lab-mac-" : "shared-" + host_label(family) + "-") +
                         std::to_string(index);
  }
  in["mdm_enabled"] = rng.below(100) < 92;
  const std::uint64_t agent = rng.below(100);
  if (family == "Mac") {
    in["agent_installed"] = agent < 85 ? Row(true) : (agent < 95 ? Row(false) : Row(nullptr));
  } else {
    in["agent_installed"] = agent < 10 ? Row(false) : Row(nullptr);
  }
  if (mode == FieldSetMode::Auto && index % 10 == 0) in["os_name"] = os_name_for(family);
  return complete_row(in, mode, index);
}

}  // namespace postern::kandji_sim
