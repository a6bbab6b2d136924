#pragma once
// Plain queries read in one pass (decisions H28). Almost every query a program sends is
// {"src","dst","proto"?,"explain"?} with strings that need no unescaping; those are read with
// simdjson's On-Demand API straight from the text, their strings viewed where they are, without
// the validating reader's tape and copies. Anything else — an error of any kind, an escape, a
// number as protocol, srcPostureAttrs, a repeated field, trailing text — makes these functions
// give up (nullopt), and the caller reads the text with the validating reader, which answers it
// exactly. So a text read here is one the validating reader would have read to the same values.
#include <cstddef>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "postern/control/query.hpp"

namespace postern::control::detail {

// simdjson's parsers (DOM and On-Demand) are kept per thread between calls, sized for at least
// kMinCapacity bytes; past kKeptCapacity their buffers are given back after each call.
inline constexpr std::size_t kMinCapacity = 4096;
inline constexpr std::size_t kKeptCapacity = std::size_t{1} << 20;
template <class Parser>
Parser& thread_parser() {
  thread_local Parser parser;
  return parser;
}
template <class Parser>
void release_if_large(Parser& parser) {
  if (parser.capacity() > kKeptCapacity) parser = Parser();
}

// Bytes that must be readable after a text given to these functions (simdjson's padding).
[[nodiscard]] std::size_t plain_padding();
// A copy of `text` followed by plain_padding() bytes.
[[nodiscard]] std::unique_ptr<char[]> padded_copy(std::string_view text);

// `padded` is the text followed by plain_padding() readable bytes; the views point into it.
[[nodiscard]] std::optional<QueryView> read_plain_query(std::string_view padded_text,
                                                        bool explain_default,
                                                        std::size_t max_depth);

// {"queries":[plain query, ...]} with at most `max_queries`.
[[nodiscard]] std::optional<std::vector<Outcome<QueryView>>> read_plain_batch(
    std::string_view padded_text, std::size_t max_queries, std::size_t max_depth);

}  // namespace postern::control::detail
