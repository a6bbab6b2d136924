// kandji_mapper::map_page against recorded page shapes (tests/sync/fixtures/).
#include <catch2/catch.hpp>

#include "fake_transport.hpp"
#include "postern/sync/kandji.hpp"

namespace kandji_mapper_test {

using namespace postern;
using sync::kandji_mapper::map_page;

namespace {
bool attr(const sync::ProviderDevice& d, std::string_view key) {
  return std::get<bool>(d.attributes.at(std::string(key)));
}
}  // namespace

TEST_CASE("the five sample records map to the spec's attribute table", "[sync][kandji]") {
  auto page = map_page(test::read_fixture("five_records.json"));
  REQUIRE(page.ok());
  const auto& devices = page.value().devices;
  REQUIRE(devices.size() == 5);
  struct Expect {
    const char* serial;
    bool mdm;
    bool agent;
  };
  const Expect expected[] = {{"C02ZK3ABMD6T", true, true},
                             {"FVFH47QWQ6L7", true, false},
                             {"GX7PK2M4J1", true, false},
                             {"K7X2M9PQ4R", false, true},
                             {"ZRT8WQ3N6V", true, false}};
  for (std::size_t i = 0; i < 5; ++i) {
    INFO(expected[i].serial);
    REQUIRE(devices[i].serials == std::vector<std::string>{expected[i].serial});
    CHECK(attr(devices[i], sync::kKandjiMdmEnabled) == expected[i].mdm);
    CHECK(attr(devices[i], sync::kKandjiAgentInstalled) == expected[i].agent);
    CHECK(devices[i].attributes.size() == 2);
  }
  CHECK(devices[0].provider_id == "3f2a9c1e-5b7d-4e8a-9c01-7d2e4b6a8f10");
  CHECK(devices[0].last_seen.has_value());
  CHECK_FALSE(page.value().cursor.has_value());
  CHECK(page.value().total == 5);
  CHECK_FALSE(page.value().offset.has_value());  // "offset": null
  CHECK(page.value().limit == 300);
}

TEST_CASE("the older field set and unknown keys are accepted", "[sync][kandji]") {
  auto page = map_page(test::read_fixture("older_shape.json"));
  REQUIRE(page.ok());
  const auto& devices = page.value().devices;
  REQUIRE(devices.size() == 2);
  CHECK(attr(devices[0], sync::kKandjiAgentInstalled));
  CHECK(devices[0].last_seen.has_value());  // from updated_at when last_checkin is absent
  CHECK_FALSE(attr(devices[1], sync::kKandjiMdmEnabled));
  CHECK_FALSE(attr(devices[1], sync::kKandjiAgentInstalled));  // null -> false
  CHECK_FALSE(devices[1].last_seen.has_value());
  CHECK(page.value().offset == 0);
}

TEST_CASE("rows without a serial are counted, not mapped, the cursor is read", "[sync][kandji]") {
  auto page = map_page(test::read_fixture("page_with_cursor.json"));
  REQUIRE(page.ok());
  CHECK(page.value().devices.size() == 1);
  CHECK(page.value().rows == 3);
  CHECK(page.value().rows_without_serial == 2);
  CHECK(page.value().cursor == "b2Zmc2V0PTI=+/");
}

TEST_CASE("malformed pages are protocol errors", "[sync][kandji]") {
  const char* fixtures[] = {"cursor_number.json", "missing_data.json", "truncated.json",
                            "row_without_id.json", "html_error.html"};
  for (const char* name : fixtures) {
    INFO(name);
    auto page = map_page(test::read_fixture(name));
    REQUIRE_FALSE(page.ok());
    CHECK(page.error().kind == sync::SyncErrorKind::Protocol);
  }
  CHECK(map_page("[]").error().message == "the response is an array, expected an object");
  CHECK(map_page(R"({"data": {}})").error().message == "`data` is an object, expected an array");
  CHECK(map_page(R"({"data": [], "cursor": 7})").error().message ==
        "`cursor` is a number, expected a string or null");
  CHECK(map_page(R"({"data": [{"device_id": "x", "serial_number": "S", "mdm_enabled": 1}]})")
            .error()
            .message == "`data[0].mdm_enabled` is a number, expected a boolean or null");
  CHECK(map_page("").error().message == "the response is not valid JSON");
  // A page cut at a NUL byte is not read as what comes before it (nlohmann would stop there).
  using namespace std::string_literals;
  CHECK(map_page("{\"data\": []}\0{\"data\": [1]}"s).error().message ==
        "the response is not valid JSON (it holds a NUL byte)");
}

TEST_CASE("flag spellings: booleans, null, missing and True/False strings", "[sync][kandji]") {
  auto page = map_page(R"({"data": [
    {"device_id": "a", "serial_number": "S1", "mdm_enabled": "True", "agent_installed": "False"},
    {"device_id": "b", "serial_number": "S2"},
    {"device_id": "c", "serial_number": "S3", "mdm_enabled": null, "agent_installed": true}
  ], "cursor": ""})");
  REQUIRE(page.ok());
  const auto& d = page.value().devices;
  CHECK(attr(d[0], sync::kKandjiMdmEnabled));
  CHECK_FALSE(attr(d[0], sync::kKandjiAgentInstalled));
  CHECK_FALSE(attr(d[1], sync::kKandjiMdmEnabled));
  CHECK_FALSE(attr(d[1], sync::kKandjiAgentInstalled));
  CHECK_FALSE(attr(d[2], sync::kKandjiMdmEnabled));
  CHECK(attr(d[2], sync::kKandjiAgentInstalled));
  CHECK_FALSE(page.value().cursor.has_value());  // "" means the last page
}

}  // namespace kandji_mapper_test
