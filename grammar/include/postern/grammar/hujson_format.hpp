#pragma once
// HuJSON formatting by the rules of tailscale/hujson's `Format` ("gofmt for HuJSON"), and the
// policy ETag that Tailscale derives from it (spec tailscale-api.md §2.1): gitops-pusher hashes
// the formatted local file and compares it with the server's ETag, so both must be byte-identical
// to what Tailscale computes.

#include <string>
#include <string_view>

#include "postern/grammar/diag.hpp"

namespace postern::grammar::hujson {

// `text` formatted as tailscale/hujson's `Format` formats it: whitespace between tokens
// normalised, one tab per indentation level, at most one blank line, comments kept and
// re-indented, each object/array either on one line or expanded one member per line (expanded
// when the input broke a line inside it or a line would pass 80 columns), object values aligned
// in runs of single-line members, trailing commas added to expanded composites (unless the input
// was standard JSON) and removed from single-line ones, CR/CRLF line ends normalised, escaped
// strings re-escaped minimally, numbers and other literals kept verbatim, exactly one final
// newline. Idempotent. Invalid input: no value and the parser's single diagnostic.
Parsed<std::string> format(std::string_view text);

// Tailscale's policy ETag without its quotes: lowercase hex SHA-256 of format(policy_text). A
// text that does not parse hashes as it is, which is what hujson.Format hands back together with
// its error, so an unparsable stored text still gets a stable ETag that changes with the text.
std::string policy_etag(std::string_view policy_text);

}  // namespace postern::grammar::hujson
