#pragma once
// A Beast response as the bytes that go on the wire (docs/decisions.md H21). Beast's serializer
// presents a message as a view over many small buffers (the start line in pieces, each field,
// the blank line, the body) and walking that view took about a sixth of a single check's
// instructions. A message whose body is sent whole is written here from Beast's own model, in
// one pass: the status line with Beast's reason phrase, each field as Beast stores it, the blank
// line and the body. A chunked message still goes through Beast's serializer. tests/http
// response_bytes_test holds the two to the same bytes.

#include <boost/beast/core/buffers_range.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/string_body.hpp>
#include <string>
#include <string_view>
#include <type_traits>

namespace postern::http::detail {

// Appends `buffers` in one pass over the sequence and returns their size.
std::size_t append_buffers(std::string& out, const auto& buffers) {
  const auto old = out.size();
  for (const auto piece : boost::beast::buffers_range_ref(buffers)) {
    out.append(static_cast<const char*>(piece.data()), piece.size());
  }
  return out.size() - old;
}

// What Beast's serializer writes for `message` (only its header when `header_only`).
template <class Body>
void append_serialized(std::string& out, boost::beast::http::response<Body>& message,
                       bool header_only) {
  boost::beast::http::response_serializer<Body> serializer(message);
  if (header_only) serializer.split(true);
  boost::beast::error_code ec;
  while (!ec && !(header_only ? serializer.is_header_done() : serializer.is_done())) {
    serializer.next(ec, [&](boost::beast::error_code&, const auto& buffers) {
      serializer.consume(append_buffers(out, buffers));
    });
  }
}

// The start line and fields, then the blank line.
template <class Fields>
void append_head(std::string& out, const boost::beast::http::header<false, Fields>& head) {
  const unsigned version = head.version();
  const unsigned code = head.result_int();
  const char start[] = {'H',
                        'T',
                        'T',
                        'P',
                        '/',
                        static_cast<char>('0' + version / 10 % 10),
                        '.',
                        static_cast<char>('0' + version % 10),
                        ' ',
                        static_cast<char>('0' + code / 100 % 10),
                        static_cast<char>('0' + code / 10 % 10),
                        static_cast<char>('0' + code % 10),
                        ' '};
  const auto add = [&out](boost::beast::string_view text) { out.append(text.data(), text.size()); };
  out.append(start, sizeof start);
  add(head.reason());
  out += "\r\n";
  for (const auto& field : head) {
    add(field.name_string());
    out += ": ";
    add(field.value());
    out += "\r\n";
  }
  out += "\r\n";
}

// `message` as it goes on the wire (only its header when `header_only`).
template <class Body>
void append_response(std::string& out, boost::beast::http::response<Body>& message,
                     bool header_only) {
  using Message = boost::beast::http::response<Body>;
  constexpr bool whole_string = std::is_same_v<Body, boost::beast::http::string_body>;
  constexpr bool no_body = std::is_same_v<Body, boost::beast::http::empty_body>;
  if (message.chunked() || (!header_only && !whole_string && !no_body)) {
    return append_serialized(out, message, header_only);
  }
  append_head(out, static_cast<const typename Message::header_type&>(message));
  if constexpr (whole_string) {
    if (!header_only) out += message.body();
  }
}

// The fields every answer carries, in order: Content-Type (when set), X-Content-Type-Options,
// Cache-Control: no-store (a route's own Cache-Control replaces it: the console's files), and for
// a configured CORS origin Access-Control-Allow-Origin, Vary and Access-Control-Expose-Headers.
// Exchange sets them on Beast's message and append_direct_reply writes them: one list for both.
template <class Visit>
void for_each_common_field(std::string_view content_type, std::string_view cors_origin,
                           Visit visit) {
  if (!content_type.empty()) visit("Content-Type", content_type);
  visit("X-Content-Type-Options", "nosniff");
  // No answer is kept by a browser or a proxy: they carry policies, devices and attributes.
  visit("Cache-Control", "no-store");
  if (!cors_origin.empty()) {
    visit("Access-Control-Allow-Origin", cors_origin);
    visit("Vary", "Origin");
    visit("Access-Control-Expose-Headers", "ETag");
  }
}

// A response whose fields are only those every answer carries, written without building Beast's
// message: what Beast writes for it (status line with Beast's reason phrase, the common fields,
// Connection as keep_alive() sets it, Content-Length as prepare_payload() sets it, the body
// unless `head`). Most answers are such; the fields of a
// Beast message are allocated one by one. tests/http response_bytes_test holds the two to the
// same bytes.
struct DirectReply {
  int status = 200;
  unsigned version = 11;
  bool keep_alive = true;
  bool head = false;              // answer to HEAD: the length a GET would have, no body
  std::string_view content_type;  // omitted when empty
  std::string_view cors_origin;   // the CORS fields when not empty
  std::string_view body;
};
// Whether append_direct_reply writes exactly Beast's bytes for such a reply: HTTP/1.0 or 1.1, a
// status whose response may have a body and Content-Length (not 1xx, 204, 304), and field values
// Beast would not trim.
[[nodiscard]] bool direct_reply_fits(const DirectReply& reply);
void append_direct_reply(std::string& out, const DirectReply& reply);

}  // namespace postern::http::detail
