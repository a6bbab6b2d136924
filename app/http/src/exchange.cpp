#include "exchange.hpp"

#include <fmt/format.h>

#include <boost/asio/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/field.hpp>
#include <iterator>

#include "framing.hpp"
#include "response_bytes.hpp"
#include "server_state.hpp"
#include "text.hpp"

namespace postern::http::detail {
namespace {

namespace bhttp = boost::beast::http;

std::string allow_list(const std::vector<Method>& methods) {
  std::string allow;
  for (const auto method : methods) {
    if (!allow.empty()) allow += ", ";
    allow += method_name(method);
  }
  if (std::find(methods.begin(), methods.end(), Method::Options) == methods.end()) {
    allow += allow.empty() ? "OPTIONS" : ", OPTIONS";
  }
  return allow;
}

bool safe_field(const std::pair<std::string, std::string>& field) {
  const auto bad = [](const std::string& text) {
    return text.find_first_of("\r\n") != std::string::npos;
  };
  return !field.first.empty() && !bad(field.first) && !bad(field.second);
}

}  // namespace

Piece next_piece(const ChunkSource& source, std::string& out) {
  try {
    bool more = false;
    do {
      more = source(out);
    } while (more && out.empty());
    return more ? Piece::More : Piece::End;
  } catch (...) {
    return Piece::Failed;
  }
}

namespace {

// Ready for the next request on the connection, keeping what its strings and lists allocated
// (a fresh Request would allocate them again for every request). The limits and helpers are
// set again by check_target.
void clear_for_next(Request& request) {
  request.method = Method::Get;
  request.target.clear();
  request.path.clear();
  request.route = {};
  request.params.clear();
  request.query.clear();
  request.headers.clear();
  request.body.clear();
  request.peer_address.clear();
  request.principal.reset();
  request.memory = nullptr;
}

}  // namespace

void Exchange::start() {
  clear_for_next(request_);
  route_ = nullptr;
  pattern_ = {};
  method_text_.clear();
  cors_origin_.clear();
  started_ = std::chrono::steady_clock::now();
  response_bytes_ = 0;
  body_bytes_ = 0;
  status_ = 0;
  active_ = true;
}

Exchange::Verdict Exchange::admit(const RequestHeader& header, bool has_body, bool tls) {
  const auto& limits = state_.options.limits;
  method_text_ = excerpt(header.method_string(), 16);
  const auto header_count = static_cast<std::size_t>(std::distance(header.begin(), header.end()));
  header_fields_ = header_count;
  if (header_count > limits.max_header_count) {
    return {
        Response::error(431, fmt::format("request has more header fields than the limit of {} ({})",
                                         limits.max_header_count, flag::kMaxHeaderCount)),
        false};
  }
  if (auto rejection = framing_rejection(header)) return {std::move(rejection), false, true};
  if (auto rejection = check_target(header, header_count)) return {std::move(rejection), false};
  if (auto rejection = check_route(tls)) return {std::move(rejection), false};
  if (route_->options.requires_auth) {
    if (auto rejection = authenticate()) return {std::move(rejection), false};
  }
  if (has_body &&
      !content_type_accepted(request_.headers.get("Content-Type"), route_->options.content_types)) {
    std::string accepted;
    for (const auto& type : route_->options.content_types) {
      accepted += accepted.empty() ? type : fmt::format(" or {}", type);
    }
    const auto sent = request_.headers.get("Content-Type");
    return {Response::error(415, fmt::format("request body must have Content-Type {} (got `{}`)",
                                             accepted, excerpt(sent.value_or("none"), 60))),
            false};
  }
  // RFC 9110 §10.1.1: an HTTP/1.0 client's 100-continue is ignored (it cannot read a 1xx).
  const auto expect = request_.headers.get("Expect");
  return {std::nullopt, has_body && header.version() >= 11 && expect &&
                            ascii_iequals(trim(*expect), "100-continue")};
}

std::optional<Response> Exchange::check_target(const RequestHeader& header,
                                               std::size_t header_count) {
  const auto method = parse_method(header.method_string());
  if (!method) {
    return Response::error(501, fmt::format("method `{}` is not supported", method_text_));
  }
  request_.method = *method;
  request_.target = std::string(header.target());
  request_.peer_address = std::string(peer_);
  request_.max_json_depth = state_.options.limits.max_json_depth;
  request_.helpers = helpers_;
  request_.headers.reserve(header_count);  // one allocation, not one per doubling
  for (const auto& field : header) {
    request_.headers.add(std::string(field.name_string()), std::string(field.value()));
  }
  if (auto rejection = take_absolute_form()) return rejection;
  const auto question = request_.target.find('?');
  request_.path = request_.target.substr(0, question);
  if (question != std::string::npos &&
      !parse_form(std::string_view(request_.target).substr(question + 1), request_.query)) {
    return Response::error(400, "malformed percent-encoding in the query string");
  }
  const auto host = request_.headers.get("Host");
  if (!host) {
    if (header.version() >= 11) return Response::error(400, "the Host header is missing");
  } else if (!state_.hosts.allows(*host)) {
    return Response::error(
        421, fmt::format("host `{}` is not a name this server answers to (add it with --host)",
                         excerpt(*host, 80)));
  }
  return std::nullopt;
}

// A target in absolute form ("http://host:port/path?q", RFC 9112 §3.2.2, which servers must
// accept) becomes its path and query. Its authority must be the Host header's value, the one the
// Host and Origin rules check.
std::optional<Response> Exchange::take_absolute_form() {
  auto& target = request_.target;
  if (!target.empty() && target.front() == '/') return std::nullopt;
  if (target == "*") {  // asterisk form: the server as a whole (RFC 9110 §9.3.7)
    if (request_.method == Method::Options) return std::nullopt;
    return Response::error(400, "the request target `*` is only for OPTIONS");
  }
  const std::string_view view = target;
  std::size_t scheme = 0;
  if (view.size() > 7 && ascii_iequals(view.substr(0, 7), "http://")) scheme = 7;
  if (view.size() > 8 && ascii_iequals(view.substr(0, 8), "https://")) scheme = 8;
  if (scheme == 0) {
    return Response::error(400,
                           "the request target must be a path starting with `/` or an http(s) URL");
  }
  const auto rest = view.substr(scheme);
  const auto path_start = std::min(rest.find_first_of("/?"), rest.size());
  const auto authority = rest.substr(0, path_start);
  if (authority.find('@') != std::string_view::npos) {
    return Response::error(400, "the request target may not carry user information (`@`)");
  }
  const auto host = request_.headers.get("Host");
  if (!host || !ascii_iequals(trim(*host), authority)) {
    return Response::error(
        400, fmt::format("the request target names `{}` but the Host header is `{}` (they must "
                         "be the same)",
                         excerpt(authority, 80), excerpt(host.value_or("none"), 80)));
  }
  auto origin_form = std::string(rest.substr(path_start));
  if (origin_form.empty() || origin_form.front() == '?') origin_form.insert(0, 1, '/');
  target = std::move(origin_form);
  return std::nullopt;
}

std::optional<Response> Exchange::check_route(bool tls) {
  if (request_.path == "*") return answer_server_options();
  auto resolution = state_.router.resolve(request_.method, request_.path);
  pattern_ = resolution.pattern;
  using Outcome = Resolution::Outcome;
  if (resolution.outcome == Outcome::MalformedPath) {
    return Response::error(400, "malformed percent-encoding in the path");
  }
  if (resolution.outcome == Outcome::NotFound) {
    return Response::error(404, fmt::format("no route for `{}`", excerpt(request_.path, 100)));
  }
  const auto origin = request_.headers.get("Origin");
  if (origin && origin_listed(*origin, state_.options.cors_origins)) {
    cors_origin_ = std::string(trim(*origin));
  }
  if (resolution.outcome == Outcome::MethodNotAllowed) {
    if (request_.method == Method::Options) return answer_options(resolution);
    auto response =
        Response::error(405, fmt::format("method {} is not allowed on `{}` (allowed: {})",
                                         method_name(request_.method), resolution.pattern,
                                         allow_list(resolution.allowed)));
    response.headers.emplace_back("Allow", allow_list(resolution.allowed));
    return response;
  }
  route_ = resolution.route;
  request_.route = route_->pattern;
  request_.params = std::move(resolution.params);
  const auto host = request_.headers.get("Host").value_or("");
  if (origin && changes_state(request_.method) && cors_origin_.empty() &&
      !same_origin(*origin, host, tls)) {
    return Response::error(
        403, fmt::format("cross-origin request from `{}` refused", excerpt(*origin, 80)));
  }
  return std::nullopt;
}

// `OPTIONS *`: what the server as a whole takes. No route, no credential, no body.
Response Exchange::answer_server_options() const {
  Response response;
  response.status = 204;
  response.content_type.clear();
  response.headers.emplace_back("Allow", allow_list(state_.router.methods()));
  return response;
}

std::optional<Response> Exchange::answer_options(const Resolution& resolution) const {
  const auto origin = request_.headers.get("Origin");
  const bool preflight = origin && request_.headers.get("Access-Control-Request-Method");
  if (preflight && cors_origin_.empty()) {
    return Response::error(
        403, fmt::format("origin `{}` may not call this API (not a configured CORS origin)",
                         excerpt(*origin, 80)));
  }
  Response response;
  response.status = 204;
  response.content_type.clear();
  response.headers.emplace_back("Allow", allow_list(resolution.allowed));
  if (preflight) {
    response.headers.emplace_back("Access-Control-Allow-Methods", allow_list(resolution.allowed));
    response.headers.emplace_back("Access-Control-Allow-Headers",
                                  "Authorization, Content-Type, If-Match, If-None-Match");
    response.headers.emplace_back("Access-Control-Max-Age", "600");
  }
  return response;
}

std::optional<Response> Exchange::authenticate() {
  std::optional<Credential> credential;
  if (const auto header = request_.headers.get("Authorization")) {
    credential = parse_authorization(*header);
    if (!credential) {
      return Response::error(
          401, "malformed Authorization header: expected `Bearer TOKEN` or `Basic base64(TOKEN:)`");
    }
  }
  auto denied = [](int status, std::string message) {
    auto response = Response::error(status, message);
    if (status == 401)
      response.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"postern\"");
    return response;
  };
  if (!state_.options.authenticator) {
    return denied(401, "this route requires a credential and the server accepts none");
  }
  try {
    auto outcome = state_.options.authenticator(credential, request_);
    if (auto* denial = std::get_if<AuthDenial>(&outcome)) {
      return denied(denial->status, std::move(denial->message));
    }
    request_.principal = std::move(std::get<Principal>(outcome));
  } catch (...) {
    return Response::error(500, "internal error while checking the credential");
  }
  return std::nullopt;
}

