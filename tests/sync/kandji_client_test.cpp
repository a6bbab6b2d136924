// The Kandji fetch loop over a FakeTransport: paging, de-duplication, retries, errors.
#include <catch2/catch.hpp>

#include "fake_transport.hpp"
#include "postern/sync/http_retry.hpp"
#include "postern/sync/kandji.hpp"

namespace kandji_client_test {

using namespace postern;
using sync::SyncErrorKind;

namespace {

struct Fixture {
  sync::FakeClock clock;
  test::FakeTransport transport;
  sync::KandjiProvider provider;
  sync::FetchOptions options;
  sync::ProviderConfig config{"https://acme.api.kandji.io",
                              "tok-3f1c9a7e-5b2d-4c8e-9a01-7d2e4b6a8f10"};

  Fixture() { options.jitter_seed = 42; }
  sync::Result<sync::Snapshot> fetch() {
    return provider.fetch(transport, clock, config, options, {});
  }
};

std::vector<std::string> rows(std::size_t n) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(
        test::kandji_row("id-" + std::to_string(i), "SER" + std::to_string(i), true, i % 2 == 0));
  }
  return out;
}

}  // namespace

TEST_CASE("cursor paging walks every page with limit=300", "[sync][kandji]") {
  Fixture f;
  test::PagedKandji server{rows(700)};
  f.transport.set_handler([&](const sync::HttpRequest& r, int) { return server.serve(r); });
  int progress_calls = 0;
  auto snapshot = f.provider.fetch(f.transport, f.clock, f.config, f.options,
                                   [&](const sync::FetchProgress&) { ++progress_calls; });
  REQUIRE(snapshot.ok());
  CHECK(snapshot.value().devices.size() == 700);
  CHECK(snapshot.value().pages == 3);
  CHECK(progress_calls == 3);
  const auto requests = f.transport.requests();
  REQUIRE(requests.size() == 3);
  CHECK(requests[0].url == "https://acme.api.kandji.io/api/v1/prism/device_information?limit=300");
  CHECK(requests[1].url ==
        "https://acme.api.kandji.io/api/v1/prism/device_information?limit=300&cursor=c300");
  bool bearer = false, accept = false;
  for (const auto& [name, value] : requests[0].headers) {
    bearer = bearer || (name == "Authorization" && value == "Bearer " + f.config.token);
    accept = accept || (name == "Accept" && value == "application/json");
  }
  CHECK(bearer);
  CHECK(accept);
}

TEST_CASE("offset fallback when the server sends no cursor", "[sync][kandji]") {
  Fixture f;
  test::PagedKandji server{rows(601)};
  server.cursor_style = false;
  f.transport.set_handler([&](const sync::HttpRequest& r, int) { return server.serve(r); });
  auto snapshot = f.fetch();
  REQUIRE(snapshot.ok());
  CHECK(snapshot.value().devices.size() == 601);
  const auto requests = f.transport.requests();
  REQUIRE(requests.size() == 3);
  CHECK(test::query_param(requests[1].url, "offset") == "300");
  CHECK(test::query_param(requests[2].url, "offset") == "600");
}

TEST_CASE("a server page size below the request's limit still pages to the end", "[sync][kandji]") {
  Fixture f;
  test::PagedKandji server{rows(60)};
  server.cursor_style = false;
  server.page_size = 25;  // the response's `limit` says 25
  f.transport.set_handler([&](const sync::HttpRequest& r, int) { return server.serve(r); });
  auto snapshot = f.fetch();
  REQUIRE(snapshot.ok());
  CHECK(snapshot.value().devices.size() == 60);
  CHECK(snapshot.value().pages == 3);
}

