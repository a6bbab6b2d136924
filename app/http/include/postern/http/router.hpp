#pragma once
// Routes by method and path pattern. A pattern is literal segments and `{name}` segments, e.g.
// "/api/v2/device/{id}/attributes/{key}"; a `{name}` segment matches one non-empty path segment,
// percent-decoded (so `%3A` and a raw `:` both give ':'). Where several patterns match, the one
// with a literal segment earliest wins ("/acl/validate" before "/acl/{x}").

#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "postern/http/message.hpp"

namespace postern::http {

using Handler = std::function<Response(const Request&)>;

inline const std::vector<std::string> kJsonOnly{"application/json"};
inline const std::vector<std::string> kJsonOrHujson{"application/json", "application/hujson"};

struct RouteOptions {
  // Media types accepted for a request body (parameters such as charset are ignored); a request
  // with a body of another type, or none, gets 415. Empty: any type.
  std::vector<std::string> content_types = kJsonOnly;
  // Ask the server's Authenticator before reading the body; Request::principal is then set.
  bool requires_auth = true;
};

struct Route {
  Method method;
  std::string pattern;
  Handler handler;
  RouteOptions options;
};

struct Resolution {
  enum class Outcome { Found, NotFound, MethodNotAllowed, MalformedPath };
  Outcome outcome = Outcome::NotFound;
  const Route* route = nullptr;  // Found
  PathParams params;             // Found
  std::vector<Method> allowed;   // MethodNotAllowed: the path's methods, for `Allow`
  std::string_view pattern;      // Found and MethodNotAllowed: the matched pattern (the router's)
};

class Router {
 public:
  // Throws std::invalid_argument for a malformed pattern or a method/pattern pair added twice:
  // both are bugs in the caller's route table, found at start-up.
  void add(Method method, std::string_view pattern, Handler handler, RouteOptions options = {});
  void get(std::string_view pattern, Handler handler, RouteOptions options = {});
  void post(std::string_view pattern, Handler handler, RouteOptions options = {});

  // `raw_path` is the path as sent (percent-encoded, no query). HEAD falls back to the GET route.
  [[nodiscard]] Resolution resolve(Method method, std::string_view raw_path) const;
  // Every method some route takes (HEAD where GET is), for `OPTIONS *`.
  [[nodiscard]] std::vector<Method> methods() const;

 private:
  struct Segment {
    std::string text;  // literal text, or the parameter name
    bool is_param;
  };
  struct PathEntry {
    std::string pattern;
    std::vector<Segment> segments;
    std::vector<Route> routes;
  };

  [[nodiscard]] static std::vector<Segment> parse_pattern(std::string_view pattern);
  [[nodiscard]] const PathEntry* best_match(const std::vector<std::string>& segments) const;
  [[nodiscard]] static Resolution resolve_in(const PathEntry& entry, Method method,
                                             const std::vector<std::string>& segments);

  std::vector<PathEntry> paths_;
  // Indexes into paths_ by their number of segments: a path is only compared with patterns of
  // its length.
  std::vector<std::vector<std::size_t>> paths_by_length_;
  // Patterns without parameters, by their text (index into paths_): a path sent without
  // percent-encoding that equals one is that route, found with one lookup.
  struct PathHash {
    using is_transparent = void;  // looked up by the request's string_view, no copy
    std::size_t operator()(std::string_view path) const noexcept {
      return std::hash<std::string_view>{}(path);
    }
  };
  std::unordered_map<std::string, std::size_t, PathHash, std::equal_to<>> literal_paths_;
};

}  // namespace postern::http
