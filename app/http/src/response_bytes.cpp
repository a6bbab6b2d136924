#include "response_bytes.hpp"

#include <fmt/format.h>

#include <boost/beast/http/status.hpp>

namespace postern::http::detail {
namespace {

namespace bhttp = boost::beast::http;
using namespace std::string_view_literals;

bool untrimmed(std::string_view value) {
  const auto space = [](char c) { return c == ' ' || c == '\t'; };
  return value.empty() || (!space(value.front()) && !space(value.back()));
}

void append_field(std::string& out, std::string_view name, std::string_view value) {
  out += name;
  out += ": "sv;
  out += value;
  out += "\r\n"sv;
}

}  // namespace

bool direct_reply_fits(const DirectReply& reply) {
  const int status = reply.status;
  return (reply.version == 10 || reply.version == 11) && status >= 200 && status <= 999 &&
         status != 204 && status != 304 && untrimmed(reply.content_type) &&
         untrimmed(reply.cors_origin);
}

void append_direct_reply(std::string& out, const DirectReply& reply) {
  const auto code = static_cast<unsigned>(reply.status);
  const char start[] = {'H',
                        'T',
                        'T',
                        'P',
                        '/',
                        '1',
                        '.',
                        static_cast<char>('0' + reply.version % 10),
                        ' ',
                        static_cast<char>('0' + code / 100 % 10),
                        static_cast<char>('0' + code / 10 % 10),
                        static_cast<char>('0' + code % 10),
                        ' '};
  out.append(start, sizeof start);
  const auto reason = bhttp::obsolete_reason(static_cast<bhttp::status>(code));
  out.append(reason.data(), reason.size());
  out += "\r\n"sv;
  for_each_common_field(
      reply.content_type, reply.cors_origin,
      [&out](std::string_view name, std::string_view value) { append_field(out, name, value); });
  // Beast's keep_alive(): a token added to an absent Connection field, or nothing.
  if (reply.version == 11 && !reply.keep_alive) append_field(out, "Connection"sv, "close"sv);
  if (reply.version == 10 && reply.keep_alive) append_field(out, "Connection"sv, "keep-alive"sv);
  const fmt::format_int length(reply.body.size());
  append_field(out, "Content-Length"sv, std::string_view(length.data(), length.size()));
  out += "\r\n"sv;
  if (!reply.head) out += reply.body;
}

}  // namespace postern::http::detail
