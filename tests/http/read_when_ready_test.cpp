// async_read_when_ready (app/http/src/read_when_ready.hpp): a read that skips the receive on a
// socket it just drained must still never leave bytes waiting, whether they came before the read
// started, after it, or beyond a full buffer; and it ends like any read.
#include "../../app/http/src/read_when_ready.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/write.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

namespace read_when_ready_test {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using postern::http::detail::async_read_when_ready;

namespace {

struct Result {
  boost::system::error_code ec;
  std::size_t bytes = 0;
};

// A connected pair over loopback: `server` is read by the operation, `client` writes.
struct Pair {
  asio::io_context io;
  tcp::socket server{io};
  tcp::socket client{io};

  Pair() {
    tcp::acceptor acceptor{io, tcp::endpoint{asio::ip::make_address("127.0.0.1"), 0}};
    client.connect(acceptor.local_endpoint());
    acceptor.accept(server);
    server.non_blocking(true);
  }

  void send(const std::string& text) { asio::write(client, asio::buffer(text)); }

  // Lets the reactor take the readiness events that are there, with or without a read waiting.
  void take_events() {
    auto work = asio::make_work_guard(io);  // without work, poll returns before looking
    io.restart();
    io.poll();
  }

  // Starts a read into `buffer`; the result is set when the handler runs.
  void start_read(std::string& buffer, std::optional<Result>& result) {
    async_read_when_ready(server, asio::buffer(buffer),
                          [&result](boost::system::error_code ec, std::size_t bytes) {
                            result = Result{ec, bytes};
                          });
  }

  // Runs handlers until the read finished. The bound only ends a test that would otherwise hang
  // on a read that never completes; a passing test returns as soon as the handler ran.
  void run_until(const std::optional<Result>& result) {
    io.restart();  // a poll without work stops the io_context
    for (int i = 0; i < 50 && !result; ++i) io.run_one_for(std::chrono::milliseconds(100));
  }
};

std::string read_once(Pair& pair, std::size_t size) {
  std::string buffer(size, '\0');
  std::optional<Result> result;
  pair.start_read(buffer, result);
  pair.run_until(result);
  REQUIRE(result);
  REQUIRE_FALSE(result->ec);
  buffer.resize(result->bytes);
  return buffer;
}

}  // namespace

TEST_CASE("read when ready: bytes that come after the read started are read",
          "[http][read_when_ready]") {
  Pair pair;
  std::string buffer(64, '\0');
  std::optional<Result> result;
  pair.start_read(buffer, result);
  pair.take_events();  // nothing to read yet
  CHECK_FALSE(result);
  pair.send("GET / HTTP/1.1\r\n\r\n");
  pair.run_until(result);
  REQUIRE(result);
  CHECK_FALSE(result->ec);
  CHECK(buffer.substr(0, result->bytes) == "GET / HTTP/1.1\r\n\r\n");
}

TEST_CASE("read when ready: bytes that came after a drained read, before the next read, are read",
          "[http][read_when_ready]") {
  Pair pair;
  pair.send("first");
  CHECK(read_once(pair, 64) == "first");  // not a full buffer: the socket counts as drained
  pair.send("second");
  // The readiness event is taken while no read waits; the next read must receive at once, as no
  // other event will come for these bytes.
  pair.take_events();
  CHECK(read_once(pair, 64) == "second");
}

TEST_CASE("read when ready: a read that filled its buffer leaves the rest to the next read",
          "[http][read_when_ready]") {
  Pair pair;
  const std::string sent(40000, 'x');
  pair.send(sent);
  pair.take_events();
  std::string received;
  while (received.size() < sent.size()) {
    const auto piece = read_once(pair, 16384);  // no new bytes arrive between these reads
    REQUIRE_FALSE(piece.empty());
    received += piece;
  }
  CHECK(received == sent);
}

TEST_CASE("read when ready: many requests in turn on one connection", "[http][read_when_ready]") {
  Pair pair;
  for (int i = 0; i < 200; ++i) {
    const auto text = "request " + std::to_string(i);
    if (i % 2 == 0) pair.take_events();  // the event is taken before the read starts, or after
    pair.send(text);
    if (i % 3 == 0) pair.take_events();
    CHECK(read_once(pair, 64) == text);
  }
}

TEST_CASE("read when ready: end of stream, cancellation and closing end the read",
          "[http][read_when_ready]") {
  Pair pair;
  std::string buffer(64, '\0');
  std::optional<Result> result;
  pair.start_read(buffer, result);
  boost::system::error_code expected = asio::error::operation_aborted;
  SECTION("the peer closes") {
    pair.client.close();
    expected = asio::error::eof;
  }
  SECTION("cancel") { pair.server.cancel(); }
  SECTION("close") { pair.server.close(); }
  pair.run_until(result);
  REQUIRE(result);
  CHECK(result->ec == expected);
}

TEST_CASE("read when ready: a read pending when its io_context ends is freed, not called",
          "[http][read_when_ready]") {
  auto kept = std::make_shared<int>(0);
  bool called = false;
  {
    Pair pair;
    std::string buffer(64, '\0');
    async_read_when_ready(
        pair.server, asio::buffer(buffer),
        [kept, &called](boost::system::error_code, std::size_t) { called = true; });
    pair.take_events();
    CHECK(kept.use_count() == 2);
  }
  CHECK_FALSE(called);
  CHECK(kept.use_count() == 1);
}

}  // namespace read_when_ready_test
