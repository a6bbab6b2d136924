// Queries read from JSON text: simdjson's DOM parser validates the whole text (and its nesting)
// into a tape, which is then walked without a tree of allocated nodes. This is the request path
// of POST /v1/check and /v1/check/batch, so it is kept allocation-light.
#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "postern/control/query.hpp"
#include "query_text_plain.hpp"

namespace postern::control {
namespace {

namespace dom = simdjson::dom;
using grammar::DiagCode;

Error malformed(std::string_view reason) {
  return invalid(DiagCode::C723, fmt::format("not well-formed JSON: {}", reason),
                 "send one JSON value, UTF-8, without comments or trailing commas");
}

Error duplicate(std::string_view key) {
  return invalid(DiagCode::C723, fmt::format("duplicate object key `{}`", key),
                 "give each field once");
}

Error invalid_query(std::string message, std::string help = {}) {
  return invalid(DiagCode::C722, std::move(message), std::move(help));
}

// `text` parsed by this thread's DOM parser, grown to the text and the depth limit.
simdjson::error_code parse(dom::parser& parser, std::string_view text, std::size_t max_depth,
                           dom::element& root) {
  const auto capacity = std::max(text.size(), detail::kMinCapacity);
  if (parser.max_depth() != max_depth || parser.capacity() < capacity) {
    if (const auto error = parser.allocate(capacity, max_depth); error) return error;
  }
  return parser.parse(text.data(), text.size(), true).get(root);
}

std::string parse_failure_reason(simdjson::error_code error, std::size_t max_depth) {
  if (error == simdjson::DEPTH_ERROR) return fmt::format("nested deeper than {} levels", max_depth);
  if (error == simdjson::UTF8_ERROR) return "the text is not valid UTF-8";
  if (error == simdjson::EMPTY) return "the text is empty";
  return simdjson::error_message(error);
}

Outcome<engine::AttrMap> attr_map(dom::element value, std::string_view field) {
  dom::object object;
  if (value.get_object().get(object)) {
    return invalid_query(
        fmt::format("`{}` must be an object of key -> string, number or boolean", field));
  }
  engine::AttrMap out;
  for (const auto [key, item] : object) {
    engine::AttrValue attr;
    if (item.is_string()) {
      attr = std::string(item.get_string().value_unsafe());
    } else if (item.is_bool()) {
      attr = item.get_bool().value_unsafe();
    } else if (item.is_number()) {
      attr = item.get_double().value_unsafe();
    } else {
      return invalid_query(
          fmt::format("`{}`: attribute `{}` must be a string, number or boolean", field, key));
    }
    if (!out.emplace(std::string(key), std::move(attr)).second) return duplicate(key);
  }
  return out;
}

// One query object, its strings viewed in the parsed text.
Outcome<QueryView> query(dom::element value, bool explain_default) {
  dom::object object;
  if (value.get_object().get(object)) return invalid_query("a query must be a JSON object");
  QueryView input;
  input.explain = explain_default;
  enum Seen : unsigned { kSrc = 1, kDst = 2, kProto = 4, kAttrs = 8, kExplain = 16 };
  unsigned seen = 0;
  std::optional<Error> first_error;  // the first field error answers; later fields are only
                                     // checked for duplicates
  for (const auto [key, item] : object) {
    unsigned bit = 0;
    if (key == "src") {
      bit = kSrc;
    } else if (key == "dst") {
      bit = kDst;
    } else if (key == "proto") {
      bit = kProto;
    } else if (key == "srcPostureAttrs") {
      bit = kAttrs;
    } else if (key == "explain") {
      bit = kExplain;
    }
    if (bit != 0 && (seen & bit) != 0) return duplicate(key);
    seen |= bit;
    if (first_error) continue;
    std::string_view text;
    if (bit == kSrc || bit == kDst) {
      if (item.get_string().get(text)) {
        first_error = invalid_query(fmt::format("`{}` must be a string", key));
        continue;
      }
      (bit == kSrc ? input.src : input.dst) = text;
    } else if (bit == kProto) {
      std::int64_t number = 0;
      if (item.get_string().get(text) == simdjson::SUCCESS) {
        input.proto = text;
      } else if (item.get_int64().get(number) == simdjson::SUCCESS) {
        input.proto = number;
      } else if (item.is_uint64()) {
        input.proto = std::numeric_limits<std::int64_t>::max();  // out of range, said later
      } else {
        first_error = invalid_query("`proto` must be a protocol name or a number 0-255");
      }
    } else if (bit == kAttrs) {
      auto attrs = attr_map(item, key);
      if (!attrs) {
        if (attrs.error().code == DiagCode::C723) return attrs.error();
        first_error = attrs.error();
        continue;
      }
      input.src_attrs = std::move(attrs.value());
    } else if (bit == kExplain) {
      bool explain = false;
      if (item.get_bool().get(explain)) {
        first_error = invalid_query("`explain` must be true or false");
        continue;
      }
      input.explain = explain;
    } else {
      first_error = invalid_query(fmt::format("unknown field `{}`", key),
                                  "a query has `src`, `dst`, `proto`, `srcPostureAttrs` and "
                                  "`explain`");
    }
  }
  if (first_error) return *first_error;
  if ((seen & (kSrc | kDst)) != (kSrc | kDst)) {
    return invalid_query("a query needs `src` and `dst` (host:port)");
  }
  return input;
}

template <class Read>
auto with_parsed(std::string_view text, std::size_t max_depth, Read read)
    -> decltype(read(dom::element())) {
  auto& parser = detail::thread_parser<dom::parser>();
  dom::element root;
  if (const auto error = parse(parser, text, max_depth, root); error) {
    detail::release_if_large(parser);
    return malformed(parse_failure_reason(error, max_depth));
  }
  auto out = read(root);
  detail::release_if_large(parser);
  return out;
}

// A single query's text followed by the padding the one-pass reader needs, in a buffer kept per
// thread unless a large text grew it.
class PaddedCopy {
 public:
  explicit PaddedCopy(std::string_view text) : buffer_(thread_buffer()) {
    buffer_.assign(text);
    buffer_.append(detail::plain_padding(), ' ');
  }
  ~PaddedCopy() {
    if (buffer_.capacity() > detail::kKeptCapacity) std::string().swap(buffer_);
  }
  PaddedCopy(const PaddedCopy&) = delete;
  PaddedCopy& operator=(const PaddedCopy&) = delete;
  [[nodiscard]] std::string_view text() const {
    return std::string_view(buffer_.data(), buffer_.size() - detail::plain_padding());
  }

