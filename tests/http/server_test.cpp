// Routing, browser safety, authentication and the request/response cycle over real sockets.

#include <fmt/format.h>

#include <algorithm>
#include <catch2/catch.hpp>

#include "raw_client.hpp"
#include "test_server.hpp"

namespace server_test {

using namespace postern::test;
using namespace std::chrono_literals;

namespace {

RawResponse exchange(std::uint16_t port, const std::string& text, bool head = false) {
  RawClient client(port);
  REQUIRE(client.connected());
  REQUIRE(client.send(text));
  auto response = client.read_response(10s, head);
  REQUIRE(response);
  return *response;
}

std::string auth(std::string_view token) {
  return fmt::format("Authorization: Bearer {}\r\n", token);
}

}  // namespace

TEST_CASE("server: GET, HEAD, 404 and 405 with Allow", "[http][server]") {
  TestServer server;
  const auto health = exchange(server.port(), request_text("GET", "/v1/health"));
  CHECK(health.status == 200);
  CHECK(health.body == R"({"ok":true})");
  CHECK(health.header("Content-Type") == "application/json");

  const auto head = exchange(server.port(), request_text("HEAD", "/v1/health"), true);
  CHECK(head.status == 200);
  CHECK(head.header("Content-Length") == "11");

  const auto missing = exchange(server.port(), request_text("GET", "/v1/nothing"));
  CHECK(missing.status == 404);
  CHECK(missing.message() == "no route for `/v1/nothing`");

  const auto wrong = exchange(server.port(), request_text("GET", "/v1/echo"));
  CHECK(wrong.status == 405);
  CHECK(wrong.header("Allow") == "POST, OPTIONS");
  CHECK_THAT(wrong.message(), Catch::Contains("not allowed"));

  const auto options = exchange(server.port(), request_text("OPTIONS", "/v1/echo"));
  CHECK(options.status == 204);
  CHECK(options.header("Allow") == "POST, OPTIONS");
  CHECK_FALSE(options.header("Access-Control-Allow-Origin"));

  CHECK(exchange(server.port(), request_text("BREW", "/v1/health")).status == 501);
  CHECK(exchange(server.port(), "GET nonsense\r\n\r\n").status == 400);
  CHECK(exchange(server.port(), request_text("GET", "/v1/throw")).message() ==
        "internal error while handling the request");
}

TEST_CASE("server: path params and query strings are decoded", "[http][server]") {
  TestServer server;
  const auto raw = exchange(
      server.port(), request_text("GET", "/api/v2/device/n%201/attributes/custom:a?q=x+y%26z"));
  CHECK(raw.status == 200);
  CHECK(raw.body == R"({"id":"n 1","key":"custom:a","q":"x y&z"})");
  const auto encoded =
      exchange(server.port(), request_text("GET", "/api/v2/device/7/attributes/custom%3Aa"));
  CHECK(encoded.body == R"({"id":"7","key":"custom:a","q":null})");
  CHECK(exchange(server.port(), request_text("GET", "/api/v2/device/%zz/attributes/k")).status ==
        400);
  CHECK(exchange(server.port(), request_text("GET", "/api/v2/device/1/attributes/k?q=%")).status ==
        400);
}

TEST_CASE("server: a connection closed between or inside requests is released at once",
          "[http][server]") {
  // Between requests the server waits with a read, not a wait for readability; the end of
  // stream that read returns must release the connection without the idle timeout.
  auto options = test_options();
  options.limits.idle_timeout = 60s;
  options.limits.header_timeout = 60s;
  TestServer server(options);
  {
    RawClient client(server.port());
    REQUIRE(client.send(request_text("GET", "/v1/health")));
    CHECK(client.read_response()->status == 200);
    REQUIRE(client.send(request_text("GET", "/v1/health")));  // the same connection, again
    CHECK(client.read_response()->status == 200);
    REQUIRE(server.server().wait_for_open_connections(1, 20s));
  }
  CHECK(server.server().wait_for_open_connections(0, 20s));
  {
    RawClient client(server.port());
    REQUIRE(client.send("GET /v1/health HTTP/1.1\r\nHo"));  // half a header, then gone
    REQUIRE(server.server().wait_for_open_connections(1, 20s));
  }
  CHECK(server.server().wait_for_open_connections(0, 20s));
  // A request in two pieces is read across the wait.
  RawClient split(server.port());
  REQUIRE(split.send("GET /v1/health HTTP/1.1\r\nHo"));
  REQUIRE(split.send("st: 127.0.0.1\r\n\r\n"));
  const auto answered = split.read_response();
  REQUIRE(answered);
  CHECK(answered->status == 200);
}

TEST_CASE("server: a POST without body or Content-Length is answered at once", "[http][server]") {
  TestServer server;
  // The body timeout is 300 ms: waiting for a body would answer 408, not 200.
  const auto response = exchange(
      server.port(), "POST /v1/echo HTTP/1.1\r\nHost: 127.0.0.1\r\n" + auth(kGoodToken) + "\r\n");
  CHECK(response.status == 200);
  CHECK(response.body == R"({"actor":"key:good","bytes":0})");
}

TEST_CASE("server: bodies over 8 KB and pipelined requests", "[http][server]") {
  TestServer server;
  const std::string big = fmt::format(R"({{"pad": "{}"}})", std::string(200'000, 'p'));
  const auto response = exchange(
      server.port(), request_text("POST", "/v1/echo", big,
                                  auth(kGoodToken) + "Content-Type: application/json\r\n"));
  CHECK(response.status == 200);
  CHECK(response.body == fmt::format(R"({{"actor":"key:good","bytes":{}}})", big.size()));

  RawClient client(server.port());
  std::string pipelined;
  for (int i = 0; i < 20; ++i) {
    pipelined += request_text("GET", fmt::format("/api/v2/device/{}/attributes/k", i));
  }
  REQUIRE(client.send(pipelined));
  for (int i = 0; i < 20; ++i) {
    const auto answer = client.read_response();
    REQUIRE(answer);
    CHECK(answer->body == fmt::format(R"({{"id":"{}","key":"k","q":null}})", i));
  }
}

// Bodies are appended piece by piece as they arrive (request_body.hpp): every byte in order,
// whether framed by Content-Length, in chunks of any size, or split across sends.
TEST_CASE("server: a body arrives byte for byte, whole or in chunks", "[http][server]") {
  TestServer server;
  std::string text = R"({"pad":")";
  for (int i = 0; i < 5000; ++i) text += static_cast<char>('a' + i % 26);
  text += R"(","n":[1,2,3],"s":"\u00e9"})";
  const auto headers = "POST /v1/json HTTP/1.1\r\nHost: 127.0.0.1\r\n" + auth(kGoodToken) +
                       "Content-Type: application/json\r\n";
  const auto expected = nlohmann::json::parse(text).dump();
  for (const std::size_t chunk_bytes :
       {std::size_t{1}, std::size_t{7}, std::size_t{300}, std::size_t{64 * 1024}}) {
    INFO("chunks of " << chunk_bytes);
    std::string request = headers + "Transfer-Encoding: chunked\r\n\r\n";
    for (std::size_t at = 0; at < text.size(); at += chunk_bytes) {
      const auto piece = text.substr(at, chunk_bytes);
      request += fmt::format("{:x}\r\n{}\r\n", piece.size(), piece);
    }
    request += "0\r\n\r\n";
    const auto answer = exchange(server.port(), request);
    CHECK(answer.status == 200);
    CHECK(answer.body == expected);
  }
  // Content-Length, the request sent in pieces of 1,000 bytes.
  RawClient client(server.port());
  const auto request = headers + fmt::format("Content-Length: {}\r\n\r\n", text.size()) + text;
  for (std::size_t at = 0; at < request.size(); at += 1000) {
    REQUIRE(client.send(request.substr(at, 1000)));
  }
  const auto answer = client.read_response();
  REQUIRE(answer);
  CHECK(answer->status == 200);
  CHECK(answer->body == expected);
}

