// Every limit of the serving layer, over real sockets: sizes, counts, timeouts, connection caps,
// and the graceful stop. Timeouts are a few hundred milliseconds; nothing sleeps to prove a point.

#include <fmt/format.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <future>
#include <thread>

#include "raw_client.hpp"
#include "test_server.hpp"

namespace limits_test {

using namespace postern::test;
using namespace std::chrono_literals;

namespace {

const std::string kJson = "Content-Type: application/json\r\nAuthorization: Bearer good-token\r\n";

std::size_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::size_t pages = 0;
  std::size_t resident = 0;
  statm >> pages >> resident;
  return resident * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

}  // namespace

TEST_CASE("limits: header bytes and header count answer 431", "[http][limits]") {
  TestServer server;
  RawClient big(server.port());
  const auto long_header =
      request_text("GET", "/v1/health", {}, "X-Pad: " + std::string(20'000, 'a') + "\r\n");
  big.send_until_answered(long_header, 10s);
  const auto too_big = big.read_response();
  REQUIRE(too_big);
  CHECK(too_big->status == 431);
  CHECK(too_big->message() ==
        "request header exceeds the limit of 16384 bytes (--max-header-bytes)");

  std::string many;
  for (int i = 0; i < 150; ++i) many += fmt::format("X-H{}: v\r\n", i);
  RawClient counted(server.port());
  REQUIRE(counted.send(request_text("GET", "/v1/health", {}, many)));
  const auto too_many = counted.read_response();
  REQUIRE(too_many);
  CHECK(too_many->status == 431);
  CHECK(too_many->message() ==
        "request has more header fields than the limit of 100 (--max-header-count)");

  // 200,000 headers (1.2 MB, which may all fit in the socket buffers): refused after 16 KiB.
  std::string flood = "GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  for (int i = 0; i < 200'000; ++i) flood += "X: y\r\n";
  flood += "\r\n";
  RawClient flooder(server.port());
  flooder.send_until_answered(flood, 10s);
  const auto refused = flooder.read_response();
  REQUIRE(refused);
  CHECK(refused->status == 431);
}

TEST_CASE("limits: trailer fields of a chunked body are held to the header limits",
          "[http][limits]") {
  TestServer server;
  // The answer to a two-byte chunked body followed by `trailer` (its fields, each with CRLF).
  const auto answer_with_trailer = [&server](const std::string& trailer) {
    RawClient client(server.port());
    REQUIRE(client.send("POST /v1/echo HTTP/1.1\r\nHost: 127.0.0.1\r\n" + kJson +
                        "Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n" + trailer + "\r\n"));
    auto answer = client.read_response();
    REQUIRE(answer);
    return *answer;
  };
  std::string many;
  for (int i = 0; i < 150; ++i) many += fmt::format("X-T{}: v\r\n", i);
  const auto too_many = answer_with_trailer(many);
  CHECK(too_many.status == 431);
  CHECK(too_many.message() ==
        "request has more trailer fields than the limit of 100 (--max-header-count)");
  const auto too_big = answer_with_trailer("X-Pad: " + std::string(20'000, 'a') + "\r\n");
  CHECK(too_big.status == 431);
  CHECK(too_big.message() ==
        "request trailer exceeds the limit of 16384 bytes (--max-header-bytes)");
  // A few small trailer fields are fine.
  CHECK(answer_with_trailer("X-Checksum: abc\r\n").status == 200);
}

TEST_CASE("limits: bodies over the limit answer 413, Content-Length or chunked", "[http][limits]") {
  auto options = test_options();
  options.limits.max_body_bytes = 1024 * 1024;
  options.limits.body_timeout = 10s;
  TestServer server(options);

  RawClient declared(server.port());
  REQUIRE(declared.send("POST /v1/echo HTTP/1.1\r\nHost: 127.0.0.1\r\n" + kJson +
                        "Content-Length: 1048577\r\n\r\n"));
  const auto refused = declared.read_response();
  REQUIRE(refused);
  CHECK(refused->status == 413);
  CHECK(refused->message() == "request body exceeds the limit of 1048576 bytes (--max-body-bytes)");

  // 256 MiB of chunks: refused after about the limit, the rest never read or kept.
  const auto resident_before = resident_bytes();
  RawClient chunked(server.port());
  REQUIRE(chunked.send("POST /v1/echo HTTP/1.1\r\nHost: 127.0.0.1\r\n" + kJson +
                       "Transfer-Encoding: chunked\r\n\r\n"));
  const std::string chunk = fmt::format("{:x}\r\n{}\r\n", 64 * 1024, std::string(64 * 1024, 'x'));
  std::string many_chunks;
  for (int i = 0; i < 64; ++i) many_chunks += chunk;  // 4 MiB, sent again and again
  std::size_t total = 0;
  while (total < 256U * 1024 * 1024) {
    const auto sent = chunked.send_until_answered(many_chunks, 10s);
    total += sent;
    if (sent < many_chunks.size()) break;
  }
  CHECK(total < 64U * 1024 * 1024);
  const auto chunked_refused = chunked.read_response();
  REQUIRE(chunked_refused);
  CHECK(chunked_refused->status == 413);
  CHECK(resident_bytes() < resident_before + 48U * 1024 * 1024);

  // Exactly the limit is fine.
  const std::string at_limit(1024 * 1024, ' ');
  RawClient fits(server.port());
  REQUIRE(fits.send(request_text("POST", "/v1/echo", at_limit, kJson)));
  const auto accepted = fits.read_response();
  REQUIRE(accepted);
  CHECK(accepted->status == 200);
}

// Each connection may hold a body of the size limit; all of them together may hold only
// --max-body-memory. Two bodies of the largest size fill it while they arrive; a third is answered
// 503 at once; when one is done its share comes back.
TEST_CASE("limits: request bodies held at once are bounded (503 past --max-body-memory)",
          "[http][limits]") {
  auto options = test_options();
  options.limits.max_body_bytes = 512 * 1024;
  options.limits.max_body_memory = 1024 * 1024;
  options.limits.body_timeout = 10s;
  TestServer server(options);
  const std::string body(512 * 1024, ' ');
  const auto header = [&](std::string_view framing) {
    return fmt::format("POST /v1/echo HTTP/1.1\r\nHost: 127.0.0.1\r\n{}{}\r\n\r\n", kJson, framing);
  };
  const auto held_becomes = [&](std::uint64_t bytes) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (server.server().body_bytes_held() != bytes) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::yield();
    }
    return true;
  };
  const auto length = fmt::format("Content-Length: {}", body.size());
  RawClient first(server.port());
  REQUIRE(first.send(header(length) + body.substr(0, 1000)));
  REQUIRE(held_becomes(512 * 1024));
  std::optional<RawClient> second(std::in_place, server.port());
  REQUIRE(second->send(header(length) + body.substr(0, 1000)));
  REQUIRE(held_becomes(1024 * 1024));

  for (const auto* framing : {"Content-Length: 20000", "Transfer-Encoding: chunked"}) {
    INFO(framing);
    RawClient third(server.port());
    const std::string start =
        std::string_view(framing).starts_with("Content")
            ? header(framing) + std::string(20'000, ' ')
            : header(framing) + fmt::format("{:x}\r\n{}\r\n", 20'000, std::string(20'000, ' '));
    REQUIRE(third.send(start));
    const auto busy = third.read_response();
    REQUIRE(busy);
    CHECK(busy->status == 503);
    CHECK(busy->header("Retry-After") == std::optional<std::string_view>("1"));
    CHECK(busy->message() ==
          "the server holds as many request bodies as it may (1048576 bytes in all, "
          "--max-body-memory); retry shortly");
    CHECK(third.closed_within(10s));
  }
  // Small bodies are not counted and pass.
  RawClient small(server.port());
  REQUIRE(small.send(request_text("POST", "/v1/echo", std::string(1000, ' '), kJson)));
  CHECK(small.read_response()->status == 200);

  REQUIRE(first.send(body.substr(1000)));
  const auto done = first.read_response();
  REQUIRE(done);
  CHECK(done->status == 200);
  REQUIRE(held_becomes(512 * 1024));  // given back after the answer, the connection still open
  RawClient fourth(server.port());
  REQUIRE(fourth.send(header(length) + body));
  CHECK(fourth.read_response()->status == 200);
  second.reset();  // the held body's connection closes: its share comes back
  REQUIRE(held_becomes(0));
}

TEST_CASE("limits: --max-body-memory below --max-body-bytes is refused at start",
          "[http][limits]") {
  auto options = test_options();
  options.limits.max_body_bytes = 2048;
  options.limits.max_body_memory = 2047;
  const auto started = postern::http::Server::start(test_router(), options);
  CHECK_FALSE(started.server);
  CHECK(started.error ==
        "--max-body-memory (2047 bytes) must be at least --max-body-bytes (2048 bytes): one body "
        "of the largest size must fit");
}

TEST_CASE("limits: slow headers are cut at the header timeout and block nobody", "[http][limits]") {
  TestServer server;
  const std::string request = request_text("GET", "/v1/health");
  std::atomic<bool> done{false};
  std::vector<std::thread> drippers;
  std::atomic<int> cut{0};
  for (int i = 0; i < 8; ++i) {
    drippers.emplace_back([&] {
      RawClient slow(server.port());
      // One byte, then up to 50 ms for the server's answer (the attacker's pace), and so on.
      for (const char c : request) {
        if (!slow.send(std::string_view(&c, 1)) || slow.readable(50ms) || done) break;
      }
      const auto answer = slow.read_response(10s);
      if (answer && answer->status == 408) ++cut;
    });
  }
  // While they drip, others are served at once.
  for (int i = 0; i < 20; ++i) {
    const auto start = std::chrono::steady_clock::now();
    RawClient normal(server.port());
    REQUIRE(normal.send(request));
    const auto answer = normal.read_response(5s);
    REQUIRE(answer);
    CHECK(answer->status == 200);
    CHECK(std::chrono::steady_clock::now() - start < 2s);
  }
  for (auto& dripper : drippers) dripper.join();
  done = true;
  CHECK(cut == 8);
}

TEST_CASE("limits: a body that stops coming answers 408, idle connections are closed",
          "[http][limits]") {
  TestServer server;
  RawClient stalled(server.port());
  REQUIRE(stalled.send("POST /v1/echo HTTP/1.1\r\nHost: 127.0.0.1\r\n" + kJson +
                       "Content-Length: 100\r\n\r\n{\"partial\""));
  const auto answer = stalled.read_response(10s);
  REQUIRE(answer);
  CHECK(answer->status == 408);
  CHECK(answer->message() == "request body not received within 300 ms (--body-timeout)");

  RawClient idle(server.port());
  CHECK(idle.closed_within(10s));
  REQUIRE(server.server().wait_for_open_connections(0, 20s));
}

TEST_CASE("limits: 2,000 idle connections do not slow a normal request", "[http][limits]") {
  auto options = test_options();
  options.limits.idle_timeout = 60s;
  options.limits.header_timeout = 60s;
  options.limits.max_connections_per_client = 4000;
  TestServer server(options);
  std::vector<RawClient> idle;
  idle.reserve(2000);
  for (int i = 0; i < 2000; ++i) {
    idle.emplace_back(server.port());
    REQUIRE(idle.back().connected());
  }
  REQUIRE(server.server().wait_for_open_connections(2000, 20s));
  // Half of them have started a request and stopped.
  for (int i = 0; i < 1000; ++i) REQUIRE(idle[static_cast<std::size_t>(i)].send("GET /v1/hea"));
  for (int i = 0; i < 10; ++i) {
    const auto start = std::chrono::steady_clock::now();
    RawClient normal(server.port());
    REQUIRE(normal.send(request_text("GET", "/v1/health")));
    const auto answer = normal.read_response(5s);
    REQUIRE(answer);
    CHECK(answer->status == 200);
    CHECK(std::chrono::steady_clock::now() - start < 1s);
  }
}

TEST_CASE("limits: connection caps answer 429 per client and 503 in total", "[http][limits]") {
  auto options = test_options();
  options.limits.idle_timeout = 60s;
  options.limits.max_connections_per_client = 3;
  TestServer per_client(options);
  std::vector<RawClient> held;
  for (int i = 0; i < 3; ++i) held.emplace_back(per_client.port());
  REQUIRE(per_client.server().wait_for_open_connections(3, 20s));
  RawClient extra(per_client.port());
  const auto refused = extra.read_response(10s);
  REQUIRE(refused);
  CHECK(refused->status == 429);
  CHECK(refused->message() ==
        "this client has reached the limit of 3 connections (--max-connections-per-client)");
  held.clear();
  REQUIRE(per_client.server().wait_for_open_connections(0, 20s));
  RawClient again(per_client.port());
  REQUIRE(again.send(request_text("GET", "/v1/health")));
  CHECK(again.read_response()->status == 200);

  options.limits.max_connections = 2;
  TestServer total(options);
  std::vector<RawClient> full;
  for (int i = 0; i < 2; ++i) full.emplace_back(total.port());
  REQUIRE(total.server().wait_for_open_connections(2, 20s));
  RawClient over(total.port());
  const auto unavailable = over.read_response(10s);
  REQUIRE(unavailable);
  CHECK(unavailable->status == 503);
  CHECK(unavailable->message() ==
        "the server has reached its limit of 2 connections (--max-connections)");
}

TEST_CASE("stop: finishes the request in flight, closes idle connections", "[http][stop]") {
  std::promise<void> release;
  auto released = release.get_future().share();
  std::promise<void> entered;
  auto router = test_router();
  router.post(
      "/v1/wait",
      [&](const postern::http::Request&) {
        entered.set_value();
        released.wait();
        return postern::http::Response::json(200, {{"done", true}});
      },
      postern::http::RouteOptions{{}, false});
  auto options = test_options();
  options.limits.idle_timeout = 60s;
  TestServer server(options, std::move(router));

  RawClient idle(server.port());
  RawClient busy(server.port());
  REQUIRE(busy.send("POST /v1/wait HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
  entered.get_future().wait();

  auto stopping = std::async(std::launch::async, [&] { server.server().stop(10s); });
  CHECK(idle.closed_within(10s));
  release.set_value();
  const auto answer = busy.read_response(10s);
  REQUIRE(answer);
  CHECK(answer->status == 200);
  CHECK(answer->header("Connection") == "close");
  CHECK(stopping.wait_for(10s) == std::future_status::ready);
  RawClient late(server.port());
  CHECK((!late.connected() || late.closed_within(5s)));
}

}  // namespace limits_test
