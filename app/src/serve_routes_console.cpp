// The console's files and its sign-in session routes.
#include <fmt/format.h>
#include <openssl/sha.h>

#include <array>
#include <map>
#include <memory>

#include "console_assets.hpp"
#include "console_session.hpp"
#include "postern/grammar/time.hpp"
#include "serve_console.hpp"

namespace postern::server {
namespace {

// No inline script or style, no framing, no plugins; forms post only here.
constexpr std::string_view kContentSecurityPolicy =
    "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; "
    "object-src 'none'";

std::string content_type_of(std::string_view name) {
  const auto dot = name.rfind('.');
  const auto ext = dot == std::string_view::npos ? std::string_view{} : name.substr(dot + 1);
  if (ext == "html") return "text/html; charset=utf-8";
  if (ext == "css") return "text/css; charset=utf-8";
  if (ext == "js") return "text/javascript; charset=utf-8";
  if (ext == "svg") return "image/svg+xml";
  return "application/octet-stream";
}

std::string etag_of(std::string_view bytes) {
  std::array<unsigned char, SHA256_DIGEST_LENGTH> out{};
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), out.data());
  std::string hex = "\"";
  for (std::size_t i = 0; i < 16; ++i) hex += fmt::format("{:02x}", out[i]);
  return hex + "\"";
}

struct ServedAsset {
  std::string_view bytes;
  std::string content_type;
  std::string etag;
};

void add_page_headers(http::Response& response) {
  response.headers.emplace_back("Content-Security-Policy", std::string(kContentSecurityPolicy));
  response.headers.emplace_back("X-Frame-Options", "DENY");
  response.headers.emplace_back("Referrer-Policy", "no-referrer");
  response.headers.emplace_back("Cross-Origin-Opener-Policy", "same-origin");
}

// Served with revalidation (`no-cache` + ETag): a new binary's console is picked up at once,
// an unchanged file costs a 304.
http::Response serve_asset(const ServedAsset& asset, const http::Request& request) {
  http::Response response;
  add_page_headers(response);
  response.headers.emplace_back("Cache-Control", "no-cache");
  response.headers.emplace_back("ETag", asset.etag);
  const auto if_none_match = request.headers.get("If-None-Match");
  if (if_none_match && if_none_match->find(asset.etag) != std::string_view::npos) {
    response.status = 304;
    response.content_type.clear();
    return response;
  }
  response.content_type = asset.content_type;
  response.body = std::string(asset.bytes);
  return response;
}

void install_assets(http::Router& router) {
  auto assets = std::make_shared<std::map<std::string, ServedAsset, std::less<>>>();
  for (const auto& asset : console_assets()) {
    assets->emplace(std::string(asset.name),
                    ServedAsset{asset.bytes, content_type_of(asset.name), etag_of(asset.bytes)});
  }
  const http::RouteOptions open{{}, false};
  router.get(
      "/",
      [assets](const http::Request& req) { return serve_asset(assets->at("index.html"), req); },
      open);
  router.get(
      "/console/{file}",
      [assets](const http::Request& req) {
        const auto found = assets->find(*req.param("file"));
        if (found == assets->end()) return http::Response::error(404, "no such console file");
        return serve_asset(found->second, req);
      },
      open);
}

nlohmann::json session_json(const console::Session& session) {
  return {{"actor", session.principal.actor},
          {"csrf", session.csrf},
          {"expiresAt", timefmt::format_rfc3339(session.expires_at)}};
}

http::Response no_store(http::Response response) {
  response.headers.emplace_back("Cache-Control", "no-store");
  return response;
}

struct SessionRoutes {
  std::shared_ptr<console::SessionStore> sessions;
  http::Authenticator inner;
  bool secure = false;

  // The session behind the request's cookie whose token `inner` still accepts.
  [[nodiscard]] std::optional<console::Session> current(const http::Request& req) const {
    const auto cookie = req.headers.get("Cookie");
    const auto id = cookie ? console::session_cookie(*cookie) : std::nullopt;
    if (!id) return std::nullopt;
    auto session = sessions->find(*id);
    if (!session || !inner) return std::nullopt;
    const auto outcome = console::recheck(inner, *sessions, *id, *session, req);
    if (std::holds_alternative<http::AuthDenial>(outcome)) return std::nullopt;
    return session;
  }

  [[nodiscard]] http::Response sign_in(const http::Request& req) const {
    const auto body = req.json();
    if (!body.ok()) return http::Response::error(400, body.error);
    const auto& object = *body.value;
    if (!object.is_object() || object.size() != 1 || !object.contains("token") ||
        !object["token"].is_string() || object["token"].get_ref<const std::string&>().empty()) {
      return http::Response::error(400, "send {\"token\": \"tskey-api-...\"}: an API access token");
    }
    if (!inner) return http::Response::error(401, "this server accepts no credentials");
    auto token = object["token"].get<std::string>();
    auto outcome = inner(console::bearer(token), req);
    if (auto* denial = std::get_if<http::AuthDenial>(&outcome)) {
      return http::Response::error(denial->status, denial->message);
    }
    auto created =
        sessions->create(std::get<http::Principal>(std::move(outcome)), std::move(token));
    if (!created) return http::Response::error(500, "cannot draw random bytes for a session");
    auto response = no_store(http::Response::json(200, session_json(created->session)));
    response.headers.emplace_back("Set-Cookie",
                                  console::set_cookie(created->id, sessions->lifetime(), secure));
    return response;
  }

  [[nodiscard]] http::Response sign_out(const http::Request& req) const {
    const auto cookie = req.headers.get("Cookie");
    const auto id = cookie ? console::session_cookie(*cookie) : std::nullopt;
    const auto session = id ? sessions->find(*id) : std::nullopt;
    if (!session) return http::Response::error(401, "not signed in");
    const auto csrf = req.headers.get(console::kCsrfHeader);
    if (!csrf || !console::constant_time_equal(*csrf, session->csrf)) {
      return http::Response::error(
          403, fmt::format("signing out needs the {} header", console::kCsrfHeader));
    }
    sessions->remove(*id);
    auto response = no_store(http::Response::json(200, nlohmann::json::object()));
    response.headers.emplace_back("Set-Cookie", console::clear_cookie(secure));
    return response;
  }
};

void install_session_routes(http::Router& router, const SessionRoutes& routes) {
  const http::RouteOptions open_json{http::kJsonOnly, false};
  router.post(
      "/console/session", [routes](const http::Request& req) { return routes.sign_in(req); },
      open_json);
  router.get(
      "/console/session",
      [routes](const http::Request& req) {
        const auto session = routes.current(req);
        if (!session) return no_store(http::Response::error(401, "not signed in"));
        return no_store(http::Response::json(200, session_json(*session)));
      },
      open_json);
  router.add(
      http::Method::Delete, "/console/session",
      [routes](const http::Request& req) { return routes.sign_out(req); },
      http::RouteOptions{{}, false});
}

}  // namespace

void install_console(http::Router& router, ApiContext& context, http::ServerOptions& options) {
  install_assets(router);
  install_console_data_routes(router, context);
  auto sessions = std::make_shared<console::SessionStore>();
  SessionRoutes routes{sessions, options.authenticator, options.tls.has_value()};
  install_session_routes(router, routes);
  options.authenticator =
      [sessions, wrapped = console::with_sessions(options.authenticator, *sessions)](
          const std::optional<http::Credential>& credential, const http::Request& request) {
        return wrapped(credential, request);
      };
}

}  // namespace postern::server