// What follows a refused request on its connection is never answered: the server cannot know
// where that request ended, so it closes after the rejection.
TEST_CASE("server: a request framed two ways is refused and its connection closed (smuggling)",
          "[http][server]") {
  TestServer server;
  const std::string smuggled = "GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  const std::string post =
      "POST /v1/json HTTP/1.1\r\nHost: 127.0.0.1\r\n"
      "Content-Type: application/json\r\n";
  struct Case {
    std::string text;
    int status;
    std::string message;
  };
  const std::vector<Case> cases{
      {post + "Transfer-Encoding: gzip\r\n\r\n" + smuggled, 400,
       "Transfer-Encoding does not end with `chunked` (last coding `gzip`), so where the body "
       "ends is unknown (send `Transfer-Encoding: chunked` or Content-Length)"},
      {post + "Transfer-Encoding: chunked, identity\r\n\r\n" + smuggled, 400,
       "Transfer-Encoding does not end with `chunked` (last coding `identity`), so where the "
       "body ends is unknown (send `Transfer-Encoding: chunked` or Content-Length)"},
      {"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: xchunked\r\n\r\n" +
           smuggled,
       400,
       "Transfer-Encoding does not end with `chunked` (last coding `xchunked`), so where the "
       "body ends is unknown (send `Transfer-Encoding: chunked` or Content-Length)"},
      {post + "Transfer-Encoding: chunked, chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n" + smuggled, 400,
       "Transfer-Encoding applies `chunked` more than once"},
      {post + "Transfer-Encoding: gzip, chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n" + smuggled, 501,
       "transfer coding `gzip` is not supported (send the body with `Transfer-Encoding: "
       "chunked` alone, or with Content-Length)"},
      {post + "Transfer-Encoding: identity\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" +
           smuggled,
       501,
       "transfer coding `identity` is not supported (send the body with `Transfer-Encoding: "
       "chunked` alone, or with Content-Length)"},
      {post + "Transfer-Encoding: ,\r\n\r\n" + smuggled, 400,
       "Transfer-Encoding names no coding (send `Transfer-Encoding: chunked` or Content-Length)"},
      {"POST /v1/json HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
       "Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n" +
           smuggled,
       400, "Transfer-Encoding is not allowed in an HTTP/1.0 request (send Content-Length)"},
      {"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: evil.example.com\r\n\r\n" + smuggled,
       400, "the Host header appears more than once (send it once)"},
      {"POST /v1/echo HTTP/1.1\r\nHost: 127.0.0.1\r\n" + auth(kGoodToken) + auth("other") +
           "Content-Length: 0\r\n\r\n" + smuggled,
       400, "the Authorization header appears more than once (send it once)"},
      {post + "Content-Type: text/plain\r\nContent-Length: 2\r\n\r\n{}" + smuggled, 400,
       "the Content-Type header appears more than once (send it once)"},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    RawClient client(server.port());
    REQUIRE(client.send(c.text));
    const auto refused = client.read_response();
    REQUIRE(refused);
    CHECK(refused->status == c.status);
    CHECK(refused->message() == c.message);
    const bool http_1_0 = c.text.substr(0, c.text.find('\r')).ends_with("HTTP/1.0");
    if (!http_1_0) {  // an HTTP/1.0 answer closes without saying so
      CHECK(refused->header("Connection") == std::optional<std::string_view>("close"));
    }
    CHECK_FALSE(client.read_response(5s));  // the smuggled GET is not answered
    CHECK(client.closed_within(5s));
  }
  // The one coding a request may carry, in any letter case, frames its body.
  const auto chunked = exchange(server.port(), post +
                                                   "Transfer-Encoding: Chunked\r\n\r\n"
                                                   "7\r\n{\"a\":1}\r\n0\r\n\r\n");
  CHECK(chunked.status == 200);
  CHECK(chunked.body == R"({"a":1})");
}

