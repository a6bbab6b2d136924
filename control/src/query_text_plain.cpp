#include "query_text_plain.hpp"

#include <simdjson.h>

#include <algorithm>

#include "postern/control/plain_json.hpp"
#include "postern/grammar/hujson.hpp"

namespace postern::control::detail {
namespace {

namespace ondemand = simdjson::ondemand;

// What the one pass descends to: a batch's object, its array, a query, a query's value. It
// never descends further (a nested value makes it give up before entering it), so the caller's
// depth limit is kept by comparing it with the shape's depth (kBatchDepth, kQueryDepth), as the
// validating reader counts it.
constexpr std::size_t kParserDepth = 8;
constexpr std::size_t kBatchDepth = 4;
constexpr std::size_t kQueryDepth = 2;

// The document of `padded_text` from this thread's parser, or false when simdjson refuses it
// (the validating reader then says why).
bool iterate(ondemand::parser& parser, std::string_view padded_text, ondemand::document& doc) {
  const auto capacity = std::max(padded_text.size(), kMinCapacity);
  if (parser.capacity() < capacity) {
    if (parser.allocate(capacity, kParserDepth) != simdjson::SUCCESS) return false;
  }
  return parser
             .iterate(padded_text.data(), padded_text.size(),
                      padded_text.size() + simdjson::SIMDJSON_PADDING)
             .get(doc) == simdjson::SUCCESS;
}

// The text from `begin` to its string's closing quote, when it has no backslash: simdjson's first
// stage has checked the whole text (UTF-8, closed strings, no raw control characters), so
// without one the first quote closes the string and the bytes before it are the string.
bool text_to_quote(const char* begin, std::string_view& out) {
  const char* end = begin;
  for (; *end != '"'; ++end) {
    if (*end == '\\') return false;
  }
  out = std::string_view(begin, static_cast<std::size_t>(end - begin));
  return true;
}

// A string value without escapes, viewed in the text. The value is consumed: one left unread is
// skipped by the iteration, whose skipping takes `"text":` for a key and so passes over text that
// is not JSON (`{"dst":"a":"b"}}` read as {"dst":"a"}; found by tests/fuzz/request_fuzz.cpp).
bool plain_string(ondemand::value value, std::string_view& out) {
  ondemand::raw_json_string raw;
  return value.get_raw_json_string().get(raw) == simdjson::SUCCESS && text_to_quote(raw.raw(), out);
}

// A member's key without escapes, viewed in the text.
bool plain_key(ondemand::field& field, std::string_view& out) {
  return text_to_quote(field.key().raw(), out);
}

bool plain_query(ondemand::object object, QueryView& out) {
  enum Seen : unsigned { kSrc = 1, kDst = 2, kProto = 4, kExplain = 8 };
  unsigned seen = 0;
  for (auto member : object) {
    if (member.error() != simdjson::SUCCESS) return false;
    ondemand::field field = std::move(member).value_unsafe();
    const auto key = field.key();
    unsigned bit = 0;
    if (key.unsafe_is_equal("src")) {
      bit = kSrc;
    } else if (key.unsafe_is_equal("dst")) {
      bit = kDst;
    } else if (key.unsafe_is_equal("proto")) {
      bit = kProto;
    } else if (key.unsafe_is_equal("explain")) {
      bit = kExplain;
    } else {
      return false;  // srcPostureAttrs, an unknown field, or a key with an escape
    }
    if ((seen & bit) != 0) return false;
    seen |= bit;
    if (bit == kExplain) {
      if (field.value().get_bool().get(out.explain) != simdjson::SUCCESS) return false;
      continue;
    }
    std::string_view text;
    if (!plain_string(field.value(), text)) return false;
    if (bit == kSrc) {
      out.src = text;
    } else if (bit == kDst) {
      out.dst = text;
    } else {
      out.proto = text;
    }
  }
  return (seen & (kSrc | kDst)) == (kSrc | kDst);
}

// Reads `doc` through `read`: true when `read` succeeded and consumed the whole text.
template <class Read>
bool read_whole(std::string_view padded_text, Read read) {
  auto& parser = thread_parser<ondemand::parser>();
  ondemand::document doc;
  // Whole: nothing may follow the value (simdjson has no location past the end).
  const bool whole = iterate(parser, padded_text, doc) && read(doc) &&
                     doc.current_location().error() == simdjson::OUT_OF_BOUNDS;
  release_if_large(parser);
  return whole;
}

}  // namespace

std::size_t plain_padding() { return simdjson::SIMDJSON_PADDING; }

std::unique_ptr<char[]> padded_copy(std::string_view text) {
  auto copy = std::make_unique_for_overwrite<char[]>(text.size() + plain_padding());
  std::copy(text.begin(), text.end(), copy.get());
  std::fill_n(copy.get() + text.size(), plain_padding(), ' ');
  return copy;
}

std::optional<QueryView> read_plain_query(std::string_view padded_text, bool explain_default,
                                          std::size_t max_depth) {
  if (max_depth < kQueryDepth) return std::nullopt;
  QueryView query;
  query.explain = explain_default;
  const bool read = read_whole(padded_text, [&](ondemand::document& doc) {
    ondemand::object object;
    return doc.get_object().get(object) == simdjson::SUCCESS && plain_query(object, query);
  });
  if (!read) return std::nullopt;
  return query;
}

std::optional<std::vector<Outcome<QueryView>>> read_plain_batch(std::string_view padded_text,
                                                                std::size_t max_queries,
                                                                std::size_t max_depth) {
  if (max_depth < kBatchDepth) return std::nullopt;
  std::vector<Outcome<QueryView>> queries;
  // Room for queries of a usual size at once: growing moves every query read so far, on the
  // thread the batch arrived on, before any other thread can help.
  constexpr std::size_t kUsualQueryBytes = 48;
  queries.reserve(std::min(max_queries, padded_text.size() / kUsualQueryBytes));
  const bool read = read_whole(padded_text, [&](ondemand::document& doc) {
    ondemand::object root;
    if (doc.get_object().get(root) != simdjson::SUCCESS) return false;
    bool have_queries = false;
    for (auto member : root) {
      if (member.error() != simdjson::SUCCESS || have_queries) return false;
      ondemand::field field = std::move(member).value_unsafe();
      if (!field.key().unsafe_is_equal("queries")) return false;
      have_queries = true;
      ondemand::array array;
      if (field.value().get_array().get(array) != simdjson::SUCCESS) return false;
      for (auto element : array) {
        ondemand::object object;
        if (element.get_object().get(object) != simdjson::SUCCESS) return false;
        if (queries.size() == max_queries) return false;
        QueryView query;
        if (!plain_query(object, query)) return false;
        queries.emplace_back(std::move(query));
      }
    }
    return have_queries;
  });
  if (!read) return std::nullopt;
  return queries;
}

}  // namespace postern::control::detail