std::optional<Response> Exchange::read_failure(boost::system::error_code ec, bool header_timed_out,
                                               bool body_timed_out) const {
  const auto& limits = state_.options.limits;
  if (header_timed_out) {
    return Response::error(408, fmt::format("request header not received within {} ms ({})",
                                            limits.header_timeout.count(), flag::kHeaderTimeout));
  }
  if (body_timed_out) {
    return Response::error(408, fmt::format("request body not received within {} ms ({})",
                                            limits.body_timeout.count(), flag::kBodyTimeout));
  }
  if (ec == bhttp::error::header_limit) {
    return Response::error(431, fmt::format("request header exceeds the limit of {} bytes ({})",
                                            limits.max_header_bytes, flag::kMaxHeaderBytes));
  }
  if (ec == body_budget_spent()) {
    auto busy = Response::error(
        503, fmt::format("the server holds as many request bodies as it may ({} bytes in all, {}); "
                         "retry shortly",
                         limits.max_body_memory, flag::kMaxBodyMemory));
    busy.headers.emplace_back("Retry-After", "1");
    return busy;
  }
  if (ec == bhttp::error::body_limit) {
    return Response::error(413, fmt::format("request body exceeds the limit of {} bytes ({})",
                                            limits.max_body_bytes, flag::kMaxBodyBytes));
  }
  const bool peer_gone = ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message ||
                         ec == boost::asio::error::eof;
  if (peer_gone || ec.category() != bhttp::make_error_code(bhttp::error::bad_target).category()) {
    return std::nullopt;
  }
  return Response::error(400, fmt::format("malformed request ({})", ec.message()));
}