// RFC 9112 §3.2.2: servers accept a target in absolute form; its authority must be the Host
// header's, which the Host rule checks as before.
TEST_CASE("server: a target in absolute form is served as its path", "[http][server]") {
  TestServer server;
  const auto get = [&](std::string_view target, std::string_view host) {
    return exchange(server.port(),
                    fmt::format("GET {} HTTP/1.1\r\nHost: {}\r\n\r\n", target, host));
  };
  CHECK(get("http://127.0.0.1/v1/health", "127.0.0.1").status == 200);
  CHECK(get("HTTPS://LOCALHOST:8080/v1/health", "localhost:8080").status == 200);
  const auto with_query = get("http://127.0.0.1/v1/stream?lines=2", "127.0.0.1");
  CHECK(with_query.status == 200);
  CHECK(with_query.body == "line 0\nline 1\n");
  CHECK(get("http://127.0.0.1?x=1", "127.0.0.1").message() == "no route for `/`");

  const auto elsewhere = get("http://evil.example.com/v1/health", "127.0.0.1");
  CHECK(elsewhere.status == 400);
  CHECK(elsewhere.message() ==
        "the request target names `evil.example.com` but the Host header is `127.0.0.1` (they "
        "must be the same)");
  CHECK(get("http://evil.example.com/v1/health", "evil.example.com").status == 421);
  CHECK(get("http://user@127.0.0.1/v1/health", "user@127.0.0.1").message() ==
        "the request target may not carry user information (`@`)");
  for (const auto* target : {"v1/health", "ftp://127.0.0.1/v1/health", "http://"}) {
    INFO(target);
    const auto refused = get(target, "127.0.0.1");
    CHECK(refused.status == 400);
    CHECK(refused.message() ==
          "the request target must be a path starting with `/` or an http(s) URL");
  }
}

