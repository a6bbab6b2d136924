#include "postern/grammar/ip.hpp"

#include <catch2/catch.hpp>
#include <string>

namespace ip_test {

using namespace postern::grammar::ip;

TEST_CASE("IPv4 addresses parse strictly", "[grammar][ip]") {
  CHECK(parse_address("100.64.0.1").has_value());
  CHECK(to_string(*parse_address("100.64.0.1")) == "100.64.0.1");
  CHECK_FALSE(parse_address("100.64.0.01"));  // leading zero
  CHECK_FALSE(parse_address("256.1.1.1"));
  CHECK_FALSE(parse_address("1.2.3"));
  CHECK_FALSE(parse_address("1.2.3.4.5"));
  CHECK_FALSE(parse_address(""));
  CHECK_FALSE(parse_address("tag:web"));
  CHECK_FALSE(parse_address("1.2.3.0255"));  // a fourth digit
  CHECK_FALSE(parse_address("1.2.3.1000"));
  CHECK_FALSE(parse_address("1..3.4"));
  CHECK_FALSE(parse_address(".1.2.3"));
  CHECK_FALSE(parse_address("1.2.3.4."));
  CHECK_FALSE(parse_address("1.2.3.4 "));
  CHECK_FALSE(parse_address("1.2.3.-4"));
  CHECK_FALSE(parse_address("00.1.2.3"));
  CHECK(parse_address("0.0.0.0").has_value());
  CHECK(parse_address("255.255.255.255").has_value());
  CHECK(parse_address("199.09.1.1") == std::nullopt);
}

TEST_CASE("every IPv4 octet value prints back as it parses, in every position", "[grammar][ip]") {
  for (unsigned value = 0; value < 256; ++value) {
    const auto octet = std::to_string(value);
    for (const auto& text :
         {octet + ".1.2.3", "1." + octet + ".2.3", "1.2." + octet + ".3", "1.2.3." + octet}) {
      const auto address = parse_address(text);
      REQUIRE(address);
      CHECK(to_string(*address) == text);
    }
  }
}

TEST_CASE("every IPv4 address prints back as it parses, appended in place", "[grammar][ip]") {
  for (const auto* text : {"0.0.0.0", "9.10.99.100", "100.64.0.1", "255.255.255.255", "1.0.0.10"}) {
    const auto address = parse_address(text);
    REQUIRE(address);
    CHECK(to_string(*address) == text);
    std::string out = "node (";
    append_to(out, *address);
    CHECK(out == std::string("node (") + text);
  }
  std::string v6 = "[";
  append_to(v6, *parse_address("fd7a:115c:a1e0:0:0:0:0:1"));
  CHECK(v6 == "[fd7a:115c:a1e0::1");
}

TEST_CASE("IPv6 addresses parse and print canonically", "[grammar][ip]") {
  const auto a = parse_address("fd7a:115c:a1e0:0:0:0:0:1");
  REQUIRE(a);
  CHECK(a->v6);
  CHECK(to_string(*a) == "fd7a:115c:a1e0::1");
  CHECK_FALSE(parse_address("fd7a::1%eth0"));
  CHECK_FALSE(parse_address("[fd7a::1]"));
}

TEST_CASE("prefixes are masked and contain their addresses", "[grammar][ip]") {
  const auto p = parse_prefix("10.20.1.5/16");
  REQUIRE(p);
  CHECK(to_string(*p) == "10.20.0.0/16");
  CHECK(contains(*p, *parse_address("10.20.255.1")));
  CHECK_FALSE(contains(*p, *parse_address("10.21.0.1")));
  CHECK_FALSE(contains(*p, *parse_address("fd7a::1")));  // other family never matches
  CHECK(to_string(*parse_prefix("100.64.0.1")) == "100.64.0.1");
  CHECK(parse_prefix("100.64.0.1")->length == 32);
  const auto v6 = parse_prefix("fd7a:115c:a1e0::/48");
  REQUIRE(v6);
  CHECK(contains(*v6, *parse_address("fd7a:115c:a1e0::b")));
  CHECK(to_string(*parse_prefix("0.0.0.0/0")) == "0.0.0.0/0");
  CHECK(contains(*parse_prefix("0.0.0.0/0"), *parse_address("8.8.8.8")));
  CHECK(to_string(*parse_prefix("10.20.1.255/23")) == "10.20.0.0/23");
}

TEST_CASE("bad prefixes are rejected", "[grammar][ip]") {
  CHECK_FALSE(parse_prefix("10.0.0.0/33"));
  CHECK_FALSE(parse_prefix("fd7a::/129"));
  CHECK_FALSE(parse_prefix("10.0.0.0/"));
  CHECK_FALSE(parse_prefix("10.0.0.0/08"));
  CHECK_FALSE(parse_prefix("10.0.0.0/8x"));
}

TEST_CASE("ranges need one family and ascending ends", "[grammar][ip]") {
  const auto r = parse_range("10.0.0.1-10.0.0.9");
  REQUIRE(r);
  CHECK(to_string(r->first) == "10.0.0.1");
  CHECK_FALSE(parse_range("10.0.0.9-10.0.0.1"));
  CHECK_FALSE(parse_range("10.0.0.1-fd7a::1"));
  CHECK_FALSE(parse_range("10.0.0.1"));
}

}  // namespace ip_test
