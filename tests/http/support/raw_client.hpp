#pragma once
// A blocking HTTP/1.1 client on a raw socket to 127.0.0.1, for tests that need byte-level control
// (pipelining, partial headers, floods). Every read waits with an upper bound, never forever.

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "postern/http/message.hpp"

namespace postern::test {

struct RawResponse {
  int status = 0;
  http::Headers headers;
  std::string body;

  [[nodiscard]] std::optional<std::string_view> header(std::string_view name) const {
    return headers.get(name);
  }
  [[nodiscard]] std::string message() const;  // body's "message", or "" when absent
};

class RawClient {
 public:
  explicit RawClient(std::uint16_t port);
  ~RawClient();
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;
  RawClient(RawClient&& other) noexcept;
  RawClient& operator=(RawClient&&) = delete;

  [[nodiscard]] bool connected() const { return fd_ >= 0; }
  // Sends everything; false when the peer closed or reset the connection.
  bool send(std::string_view bytes);
  // Reads one response (Content-Length, chunked, or to the end of the connection); nullopt when
  // the connection ends first or `timeout` passes. `head`: the response has no body.
  std::optional<RawResponse> read_response(
      std::chrono::milliseconds timeout = std::chrono::seconds(10), bool head = false);
  // Sends `bytes` in pieces while watching for an answer; stops at the first answer or error.
  // Returns how many bytes were sent.
  std::size_t send_until_answered(std::string_view bytes, std::chrono::milliseconds timeout);
  // Waits for the server to close the connection (discarding data); false on timeout.
  bool closed_within(std::chrono::milliseconds timeout);
  // Whether a response (or the close) arrives within `wait` (0: has arrived, without waiting).
  [[nodiscard]] bool readable(std::chrono::milliseconds wait = std::chrono::milliseconds(0)) const;

 private:
  // Reads more into buffer_; false on close, error or deadline.
  bool fill(std::chrono::steady_clock::time_point deadline);
  std::optional<std::size_t> wait_for(std::string_view marker, std::size_t from,
                                      std::chrono::steady_clock::time_point deadline);

  int fd_ = -1;
  std::string buffer_;
};

// "METHOD target HTTP/1.1" with Host 127.0.0.1, `extra` header lines (each ending in \r\n), and a
// Content-Length body when `body` is not empty.
[[nodiscard]] std::string request_text(std::string_view method, std::string_view target,
                                       std::string_view body = {}, std::string_view extra = {});

}  // namespace postern::test