// RFC 9110 §9.3.7: `OPTIONS *` asks what the server as a whole takes; `*` means nothing else.
TEST_CASE("server: OPTIONS with the asterisk target lists the server's methods", "[http][server]") {
  TestServer server;
  const auto send = [&](std::string_view method) {
    return exchange(server.port(), fmt::format("{} * HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", method));
  };
  const auto options = send("OPTIONS");
  CHECK(options.status == 204);
  CHECK(options.header("Allow").value_or("") == "GET, HEAD, POST, OPTIONS");
  CHECK(options.body.empty());
  CHECK_FALSE(options.header("Content-Length"));  // RFC 9110 §8.6: never on a 204
  const auto get = send("GET");
  CHECK(get.status == 400);
  CHECK(get.message() == "the request target `*` is only for OPTIONS");
  CHECK(exchange(server.port(), "OPTIONS * HTTP/1.1\r\nHost: evil.example.com\r\n\r\n").status ==
        421);
}

TEST_CASE("server: JSON bodies need a JSON Content-Type (415)", "[http][server][browser]") {
  TestServer server;
  const auto send = [&](std::string_view route, std::string_view type) {
    const auto extra = auth(kGoodToken) +
                       (type.empty() ? std::string() : fmt::format("Content-Type: {}\r\n", type));
    return exchange(server.port(), request_text("POST", route, "{}", extra));
  };
  const auto plain = send("/v1/echo", "text/plain");
  CHECK(plain.status == 415);
  CHECK(plain.message() ==
        "request body must have Content-Type application/json (got `text/plain`)");
  CHECK(send("/v1/echo", "").status == 415);
  CHECK(send("/v1/echo", "application/x-www-form-urlencoded").status == 415);
  CHECK(send("/v1/echo", "Application/JSON; charset=utf-8").status == 200);
  CHECK(send("/v1/echo", "application/json ; charset=utf-8").status == 200);
  CHECK(send("/v1/echo", "application/hujson").status == 415);
  CHECK(send("/api/v2/tailnet/-/acl", "application/hujson").status == 200);
  CHECK(send("/api/v2/tailnet/-/acl", "application/json").status == 200);
}

