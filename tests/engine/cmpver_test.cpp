// compare_versions (spec policy-language.md §5.5): every row of the spec's table, the algorithm's
// corner cases, and order properties on random strings.
#include "postern/engine/cmpver.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <random>
#include <string>
#include <vector>

namespace cmpver_test {

namespace {

using postern::engine::compare_versions;

int sign(int value) { return (value > 0) - (value < 0); }

// Checks a against b and, for antisymmetry, b against a.
void expect_order(const std::string& a, const std::string& b, int expected) {
  INFO("a = `" << a << "`, b = `" << b << "`");
  CHECK(sign(compare_versions(a, b)) == expected);
  CHECK(sign(compare_versions(b, a)) == -expected);
}

}  // namespace

TEST_CASE("cmpver: every row of the spec table", "[engine][cmpver]") {
  expect_order("1.86.2", "1.40", 1);
  expect_order("1.40", "1.40", 0);
  expect_order("1.40", "1.40.0", -1);  // "." > "": a trailing .0 makes a version larger
  expect_order("1.9", "1.10", -1);
  expect_order("1.100.0", "1.99", 1);
  expect_order("6.8.0-45-generic", "6.8", 1);
  expect_order("10.0.22631.3880", "10.0.19045", 1);
  expect_order("13.6.1", "14", -1);
  expect_order("1.02", "1.2", 0);
  expect_order("v1.2", "1.2", 1);
  expect_order("1.40.0-t1a2b", "1.40.0", 1);
}

TEST_CASE("cmpver: the spec's practical warning about 1.40 vs 1.40.0", "[engine][cmpver]") {
  // `node:tsVersion >= '1.40.0'` fails for a device reporting 1.40; `>= '1.40'` passes.
  CHECK(compare_versions("1.40", "1.40.0") < 0);
  CHECK(compare_versions("1.40", "1.40") >= 0);
}

TEST_CASE("cmpver: empty strings and empty digit runs", "[engine][cmpver]") {
  expect_order("", "", 0);
  expect_order("", "0", 0);  // an empty digit run counts as 0
  expect_order("", "000", 0);
  expect_order("", "1", -1);
  expect_order("", "a", -1);  // "" < "a" on the first non-digit run
  expect_order("a", "a0", 0);
  expect_order("1.", "1", 1);  // "." > ""
  expect_order("1.", "1.0", 0);
  expect_order("beta", "alpha", 1);
}

TEST_CASE("cmpver: digit runs of any length compare numerically without overflow",
          "[engine][cmpver]") {
  const std::string huge(100, '9');
  expect_order(huge, "1" + std::string(100, '0'), -1);
  expect_order("1" + std::string(100, '0'), huge, 1);
  expect_order("18446744073709551616", "18446744073709551615", 1);  // 2^64 vs 2^64-1
  expect_order("0000000000000000000000000000042", "42", 0);
  expect_order("1." + std::string(50, '0') + "7", "1.7", 0);
  expect_order("99999999999999999999.1", "99999999999999999999.01", 0);
}

TEST_CASE("cmpver: only ASCII digits are digits", "[engine][cmpver]") {
  // U+0661 ARABIC-INDIC DIGIT ONE is text: compared byte-wise, it sorts after ASCII text.
  expect_order("1.\xD9\xA1", "1.1", 1);
  expect_order("\xD9\xA1", "9", 1);
  // Non-digit runs compare as unsigned bytes, so bytes >= 0x80 sort after ASCII letters.
  expect_order("a\xC3\xA9", "az", 1);
  expect_order("x\x01", "x", 1);
}

TEST_CASE("cmpver: non-digit runs decide before digit runs", "[engine][cmpver]") {
  expect_order("1-rc1", "1.0", -1);  // "-" (0x2D) < "." (0x2E)
  expect_order("1a9", "1b0", -1);    // "a" < "b" decides; 9 > 0 is never looked at
  expect_order("2a", "10", -1);      // "" == "", then 2 < 10 decides before "a" vs ""
}

namespace {

std::string random_version(std::mt19937& rng) {
  static constexpr char kAlphabet[] = "0123456789.-abv";
  std::uniform_int_distribution<int> length(0, 8);
  std::uniform_int_distribution<std::size_t> pick(0, sizeof kAlphabet - 2);
  std::string out;
  const int n = length(rng);
  for (int i = 0; i < n; ++i) out += kAlphabet[pick(rng)];
  return out;
}

}  // namespace

TEST_CASE("cmpver: antisymmetry, reflexivity and transitivity on random strings",
          "[engine][cmpver][property]") {
  std::mt19937 rng(20240611U);
  std::vector<std::string> values;
  for (int i = 0; i < 300; ++i) values.push_back(random_version(rng));
  for (const auto& a : values) {
    CHECK(compare_versions(a, a) == 0);
    for (const auto& b : values) {
      const int ab = sign(compare_versions(a, b));
      if (ab != -sign(compare_versions(b, a)))
        FAIL("antisymmetry fails for `" << a << "`, `" << b << "`");
    }
  }
  // A comparison sort is only consistent for a strict weak order; then every ordered pair and every
  // triple must agree with it.
  std::vector<std::string> sorted = values;
  std::sort(sorted.begin(), sorted.end(),
            [](const std::string& x, const std::string& y) { return compare_versions(x, y) < 0; });
  for (std::size_t i = 0; i + 1 < sorted.size(); ++i) {
    if (compare_versions(sorted[i], sorted[i + 1]) > 0) {
      FAIL("sort order broken between `" << sorted[i] << "` and `" << sorted[i + 1] << "`");
    }
  }
  for (std::size_t i = 0; i < 60; ++i) {
    for (std::size_t j = 0; j < 60; ++j) {
      for (std::size_t k = 0; k < 60; ++k) {
        const auto& a = values[i];
        const auto& b = values[j];
        const auto& c = values[k];
        if (compare_versions(a, b) <= 0 && compare_versions(b, c) <= 0 &&
            compare_versions(a, c) > 0) {
          FAIL("transitivity fails for `" << a << "` <= `" << b << "` <= `" << c << "`");
        }
      }
    }
  }
}

}  // namespace cmpver_test
