// CurlTransport::cancel ends a request in flight: a stopping server does not wait out a slow
// provider's answer (a minute per attempt in production; found by an operator review: SIGTERM
// took 240 s). The peer is a socket the test holds: it cancels once the request has arrived, so
// nothing waits on a timer.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <future>
#include <string>
#include <thread>

#include "postern/sync/http_transport.hpp"

namespace curl_cancel_test {

using namespace postern;

namespace {

// A loopback listener that never answers.
struct SilentPeer {
  int listener = -1;
  int port = 0;

  SilentPeer() {
    listener = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(listener >= 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(::listen(listener, 1) == 0);
    socklen_t length = sizeof address;
    REQUIRE(::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) == 0);
    port = ntohs(address.sin_port);
  }
  ~SilentPeer() { ::close(listener); }
  SilentPeer(const SilentPeer&) = delete;
  SilentPeer& operator=(const SilentPeer&) = delete;
};

}  // namespace

TEST_CASE("a cancel ends a request in flight and fails later ones at once", "[sync][curl]") {
  SilentPeer peer;
  const auto transport = sync::make_curl_transport();
  std::promise<void> answered;
  std::thread server([&] {
    const int connection = ::accept(peer.listener, nullptr, nullptr);
    if (connection < 0) return;  // the client never connected: the listener was shut below
    char request[512];
    (void)::recv(connection, request, sizeof request, 0);  // the request has arrived
    transport->cancel();
    answered.get_future().wait();  // held open, unanswered, until the client gave up
    ::close(connection);
  });
  sync::HttpRequest request;
  request.url = "http://127.0.0.1:" + std::to_string(peer.port) + "/api/v1/devices";
  request.timeout = sync::Millis{60'000};
  const auto started = std::chrono::steady_clock::now();
  const auto result = transport->get(request);
  const auto took = std::chrono::steady_clock::now() - started;
  answered.set_value();
  ::shutdown(peer.listener, SHUT_RDWR);  // ends an accept still waiting, if any
  server.join();
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().message.find("cancelled") != std::string::npos);
  CHECK(took < std::chrono::seconds(10));  // the progress callback runs about once a second
  CHECK(transport->cancelled());
  const auto later = transport->get(request);
  REQUIRE_FALSE(later.ok());
  CHECK(later.error().message.find("cancelled") != std::string::npos);
}

}  // namespace curl_cancel_test
