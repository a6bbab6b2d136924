// The bytes Postern writes for a response are the bytes Beast's serializer writes for it
// (app/http/src/response_bytes.hpp), across statuses, versions, connection handling, fields and
// bodies.
#include "../../app/http/src/response_bytes.hpp"

#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/string_body.hpp>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

namespace response_bytes_test {

namespace bhttp = boost::beast::http;
using postern::http::detail::append_direct_reply;
using postern::http::detail::append_response;
using postern::http::detail::append_serialized;
using postern::http::detail::direct_reply_fits;
using postern::http::detail::DirectReply;
using postern::http::detail::for_each_common_field;

namespace {

using Reply = bhttp::response<bhttp::string_body>;
using Header = bhttp::response<bhttp::empty_body>;

template <class Body>
void check_same(bhttp::response<Body> message, bool header_only) {
  auto beast_copy = message;
  std::string ours = "earlier bytes|";
  std::string beast = ours;
  append_response(ours, message, header_only);
  append_serialized(beast, beast_copy, header_only);
  CHECK(ours == beast);
}

Reply reply(unsigned status, unsigned version, std::string body) {
  Reply r{static_cast<bhttp::status>(status), version};
  r.set(bhttp::field::content_type, "application/json");
  r.set("X-Content-Type-Options", "nosniff");
  r.body() = std::move(body);
  return r;
}

}  // namespace

TEST_CASE("response bytes: whole bodies match Beast's serializer", "[http][response]") {
  const std::vector<unsigned> statuses = {100, 101, 200, 201, 204, 301, 304, 400, 401,
                                          404, 405, 413, 421, 429, 431, 500, 503, 599};
  for (const unsigned status : statuses) {
    for (const unsigned version : {10U, 11U}) {
      for (const bool keep_alive : {false, true}) {
        for (const char* body : {"", R"({"allow":true})", "x\r\n\r\ny"}) {
          const bool bodiless = status < 200 || status == 204 || status == 304;
          if (bodiless && *body != '\0') continue;  // Beast refuses to frame a body there
          INFO("status " << status << " version " << version << " keep-alive " << keep_alive
                         << " body `" << body << "`");
          auto r = reply(status, version, body);
          r.keep_alive(keep_alive);
          r.prepare_payload();
          check_same(r, false);
          check_same(r, true);
        }
      }
    }
  }
}

TEST_CASE("response bytes: custom reasons, repeated and empty fields, HEAD answers",
          "[http][response]") {
  auto custom = reply(200, 11, "body");
  custom.reason("Fine Indeed");
  custom.prepare_payload();
  check_same(custom, false);

  auto fields = reply(405, 11, "{}");
  fields.insert(bhttp::field::allow, "GET, HEAD");
  fields.insert("Set-Cookie", "a=1");
  fields.insert("Set-Cookie", "b=2");
  fields.insert("X-Empty", "");
  fields.set(bhttp::field::access_control_allow_origin, "https://admin.example.com");
  fields.set(bhttp::field::vary, "Origin");
  fields.prepare_payload();
  check_same(fields, false);

  // HEAD: the length a GET would have, no body.
  auto head = reply(200, 11, std::string(300, 'a'));
  head.prepare_payload();
  head.body().clear();
  check_same(head, false);
}

TEST_CASE("response bytes: headers without a body and chunked stream headers", "[http][response]") {
  Header go_on{bhttp::status::continue_, 11};
  check_same(go_on, false);
  check_same(go_on, true);

  Header stream{bhttp::status::ok, 11};
  stream.set(bhttp::field::content_type, "application/x-ndjson");
  stream.keep_alive(true);
  stream.chunked(true);  // Beast's serializer writes these
  check_same(stream, true);

  Header raw{bhttp::status::ok, 10};
  raw.set(bhttp::field::content_type, "application/x-ndjson");
  raw.keep_alive(false);
  check_same(raw, true);
}

namespace {

// What Beast writes for `reply` when its message is built the way Exchange::prepare builds it.
std::string beast_bytes(const DirectReply& d) {
  Reply r{static_cast<bhttp::status>(d.status), d.version};
  for_each_common_field(
      d.content_type, d.cors_origin,
      [&r](std::string_view name, std::string_view value) { r.set(name, value); });
  r.keep_alive(d.keep_alive);
  r.body() = std::string(d.body);
  r.prepare_payload();
  if (d.head) r.body().clear();
  std::string out;
  append_serialized(out, r, false);
  return out;
}

}  // namespace

TEST_CASE("response bytes: direct replies match Beast's message and serializer",
          "[http][response]") {
  const std::vector<int> statuses = {200, 201, 202, 301, 400, 401, 403, 404, 405,
                                     409, 413, 415, 421, 429, 431, 500, 501, 503};
  std::size_t compared = 0;
  for (const int status : statuses) {
    for (const unsigned version : {10U, 11U}) {
      for (const bool keep_alive : {false, true}) {
        for (const bool head : {false, true}) {
          for (const char* content_type : {"application/json", "", "text/html; charset=utf-8"}) {
            for (const char* cors : {"", "https://admin.example"}) {
              for (const char* body : {"", R"({"allow":true})", "x\r\n\r\ny"}) {
                const DirectReply d{status, version, keep_alive, head, content_type, cors, body};
                INFO("status " << status << " HTTP/1." << version % 10 << " keep-alive "
                               << keep_alive << " head " << head << " type `" << content_type
                               << "` origin `" << cors << "` body `" << body << "`");
                REQUIRE(direct_reply_fits(d));
                std::string ours = "earlier bytes|";
                append_direct_reply(ours, d);
                CHECK(ours == "earlier bytes|" + beast_bytes(d));
                ++compared;
              }
            }
          }
        }
      }
    }
  }
  CHECK(compared == 18 * 2 * 2 * 2 * 3 * 2 * 3);
}

TEST_CASE("response bytes: what a direct reply cannot write goes to Beast", "[http][response]") {
  const auto fits = [](int status, unsigned version, const char* type, const char* origin) {
    return direct_reply_fits(DirectReply{status, version, true, false, type, origin, ""});
  };
  CHECK(fits(200, 11, "application/json", ""));
  for (const int status : {100, 101, 199, 204, 304}) CHECK_FALSE(fits(status, 11, "a/b", ""));
  CHECK_FALSE(fits(200, 20, "a/b", ""));
  CHECK_FALSE(fits(200, 9, "a/b", ""));
  CHECK_FALSE(fits(200, 11, " a/b", ""));
  CHECK_FALSE(fits(200, 11, "a/b\t", ""));
  CHECK_FALSE(fits(200, 11, "a/b", "https://x "));
}

}  // namespace response_bytes_test
