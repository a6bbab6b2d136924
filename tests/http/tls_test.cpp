// HTTPS with a self-signed certificate made at test time through OpenSSL's API.

#include <fmt/format.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "scratch.hpp"
#include "self_signed.hpp"
#include "test_server.hpp"

namespace tls_test {

using namespace postern::test;
namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;

namespace {

// One GET over TLS with `client`; the whole response text.
std::string https_get(ssl::context& client, std::uint16_t port, const std::string& target) {
  asio::io_context io;
  ssl::stream<asio::ip::tcp::socket> stream(io, client);
  stream.next_layer().connect({asio::ip::make_address("127.0.0.1"), port});
  stream.handshake(ssl::stream_base::client);
  const std::string request =
      "GET " + target + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
  asio::write(stream, asio::buffer(request));
  std::string response;
  boost::system::error_code ec;
  asio::read(stream, asio::dynamic_buffer(response), ec);
  return response;
}

// Test options serving HTTPS with a self-signed certificate made in `dir` (cert.pem, key.pem).
postern::http::ServerOptions https_options(const ScratchDir& dir) {
  const auto cert = dir.file("cert.pem").string();
  const auto key = dir.file("key.pem").string();
  make_self_signed(cert, key);
  auto options = test_options();
  options.tls = postern::http::TlsFiles{cert, key};
  return options;
}

}  // namespace

TEST_CASE("tls: HTTPS with a self-signed certificate, TLS 1.1 refused", "[http][tls]") {
  const ScratchDir dir("postern-http-tls");
  TestServer server(https_options(dir));
  const auto cert = dir.file("cert.pem").string();
  CHECK(server.server().uses_tls());

  ssl::context client(ssl::context::tls_client);
  client.load_verify_file(cert);
  client.set_verify_mode(ssl::verify_peer);
  const auto response = https_get(client, server.port(), "/v1/health");
  CHECK(response.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(response.find(R"({"ok":true})") != std::string::npos);

  ssl::context old_client(ssl::context::tls_client);
  SSL_CTX_set_max_proto_version(old_client.native_handle(), TLS1_1_VERSION);
  old_client.set_verify_mode(ssl::verify_none);
  CHECK_THROWS(https_get(old_client, server.port(), "/v1/health"));
}

// A TLS 1.2 client asks for a new handshake on an open connection: refused (each would cost the
// server a handshake's CPU, as often as the client likes). OpenSSL's own calls, on a blocking
// socket whose reads give up after ten seconds.
TEST_CASE("tls: a client may not renegotiate", "[http][tls]") {
  const ScratchDir dir("postern-http-tls-reneg");
  TestServer server(https_options(dir));

  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  socket.connect({asio::ip::make_address("127.0.0.1"), server.port()});
  const timeval ten_seconds{10, 0};
  REQUIRE(setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &ten_seconds,
                     sizeof ten_seconds) == 0);
  const std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> context(SSL_CTX_new(TLS_client_method()),
                                                                  SSL_CTX_free);
  SSL_CTX_set_max_proto_version(context.get(), TLS1_2_VERSION);
  const std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(context.get()), SSL_free);
  SSL_set_fd(ssl.get(), socket.native_handle());
  REQUIRE(SSL_connect(ssl.get()) == 1);
  CHECK(SSL_version(ssl.get()) == TLS1_2_VERSION);
  REQUIRE(SSL_renegotiate(ssl.get()) == 1);
  CHECK(SSL_do_handshake(ssl.get()) != 1);
}

TEST_CASE("tls: a key that does not belong to the certificate is reported at start",
          "[http][tls]") {
  const ScratchDir dir("postern-http-tls-pair");
  make_self_signed(dir.file("a.pem").string(), dir.file("a.key").string());
  make_self_signed(dir.file("b.pem").string(), dir.file("b.key").string());
  auto options = test_options();
  options.tls = postern::http::TlsFiles{dir.file("a.pem").string(), dir.file("b.key").string()};
  const auto started = postern::http::Server::start(test_router(), options);
  CHECK_FALSE(started.server);
  CHECK(started.error ==
        fmt::format("cannot load TLS key `{}`: key values mismatch", dir.file("b.key").string()));
}

TEST_CASE("tls: unreadable certificate files are reported at start", "[http][tls]") {
  auto options = test_options();
  options.tls = postern::http::TlsFiles{"/nonexistent/cert.pem", "/nonexistent/key.pem"};
  const auto started = postern::http::Server::start(test_router(), options);
  CHECK_FALSE(started.server);
  CHECK_THAT(started.error,
             Catch::StartsWith("cannot load TLS certificate `/nonexistent/cert.pem`"));

  options.tls.reset();
  options.listen = {{"not-an-address", 0}};
  CHECK(postern::http::Server::start(test_router(), options).error ==
        "cannot listen on not-an-address:0: not an IP address");
}

}  // namespace tls_test
