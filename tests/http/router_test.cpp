#include "postern/http/router.hpp"

#include <catch2/catch.hpp>

#include "postern/http/credentials.hpp"

namespace router_test {

using postern::http::Credential;
using postern::http::Method;
using postern::http::parse_authorization;
using postern::http::Request;
using postern::http::Resolution;
using postern::http::Response;
using postern::http::Router;

namespace {

Router sample_router() {
  Router router;
  const auto ok = [](const Request&) { return Response::json(200, {}); };
  router.get("/api/v2/device/{id}", ok);
  router.get("/api/v2/device/{id}/attributes/{key}", ok);
  router.post("/api/v2/device/{id}/attributes/{key}", ok);
  router.add(Method::Delete, "/api/v2/device/{id}/attributes/{key}", ok);
  router.get("/api/v2/tailnet/{tailnet}/acl", ok);
  router.post("/api/v2/tailnet/{tailnet}/acl/validate", ok);
  router.post("/api/v2/tailnet/{tailnet}/acl/{other}", ok);
  router.post("/", ok);
  return router;
}

}  // namespace

TEST_CASE("router: params are percent-decoded, raw and encoded colons match alike",
          "[http][router]") {
  const auto router = sample_router();
  for (const auto* path :
       {"/api/v2/device/n1/attributes/custom:foo", "/api/v2/device/n1/attributes/custom%3Afoo",
        "/api/v2/device/n1/attributes/custom%3afoo"}) {
    const auto found = router.resolve(Method::Post, path);
    INFO(path);
    REQUIRE(found.outcome == Resolution::Outcome::Found);
    CHECK(found.params.get("id") == "n1");
    CHECK(found.params.get("key") == "custom:foo");
    CHECK(found.route->pattern == "/api/v2/device/{id}/attributes/{key}");
  }
  CHECK(router.resolve(Method::Get, "/api/v2/device/a%2Fb").params.get("id") == "a/b");
}

TEST_CASE("router: unknown paths, wrong methods, HEAD and bad escapes", "[http][router]") {
  const auto router = sample_router();
  CHECK(router.resolve(Method::Get, "/api/v2/nothing").outcome == Resolution::Outcome::NotFound);
  CHECK(router.resolve(Method::Get, "/api/v2/device/").outcome == Resolution::Outcome::NotFound);
  CHECK(router.resolve(Method::Get, "/api/v2//device/x").outcome == Resolution::Outcome::NotFound);
  CHECK(router.resolve(Method::Get, "/api/v2/device/%zz").outcome ==
        Resolution::Outcome::MalformedPath);
  CHECK(router.resolve(Method::Get, "/api/v2/device/%4").outcome ==
        Resolution::Outcome::MalformedPath);

  const auto wrong = router.resolve(Method::Put, "/api/v2/device/n1/attributes/k");
  REQUIRE(wrong.outcome == Resolution::Outcome::MethodNotAllowed);
  CHECK(wrong.allowed ==
        std::vector<Method>{Method::Get, Method::Post, Method::Delete, Method::Head});

  const auto head = router.resolve(Method::Head, "/api/v2/device/n1");
  REQUIRE(head.outcome == Resolution::Outcome::Found);
  CHECK(head.route->method == Method::Get);
  CHECK(router.resolve(Method::Get, "/").outcome == Resolution::Outcome::MethodNotAllowed);
  CHECK(router.resolve(Method::Post, "/").outcome == Resolution::Outcome::Found);
}

TEST_CASE("router: a literal segment beats a parameter", "[http][router]") {
  const auto router = sample_router();
  const auto validate = router.resolve(Method::Post, "/api/v2/tailnet/-/acl/validate");
  REQUIRE(validate.outcome == Resolution::Outcome::Found);
  CHECK(validate.route->pattern == "/api/v2/tailnet/{tailnet}/acl/validate");
  const auto other = router.resolve(Method::Post, "/api/v2/tailnet/-/acl/preview");
  REQUIRE(other.outcome == Resolution::Outcome::Found);
  CHECK(other.params.get("other") == "preview");
}

TEST_CASE("router: a path with no parameter is found as sent and percent-encoded alike",
          "[http][router]") {
  Router router;
  const auto ok = [](const Request&) { return Response::json(200, {}); };
  router.get("/v1/devices/{id}", ok);
  router.post("/v1/devices/check", ok);
  for (const auto* path : {"/v1/devices/check", "/v1/devices/ch%65ck", "/v1/%64evices/check"}) {
    INFO(path);
    const auto literal = router.resolve(Method::Post, path);
    REQUIRE(literal.outcome == Resolution::Outcome::Found);
    CHECK(literal.route->pattern == "/v1/devices/check");
    CHECK(literal.pattern == "/v1/devices/check");
    CHECK(literal.params.get("id") == std::nullopt);
    // GET is only the parameter route's: the literal one answers 405 with its own methods.
    const auto get = router.resolve(Method::Get, path);
    REQUIRE(get.outcome == Resolution::Outcome::MethodNotAllowed);
    CHECK(get.allowed == std::vector<Method>{Method::Post});
  }
  CHECK(router.resolve(Method::Get, "/v1/devices/checks").params.get("id") == "checks");
  CHECK(router.resolve(Method::Get, "/v1/devices/checks").allowed.empty());  // only for 405
  // Longer and shorter than every pattern: no pattern of that length to compare with.
  CHECK(router.resolve(Method::Get, "/v1/devices/x/y/z/w").outcome ==
        Resolution::Outcome::NotFound);
  CHECK(router.resolve(Method::Get, "/v1").outcome == Resolution::Outcome::NotFound);
  CHECK(router.resolve(Method::Post, "/v1/devices/check/").outcome ==
        Resolution::Outcome::NotFound);
}

TEST_CASE("router: malformed patterns and duplicates are refused at set-up", "[http][router]") {
  Router router;
  const auto ok = [](const Request&) { return Response::json(200, {}); };
  CHECK_THROWS_AS(router.get("no-slash", ok), std::invalid_argument);
  CHECK_THROWS_AS(router.get("/a//b", ok), std::invalid_argument);
  CHECK_THROWS_AS(router.get("/a/{b", ok), std::invalid_argument);
  router.get("/a/{b}", ok);
  CHECK_THROWS_AS(router.get("/a/{b}", ok), std::invalid_argument);
}

TEST_CASE("credentials: Bearer and Basic with the token as user name", "[http][auth]") {
  const auto bearer = parse_authorization("Bearer tskey-api-abc");
  REQUIRE(bearer);
  CHECK(bearer->scheme == Credential::Scheme::Bearer);
  CHECK(bearer->token == "tskey-api-abc");
  CHECK(parse_authorization("bearer  tok ")->token == "tok");

  // base64("tskey-api-abc:") and base64(":secret")
  const auto basic = parse_authorization("Basic dHNrZXktYXBpLWFiYzo=");
  REQUIRE(basic);
  CHECK(basic->scheme == Credential::Scheme::Basic);
  CHECK(basic->token == "tskey-api-abc");
  CHECK(parse_authorization("Basic OnNlY3JldA==")->token == "secret");
  // Padding is optional; when present it completes a group of four.
  CHECK(parse_authorization("Basic dHNrZXktYXBpLWFiYzo")->token == "tskey-api-abc");
  CHECK(parse_authorization("Basic OnNlY3JldA")->token == "secret");
  CHECK(parse_authorization("Basic YWI6")->token == "ab");
  CHECK_FALSE(parse_authorization("Basic OnNlY3JldA="));
  CHECK_FALSE(parse_authorization("Basic OnNlY3JldA==="));
  CHECK_FALSE(parse_authorization("Basic YWI6="));
  CHECK_FALSE(parse_authorization("Basic YWI6Y"));   // a lone last character
  CHECK_FALSE(parse_authorization("Basic YW=I6"));   // `=` inside
  CHECK_FALSE(parse_authorization("Basic YW\tI6"));  // whitespace OpenSSL would skip
  CHECK_FALSE(parse_authorization("Basic YWI-"));    // the URL alphabet is not Basic's

  CHECK_FALSE(parse_authorization("Bearer"));
  CHECK_FALSE(parse_authorization("Bearer a b"));
  CHECK_FALSE(parse_authorization("Digest abc"));
  CHECK_FALSE(parse_authorization("Basic !!!"));
  CHECK_FALSE(parse_authorization("Basic dG9rZW4="));  // "token": no colon
  CHECK_FALSE(parse_authorization("Basic Og=="));      // ":": no token at all
}

}  // namespace router_test
