#include "postern/http/router.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

#include "text.hpp"

namespace postern::http {
namespace {

// Splits "/a/b/c" into {"a","b","c"}; nullopt unless it starts with '/' and has no empty segment
// ("/" alone is the one path with no segments).
std::optional<std::vector<std::string_view>> split_path(std::string_view path) {
  if (path.empty() || path.front() != '/') return std::nullopt;
  std::vector<std::string_view> segments;
  if (path.size() == 1) return segments;
  std::size_t start = 1;
  while (true) {
    const auto slash = path.find('/', start);
    const auto segment =
        path.substr(start, slash == std::string_view::npos ? slash : slash - start);
    if (segment.empty()) return std::nullopt;
    segments.push_back(segment);
    if (slash == std::string_view::npos) return segments;
    start = slash + 1;
  }
}

}  // namespace

std::vector<Router::Segment> Router::parse_pattern(std::string_view pattern) {
  const auto parts = split_path(pattern);
  if (!parts) throw std::invalid_argument(fmt::format("malformed route pattern `{}`", pattern));
  std::vector<Segment> segments;
  for (const auto part : *parts) {
    const bool is_param = part.size() > 2 && part.front() == '{' && part.back() == '}';
    const auto text = is_param ? part.substr(1, part.size() - 2) : part;
    if (text.find_first_of("{}") != std::string_view::npos) {
      throw std::invalid_argument(fmt::format("malformed route pattern `{}`", pattern));
    }
    segments.push_back(Segment{std::string(text), is_param});
  }
  return segments;
}

void Router::add(Method method, std::string_view pattern, Handler handler, RouteOptions options) {
  auto segments = parse_pattern(pattern);
  PathEntry* entry = nullptr;
  for (auto& existing : paths_) {
    if (existing.pattern == pattern) entry = &existing;
  }
  if (entry == nullptr) {
    const bool literal = std::none_of(segments.begin(), segments.end(),
                                      [](const Segment& segment) { return segment.is_param; });
    if (literal) literal_paths_.emplace(std::string(pattern), paths_.size());
    if (paths_by_length_.size() <= segments.size()) paths_by_length_.resize(segments.size() + 1);
    paths_by_length_[segments.size()].push_back(paths_.size());
    entry = &paths_.emplace_back(PathEntry{std::string(pattern), std::move(segments), {}});
  }
  for (const auto& route : entry->routes) {
    if (route.method == method) {
      throw std::invalid_argument(
          fmt::format("route {} {} added twice", method_name(method), pattern));
    }
  }
  entry->routes.push_back(
      Route{method, std::string(pattern), std::move(handler), std::move(options)});
}

void Router::get(std::string_view pattern, Handler handler, RouteOptions options) {
  add(Method::Get, pattern, std::move(handler), std::move(options));
}

void Router::post(std::string_view pattern, Handler handler, RouteOptions options) {
  add(Method::Post, pattern, std::move(handler), std::move(options));
}

const Router::PathEntry* Router::best_match(const std::vector<std::string>& segments) const {
  const PathEntry* best = nullptr;
  if (segments.size() >= paths_by_length_.size()) return best;
  for (const auto index : paths_by_length_[segments.size()]) {
    const PathEntry& entry = paths_[index];
    bool matches = true;
    for (std::size_t i = 0; i < segments.size() && matches; ++i) {
      matches = entry.segments[i].is_param || entry.segments[i].text == segments[i];
    }
    if (!matches) continue;
    if (best == nullptr) {
      best = &entry;
      continue;
    }
    // Prefer a literal segment at the first position where the two patterns differ in kind.
    for (std::size_t i = 0; i < segments.size(); ++i) {
      if (entry.segments[i].is_param != best->segments[i].is_param) {
        if (!entry.segments[i].is_param) best = &entry;
        break;
      }
    }
  }
  return best;
}

Resolution Router::resolve(Method method, std::string_view raw_path) const {
  if (raw_path.find('%') == std::string_view::npos) {
    // A literal pattern matching every segment outranks any pattern with a parameter.
    if (const auto it = literal_paths_.find(raw_path); it != literal_paths_.end()) {
      return resolve_in(paths_[it->second], method, {});
    }
  }
  Resolution resolution;
  const auto raw_segments = split_path(raw_path);
  if (!raw_segments) return resolution;  // NotFound: no route has empty segments
  std::vector<std::string> segments;
  segments.reserve(raw_segments->size());
  for (const auto raw : *raw_segments) {
    if (raw.find('%') == std::string_view::npos) {  // nothing to decode
      segments.emplace_back(raw);
      continue;
    }
    auto decoded = detail::percent_decode(raw, false);
    if (!decoded) {
      resolution.outcome = Resolution::Outcome::MalformedPath;
      return resolution;
    }
    segments.push_back(std::move(*decoded));
  }
  const PathEntry* entry = best_match(segments);
  if (entry == nullptr) return resolution;
  return resolve_in(*entry, method, segments);
}

std::vector<Method> Router::methods() const {
  std::vector<Method> out;
  const auto add_once = [&out](Method method) {
    if (std::find(out.begin(), out.end(), method) == out.end()) out.push_back(method);
  };
  for (const auto& entry : paths_) {
    for (const auto& route : entry.routes) {
      add_once(route.method);
      if (route.method == Method::Get) add_once(Method::Head);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

Resolution Router::resolve_in(const PathEntry& entry, Method method,
                              const std::vector<std::string>& segments) {
  Resolution resolution;
  resolution.pattern = entry.pattern;
  const Route* found = nullptr;
  const Route* get_route = nullptr;
  bool has_head = false;
  for (const auto& route : entry.routes) {
    if (route.method == method) found = &route;
    if (route.method == Method::Get) get_route = &route;
    has_head = has_head || route.method == Method::Head;
  }
  // HEAD is served by the GET route unless the path has a HEAD route of its own.
  if (method == Method::Head && found == nullptr && !has_head) found = get_route;
  if (found == nullptr) {
    resolution.outcome = Resolution::Outcome::MethodNotAllowed;
    for (const auto& route : entry.routes) resolution.allowed.push_back(route.method);
    if (get_route != nullptr && !has_head) resolution.allowed.push_back(Method::Head);
    return resolution;
  }
  resolution.outcome = Resolution::Outcome::Found;
  resolution.route = found;
  for (std::size_t i = 0; i < segments.size(); ++i) {
    if (entry.segments[i].is_param) resolution.params.add(entry.segments[i].text, segments[i]);
  }
  return resolution;
}

}  // namespace postern::http
