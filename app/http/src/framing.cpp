#include "framing.hpp"

#include <fmt/format.h>

#include <boost/beast/http/field.hpp>
#include <string_view>

#include "text.hpp"

namespace postern::http::detail {
namespace {

namespace bhttp = boost::beast::http;

// The codings named by every Transfer-Encoding field, in order.
struct Codings {
  std::size_t count = 0;
  std::size_t chunked = 0;
  std::string_view last;
  std::string_view first_other;  // the first coding that is not `chunked`
  bool present = false;

  void add(std::string_view field_value) {
    present = true;
    while (!field_value.empty()) {
      const auto comma = field_value.find(',');
      const auto coding = trim(field_value.substr(0, comma));
      field_value =
          comma == std::string_view::npos ? std::string_view{} : field_value.substr(comma + 1);
      if (coding.empty()) continue;  // empty list elements are allowed and mean nothing
      ++count;
      last = coding;
      if (ascii_iequals(coding, "chunked")) {
        ++chunked;
      } else if (first_other.empty()) {
        first_other = coding;
      }
    }
  }
};

std::optional<Response> coding_rejection(const Codings& codings, unsigned version) {
  if (version < 11) {
    return Response::error(
        400, "Transfer-Encoding is not allowed in an HTTP/1.0 request (send Content-Length)");
  }
  if (codings.count == 0) {
    return Response::error(400,
                           "Transfer-Encoding names no coding (send `Transfer-Encoding: chunked` "
                           "or Content-Length)");
  }
  if (!ascii_iequals(codings.last, "chunked")) {
    return Response::error(
        400, fmt::format("Transfer-Encoding does not end with `chunked` (last coding `{}`), so "
                         "where the body ends is unknown (send `Transfer-Encoding: chunked` or "
                         "Content-Length)",
                         excerpt(codings.last, 40)));
  }
  if (codings.chunked > 1) {
    return Response::error(400, "Transfer-Encoding applies `chunked` more than once");
  }
  if (!codings.first_other.empty()) {
    return Response::error(
        501, fmt::format("transfer coding `{}` is not supported (send the body with "
                         "`Transfer-Encoding: chunked` alone, or with Content-Length)",
                         excerpt(codings.first_other, 40)));
  }
  return std::nullopt;
}

}  // namespace

std::optional<Response> framing_rejection(const RequestHeader& header) {
  // Runs for every request: one pass, a switch on the field's enum (Beast looks names up once).
  Codings codings;
  int hosts = 0;
  int credentials = 0;
  int content_types = 0;
  const auto twice = [](std::string_view name) {
    return Response::error(
        400, fmt::format("the {} header appears more than once (send it once)", name));
  };
  for (const auto& field : header) {
    switch (field.name()) {
      case bhttp::field::transfer_encoding:
        codings.add(field.value());
        break;
      case bhttp::field::host:
        if (++hosts > 1) return twice("Host");
        break;
      case bhttp::field::authorization:
        if (++credentials > 1) return twice("Authorization");
        break;
      case bhttp::field::content_type:
        if (++content_types > 1) return twice("Content-Type");
        break;
      default:
        break;
    }
  }
  if (codings.present) return coding_rejection(codings, header.version());
  return std::nullopt;
}

}  // namespace postern::http::detail
