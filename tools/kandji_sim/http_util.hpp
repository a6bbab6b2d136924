#pragma once
// Response helpers shared by the simulator's endpoints.

#include <httplib.h>

#include <string>

#include "rate_limiter.hpp"

namespace postern::kandji_sim::http {

inline constexpr const char* kJson = "application/json";

// `{"detail": detail}` with `status`: the error body Kandji's API uses for 4xx.
void json_detail(httplib::Response& res, int status, const std::string& detail);
// Sets a header, replacing any value already there.
void put_header(httplib::Response& res, const std::string& name, const std::string& value);
std::string reason(int status);
// A small HTML error page, as a gateway or web server in front of the API sends.
std::string html_page(int status);
// The query string exactly as sent (httplib only keeps it decoded and split).
std::string raw_query(const httplib::Request& req);
// The seven rate-limit headers of spec §1.6.
void rate_headers(httplib::Response& res, const RateLimits& limits, const RateState& s);

}  // namespace postern::kandji_sim::http
