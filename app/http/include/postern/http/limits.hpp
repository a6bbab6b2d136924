#pragma once
// What one client may cost the server. Every limit has a default and a command-line flag; the
// answer to a request that crosses one names both (see limit_message in the server).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace postern::http {

struct Limits {
  std::size_t max_header_bytes = 16 * 1024;  // request line and all header fields together
  std::size_t max_header_count = 100;
  std::uint64_t max_body_bytes = 16 * 1024 * 1024;  // Content-Length and chunked bodies alike
  // Request bodies over 16 KiB held at once by all connections together; at least max_body_bytes.
  std::uint64_t max_body_memory = 256 * 1024 * 1024;
  std::size_t max_json_depth = 512;  // the policy parser's limit
  std::size_t max_connections = 16384;
  std::size_t max_connections_per_client = 1024;     // per peer IP address
  std::chrono::milliseconds header_timeout{10'000};  // first byte of a request to its last header
  std::chrono::milliseconds body_timeout{30'000};    // end of headers to end of body
  std::chrono::milliseconds idle_timeout{60'000};    // between requests on a kept-alive connection
  std::chrono::milliseconds write_timeout{30'000};   // each write of a response (or of one chunk)
};

// The flag that sets each limit, named in the messages of the answers that enforce it.
namespace flag {
inline constexpr std::string_view kMaxHeaderBytes = "--max-header-bytes";
inline constexpr std::string_view kMaxHeaderCount = "--max-header-count";
inline constexpr std::string_view kMaxBodyBytes = "--max-body-bytes";
inline constexpr std::string_view kMaxBodyMemory = "--max-body-memory";
inline constexpr std::string_view kMaxJsonDepth = "--max-json-depth";
inline constexpr std::string_view kMaxConnections = "--max-connections";
inline constexpr std::string_view kMaxConnectionsPerClient = "--max-connections-per-client";
inline constexpr std::string_view kHeaderTimeout = "--header-timeout";
inline constexpr std::string_view kBodyTimeout = "--body-timeout";
inline constexpr std::string_view kIdleTimeout = "--idle-timeout";
inline constexpr std::string_view kWriteTimeout = "--write-timeout";
}  // namespace flag

}  // namespace postern::http
