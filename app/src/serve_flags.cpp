#include "serve_flags.hpp"

#include <fmt/format.h>

#include <chrono>

namespace postern::server {
namespace {

// A millisecond timeout flag over a std::chrono::milliseconds limit.
void add_timeout(CLI::App& command, std::string_view flag, std::chrono::milliseconds& target,
                 const std::string& what) {
  command
      .add_option_function<std::int64_t>(
          std::string(flag), [&target](std::int64_t ms) { target = std::chrono::milliseconds(ms); },
          fmt::format("{} in milliseconds (default {})", what, target.count()))
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{3'600'000}))
      ->type_name("MS");
}

}  // namespace

void add_serving_flags(CLI::App& command, ServingFlags& flags) {
  auto& l = flags.limits;
  const std::string limits = "Limits";
  command
      .add_option(std::string(http::flag::kMaxHeaderBytes), l.max_header_bytes,
                  "Request line and headers together, in bytes")
      ->check(CLI::Range(std::size_t{1024}, std::size_t{1} << 20))
      ->capture_default_str()
      ->group(limits);
  command
      .add_option(std::string(http::flag::kMaxHeaderCount), l.max_header_count,
                  "Header fields per request")
      ->check(CLI::Range(std::size_t{8}, std::size_t{10'000}))
      ->capture_default_str()
      ->group(limits);
  command
      .add_option(std::string(http::flag::kMaxBodyBytes), l.max_body_bytes,
                  "Request body in bytes, chunked bodies included")
      ->check(CLI::Range(std::uint64_t{1024}, std::uint64_t{1} << 32))
      ->capture_default_str()
      ->group(limits);
  command
      .add_option(std::string(http::flag::kMaxBodyMemory), l.max_body_memory,
                  "Request bodies over 16 KiB held at once by all connections, in bytes (at least "
                  "--max-body-bytes); a body beyond it is answered 503")
      ->check(CLI::Range(std::uint64_t{1024}, std::uint64_t{1} << 40))
      ->capture_default_str()
      ->group(limits);
  command
      .add_option(std::string(http::flag::kMaxJsonDepth), l.max_json_depth,
                  "Nesting of JSON request bodies (the policy parser's limit is 512)")
      ->check(CLI::Range(std::size_t{4}, std::size_t{512}))
      ->capture_default_str()
      ->group(limits);
  command
      .add_option(std::string(http::flag::kMaxConnections), l.max_connections,
                  "Open connections in all")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1'000'000}))
      ->capture_default_str()
      ->group(limits);
  command
      .add_option(std::string(http::flag::kMaxConnectionsPerClient), l.max_connections_per_client,
                  "Open connections per client address")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1'000'000}))
      ->capture_default_str()
      ->group(limits);
  add_timeout(command, http::flag::kHeaderTimeout, l.header_timeout,
              "First byte of a request to its last header");
  add_timeout(command, http::flag::kBodyTimeout, l.body_timeout, "End of headers to end of body");
  add_timeout(command, http::flag::kIdleTimeout, l.idle_timeout,
              "Idle time allowed between requests on a kept-alive connection");
  add_timeout(command, http::flag::kWriteTimeout, l.write_timeout, "Each write of a response");
  command
      .add_option("--max-batch-queries", flags.max_batch_queries,
                  "Queries in one POST /v1/check/batch")
      ->check(CLI::Range(std::size_t{1}, std::size_t{10'000'000}))
      ->capture_default_str()
      ->group(limits);

  const std::string browser = "Browsers and TLS";
  command
      .add_option("--host", flags.hosts,
                  "A name clients use for this server (Host header), besides localhost and the\n"
                  "listen address; other names get 421 (DNS rebinding defence). Repeatable")
      ->type_name("NAME")
      ->group(browser);
  command
      .add_option("--cors-origin", flags.cors_origins,
                  "An origin (https://console.example.com) whose pages may call the API; none by\n"
                  "default. Repeatable")
      ->type_name("ORIGIN")
      ->group(browser);
  command.add_option("--tls-cert", flags.tls_cert, "PEM certificate chain: serve HTTPS")
      ->check(CLI::ExistingFile)
      ->type_name("FILE")
      ->group(browser);
  command.add_option("--tls-key", flags.tls_key, "PEM private key of --tls-cert")
      ->check(CLI::ExistingFile)
      ->type_name("FILE")
      ->group(browser);
}

std::optional<std::string> apply_serving_flags(const ServingFlags& flags,
                                               http::ServerOptions& options) {
  if (flags.tls_cert.empty() != flags.tls_key.empty()) {
    return std::string("--tls-cert and --tls-key go together: give both, or neither");
  }
  options.limits = flags.limits;
  options.allowed_hosts = flags.hosts;
  for (const auto& origin : flags.cors_origins) {
    if (origin.rfind("https://", 0) != 0 && origin.rfind("http://", 0) != 0) {
      return fmt::format("--cors-origin `{}` must be an origin such as https://console.example.com",
                         origin);
    }
  }
  options.cors_origins = flags.cors_origins;
  if (!flags.tls_cert.empty()) options.tls = http::TlsFiles{flags.tls_cert, flags.tls_key};
  return std::nullopt;
}

}  // namespace postern::server