TEST_CASE("rows repeated across pages are de-duplicated by device_id", "[sync][kandji]") {
  Fixture f;
  auto list = rows(400);
  list.insert(list.begin() + 300, list[299]);  // offset drift repeats the last row of page 1
  test::PagedKandji server{list};
  f.transport.set_handler([&](const sync::HttpRequest& r, int) { return server.serve(r); });
  auto snapshot = f.fetch();
  REQUIRE(snapshot.ok());
  CHECK(snapshot.value().devices.size() == 400);
}

TEST_CASE("a listing that never ends hits the page cap", "[sync][kandji]") {
  Fixture f;
  f.options.max_pages = 5;
  f.transport.set_handler([](const sync::HttpRequest& r, int n) {
    (void)r;
    return test::json_response(
        200, R"({"data":[)" +
                 test::kandji_row("d" + std::to_string(n), "S" + std::to_string(n), true, true) +
                 R"(],"cursor":"next)" + std::to_string(n) + "\"}");
  });
  auto snapshot = f.fetch();
  REQUIRE_FALSE(snapshot.ok());
  CHECK(snapshot.error().kind == SyncErrorKind::Protocol);
  CHECK(f.transport.count() == 5);
}

TEST_CASE("401 and 403 fail at once as authentication errors", "[sync][kandji]") {
  for (int status : {401, 403}) {
    Fixture f;
    f.transport.set_handler([status](const sync::HttpRequest&, int) {
      return test::json_response(status, R"({"detail":"nope"})");
    });
    auto snapshot = f.fetch();
    REQUIRE_FALSE(snapshot.ok());
    CHECK(snapshot.error().kind == SyncErrorKind::Auth);
    CHECK(snapshot.error().http_status == status);
    CHECK(f.transport.count() == 1);
    CHECK(f.clock.slept().count() == 0);
  }
}

TEST_CASE("other 4xx are never retried", "[sync][kandji]") {
  for (int status : {400, 404, 415}) {
    Fixture f;
    f.transport.set_handler([status](const sync::HttpRequest&, int) {
      return test::json_response(status, "<html>not found</html>");
    });
    auto snapshot = f.fetch();
    REQUIRE_FALSE(snapshot.ok());
    CHECK(f.transport.count() == 1);
    CHECK(snapshot.error().kind ==
          (status == 404 ? SyncErrorKind::Config : SyncErrorKind::Protocol));
  }
}

