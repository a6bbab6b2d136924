#include "fake_transport.hpp"

#include <unistd.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace postern::test {

sync::Result<sync::HttpResponse> FakeTransport::get(const sync::HttpRequest& request) {
  Handler handler;
  int index = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    requests_.push_back(request);
    index = static_cast<int>(requests_.size());
    handler = handler_;
  }
  if (!handler) return sync::SyncError{sync::SyncErrorKind::Transient, "no handler"};
  return handler(request, index);
}

void FakeTransport::set_handler(Handler handler) {
  std::lock_guard<std::mutex> lock(mu_);
  handler_ = std::move(handler);
}

std::vector<sync::HttpRequest> FakeTransport::requests() {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_;
}

int FakeTransport::count() {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int>(requests_.size());
}

std::string kandji_row(const std::string& device_id, const std::string& serial, bool mdm,
                       std::optional<bool> agent, const std::string& last_checkin) {
  std::ostringstream out;
  out << R"({"device_id":")" << device_id << R"(","device__name":"dev )" << device_id
      << R"(","serial_number":")" << serial << R"(","mdm_enabled":)" << (mdm ? "true" : "false")
      << R"(,"agent_installed":)" << (agent ? (*agent ? "true" : "false") : "null")
      << R"(,"last_checkin":")" << last_checkin << R"(","tags":null})";
  return out.str();
}

sync::HttpResponse json_response(int status, std::string body) {
  sync::HttpResponse response;
  response.status = status;
  response.headers = {{"content-type", "application/json"}};
  response.body = std::move(body);
  return response;
}

std::optional<std::string> query_param(const std::string& url, const std::string& name) {
  const auto q = url.find('?');
  if (q == std::string::npos) return std::nullopt;
  std::string rest = url.substr(q + 1);
  std::size_t pos = 0;
  while (pos <= rest.size()) {
    const auto amp = rest.find('&', pos);
    const std::string part =
        rest.substr(pos, amp == std::string::npos ? std::string::npos : amp - pos);
    const auto eq = part.find('=');
    if (part.substr(0, eq) == name) return eq == std::string::npos ? "" : part.substr(eq + 1);
    if (amp == std::string::npos) break;
    pos = amp + 1;
  }
  return std::nullopt;
}

sync::HttpResponse PagedKandji::serve(const sync::HttpRequest& request) const {
  bool authorised = false;
  for (const auto& [name, value] : request.headers) {
    if (name == "Authorization" && value == "Bearer " + token) authorised = true;
  }
  if (!authorised) return json_response(401, R"({"detail":"Invalid token."})");
  std::size_t start = 0;
  if (auto cursor = query_param(request.url, "cursor")) start = std::stoul(cursor->substr(1));
  if (auto offset = query_param(request.url, "offset")) start = std::stoul(*offset);
  const std::size_t end = std::min(rows.size(), start + page_size);
  std::ostringstream body;
  const auto offset = query_param(request.url, "offset");
  body << R"({"offset":)" << (offset ? *offset : "null") << R"(,"limit":)" << page_size
       << R"(,"total":)" << rows.size() << R"(,"data":[)";
  for (std::size_t i = start; i < end; ++i) body << (i > start ? "," : "") << rows[i];
  body << R"(],"cursor":)";
  if (cursor_style && end < rows.size()) {
    body << "\"c" << end << "\"";
  } else {
    body << "null";
  }
  body << "}";
  return json_response(200, body.str());
}

std::string read_fixture(const std::string& name) {
  const std::string path = std::string(POSTERN_SOURCE_DIR) + "/tests/sync/fixtures/" + name;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("missing fixture " + path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

TempDir::TempDir() {
  static std::atomic<int> counter{0};
  path_ = std::filesystem::temp_directory_path() /
          ("postern-sync-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  std::filesystem::remove_all(path_);
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

}  // namespace postern::test
