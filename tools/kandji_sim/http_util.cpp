#include "http_util.hpp"

#include <nlohmann/json.hpp>

namespace postern::kandji_sim::http {

void json_detail(httplib::Response& res, int status, const std::string& detail) {
  res.status = status;
  res.set_content(nlohmann::json{{"detail", detail}}.dump(), kJson);
}

void put_header(httplib::Response& res, const std::string& name, const std::string& value) {
  res.headers.erase(name);  // httplib's header map is case-insensitive and multi-valued
  res.set_header(name, value);
}

std::string reason(int status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 408:
      return "Request Timeout";
    case 415:
      return "Unsupported Media Type";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "Error";
  }
}

std::string html_page(int status) {
  const std::string title = std::to_string(status) + " " + reason(status);
  return "<!DOCTYPE html>\n<html>\n<head><title>" + title + "</title></head>\n<body>\n<h1>" +
         title + "</h1>\n<p>The server could not handle this request.</p>\n<hr><address>" +
         "postern-kandji-sim</address>\n</body>\n</html>\n";
}

std::string raw_query(const httplib::Request& req) {
  const auto q = req.target.find('?');
  return q == std::string::npos ? std::string() : req.target.substr(q + 1);
}

void rate_headers(httplib::Response& res, const RateLimits& limits, const RateState& s) {
  put_header(res, "RateLimit-Limit", std::to_string(limits.per_second));
  put_header(res, "RateLimit-Remaining", std::to_string(s.remaining_second));
  put_header(res, "RateLimit-Reset", std::to_string(s.reset_seconds));
  put_header(res, "X-RateLimit-Limit-Hour", std::to_string(limits.per_hour));
  put_header(res, "X-RateLimit-Remaining-Hour", std::to_string(s.remaining_hour));
  put_header(res, "X-RateLimit-Limit-Second", std::to_string(limits.per_second));
  put_header(res, "X-RateLimit-Remaining-Second", std::to_string(s.remaining_second));
}

}  // namespace postern::kandji_sim::http