std::optional<Response> Exchange::check_trailers(const RequestHeader& message) const {
  const auto& limits = state_.options.limits;
  std::size_t count = 0;
  std::size_t bytes = 0;
  std::size_t index = 0;
  for (const auto& field : message) {
    if (index++ < header_fields_) continue;
    ++count;
    bytes += field.name_string().size() + field.value().size() + 4;  // ": " and CRLF
  }
  if (count > limits.max_header_count) {
    return Response::error(431, fmt::format("request has more trailer fields than the limit of {} "
                                            "({})",
                                            limits.max_header_count, flag::kMaxHeaderCount));
  }
  if (bytes > limits.max_header_bytes) {
    return Response::error(431, fmt::format("request trailer exceeds the limit of {} bytes ({})",
                                            limits.max_header_bytes, flag::kMaxHeaderBytes));
  }
  return std::nullopt;
}

Response Exchange::handle(RequestHeader& message) {
  if (message.chunked()) {
    if (auto refused = check_trailers(message)) return std::move(*refused);
  }
  request_.body = std::move(message.body().text);
  request_.memory = &message.body().allowance;
  body_bytes_ = request_.body.size();
  try {
    auto response = route_->handler(request_);
    // A streamed answer holds what it needs itself: a large body is freed now rather than
    // when the last piece is written (a client that reads slowly would keep it meanwhile).
    if (response.stream && request_.body.capacity() > BodyAllowance::kUncountedBytes) {
      std::string().swap(request_.body);
    }
    return response;
  } catch (...) {
    return Response::error(500, "internal error while handling the request");
  }
}