TEST_CASE("server: the Host header must name this server (DNS rebinding)",
          "[http][server][browser]") {
  auto options = test_options();
  options.allowed_hosts = {"postern.example.com"};
  TestServer server(options);
  const auto with_host = [&](std::string_view host) {
    return exchange(server.port(),
                    fmt::format("GET /v1/health HTTP/1.1\r\nHost: {}\r\n\r\n", host));
  };
  for (const auto* host :
       {"localhost", "localhost:8080", "127.0.0.1", "127.0.0.1:1", "127.1.2.3", "[::1]",
        "[::1]:9090", "LOCALHOST", "postern.example.com:443", "POSTERN.Example.com", "[0:0::1]"}) {
    INFO(host);
    CHECK(with_host(host).status == 200);
  }
  const auto evil = with_host("evil.example.com");
  CHECK(evil.status == 421);
  CHECK(evil.message() ==
        "host `evil.example.com` is not a name this server answers to (add it with --host)");
  CHECK(with_host("localhost.evil.com").status == 421);
  CHECK(with_host("postern.example.co").status == 421);
  CHECK(with_host("postern.example.com.evil.com").status == 421);
  CHECK(with_host("127.0.0.1:80x").status == 421);
  CHECK(with_host("[::2]").status == 421);
  CHECK(exchange(server.port(), "GET /v1/health HTTP/1.1\r\n\r\n").status == 400);
}

TEST_CASE("server: cross-origin state changes are refused, CORS only when configured",
          "[http][server][browser]") {
  TestServer server;
  const auto post_from = [&](const std::string& origin) {
    return exchange(server.port(),
                    request_text("POST", "/v1/echo", "{}",
                                 auth(kGoodToken) + "Content-Type: application/json\r\nOrigin: " +
                                     origin + "\r\n"));
  };
  const auto foreign = post_from("http://evil.example.com");
  CHECK(foreign.status == 403);
  CHECK(foreign.message() == "cross-origin request from `http://evil.example.com` refused");
  CHECK(post_from("null").status == 403);
  CHECK(post_from("http://127.0.0.1").status == 200);  // same origin: Host is 127.0.0.1

  const auto read = exchange(
      server.port(), request_text("GET", "/v1/health", {}, "Origin: http://evil.example.com\r\n"));
  CHECK(read.status == 200);
  CHECK_FALSE(read.header("Access-Control-Allow-Origin"));

  const auto preflight = exchange(
      server.port(),
      request_text("OPTIONS", "/v1/echo", {},
                   "Origin: http://evil.example.com\r\nAccess-Control-Request-Method: POST\r\n"));
  CHECK(preflight.status == 403);

  auto options = test_options();
  options.cors_origins = {"https://console.example.com"};
  TestServer cors(options);
  const auto allowed = exchange(
      cors.port(),
      request_text(
          "OPTIONS", "/v1/echo", {},
          "Origin: https://console.example.com\r\nAccess-Control-Request-Method: POST\r\n"));
  CHECK(allowed.status == 204);
  CHECK(allowed.header("Access-Control-Allow-Origin") == "https://console.example.com");
  CHECK(allowed.header("Access-Control-Allow-Methods") == "POST, OPTIONS");
  CHECK_THAT(std::string(allowed.header("Access-Control-Allow-Headers").value_or("")),
             Catch::Contains("Authorization"));
  const auto call = exchange(
      cors.port(), request_text("POST", "/v1/echo", "{}",
                                auth(kGoodToken) + "Content-Type: application/json\r\n"
                                                   "Origin: https://console.example.com\r\n"));
  CHECK(call.status == 200);
  CHECK(call.header("Access-Control-Allow-Origin") == "https://console.example.com");
  CHECK(call.header("Vary") == "Origin");
}

