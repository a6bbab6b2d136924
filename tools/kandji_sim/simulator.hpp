#pragma once
// The simulated Kandji tenant: devices, accepted token, faults, rate counters and request log
// behind one mutex (httplib serves requests on a thread pool), plus the HTTP routes: the Prism
// API in simulator.cpp, GET /api/v1/devices in devices_api.cpp and the /_sim admin API in
// admin_api.cpp.

#include <httplib.h>

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "device_store.hpp"
#include "faults.hpp"
#include "page_query.hpp"
#include "rate_limiter.hpp"
#include "request_log.hpp"

namespace postern::kandji_sim {

struct SimConfig {
  std::vector<Row> initial_rows;
  std::string token;
  std::vector<std::string> forbidden_tokens;  // known tokens lacking the Prism permission: 403
  PageStyle style = PageStyle::Cursor;
  std::size_t page_size = kMaxLimit;
  FieldSetMode field_mode = FieldSetMode::Auto;
  RateLimits rate;
  std::optional<std::string> request_log_path;
};

class Simulator {
 public:
  explicit Simulator(SimConfig config);

  void register_routes(httplib::Server& server);
  // Wakes handlers sleeping in a `slow` fault so the server can stop promptly.
  void shutdown();

 private:
  struct Auth {
    bool present = false;
    std::string token;
  };
  enum class AuthResult { Ok, Unauthenticated, Forbidden };

  void device_information(const httplib::Request& req, httplib::Response& res);
  void prism_count(const httplib::Request& req, httplib::Response& res);
  void list_devices(const httplib::Request& req, httplib::Response& res);  // devices_api.cpp
  void not_found(const httplib::Request& req, httplib::Response& res);

  void admin_routes(httplib::Server& server);

  static Auth bearer(const httplib::Request& req);
  AuthResult check_token(const Auth& auth) const;  // caller holds mutex_
  std::vector<std::string> secrets() const;        // caller holds mutex_
  void log(LogEntry entry);                        // takes mutex_
  void reset_state();                              // caller holds mutex_
  bool sleep_for(std::uint64_t ms);                // false when shut down meanwhile

  const SimConfig config_;

  mutable std::mutex mutex_;
  DeviceStore store_;
  FaultQueue faults_;
  RateLimiter rate_;
  RequestLog log_;
  std::string token_;
  std::vector<std::string> forbidden_tokens_;
  std::set<std::string> revoked_;
  std::set<std::string> retired_tokens_;  // every token ever accepted, for log redaction
  bool token_has_permission_ = true;
  std::uint64_t request_count_ = 0;
  std::uint64_t offset_drift_ = 0;  // rows an offset walk is shifted by (duplicate_rows)

  std::mutex stop_mutex_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
};

}  // namespace postern::kandji_sim