namespace postern::control {
namespace {

// A number as a double, whole numbers converted from their exact value (so -0 is 0), as
// nlohmann's reader gives them.
std::optional<double> plain_number(detail::ondemand::value value) {
  std::string_view token = value.raw_json_token();
  token = token.substr(0, token.find_last_not_of(" \t\n\r") + 1);  // 3.0's token may end in spaces
  if (token.find_first_of(".eE") != std::string_view::npos) {
    double number = 0;
    if (value.get_double().get(number) != simdjson::SUCCESS) return std::nullopt;
    // simdjson 3.0.1 misreads a fraction of more than 19 digits (0.95000000000000000000 as 0.0277,
    // its issue 2093); get_double has checked and consumed the number, the text gives its value.
    return grammar::hujson::number_value(token);
  }
  std::int64_t whole = 0;
  if (value.get_int64().get(whole) == simdjson::SUCCESS) return static_cast<double>(whole);
  std::uint64_t large = 0;
  if (value.get_uint64().get(large) == simdjson::SUCCESS) return static_cast<double>(large);
  return std::nullopt;  // beyond 64 bits: the validating reader decides
}

// A scalar member's value, or nothing for a nested, null or escaped one.
std::optional<std::variant<std::string_view, double, bool>> plain_scalar(
    detail::ondemand::value value) {
  detail::ondemand::json_type type;
  if (value.type().get(type) != simdjson::SUCCESS) return std::nullopt;
  switch (type) {
    case detail::ondemand::json_type::string: {
      std::string_view text;
      if (!detail::plain_string(value, text)) return std::nullopt;
      return text;
    }
    case detail::ondemand::json_type::number:
      return plain_number(value);
    case detail::ondemand::json_type::boolean: {
      bool flag = false;
      if (value.get_bool().get(flag) != simdjson::SUCCESS) return std::nullopt;
      return flag;
    }
    default:
      return std::nullopt;
  }
}

}  // namespace

std::optional<PlainObject> read_plain_object(std::string_view json_text, std::size_t max_depth) {
  if (max_depth < detail::kQueryDepth) return std::nullopt;
  PlainObject object;
  object.text_ = detail::padded_copy(json_text);
  const std::string_view padded(object.text_.get(), json_text.size());
  const bool read = detail::read_whole(padded, [&](detail::ondemand::document& doc) {
    detail::ondemand::object members;
    if (doc.get_object().get(members) != simdjson::SUCCESS) return false;
    for (auto member : members) {
      if (member.error() != simdjson::SUCCESS) return false;
      detail::ondemand::field field = std::move(member).value_unsafe();
      std::string_view key;
      // A key with an escape, or repeated: the validating reader decides.
      if (!detail::plain_key(field, key) || object.members_.size() == kMaxPlainMembers) {
        return false;
      }
      for (const auto& seen : object.members_) {
        if (seen.key == key) return false;
      }
      auto value = plain_scalar(field.value());
      if (!value) return false;
      object.members_.push_back({key, *value});
    }
    return true;
  });
  if (!read) return std::nullopt;
  return object;
}

}  // namespace postern::control
