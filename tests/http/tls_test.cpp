// HTTPS with a self-signed certificate made at test time through OpenSSL's API.

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

}  // namespace

TEST_CASE("tls: HTTPS with a self-signed certificate, TLS 1.1 refused", "[http][tls]") {
  const ScratchDir dir("postern-http-tls");
  const auto cert = dir.file("cert.pem").string();
  const auto key = dir.file("key.pem").string();
  make_self_signed(cert, key);

  auto options = test_options();
  options.tls = postern::http::TlsFiles{cert, key};
  TestServer server(options);
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
