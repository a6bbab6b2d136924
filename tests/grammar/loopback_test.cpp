#include "postern/grammar/loopback.hpp"

#include <catch2/catch.hpp>

namespace loopback_test {

using postern::grammar::ip::is_loopback_host;

TEST_CASE("loopback hosts are literal loopback addresses or exactly localhost",
          "[grammar][loopback]") {
  for (const char* host : {"127.0.0.1", "127.1.2.3", "::1", "[::1]", "0:0:0:0:0:0:0:1",
                           "::ffff:127.0.0.1", "[::ffff:127.0.0.1]", "localhost"}) {
    INFO(host);
    CHECK(is_loopback_host(host));
  }
  // `127.evil.com` was accepted by postern-kandji-sim's own check (issue 7).
  for (const char* host : {"127.evil.com", "127.0.0.1.nip.io", "localhost.", "LOCALHOST.evil",
                           "localhost.example.com", "128.0.0.1", "0.0.0.0", "::", "::2",
                           "[127.0.0.1]", "[::1", "::ffff:10.0.0.1", "127.0.0.01", "", "[]"}) {
    INFO(host);
    CHECK_FALSE(is_loopback_host(host));
  }
}

}  // namespace loopback_test
