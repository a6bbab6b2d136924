#pragma once
// Test doubles for the sync layer: a scripted HttpTransport and an in-memory Kandji that pages
// a device list by cursor or offset, plus small helpers for fixtures and temp directories.

#include <atomic>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "postern/sync/http_transport.hpp"

namespace postern::test {

// Replies with whatever `handler` returns and records every request (thread-safe).
class FakeTransport final : public sync::HttpTransport {
 public:
  using Handler = std::function<sync::Result<sync::HttpResponse>(const sync::HttpRequest&, int)>;
  explicit FakeTransport(Handler handler = {}) : handler_(std::move(handler)) {}
  sync::Result<sync::HttpResponse> get(const sync::HttpRequest& request) override;
  void set_handler(Handler handler);
  // As CurlTransport: later requests are not made (the retry loop asks cancelled()).
  void cancel() override { cancelled_ = true; }
  [[nodiscard]] bool cancelled() const override { return cancelled_; }
  std::vector<sync::HttpRequest> requests();
  int count();

 private:
  std::mutex mu_;
  Handler handler_;
  std::vector<sync::HttpRequest> requests_;
  std::atomic<bool> cancelled_{false};
};

// One Kandji device row in the current field shape.
std::string kandji_row(const std::string& device_id, const std::string& serial, bool mdm,
                       std::optional<bool> agent,
                       const std::string& last_checkin = "2025-06-10T08:00:00.000000+00:00");

struct PagedKandji {
  std::vector<std::string> rows;  // JSON objects
  std::string token = "tok-3f1c9a7e-5b2d-4c8e-9a01-7d2e4b6a8f10";
  bool cursor_style = true;
  std::size_t page_size = 300;
  // Serve one page for `request`: 401 without the token, cursor/offset paging otherwise.
  sync::HttpResponse serve(const sync::HttpRequest& request) const;
};

sync::HttpResponse json_response(int status, std::string body);
std::string read_fixture(const std::string& name);  // tests/sync/fixtures/<name>
// Query parameter `name` of `url`, or nullopt.
std::optional<std::string> query_param(const std::string& url, const std::string& name);

// A fresh directory under the system temp dir, removed on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace postern::test
