#pragma once
// Whether a request's header frames it in exactly one way (RFC 9112 §6.1, §6.3, §3.2).
//
// Beast's parser refuses repeated or conflicting Content-Length and a Transfer-Encoding beside a
// Content-Length, but it takes a Transfer-Encoding whose last coding is not `chunked` for a request
// without a body: the body's bytes would then be read as the next request, which a proxy in front
// may have framed differently (request smuggling). Fields that decide who may do what (Host, the
// credential, the Content-Type) must not appear twice, or two readers could each take another one.

#include <optional>

#include "exchange.hpp"

namespace postern::http::detail {

// The rejection for a header framed ambiguously, or nullopt. Every rejection here ends the
// connection after it is answered: where the request ends is not known.
[[nodiscard]] std::optional<Response> framing_rejection(const RequestHeader& header);

}  // namespace postern::http::detail
