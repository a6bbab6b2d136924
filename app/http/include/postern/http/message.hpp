#pragma once
// What a route handler sees (Request) and gives back (Response). No Beast types: the lead's routes
// and tests depend on this header only.

#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "postern/http/json_body.hpp"

namespace postern::http {

enum class Method { Get, Head, Post, Put, Patch, Delete, Options };

[[nodiscard]] std::string_view method_name(Method method);
[[nodiscard]] std::optional<Method> parse_method(std::string_view name);
// POST, PUT, PATCH and DELETE: the methods a cross-origin page must not be able to send.
[[nodiscard]] bool changes_state(Method method);

using NameValues = std::vector<std::pair<std::string, std::string>>;

// Name/value pairs in arrival order; `case_insensitive` lookups for header names.
class NameValueList {
 public:
  NameValueList() = default;
  explicit NameValueList(bool case_insensitive) : case_insensitive_(case_insensitive) {}

  void add(std::string name, std::string value);
  void reserve(std::size_t count) { entries_.reserve(count); }
  void clear() { entries_.clear(); }  // keeps the list's capacity for the next request
  // The first value under `name`.
  [[nodiscard]] std::optional<std::string_view> get(std::string_view name) const;
  [[nodiscard]] std::vector<std::string_view> get_all(std::string_view name) const;
  [[nodiscard]] const NameValues& entries() const { return entries_; }
  [[nodiscard]] std::size_t size() const { return entries_.size(); }

 private:
  [[nodiscard]] bool same_name(std::string_view a, std::string_view b) const;

  NameValues entries_;
  bool case_insensitive_ = false;
};

struct Headers : NameValueList {
  Headers() : NameValueList(true) {}
};
// Percent-decoded query parameters (`+` is a space) and path parameters.
using QueryParams = NameValueList;
using PathParams = NameValueList;

// Adds the pairs of `text`, application/x-www-form-urlencoded (a query string or a form body),
// to `out`, percent-decoded with `+` as a space; false for a malformed escape.
[[nodiscard]] bool parse_form(std::string_view text, QueryParams& out);

// Who the Authenticator said sent the request.
struct Principal {
  using Scopes = std::shared_ptr<const std::vector<std::string>>;
  Principal() = default;
  Principal(std::string who, std::vector<std::string> granted);
  // Shared: one set of scopes (such as everything `all` implies) serves every request.
  Principal(std::string who, Scopes granted);

  std::string actor;  // names the credential, e.g. "key:k123abc" (never the secret itself)
  Scopes scopes;      // never null once constructed with scopes
  bool browser_session = false;  // authenticated by the console's session cookie

  [[nodiscard]] bool has_scope(std::string_view scope) const;
};

// The server's other threads, for a request whose work splits into independent parts: a task
// posted here runs on one of them between its own connections' events. They may all be busy, so
// the request's own thread takes parts too and waits only for parts a helper has begun.
class Helpers {
 public:
  Helpers() = default;
  Helpers(const Helpers&) = delete;
  Helpers& operator=(const Helpers&) = delete;
  virtual ~Helpers() = default;
  [[nodiscard]] virtual std::size_t count() const = 0;  // threads a task may be posted to
  // To the next of them in turn; only from the request's own thread. A task not yet run when
  // the server stops is destroyed without running.
  virtual void post(std::function<void()> task) = 0;
};

// Memory a handler keeps after it returns (a streamed answer's parsed batch), counted against
// the server's budget for request bodies (Limits::max_body_memory) with the request's body and
// given back when the exchange ends.
class MemoryClaim {
 public:
  // Whether `bytes` in all, the body's included, are covered; false when the budget is spent.
  [[nodiscard]] virtual bool cover(std::uint64_t bytes) = 0;

 protected:
  ~MemoryClaim() = default;
};

struct Request {
  Method method = Method::Get;
  std::string target;      // as sent: path and query, still percent-encoded
  std::string path;        // the path part of target, still percent-encoded
  std::string_view route;  // the matched pattern, e.g. "/api/v2/device/{id}"
  PathParams params;       // decoded {param} segments
  QueryParams query;
  Headers headers;
  std::string body;
  std::string peer_address;            // the client's IP address
  std::optional<Principal> principal;  // set when the route requires authentication
  std::size_t max_json_depth = 512;    // the server's Limits::max_json_depth
  Helpers* helpers = nullptr;          // the server's other threads; null when it has none
  MemoryClaim* memory = nullptr;       // this request's share of the body budget; may be null

  [[nodiscard]] std::optional<std::string_view> param(std::string_view name) const {
    return params.get(name);
  }
  // The body parsed with parse_json_body and this server's depth limit.
  [[nodiscard]] JsonBody json() const;
};

// Fills `out` with the next piece of a streamed body (replacing its contents); returns false once
// the body is complete (then `out` is ignored). Called on the connection's thread, one piece at a
// time, each written before the next is asked for: memory stays at one piece.
using ChunkSource = std::function<bool(std::string& out)>;

class PendingResponse;

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  NameValues headers;  // extra fields, e.g. {"ETag", "\"abc\""}
  ChunkSource stream;  // when set, the body is sent chunked from this source and `body` is unused
  // When set, the answer comes later (Response::later); everything else here is unused.
  std::shared_ptr<PendingResponse> pending;

  // `value` serialised compactly; invalid UTF-8 in strings is replaced, never thrown.
  [[nodiscard]] static Response json(int status, const nlohmann::json& value);
  // {"message": message}
  [[nodiscard]] static Response error(int status, std::string_view message);
  [[nodiscard]] static Response streamed(int status, std::string content_type, ChunkSource source);
  // The answer is `pending`'s, given later from any thread: the connection waits for it without
  // holding its thread (e.g. while a group commit of attribute writes is stored).
  [[nodiscard]] static Response later(std::shared_ptr<PendingResponse> pending);
};

// A response its handler completes later, once, from any thread.
class PendingResponse {
 public:
  // What makes the answer, run on the connection's own thread: the completing thread (e.g. the
  // one committing a batch for many connections) only hands it over.
  using Answer = std::function<Response()>;
  void complete(Answer answer);
  void complete(Response response);
  // The connection's continuation: called with the answer once it is complete (at once, on
  // this thread, when it already is).
  void on_complete(std::function<void(Answer)> resume);

 private:
  std::mutex mutex_;
  Answer ready_;
  std::function<void(Answer)> resume_;
};

}  // namespace postern::http
