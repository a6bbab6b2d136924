// libcurl behind HttpTransport. One easy handle per request keeps the transport thread-safe.
#include <curl/curl.h>
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "postern/grammar/byte_size.hpp"
#include "postern/sync/http_transport.hpp"

namespace postern::sync {

SyncError transport_cancelled() {
  return SyncError{SyncErrorKind::Transient, "cancelled: Postern is stopping"};
}

std::string HttpResponse::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key == name) return value;
  }
  return {};
}

namespace {

// The body as curl hands it over, decoded, up to a cap: returning short makes curl stop with
// CURLE_WRITE_ERROR before a large answer is held.
struct BodySink {
  std::string* body;
  std::size_t limit;
  bool over_limit = false;
};

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto& sink = *static_cast<BodySink*>(user);
  const std::size_t bytes = size * count;
  if (bytes > sink.limit - sink.body->size()) {
    sink.over_limit = true;
    return 0;
  }
  sink.body->append(data, bytes);
  return bytes;
}

// The final response's headers (not those of a 100 Continue), names lower-cased for header().
std::vector<std::pair<std::string, std::string>> response_headers(CURL* curl) {
  std::vector<std::pair<std::string, std::string>> out;
  curl_header* previous = nullptr;
  while (curl_header* h = curl_easy_nextheader(curl, CURLH_HEADER, -1, previous)) {
    std::string name(h->name);
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    out.emplace_back(std::move(name), h->value);
    previous = h;
  }
  return out;
}

// Called by curl about once a second and whenever data moves: a non-zero answer ends the
// transfer (CURLE_ABORTED_BY_CALLBACK).
int on_progress(void* cancelled, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<const std::atomic<bool>*>(cancelled)->load() ? 1 : 0;
}

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

class CurlTransport final : public HttpTransport {
 public:
  explicit CurlTransport(CurlOptions options) : options_(options) { global_init(); }

  void cancel() override { cancelled_ = true; }
  [[nodiscard]] bool cancelled() const override { return cancelled_; }

  Result<HttpResponse> get(const HttpRequest& request) override {
    if (cancelled_) return transport_cancelled();
    CURL* curl = curl_easy_init();
    if (curl == nullptr) return SyncError{SyncErrorKind::Transient, "cannot start an http client"};
    HttpResponse response;
    curl_slist* headers = nullptr;
    for (const auto& [name, value] : request.headers) {
      headers = curl_slist_append(headers, fmt::format("{}: {}", name, value).c_str());
    }
    char error_buffer[CURL_ERROR_SIZE] = {};
    curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);  // never carry the token elsewhere
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    // gzip/deflate only: Kandji serves gzip, and offering br lets a server pick brotli at its
    // slowest default quality (cpp-httplib takes ~1.2 s a page; measured in bench/README.md).
    if (options_.compression) curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "gzip, deflate");
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "postern/0.1 (posture sync)");
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(std::max<Millis::rep>(1, request.connect_timeout.count())));
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS,
                     static_cast<long>(std::max<Millis::rep>(1, request.timeout.count())));
    BodySink sink{&response.body, request.max_body_bytes};
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
    // Refused before the body when Content-Length announces more (the decoded cap still holds).
    curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE,
                     static_cast<curl_off_t>(request.max_body_bytes));
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &cancelled_);
    const CURLcode code = curl_easy_perform(curl);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    if (code == CURLE_OK) response.headers = response_headers(curl);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    if (sink.over_limit || code == CURLE_FILESIZE_EXCEEDED) {
      return SyncError{SyncErrorKind::Protocol,
                       fmt::format("the answer is larger than {} (decoded); check that the API URL "
                                   "is the provider's",
                                   grammar::byte_size_text(request.max_body_bytes))};
    }
    if (code == CURLE_ABORTED_BY_CALLBACK) return transport_cancelled();
    if (code != CURLE_OK) {
      const char* detail = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(code);
      const bool dns = code == CURLE_COULDNT_RESOLVE_HOST;
      return SyncError{
          dns ? SyncErrorKind::Config : SyncErrorKind::Transient,
          fmt::format("{}: {}", dns ? "cannot resolve host" : "request failed", detail)};
    }
    response.status = static_cast<int>(status);
    return response;
  }

 private:
  CurlOptions options_;
  std::atomic<bool> cancelled_{false};
};

}  // namespace

std::unique_ptr<HttpTransport> make_curl_transport(CurlOptions options) {
  return std::make_unique<CurlTransport>(options);
}

}  // namespace postern::sync