TEST_CASE("429 waits Retry-After, then RateLimit-Reset, then backs off", "[sync][kandji]") {
  Fixture f;
  test::PagedKandji server{rows(10)};
  f.transport.set_handler([&](const sync::HttpRequest& r, int n) {
    if (n == 1) {
      auto resp = test::json_response(429, R"({"message":"API rate limit exceeded"})");
      resp.headers.emplace_back("retry-after", "7");
      return sync::Result<sync::HttpResponse>(resp);
    }
    if (n == 2) {
      auto resp = test::json_response(429, R"({"message":"API rate limit exceeded"})");
      resp.headers.emplace_back("ratelimit-reset", "3");
      return sync::Result<sync::HttpResponse>(resp);
    }
    return sync::Result<sync::HttpResponse>(server.serve(r));
  });
  auto snapshot = f.fetch();
  REQUIRE(snapshot.ok());
  CHECK(f.transport.count() == 3);
  CHECK(f.clock.slept() == sync::Millis{10'000});
}

TEST_CASE("429 beyond the retry budget fails as rate limited", "[sync][kandji]") {
  Fixture f;
  f.transport.set_handler([](const sync::HttpRequest&, int) {
    return test::json_response(429, R"({"message":"API rate limit exceeded"})");
  });
  auto snapshot = f.fetch();
  REQUIRE_FALSE(snapshot.ok());
  CHECK(snapshot.error().kind == SyncErrorKind::RateLimited);
  CHECK(f.transport.count() == f.options.max_attempts);

  Fixture g;
  g.transport.set_handler([](const sync::HttpRequest&, int) {
    auto resp = test::json_response(429, "{}");
    resp.headers.emplace_back("retry-after", "3600");
    return resp;
  });
  auto long_wait = g.fetch();
  REQUIRE_FALSE(long_wait.ok());
  CHECK(long_wait.error().kind == SyncErrorKind::RateLimited);
  CHECK(g.transport.count() == 1);  // an hour is longer than max_retry_wait: give up now

  Fixture h;
  h.transport.set_handler([](const sync::HttpRequest&, int) {
    auto resp = test::json_response(429, "{}");
    resp.headers.emplace_back("x-ratelimit-remaining-hour", "0");
    return resp;
  });
  CHECK_FALSE(h.fetch().ok());
  CHECK(h.transport.count() == 1);  // the tenant's hourly budget is gone: do not burn more
}

TEST_CASE("a page that says the hourly budget is spent stops the listing", "[sync][kandji]") {
  // Every page of `rows` devices answered with the tenant's hourly budget at 0.
  const auto spent_after = [](std::size_t devices) {
    Fixture f;
    test::PagedKandji server{rows(devices)};
    f.transport.set_handler([&](const sync::HttpRequest& r, int) {
      auto resp = server.serve(r);
      resp.headers.emplace_back("x-ratelimit-remaining-hour", "0");
      return resp;
    });
    auto fetched = f.fetch();
    return std::make_pair(std::move(fetched), f.transport.count());
  };
  const auto [listing, requests] = spent_after(700);
  REQUIRE_FALSE(listing.ok());
  CHECK(listing.error().kind == SyncErrorKind::RateLimited);
  CHECK(listing.error().message.find("page 1") != std::string::npos);
  CHECK(requests == 1);
  // On the last page there is nothing left to spend: the listing is complete.
  const auto [whole, one] = spent_after(5);
  REQUIRE(whole.ok());
  CHECK(whole.value().devices.size() == 5);
  CHECK(one == 1);
}

TEST_CASE("5xx and transport errors are retried with bounded jittered backoff", "[sync][kandji]") {
  Fixture f;
  test::PagedKandji server{rows(3)};
  f.transport.set_handler([&](const sync::HttpRequest& r, int n) {
    if (n == 1) return sync::Result<sync::HttpResponse>(test::json_response(503, "<html/>"));
    if (n == 2) {
      return sync::Result<sync::HttpResponse>(
          sync::SyncError{SyncErrorKind::Transient, "request failed: connection reset"});
    }
    return sync::Result<sync::HttpResponse>(server.serve(r));
  });
  auto snapshot = f.fetch();
  REQUIRE(snapshot.ok());
  CHECK(f.transport.count() == 3);
  // attempt 0 waits at most base, attempt 1 at most 2*base.
  CHECK(f.clock.slept() <= sync::Millis{3'000});

  Fixture g;
  g.transport.set_handler(
      [](const sync::HttpRequest&, int) { return test::json_response(500, ""); });
  auto failed = g.fetch();
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.error().kind == SyncErrorKind::Transient);
  CHECK(g.transport.count() == 4);
  CHECK(g.clock.slept() <= sync::Millis{1'000 + 2'000 + 4'000});
}

// Found by an operator review: SIGTERM during a failing sync waited for four attempts of 60 s.
TEST_CASE("a cancel ends the retries and their waits at once", "[sync][kandji]") {
  Fixture f;
  f.transport.set_handler([&](const sync::HttpRequest&, int) {
    f.transport.cancel();  // the process starts stopping during the first attempt
    return test::json_response(503, "");
  });
  auto failed = f.fetch();
  REQUIRE_FALSE(failed.ok());
  CHECK(f.transport.count() == 1);
  CHECK(f.clock.slept() == sync::Millis{0});
  CHECK(failed.error().message.find("cancelled") != std::string::npos);
}

TEST_CASE("the sync deadline bounds retries", "[sync][kandji]") {
  Fixture f;
  f.options.sync_deadline = sync::Millis{1'500};
  f.options.max_attempts = 100;
  f.transport.set_handler([](const sync::HttpRequest&, int) {
    auto resp = test::json_response(429, "{}");
    resp.headers.emplace_back("retry-after", "1");
    return resp;
  });
  auto snapshot = f.fetch();
  REQUIRE_FALSE(snapshot.ok());
  CHECK(snapshot.error().message.find("deadline") != std::string::npos);
  CHECK(f.transport.count() == 2);
}

TEST_CASE("a failure on a later page fails the whole fetch", "[sync][kandji]") {
  Fixture f;
  test::PagedKandji server{rows(900)};
  f.transport.set_handler([&](const sync::HttpRequest& r, int n) {
    if (n == 2) return test::json_response(200, test::read_fixture("truncated.json"));
    return server.serve(r);
  });
  auto snapshot = f.fetch();
  REQUIRE_FALSE(snapshot.ok());
  CHECK(snapshot.error().kind == SyncErrorKind::Protocol);
  CHECK(snapshot.error().message.rfind("page 2: ", 0) == 0);
}

TEST_CASE("Retry-After parses seconds and HTTP dates", "[sync][kandji]") {
  const auto now = sync::from_unix(784111777);  // Sun, 06 Nov 1994 08:49:37 GMT
  CHECK(sync::parse_retry_after("2", now) == sync::Millis{2000});
  CHECK(sync::parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", now) == sync::Millis{10'000});
  CHECK(sync::parse_retry_after("Sun, 06 Nov 1994 08:49:00 GMT", now) == sync::Millis{0});
  CHECK_FALSE(sync::parse_retry_after("soon", now).has_value());
  CHECK_FALSE(sync::parse_retry_after("-3", now).has_value());
  CHECK_FALSE(sync::parse_retry_after("", now).has_value());
  // The obsolete forms RFC 9110 §5.6.7 still asks recipients to accept (read by curl_getdate).
  CHECK(sync::parse_retry_after("Sunday, 06-Nov-94 08:49:47 GMT", now) == sync::Millis{10'000});
  CHECK(sync::parse_retry_after("Sun Nov  6 08:49:47 1994", now) == sync::Millis{10'000});
  CHECK(sync::parse_retry_after(" 5 ", now) == sync::Millis{5'000});
}

TEST_CASE("a 429 with an HTTP-date Retry-After waits until that date", "[sync][kandji]") {
  Fixture f;
  test::PagedKandji server{rows(3)};
  f.clock.set(sync::from_unix(784111777));  // Sun, 06 Nov 1994 08:49:37 GMT
  f.transport.set_handler([&](const sync::HttpRequest& r, int n) {
    if (n > 1) return sync::Result<sync::HttpResponse>(server.serve(r));
    auto resp = test::json_response(429, "{}");
    resp.headers.emplace_back("retry-after", "Sun, 06 Nov 1994 08:49:41 GMT");
    return sync::Result<sync::HttpResponse>(resp);
  });
  REQUIRE(f.fetch().ok());
  CHECK(f.clock.slept() == sync::Millis{4'000});
}

TEST_CASE("a cursor is escaped into the next page's query", "[sync][kandji]") {
  Fixture f;
  const std::string cursor = "eyJvIjozMDB9+/= &x";
  f.transport.set_handler([&](const sync::HttpRequest&, int n) {
    if (n == 1) {
      return test::json_response(200, R"({"data":[],"cursor":")" + cursor + R"("})");
    }
    return test::json_response(200, R"({"data":[],"cursor":null})");
  });
  REQUIRE(f.fetch().ok());
  const auto requests = f.transport.requests();
  REQUIRE(requests.size() == 2);
  CHECK(requests[1].url ==
        "https://acme.api.kandji.io/api/v1/prism/device_information"
        "?limit=300&cursor=eyJvIjozMDB9%2b%2f%3d+%26x");
}

}  // namespace kandji_client_test
