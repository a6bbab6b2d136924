#pragma once
// The serving layer's command-line flags for `postern serve`: every http::Limits value, the Host
// names and CORS origins the server accepts, TLS files and the batch size. Kept apart from the
// rest of serve's options so each limit has exactly one flag, named as http::flag::k* says.

#include <CLI/CLI.hpp>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "postern/http/server.hpp"

namespace postern::server {

struct ServingFlags {
  http::Limits limits;
  std::vector<std::string> hosts;         // --host NAME, besides the loopback names
  std::vector<std::string> cors_origins;  // --cors-origin https://console.example.com
  std::string tls_cert;
  std::string tls_key;
  std::size_t max_batch_queries = 100'000;
};

void add_serving_flags(CLI::App& command, ServingFlags& flags);

// Copies the flags into the server's options; an error message (for a usage error) when they do
// not fit together, e.g. --tls-cert without --tls-key.
std::optional<std::string> apply_serving_flags(const ServingFlags& flags,
                                               http::ServerOptions& options);

}  // namespace postern::server
