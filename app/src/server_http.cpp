#include "server_http.hpp"

#include <exception>

namespace postern::server {
namespace {

// Compares without an early exit, so response timing does not reveal how much of a guess was
// right.
bool same_secret(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  const std::size_t n = std::max(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i) {
    const auto x = static_cast<unsigned char>(i < a.size() ? a[i] : 0);
    const auto y = static_cast<unsigned char>(i < b.size() ? b[i] : 0);
    diff = static_cast<unsigned char>(diff | (x ^ y));
  }
  return diff == 0;
}

bool authorized(const httplib::Request& req, const std::string& token) {
  const std::string header = req.get_header_value("Authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (header.size() <= kBearer.size() || header.compare(0, kBearer.size(), kBearer) != 0) {
    return false;
  }
  return same_secret(std::string_view(header).substr(kBearer.size()), token);
}

}  // namespace

void send_json(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                  "application/json");
}

void send_error(httplib::Response& res, int status, std::string_view code,
                std::string_view message) {
  send_json(res, status, {{"error", {{"code", code}, {"message", message}}}});
}

std::optional<nlohmann::json> body_object(const httplib::Request& req, httplib::Response& res) {
  auto json = nlohmann::json::parse(req.body, nullptr, false);
  if (json.is_discarded()) {
    send_error(res, 400, "bad_request", "the request body is not valid JSON");
    return std::nullopt;
  }
  if (!json.is_object()) {
    send_error(res, 400, "bad_request", "the request body must be a JSON object");
    return std::nullopt;
  }
  return json;
}

std::optional<std::string> unknown_field(const nlohmann::json& object,
                                         std::initializer_list<std::string_view> allowed) {
  for (const auto& [key, value] : object.items()) {
    bool known = false;
    for (const auto a : allowed) known = known || key == a;
    if (!known) return key;
  }
  return std::nullopt;
}

void install_api(httplib::Server& server, ApiContext& context) {
  server.set_payload_max_length(kMaxBodyBytes);
  server.set_pre_routing_handler([&context](const httplib::Request& req, httplib::Response& res) {
    if (!context.token || authorized(req, *context.token)) {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    res.set_header("WWW-Authenticate", "Bearer realm=\"postern\"");
    send_error(res, 401, "unauthorized", "missing or wrong bearer token");
    return httplib::Server::HandlerResponse::Handled;
  });
  // Unmatched routes and httplib's own failures (413, 400) get the JSON error shape too.
  server.set_error_handler(
      httplib::Server::HandlerWithResponse([](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        if (res.status == 404) {
          send_error(res, 404, "not_found", "no route for `" + req.method + " " + req.path + "`");
        } else if (res.status == 413) {
          send_error(res, 413, "payload_too_large",
                     "the request body exceeds " + std::to_string(kMaxBodyBytes) + " bytes");
        } else {
          send_error(res, res.status, "bad_request",
                     "cannot handle `" + req.method + " " + req.path + "`");
        }
        return httplib::Server::HandlerResponse::Handled;
      }));
  server.set_exception_handler(
      [&context](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown exception";
        try {
          if (ep) std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        context.log.error("internal error on " + req.method + " " + req.path + ": " + what);
        send_error(res, 500, "internal", "internal error");
      });
  // Last line of defence: no response body carries a secret, even one a client put in a path
  // that an error message quotes.
  server.set_post_routing_handler([&context](const httplib::Request&, httplib::Response& res) {
    std::string scrubbed = context.log.scrub(res.body);
    if (scrubbed == res.body) return;
    res.body = std::move(scrubbed);
    // httplib has already sized the response.
    res.headers.erase("Content-Length");
    res.set_header("Content-Length", std::to_string(res.body.size()));
  });
  if (context.access_log) {
    server.set_logger([&context](const httplib::Request& req, const httplib::Response& res) {
      context.log.info(req.method + " " + req.path + " " + std::to_string(res.status));
    });
  }
  install_query_routes(server, context);
  install_device_routes(server, context);
  install_admin_routes(server, context);
}

}  // namespace postern::server
