#pragma once
// The only way the sync layer talks to the network. CurlTransport is the real one; tests use a
// fake that replays recorded pages.

#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "postern/sync/clock.hpp"
#include "postern/sync/result.hpp"

namespace postern::sync {

struct HttpRequest {
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  Millis connect_timeout{10'000};
  Millis timeout{60'000};  // the whole request
  // The most body bytes taken, counted after gzip is undone (a small compressed answer can
  // decode to gigabytes). A larger answer is a Protocol SyncError.
  std::size_t max_body_bytes = std::size_t{32} << 20;
};

struct HttpResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;                                          // decoded (gzip handled)

  // First header named `name` (lower-case), or empty.
  [[nodiscard]] std::string header(std::string_view name) const;
};

class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  // Any HTTP status is a successful result; a failed exchange (DNS, connect, TLS, timeout, reset)
  // is a Transient (or Config for DNS) SyncError, a body over max_body_bytes a Protocol one.
  // Never follows redirects.
  virtual Result<HttpResponse> get(const HttpRequest& request) = 0;
  // Ends the requests in flight within about a second and fails every later one at once: the
  // process is stopping, and a sync that commits nothing must not hold it for minutes.
  virtual void cancel() {}
  [[nodiscard]] virtual bool cancelled() const { return false; }
};

struct CurlOptions {
  // Negotiate gzip/deflate (never brotli: see curl_transport.cpp). Off only where compressing
  // costs more than it saves (a loopback server).
  bool compression = true;
};

// What a request made (or attempted) after HttpTransport::cancel() fails with.
SyncError transport_cancelled();

// libcurl: TLS verification on, http and https only, no redirects.
std::unique_ptr<HttpTransport> make_curl_transport(CurlOptions options = {});

}  // namespace postern::sync