Response Exchange::answer(const PendingResponse::Answer& make) {
  try {
    auto response = make();
    if (!response.pending) return response;
  } catch (...) {  // NOLINT(bugprone-empty-catch): answered below
  }
  return Response::error(500, "internal error while answering the request");
}

template <class Message>
void Exchange::add_common_fields(Message& message, const Response& response) const {
  for_each_common_field(
      response.content_type, cors_origin_,
      [&message](std::string_view name, std::string_view value) { message.set(name, value); });
  for (const auto& field : response.headers) {
    if (safe_field(field)) message.set(field.first, field.second);
  }
}

Reply Exchange::prepare(Response response, unsigned version, bool keep_alive) {
  status_ = response.status;
  Reply reply{static_cast<bhttp::status>(response.status), version};
  add_common_fields(reply, response);
  reply.keep_alive(keep_alive);
  if (response.stream) return reply;  // HEAD of a streamed route: no length to announce
  reply.body() = std::move(response.body);
  reply.prepare_payload();
  // Beast announces `Content-Length: 0` for a 204, which RFC 9110 §8.6 forbids (and for a 304
  // the length would be the full representation's).
  if (response.status == 204 || response.status == 304) reply.erase(bhttp::field::content_length);
  if (is_head()) reply.body().clear();  // keeps the Content-Length a GET would have
  return reply;
}

bool Exchange::append_direct(std::string& out, const Response& response, unsigned version,
                             bool keep_alive) {
  const DirectReply reply{response.status,       version,      keep_alive,   is_head(),
                          response.content_type, cors_origin_, response.body};
  if (response.stream || !response.headers.empty() || !direct_reply_fits(reply)) return false;
  status_ = response.status;
  append_direct_reply(out, reply);
  add_response_bytes(is_head() ? 0 : response.body.size());
  return true;
}

StreamHeader Exchange::prepare_stream_header(Response response, unsigned version, bool keep_alive,
                                             bool chunked) {
  status_ = response.status;
  StreamHeader header{static_cast<bhttp::status>(response.status), version};
  add_common_fields(header, response);
  header.keep_alive(keep_alive);
  if (chunked) header.chunked(true);
  return header;
}

void Exchange::finish() {
  if (!active_) return;
  active_ = false;
  report();
  // Small bodies keep their room for the connection's next request; a large one is freed now,
  // as its share of the body budget is given back.
  if (request_.body.capacity() > BodyAllowance::kUncountedBytes) std::string().swap(request_.body);
}

void Exchange::report() const {
  if (!state_.options.access_log) return;
  AccessRecord record;
  record.method = method_text_;
  record.route = pattern_;
  record.status = status_;
  record.duration = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now() - started_);
  record.request_body_bytes = body_bytes_;
  record.response_bytes = response_bytes_;
  record.peer_address = peer_;
  if (request_.principal) record.actor = request_.principal->actor;
  try {
    state_.options.access_log(record);
  } catch (...) {
    // A failing logger must not take the connection down with it.
  }
}

}  // namespace postern::http::detail
