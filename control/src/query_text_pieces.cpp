// A plain batch cut into pieces read at once on several threads (decisions H42). Why a cut can
// never change the answer: each piece is made a batch of its own by adding `{"queries":[` before
// it (all but the first) and `]}` after it (all but the last), and every cut lies between the `}`
// and the `{` of `}`ws`,`ws`{`ws`"`. When every piece reads as a plain batch, the text is its
// first piece's header, the pieces' queries joined by ws`,`ws, and the last piece's `]`ws`}`ws:
// a plain batch of the same queries in the same order. A cut inside a string leaves the piece
// before it with an unclosed string, and a cut inside a nested value an unclosed bracket, so
// either makes a piece fail; any failure gives the whole text back to the one-pass reader.
#include <algorithm>
#include <cstring>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "query_text_plain.hpp"

namespace postern::control::detail {
namespace {

constexpr std::string_view kHeader = R"({"queries":[)";
constexpr std::string_view kTrailer = "]}";

bool json_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::size_t skip_space(std::string_view text, std::size_t at) {
  while (at < text.size() && json_space(text[at])) ++at;
  return at;
}

// The first cut at or after `from` and before `limit`: the position just after a `}` and the
// position of the `{` that follows it as `}`ws`,`ws`{`ws`"`.
std::optional<std::pair<std::size_t, std::size_t>> cut_after(std::string_view text,
                                                             std::size_t from, std::size_t limit) {
  while (from < limit) {
    const void* brace = std::memchr(text.data() + from, '}', limit - from);
    if (brace == nullptr) return std::nullopt;
    const auto close = static_cast<std::size_t>(static_cast<const char*>(brace) - text.data());
    from = close + 1;
    std::size_t at = skip_space(text, close + 1);
    if (at >= text.size() || text[at] != ',') continue;
    at = skip_space(text, at + 1);
    if (at >= text.size() || text[at] != '{') continue;
    const std::size_t open = at;
    at = skip_space(text, at + 1);
    if (at >= text.size() || text[at] != '"') continue;
    return std::pair{close + 1, open};
  }
  return std::nullopt;
}

struct Piece {
  std::size_t begin = 0;
  std::size_t end = 0;
};

// About `count` pieces of equal size, fewer when the text has no cut near a boundary.
std::vector<Piece> cut(std::string_view text, std::size_t count) {
  std::vector<Piece> pieces;
  std::size_t begin = 0;
  for (std::size_t k = 1; k < count; ++k) {
    const std::size_t target = std::max(begin, text.size() * k / count);
    const std::size_t limit = text.size() * (k + 1) / count;
    const auto at = cut_after(text, target, limit);
    if (!at) continue;
    pieces.push_back({begin, at->first});
    begin = at->second;
  }
  pieces.push_back({begin, text.size()});
  return pieces;
}

// The piece as a batch of its own, followed by simdjson's padding.
std::unique_ptr<char[]> piece_text(std::string_view text, const Piece& piece, bool first, bool last,
                                   std::size_t& size) {
  const std::string_view body = text.substr(piece.begin, piece.end - piece.begin);
  const std::string_view header = first ? std::string_view() : kHeader;
  const std::string_view trailer = last ? std::string_view() : kTrailer;
  size = header.size() + body.size() + trailer.size();
  auto out = std::make_unique_for_overwrite<char[]>(size + plain_padding());
  char* at = std::copy(header.begin(), header.end(), out.get());
  at = std::copy(body.begin(), body.end(), at);
  at = std::copy(trailer.begin(), trailer.end(), at);
  std::fill_n(at, plain_padding(), ' ');
  return out;
}

}  // namespace

std::optional<PlainPieces> read_plain_batch_in_pieces(std::string_view text, std::size_t count,
                                                      std::size_t max_queries,
                                                      std::size_t max_depth,
                                                      const OtherThreads& others) {
  const auto pieces = cut(text, count);
  if (pieces.size() < 2) return std::nullopt;
  PlainPieces out;
  out.texts.resize(pieces.size());
  std::vector<std::optional<std::vector<Outcome<QueryView>>>> read(pieces.size());
  run_slices(pieces.size(), others, [&](std::size_t k) {
    std::size_t size = 0;
    out.texts[k] = piece_text(text, pieces[k], k == 0, k + 1 == pieces.size(), size);
    read[k] = read_plain_batch(std::string_view(out.texts[k].get(), size), max_queries, max_depth);
  });
  std::size_t total = 0;
  for (const auto& queries : read) {
    if (!queries) return std::nullopt;
    total += queries->size();
  }
  if (total > max_queries) return std::nullopt;  // the one-pass reader says so, exactly
  out.queries.reserve(total);
  for (auto& queries : read) {
    std::move(queries->begin(), queries->end(), std::back_inserter(out.queries));
  }
  out.text_bytes = text.size() + pieces.size() * (kHeader.size() + kTrailer.size());
  return out;
}

}  // namespace postern::control::detail
