// Fuzz target for the HTTP layer's own readers of attacker text (Beast parses the message; these
// read what is in it): Authorization values, percent-encoding, form and query strings, request
// paths through a route table like the server's, Host, Origin and Content-Type headers, and the
// excerpts error messages quote. Invariants: no crash or UB, and
// - a Basic credential made of the bytes reads back to them (token before the first colon);
// - what percent_decode gives, encoded again, decodes to itself;
// - a Host name is a part of the header; an excerpt is short, printable ASCII.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "postern/http/credentials.hpp"
#include "postern/http/message.hpp"
#include "postern/http/router.hpp"
#include "request_guard.hpp"
#include "text.hpp"

namespace {

using namespace postern::http;

void require(bool condition) {
  if (!condition) std::abort();
}

std::string percent_encoded(std::string_view bytes) {
  std::string out;
  for (const char c : bytes) {
    out += '%';
    out += "0123456789ABCDEF"[static_cast<unsigned char>(c) >> 4U];
    out += "0123456789ABCDEF"[static_cast<unsigned char>(c) & 15U];
  }
  return out;
}

void credentials(std::string_view text) {
  if (const auto parsed = parse_authorization(text)) require(!parsed->token.empty());
  // The bytes as the user and password of a Basic credential.
  const auto basic = parse_authorization("Basic " + base64_encode(text));
  const auto colon = text.find(':');
  if (colon == std::string_view::npos || (colon == 0 && text.size() == 1)) {
    require(!basic);
    return;
  }
  require(basic && basic->scheme == Credential::Scheme::Basic);
  if (colon > 0) {
    require(basic->token == text.substr(0, colon) && basic->password == text.substr(colon + 1));
  } else {
    require(basic->token == text.substr(1) && basic->password.empty());
  }
}

void percent_encoding(std::string_view text) {
  for (const bool plus_is_space : {false, true}) {
    const auto decoded = detail::percent_decode(text, plus_is_space);
    if (!decoded) continue;
    require(detail::percent_decode(percent_encoded(*decoded), plus_is_space) == decoded);
  }
  QueryParams params;
  (void)parse_form(text, params);
}

const Router& routes() {
  static const Router router = [] {
    Router r;
    const auto answer = [](const Request&) { return Response{}; };
    for (const char* pattern : {"/v1/health", "/v1/check", "/v1/devices/{id}/attributes/{key}",
                                "/v1/filter/{node}", "/api/v2/tailnet/{tailnet}/acl",
                                "/api/v2/device/{id}/attributes/{key}", "/console/{file}"}) {
      r.get(pattern, answer);
      r.post(pattern, answer);
    }
    return r;
  }();
  return router;
}

void paths(std::string_view text) {
  for (const auto method : {Method::Get, Method::Head, Method::Delete}) {
    const auto found = routes().resolve(method, text);
    if (found.outcome == Resolution::Outcome::Found) require(found.route != nullptr);
  }
  (void)parse_method(text);
}

void headers(std::string_view text) {
  if (const auto name = detail::host_name(text)) {
    require(name->data() >= text.data() &&
            name->data() + name->size() <= text.data() + text.size());
  }
  (void)detail::HostRule({"postern.example.com"}).allows(text);
  (void)detail::same_origin(text, "localhost:8080", false);
  (void)detail::same_origin("http://localhost:8080", text, true);
  (void)detail::origin_listed(text, {"https://console.example.com"});
  (void)detail::content_type_accepted(text, {"application/json", "application/hujson"});
  const auto shown = detail::excerpt(text, 40);
  require(shown.size() <= 40 * 4 + 3);
  for (const char c : shown) require(c >= 0x20 && c < 0x7f);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  credentials(text);
  percent_encoding(text);
  paths(text);
  headers(text);
  return 0;
}
