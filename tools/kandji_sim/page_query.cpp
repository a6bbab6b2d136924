#include "page_query.hpp"

#include <fmt/format.h>

#include <array>
#include <charconv>

namespace postern::kandji_sim {
namespace {

constexpr std::string_view kBase64 =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string base64_encode(std::string_view in) {
  std::string out;
  std::size_t i = 0;
  while (i + 2 < in.size()) {
    const auto n = (static_cast<unsigned>(static_cast<unsigned char>(in[i])) << 16U) |
                   (static_cast<unsigned>(static_cast<unsigned char>(in[i + 1])) << 8U) |
                   static_cast<unsigned>(static_cast<unsigned char>(in[i + 2]));
    out += kBase64[(n >> 18U) & 63U];
    out += kBase64[(n >> 12U) & 63U];
    out += kBase64[(n >> 6U) & 63U];
    out += kBase64[n & 63U];
    i += 3;
  }
  const std::size_t rest = in.size() - i;
  if (rest > 0) {
    unsigned n = static_cast<unsigned>(static_cast<unsigned char>(in[i])) << 16U;
    if (rest == 2) n |= static_cast<unsigned>(static_cast<unsigned char>(in[i + 1])) << 8U;
    out += kBase64[(n >> 18U) & 63U];
    out += kBase64[(n >> 12U) & 63U];
    out += rest == 2 ? kBase64[(n >> 6U) & 63U] : '=';
    out += '=';
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view in) {
  if (in.size() % 4 != 0) return std::nullopt;
  std::string out;
  for (std::size_t i = 0; i < in.size(); i += 4) {
    unsigned n = 0;
    int pad = 0;
    for (std::size_t j = 0; j < 4; ++j) {
      const char c = in[i + j];
      unsigned v = 0;
      if (c == '=' && i + 4 == in.size() && j >= 2) {
        ++pad;
      } else {
        if (pad > 0) return std::nullopt;
        const auto pos = kBase64.find(c);
        if (pos == std::string_view::npos) return std::nullopt;
        v = static_cast<unsigned>(pos);
      }
      n = (n << 6U) | v;
    }
    out += static_cast<char>((n >> 16U) & 0xFFU);
    if (pad < 2) out += static_cast<char>((n >> 8U) & 0xFFU);
    if (pad < 1) out += static_cast<char>(n & 0xFFU);
  }
  return out;
}

std::optional<std::string> first(const QueryParams& params, const std::string& key) {
  auto it = params.find(key);
  if (it == params.end()) return std::nullopt;
  return it->second;
}

std::optional<std::int64_t> parse_int(std::string_view text) {
  std::int64_t value = 0;
  const auto* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || text.empty()) return std::nullopt;
  return value;
}

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    auto comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    if (comma > start) out.push_back(text.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

std::string hex(std::uint64_t v) { return fmt::format("{:016x}", v); }

bool valid_op(const std::string& op) {
  static constexpr std::array<std::string_view, 9> kOps = {"eq", "in", "not_in", "like", "not_like",
                                                           "lt", "gt", "lte",    "gte"};
  for (auto k : kOps) {
    if (k == op) return true;
  }
  return false;
}

bool condition_holds(const RowCondition& c, const Row& row) {
  auto it = row.find(c.field);
  const bool negative = c.op == "not_in" || c.op == "not_like";
  if (it == row.end()) return negative;
  const Row& v = *it;
  if (c.op == "eq") return v == c.operand;
  if (c.op == "in" || c.op == "not_in") {
    bool found = false;
    for (const auto& o : c.operand) found = found || o == v;
    return found != negative;
  }
  if (c.op == "like" || c.op == "not_like") {
    const bool hit = v.is_string() &&
                     v.get<std::string>().find(c.operand.get<std::string>()) != std::string::npos;
    return hit != negative;
  }
  if (v.type() != c.operand.type() && !(v.is_number() && c.operand.is_number())) return false;
  if (c.op == "lt") return v < c.operand;
  if (c.op == "gt") return v > c.operand;
  if (c.op == "lte") return v <= c.operand;
  return v >= c.operand;  // gte
}

}  // namespace

std::string encode_cursor(std::uint64_t after_seq, const std::string& fingerprint) {
  return base64_encode("sim1:" + std::to_string(after_seq) + ":" + fingerprint);
}

std::variant<PageQuery, QueryError> parse_page_query(const QueryParams& params,
                                                     std::size_t page_size, PageStyle style) {
  PageQuery q;
  std::size_t requested = kDefaultLimit;
  if (auto limit = first(params, "limit")) {
    auto n = parse_int(*limit);
    if (!n || *n < 1) return QueryError{400, "limit must be a positive integer"};
    requested = static_cast<std::size_t>(std::min<std::int64_t>(*n, kMaxLimit));
  }
  q.limit = std::min(requested, page_size);

  if (auto offset = first(params, "offset")) {
    auto n = parse_int(*offset);
    if (!n || *n < 0) return QueryError{400, "offset must be a non-negative integer"};
    q.offset = *n;
  }

  std::string shape;
  for (const char* key : {"filter", "device_families", "blueprint_ids"}) {
    shape += std::string(key) + "=" + first(params, key).value_or("") + "&";
  }
  q.fingerprint = hex(fnv1a(shape));

  if (auto families = first(params, "device_families")) q.families = split_commas(*families);
  if (auto blueprints = first(params, "blueprint_ids")) q.blueprints = split_commas(*blueprints);
  if (auto filter = first(params, "filter"); filter && !filter->empty()) {
    Row doc = Row::parse(*filter, nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) {
      return QueryError{400, "filter must be a JSON object"};
    }
    for (const auto& [field, spec] : doc.items()) {
      if (!spec.is_object()) return QueryError{400, "filter on `" + field + "` must be an object"};
      for (const auto& [op, operand] : spec.items()) {
        if (!valid_op(op)) return QueryError{400, "unsupported filter operator `" + op + "`"};
        const bool list_op = op == "in" || op == "not_in";
        const bool text_op = op == "like" || op == "not_like";
        if ((list_op && !operand.is_array()) || (text_op && !operand.is_string())) {
          return QueryError{400, "invalid operand for `" + op + "` on `" + field + "`"};
        }
        q.conditions.push_back({field, op, operand});
      }
    }
  }

  if (style == PageStyle::Cursor) {
    if (auto cursor = first(params, "cursor"); cursor && !cursor->empty()) {
      auto text = base64_decode(*cursor);
      const QueryError invalid{400, "invalid cursor"};
      if (!text || text->rfind("sim1:", 0) != 0) return invalid;
      const auto colon = text->find(':', 5);
      if (colon == std::string::npos) return invalid;
      auto seq = parse_int(std::string_view(*text).substr(5, colon - 5));
      if (!seq || *seq < 0 || text->substr(colon + 1) != q.fingerprint) return invalid;
      q.after_seq = static_cast<std::uint64_t>(*seq);
    }
  }
  return q;
}

bool matches(const PageQuery& query, const Row& row) {
  const auto in_list = [&row](const std::vector<std::string>& list, const char* key) {
    if (list.empty()) return true;
    auto it = row.find(key);
    if (it == row.end() || !it->is_string()) return false;
    for (const auto& item : list) {
      if (item == it->get<std::string>()) return true;
    }
    return false;
  };
  if (!in_list(query.families, "device__family")) return false;
  if (!in_list(query.blueprints, "blueprint_id")) return false;
  for (const auto& c : query.conditions) {
    if (!condition_holds(c, row)) return false;
  }
  return true;
}

}  // namespace postern::kandji_sim
