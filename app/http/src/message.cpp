#include "postern/http/message.hpp"

#include <algorithm>
#include <array>

#include "text.hpp"

namespace postern::http {
namespace {

struct MethodName {
  Method method;
  std::string_view name;
};
constexpr std::array<MethodName, 7> kMethods{{{Method::Get, "GET"},
                                              {Method::Head, "HEAD"},
                                              {Method::Post, "POST"},
                                              {Method::Put, "PUT"},
                                              {Method::Patch, "PATCH"},
                                              {Method::Delete, "DELETE"},
                                              {Method::Options, "OPTIONS"}}};

}  // namespace

std::string_view method_name(Method method) {
  for (const auto& entry : kMethods) {
    if (entry.method == method) return entry.name;
  }
  return "?";
}

std::optional<Method> parse_method(std::string_view name) {
  for (const auto& entry : kMethods) {
    if (entry.name == name) return entry.method;
  }
  return std::nullopt;
}

bool changes_state(Method method) {
  return method == Method::Post || method == Method::Put || method == Method::Patch ||
         method == Method::Delete;
}

void NameValueList::add(std::string name, std::string value) {
  entries_.emplace_back(std::move(name), std::move(value));
}

bool NameValueList::same_name(std::string_view a, std::string_view b) const {
  return case_insensitive_ ? detail::ascii_iequals(a, b) : a == b;
}

std::optional<std::string_view> NameValueList::get(std::string_view name) const {
  for (const auto& [entry_name, value] : entries_) {
    if (same_name(entry_name, name)) return std::string_view(value);
  }
  return std::nullopt;
}

std::vector<std::string_view> NameValueList::get_all(std::string_view name) const {
  std::vector<std::string_view> values;
  for (const auto& [entry_name, value] : entries_) {
    if (same_name(entry_name, name)) values.emplace_back(value);
  }
  return values;
}

bool parse_form(std::string_view text, QueryParams& out) {
  while (!text.empty()) {
    const auto amp = text.find('&');
    const auto pair = text.substr(0, amp);
    text = amp == std::string_view::npos ? std::string_view{} : text.substr(amp + 1);
    if (pair.empty()) continue;
    const auto equals = pair.find('=');
    auto name = detail::percent_decode(pair.substr(0, equals), true);
    auto value = detail::percent_decode(
        equals == std::string_view::npos ? std::string_view{} : pair.substr(equals + 1), true);
    if (!name || !value) return false;
    out.add(std::move(*name), std::move(*value));
  }
  return true;
}

Principal::Principal(std::string who, std::vector<std::string> granted)
    : actor(std::move(who)),
      scopes(std::make_shared<const std::vector<std::string>>(std::move(granted))) {}

Principal::Principal(std::string who, Scopes granted)
    : actor(std::move(who)), scopes(std::move(granted)) {}

bool Principal::has_scope(std::string_view scope) const {
  return scopes && std::find(scopes->begin(), scopes->end(), scope) != scopes->end();
}

JsonBody Request::json() const { return parse_json_body(body, max_json_depth); }

Response Response::json(int status, const nlohmann::json& value) {
  Response response;
  response.status = status;
  response.body = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return response;
}

Response Response::error(int status, std::string_view message) {
  return json(status, nlohmann::json{{"message", message}});
}

Response Response::streamed(int status, std::string content_type, ChunkSource source) {
  Response response;
  response.status = status;
  response.content_type = std::move(content_type);
  response.stream = std::move(source);
  return response;
}

}  // namespace postern::http

namespace postern::http {

Response Response::later(std::shared_ptr<PendingResponse> pending) {
  Response response;
  response.pending = std::move(pending);
  return response;
}

void PendingResponse::complete(Response response) {
  complete(
      [shared = std::make_shared<Response>(std::move(response))] { return std::move(*shared); });
}

void PendingResponse::complete(Answer answer) {
  std::function<void(Answer)> resume;
  {
    const std::lock_guard lock(mutex_);
    if (!resume_) {
      ready_ = std::move(answer);
      return;
    }
    resume = std::move(resume_);
  }
  resume(std::move(answer));
}

void PendingResponse::on_complete(std::function<void(Answer)> resume) {
  Answer ready;
  {
    const std::lock_guard lock(mutex_);
    if (!ready_) {
      resume_ = std::move(resume);
      return;
    }
    ready = std::move(ready_);
  }
  resume(std::move(ready));
}

}  // namespace postern::http