TEST_CASE("server: credentials reach the Authenticator, 401 and 403 come back",
          "[http][server][auth]") {
  TestServer server;
  const auto echo = [&](const std::string& header) {
    return exchange(server.port(), request_text("POST", "/v1/echo", "{}",
                                                header + "Content-Type: application/json\r\n"));
  };
  const auto none = echo("");
  CHECK(none.status == 401);
  CHECK(none.message() == "a credential is required");
  CHECK(none.header("WWW-Authenticate"));
  CHECK(echo(auth("wrong")).status == 401);
  CHECK(echo("Authorization: Bearer\r\n").message() ==
        "malformed Authorization header: expected `Bearer TOKEN` or `Basic base64(TOKEN:)`");
  const auto limited = echo(auth(kLimitedToken));
  CHECK(limited.status == 403);
  CHECK(limited.message() == "missing scope `all`");
  // base64("good-token:")
  const auto basic = echo("Authorization: Basic Z29vZC10b2tlbjo=\r\n");
  CHECK(basic.status == 200);
  CHECK(basic.body == R"({"actor":"key:good","bytes":2})");

  auto options = test_options();
  options.authenticator = nullptr;
  TestServer no_authenticator(options);
  CHECK(exchange(no_authenticator.port(),
                 request_text("POST", "/v1/echo", "{}",
                              auth(kGoodToken) + "Content-Type: application/json\r\n"))
            .status == 401);
}

