// Fuzz target for the readers of request bodies that arrive over the network, each of which has a
// one-pass fast path beside a validating reader (decisions H28, H31):
// - a check batch read in one pass and by the validating reader: the same queries, errors and
//   refusals, under two sets of limits;
// - a single check body: read as the same body inside a batch is read;
// - an attribute write body (read_plain_object): when read, nlohmann reads the same members;
// - the bytes as a JSON string literal (append_json_string, whose eight-byte scan is
//   plain_json_prefix): nlohmann reads back the same string.
// Invariants: no crash or UB (ASan+UBSan), and the agreements above.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "postern/control/plain_json.hpp"
#include "postern/control/query.hpp"
#include "postern/grammar/json_value.hpp"

namespace {

using namespace postern;

void require(bool condition) {
  if (!condition) std::abort();
}

bool same_query(const control::Outcome<control::QueryView>& a,
                const control::Outcome<control::QueryView>& b) {
  if (a.ok() != b.ok()) return false;
  if (!a) return a.error().code == b.error().code && a.error().message == b.error().message;
  const auto& x = a.value();
  const auto& y = b.value();
  return x.src == y.src && x.dst == y.dst && x.proto == y.proto && x.explain == y.explain &&
         x.src_attrs == y.src_attrs;
}

void batch_both_ways(std::string_view text, std::size_t max_queries, std::size_t depth) {
  const auto fast = control::read_query_batch(text, {max_queries, depth, true}, {});
  const auto validating = control::read_query_batch(text, {max_queries, depth, false}, {});
  require(fast.ok() == validating.ok());
  if (!fast) {
    require(fast.error().code == validating.error().code);
    require(fast.error().message == validating.error().message);
    return;
  }
  const auto a = fast.value().queries();
  const auto b = validating.value().queries();
  require(a.size() == b.size() && a.size() <= max_queries);
  for (std::size_t i = 0; i < a.size(); ++i) require(same_query(a[i], b[i]));
}

void single_as_in_batch(std::string_view text) {
  // A query in a batch sits two levels deeper than alone.
  const auto alone = control::read_query(text, false, 64);
  const std::string batch = R"({"queries":[)" + std::string(text) + "]}";
  const auto in_batch = control::read_query_batch(batch, {2, 66, false}, {});
  if (!in_batch) {
    require(!alone.ok());
    return;
  }
  if (in_batch.value().queries().size() != 1) return;  // `a,b` is two elements in a batch
  const auto& expected = in_batch.value().queries()[0];
  const auto read_alone = alone
                              ? control::Outcome<control::QueryView>(control::view_of(alone.value()))
                              : control::Outcome<control::QueryView>(alone.error());
  require(same_query(read_alone, expected));
}

void plain_object_as_nlohmann(std::string_view text) {
  const auto plain = control::read_plain_object(text, 512);
  if (!plain) return;
  const auto expected = nlohmann::json::parse(text, nullptr, false);
  require(!expected.is_discarded() && expected.is_object());
  const auto members = plain->members();
  require(members.size() == expected.size());
  for (const auto& [key, value] : members) {
    const auto it = expected.find(std::string(key));
    require(it != expected.end());
    if (const auto* string = std::get_if<std::string_view>(&value)) {
      require(it->is_string() && *string == it->get<std::string>());
    } else if (const auto* number = std::get_if<double>(&value)) {
      require(it->is_number());
      const double want = it->get<double>();
      require(*number == want && std::signbit(*number) == std::signbit(want));
    } else {
      require(it->is_boolean() && std::get<bool>(value) == it->get<bool>());
    }
  }
}

void string_literal_reads_back(std::string_view text) {
  std::string literal;
  grammar::json::append_json_string(literal, text);
  const auto back = nlohmann::json::parse(literal, nullptr, false);
  // Text that is not UTF-8 is written as given; nlohmann refuses it, which is not ours to check.
  if (back.is_discarded()) return;
  require(back.is_string() && back.get<std::string>() == text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  batch_both_ways(text, 100, 512);
  batch_both_ways(text, 2, 4);
  single_as_in_batch(text);
  plain_object_as_nlohmann(text);
  string_literal_reads_back(text);
  return 0;
}
