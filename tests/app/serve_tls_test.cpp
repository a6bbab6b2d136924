// `postern serve` over HTTPS (issue 9 item 8): a self-signed certificate made at test time, the
// server on a non-loopback address, which it accepts only with TLS, and where every request then
// needs a credential. Requests go through curl (installed by scripts/install-deps), as a GitOps
// job's would: GET the policy with its ETag, then POST it back with If-Match.
#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "process.hpp"
#include "scratch.hpp"
#include "self_signed.hpp"

namespace serve_tls_test {

namespace {

const std::string kCurl = "/usr/bin/curl";

std::string sample(const std::string& name) {
  return std::string(POSTERN_SOURCE_DIR) + "/samples/" + name;
}

// curl's answer: the status line's code on the last line (-w), the headers and the body above.
postern::test::ProcessResult curl(std::vector<std::string> args) {
  std::vector<std::string> argv = {kCurl, "-sk", "-i", "-w", "\n%{http_code}"};
  argv.insert(argv.end(), args.begin(), args.end());
  return postern::test::run_process(argv, {}, std::chrono::seconds(30));
}

int status_of(const postern::test::ProcessResult& r) {
  const auto last = r.out.rfind('\n');
  return last == std::string::npos ? 0 : std::stoi(r.out.substr(last + 1));
}

}  // namespace

TEST_CASE("serve: HTTPS on a non-loopback address, credentials required", "[app][server][tls]") {
  if (!std::filesystem::exists(kCurl)) {
    WARN("curl is not installed: skipped");
    return;
  }
  postern::test::ScratchDir dir("postern-serve-tls");
  const auto cert = dir.file("cert.pem").string();
  const auto key = dir.file("key.pem").string();
  postern::test::make_self_signed(cert, key);
  const auto db = dir.file("postern.db").string();
  const std::string postern = postern::test::binary("app/postern");

  SECTION("plain HTTP beyond loopback, or half a TLS pair, is refused at start") {
    auto plain =
        postern::test::run_process({postern, "serve", "--listen", "0.0.0.0:0", "--policy",
                                    sample("policy.hujson"), "--tailnet", sample("tailnet.json")});
    CHECK(plain.exit_code == 2);
    CHECK(plain.err.find("--tls-cert") != std::string::npos);
    auto half = postern::test::run_process({postern, "serve", "--listen", "127.0.0.1:0", "--policy",
                                            sample("policy.hujson"), "--tailnet",
                                            sample("tailnet.json"), "--tls-cert", cert});
    CHECK(half.exit_code == 2);
    CHECK(half.err.find("--tls-key") != std::string::npos);
  }

  SECTION("a key authenticates; nothing does without one") {
    const auto created =
        postern::test::run_process({postern, "keys", "create", "--db", db, "--expiry", "1d"});
    REQUIRE(created.exit_code == 0);
    const std::string token = created.out.substr(0, created.out.find('\n'));
    postern::test::Process server({postern, "serve", "--listen", "0.0.0.0:0", "--policy",
                                   sample("policy.hujson"), "--tailnet", sample("tailnet.json"),
                                   "--db", db, "--tls-cert", cert, "--tls-key", key});
    const auto port = server.wait_listening();
    INFO(server.err());
    REQUIRE(port);
    const std::string base = "https://127.0.0.1:" + std::to_string(*port);

    CHECK(status_of(curl({base + "/v1/health"})) == 401);  // no open local operator here
    CHECK(status_of(curl({"-H", "Authorization: Bearer " + token, base + "/v1/health"})) == 200);
    // Plain HTTP to the TLS port is not answered as HTTP.
    CHECK(status_of(curl({"http://127.0.0.1:" + std::to_string(*port) + "/v1/health"})) != 200);

    // GitOps: GET with the ETag, POST the same text back with If-Match.
    const auto got = curl({"-u", token + ":", base + "/api/v2/tailnet/-/acl"});
    REQUIRE(status_of(got) == 200);
    const auto etag_at = got.out.find("ETag: ");
    REQUIRE(etag_at != std::string::npos);
    const std::string etag = got.out.substr(etag_at + 6, got.out.find('\r', etag_at) - etag_at - 6);
    const auto posted = curl({"-u", token + ":", "-H", "If-Match: " + etag, "-H",
                              "Content-Type: application/hujson", "--data-binary",
                              "@" + sample("policy.hujson"), base + "/api/v2/tailnet/-/acl"});
    INFO(posted.out);
    CHECK(status_of(posted) == 200);

    // An attribute write is answered after its group commit, on a TLS connection too.
    const auto written =
        curl({"-u", token + ":", "-H", "Content-Type: application/json", "--data",
              R"({"value": 7})", base + "/api/v2/device/nCar0lMBP05/attributes/custom:tls"});
    INFO(written.out);
    CHECK(status_of(written) == 200);
    CHECK(written.out.find(R"("custom:tls":7)") != std::string::npos);
    CHECK(server.stop() == 0);
    CHECK(server.err().find(token) == std::string::npos);
    CHECK(server.err().find(" on https://") != std::string::npos);  // the scheme it serves
  }
}

}  // namespace serve_tls_test