TEST_CASE("server: 80,000-deep JSON and duplicate keys are refused cleanly",
          "[http][server][json]") {
  TestServer server;
  const auto post_json = [&](const std::string& body) {
    return exchange(server.port(),
                    request_text("POST", "/v1/json", body, "Content-Type: application/json\r\n"));
  };
  const auto deep = post_json(std::string(80'000, '[') + std::string(80'000, ']'));
  CHECK(deep.status == 400);
  CHECK_THAT(deep.message(),
             Catch::Contains("JSON nesting exceeds the limit of 512 levels (--max-json-depth)"));
  const auto proto = post_json(R"({"src": "a", "proto": )" + std::string(80'000, '{'));
  CHECK(proto.status == 400);
  const auto duplicate = post_json(R"({"queries": [{"src": "a", "src": "b"}]})");
  CHECK(duplicate.status == 400);
  CHECK(duplicate.message() == "invalid JSON: duplicate object key `src` at `/queries/0/src`");
  CHECK(exchange(server.port(), request_text("GET", "/v1/health")).status == 200);
}

TEST_CASE("server: streamed responses arrive whole and in chunks", "[http][server][stream]") {
  TestServer server;
  const auto streamed = exchange(server.port(), request_text("GET", "/v1/stream?lines=100000"));
  CHECK(streamed.status == 200);
  CHECK(streamed.header("Transfer-Encoding") == "chunked");
  CHECK(std::count(streamed.body.begin(), streamed.body.end(), '\n') == 100'000);
  CHECK(streamed.body.rfind("line 99999\n") == streamed.body.size() - 11);

  const auto head = exchange(server.port(), request_text("HEAD", "/v1/stream?lines=5"), true);
  CHECK(head.status == 200);

  // A streamed answer leaves the connection usable for the next request.
  RawClient client(server.port());
  REQUIRE(
      client.send(request_text("GET", "/v1/stream?lines=3") + request_text("GET", "/v1/health")));
  CHECK(client.read_response()->body == "line 0\nline 1\nline 2\n");
  CHECK(client.read_response()->status == 200);
}

TEST_CASE("server: a handler may hand work to the other threads, none when there is one",
          "[http][server][helpers]") {
  TestServer two;  // test_options: two threads
  const auto shared = exchange(two.port(), request_text("GET", "/v1/helpers"));
  CHECK(shared.status == 200);
  CHECK(shared.body == R"({"elsewhere":true,"helpers":1})");

  auto options = test_options();
  options.threads = 1;
  TestServer one(options);
  CHECK(exchange(one.port(), request_text("GET", "/v1/helpers")).body == R"({"helpers":0})");
}

TEST_CASE("server: the access log names route, status and actor, never the credential",
          "[http][server][log]") {
  TestServer server;
  exchange(server.port(), request_text("POST", "/v1/echo", "{}",
                                       auth(kGoodToken) + "Content-Type: application/json\r\n"));
  exchange(server.port(), request_text("GET", "/v1/nothing"));
  REQUIRE(server.log().wait_for_entries(2, std::chrono::seconds(20)));
  // Two connections: their records may arrive in either order.
  auto entries = server.log().entries();
  std::sort(entries.begin(), entries.end(),
            [](const LoggedExchange& a, const LoggedExchange& b) { return a.status < b.status; });
  CHECK(entries[0].method == "POST");
  CHECK(entries[0].route == "/v1/echo");
  CHECK(entries[0].status == 200);
  CHECK(entries[0].actor == "key:good");
  CHECK(entries[0].request_body_bytes == 2);
  CHECK(entries[0].response_bytes > 0);
  CHECK(entries[1].method == "GET");
  CHECK(entries[1].route.empty());
  CHECK(entries[1].status == 404);
}

TEST_CASE("server: Expect 100-continue is answered only after the checks pass", "[http][server]") {
  TestServer server;
  const std::string head_only =
      "POST /v1/echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
      "Content-Length: 2\r\nExpect: 100-continue\r\n";
  RawClient client(server.port());
  REQUIRE(client.send(head_only + auth(kGoodToken) + "\r\n"));
  const auto go_on = client.read_response();
  REQUIRE(go_on);
  CHECK(go_on->status == 100);
  REQUIRE(client.send("{}"));
  const auto answer = client.read_response();
  REQUIRE(answer);
  CHECK(answer->status == 200);
  CHECK(answer->body == R"({"actor":"key:good","bytes":2})");

  // Refused before the body: the refusal comes instead of 100, and the connection closes.
  RawClient refused(server.port());
  REQUIRE(refused.send(head_only + auth("wrong-token") + "\r\n"));
  const auto denial = refused.read_response();
  REQUIRE(denial);
  CHECK(denial->status == 401);
  CHECK(denial->header("Connection") == "close");
  CHECK(refused.closed_within(5s));
}

TEST_CASE("server: an HTTP/1.0 Expect 100-continue is ignored", "[http][server]") {
  // HTTP/1.0 cannot read a 1xx (RFC 9110 §10.1.1): the server waits for the body without one,
  // so the first answer to a head alone is the body timeout's 408, never a 100.
  auto options = test_options();
  options.limits.body_timeout = 300ms;
  TestServer server(options);
  RawClient old(server.port());
  REQUIRE(
      old.send("POST /v1/echo HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
               "Content-Length: 2\r\nExpect: 100-continue\r\n" +
               auth(kGoodToken) + "\r\n"));
  const auto first = old.read_response();
  REQUIRE(first);
  CHECK(first->status == 408);
}

TEST_CASE("server: HTTP/1.0 gets a streamed body unframed, then the connection closes",
          "[http][server][stream]") {
  TestServer server;
  RawClient client(server.port());
  REQUIRE(client.send("GET /v1/stream?lines=1000 HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n"));
  const auto answer = client.read_response();  // no length, not chunked: read to the close
  REQUIRE(answer);
  CHECK(answer->status == 200);
  CHECK_FALSE(answer->header("Transfer-Encoding"));
  CHECK(std::count(answer->body.begin(), answer->body.end(), '\n') == 1000);
  CHECK(answer->body.rfind("line 999\n") == answer->body.size() - 9);
}

}  // namespace server_test
