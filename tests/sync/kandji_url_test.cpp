#include <catch2/catch.hpp>

#include "postern/sync/kandji.hpp"

namespace kandji_url_test {

using postern::sync::normalise_kandji_url;

TEST_CASE("API URLs normalise to https://host", "[sync][kandji]") {
  const std::pair<const char*, const char*> cases[] = {
      {"accuhive.api.kandji.io", "https://accuhive.api.kandji.io"},
      {"https://accuhive.api.kandji.io", "https://accuhive.api.kandji.io"},
      {"https://accuhive.api.kandji.io/", "https://accuhive.api.kandji.io"},
      {"  HTTPS://Accuhive.API.eu.Kandji.io//  ", "https://accuhive.api.eu.kandji.io"},
      {"acme.api.iru.com", "https://acme.api.iru.com"},
      {"http://acme.api.kandji.io", "https://acme.api.kandji.io"},  // upgraded
      {"http://127.0.0.1:8080", "http://127.0.0.1:8080"},           // loopback keeps http
      {"http://localhost:9/", "http://localhost:9"},
      {"http://[::1]:8080", "http://[::1]:8080"},
      {"https://127.0.0.1:8443", "https://127.0.0.1:8443"},
      {"acme.api.kandji.io:8443/", "https://acme.api.kandji.io:8443"},  // port kept
      {"http://127.evil.com", "https://127.evil.com"},  // a name, not a loopback address
      {"http://localhost.", "https://localhost."},      // not exactly `localhost`
      {"http://[::ffff:127.0.0.1]:1", "http://[::ffff:127.0.0.1]:1"},
      {"https://acme.api.kandji.io///", "https://acme.api.kandji.io"},
  };
  for (const auto& [in, out] : cases) {
    INFO(in);
    auto url = normalise_kandji_url(in);
    REQUIRE(url.ok());
    CHECK(url.value() == out);
  }
}

TEST_CASE("unusable API URLs are configuration errors", "[sync][kandji]") {
  for (const char* in :
       {"", "   ", "https://", "ftp://acme.api.kandji.io", "https://acme.api.kandji.io/api/v1",
        "https://user:pw@acme.api.kandji.io", "acme.api.kandji.io?x=1",
        "https://acme.api.kandji.io:abc", "https://-bad.example", "https://bad_host.example",
        "https://user@acme.api.kandji.io", "https://acme.api.kandji.io:99999",
        "https://acme.api.kandji.io/#frag", "file:///etc/passwd", "gopher://acme.api.kandji.io",
        "https://acme.api.kandji.io/api/v1/prism/device_information?limit=1"}) {
    INFO(in);
    auto url = normalise_kandji_url(in);
    REQUIRE_FALSE(url.ok());
    CHECK(url.error().kind == postern::sync::SyncErrorKind::Config);
  }
}

}  // namespace kandji_url_test