 private:
  static std::string& thread_buffer() {
    thread_local std::string buffer;
    return buffer;
  }
  std::string& buffer_;
};

QueryInput input_of(QueryView view) {
  QueryInput input;
  input.src = std::string(view.src);
  input.dst = std::string(view.dst);
  if (const auto* name = std::get_if<std::string_view>(&view.proto)) {
    input.proto = std::string(*name);
  } else {
    input.proto = std::get<std::int64_t>(view.proto);
  }
  input.src_attrs = std::move(view.src_attrs);
  input.explain = view.explain;
  return input;
}

}  // namespace

Outcome<QueryInput> read_query(std::string_view json_text, bool explain_default,
                               std::size_t max_depth) {
  {
    const PaddedCopy padded(json_text);
    if (auto plain = detail::read_plain_query(padded.text(), explain_default, max_depth)) {
      return input_of(std::move(*plain));  // copied out before the buffer is reused
    }
  }
  return with_parsed(json_text, max_depth, [&](dom::element root) -> Outcome<QueryInput> {
    auto view = query(root, explain_default);
    if (!view) return view.error();
    return input_of(std::move(view.value()));
  });
}

Outcome<engine::AttrMap> read_attr_map(std::string_view json_text, std::string_view field) {
  return with_parsed(json_text, 512, [&](dom::element root) { return attr_map(root, field); });
}

namespace {

// The array under "queries", or why there is none.
Outcome<dom::array> queries_array(dom::element root) {
  dom::object object;
  if (root.get_object().get(object)) return invalid_query("the body must be a JSON object");
  std::optional<dom::array> queries;
  for (const auto [key, value] : object) {
    if (key != "queries") return invalid_query(fmt::format("unknown field `{}`", key));
    if (queries) return duplicate(key);
    dom::array array;
    if (value.get_array().get(array)) return invalid_query("`queries` must be an array of queries");
    queries = array;
  }
  if (!queries) return invalid_query("`queries` must be an array of queries");
  return *queries;
}

// Queries per slice when a batch's queries are read on several threads.
constexpr std::size_t kReadSlice = 256;

// The strings of `views` (viewing the parser's buffers) copied into one block, the views moved
// onto it: the parser's buffers, many times the text's size, are not kept for the batch's life.
std::unique_ptr<char[]> keep_text(std::span<Outcome<QueryView>> views) {
  std::size_t total = 0;
  const auto proto_name = [](QueryView& view) {
    return std::get_if<std::string_view>(&view.proto);
  };
  for (auto& view : views) {
    if (!view) continue;
    auto& v = view.value();
    const auto* name = proto_name(v);
    total += v.src.size() + v.dst.size() + (name != nullptr ? name->size() : 0);
  }
  auto block = std::make_unique_for_overwrite<char[]>(std::max<std::size_t>(total, 1));
  char* at = block.get();
  const auto move_onto_block = [&at](std::string_view& text) {
    std::copy(text.begin(), text.end(), at);
    text = std::string_view(at, text.size());
    at += text.size();
  };
  for (auto& view : views) {
    if (!view) continue;
    auto& v = view.value();
    move_onto_block(v.src);
    move_onto_block(v.dst);
    if (auto* name = proto_name(v)) move_onto_block(*name);
  }
  return block;
}

}  // namespace

Outcome<QueryBatch> read_query_batch(std::string_view json_text, const QueryBatchLimits& limits,
                                     const OtherThreads& others) {
  if (limits.one_pass) {
    auto text = detail::padded_copy(json_text);
    auto plain = detail::read_plain_batch(std::string_view(text.get(), json_text.size()),
                                          limits.max_queries, limits.max_depth);
    if (plain) {
      QueryBatch batch;
      batch.texts_.push_back(std::move(text));
      batch.queries_ = std::move(*plain);
      batch.one_pass_ = true;
      batch.text_bytes_ = json_text.size();
      return batch;
    }
  }
  return with_parsed(json_text, limits.max_depth, [&](dom::element root) -> Outcome<QueryBatch> {
    const auto queries = queries_array(root);
    if (!queries) return queries.error();
    std::vector<dom::element> elements;
    for (const auto element : queries.value()) {
      if (elements.size() == limits.max_queries) {
        return invalid(DiagCode::C724,
                       fmt::format("at most {} queries per batch", limits.max_queries));
      }
      elements.push_back(element);
    }
    QueryBatch batch;
    batch.text_bytes_ = json_text.size();
    batch.queries_.assign(elements.size(), QueryView{});
    const std::size_t slices = (elements.size() + kReadSlice - 1) / kReadSlice;
    batch.texts_.resize(slices);
    run_slices(slices, others, [&](std::size_t slice) {
      const std::size_t begin = slice * kReadSlice;
      const std::size_t end = std::min(elements.size(), begin + kReadSlice);
      for (std::size_t i = begin; i < end; ++i) batch.queries_[i] = query(elements[i], false);
      batch.texts_[slice] =
          keep_text(std::span<Outcome<QueryView>>(batch.queries_).subspan(begin, end - begin));
    });
    // A text that is not well-formed (a duplicate key) fails the whole batch, the first in order.
    for (const auto& input : batch.queries_) {
      if (!input && input.error().code == DiagCode::C723) return input.error();
    }
    return batch;
  });
}

}  // namespace postern::control
