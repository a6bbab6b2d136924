// POST /v1/check, POST /v1/check/batch, GET /v1/filter/{node}: answered from one View, so a
// query (or a whole batch) sees one consistent snapshot while writers publish new ones.
#include <string>

#include "access_query.hpp"
#include "decision_json.hpp"
#include "engine_loading.hpp"
#include "server_http.hpp"

namespace postern::server {
namespace {

struct QueryError {
  int status = 400;
  std::string code;
  std::string message;
};

std::optional<std::uint8_t> query_proto(const nlohmann::json& value) {
  if (value.is_string()) return app::parse_query_proto(value.get<std::string>());
  if (value.is_number_unsigned() && value.get<std::uint64_t>() <= 255) {
    return static_cast<std::uint8_t>(value.get<std::uint64_t>());
  }
  return std::nullopt;
}

// One query: {"src", "dst": "host:port", "proto"?, "srcPostureAttrs"?, "explain"?}. Like
// `postern check`: a user login names all their untagged devices and is accepted only when every
// one of them is.
nlohmann::json answer(const engine::Snapshot& snap, const nlohmann::json& q, QueryError& error,
                      bool& ok) {
  ok = false;
  if (!q.is_object()) {
    error = {400, "invalid_query", "a query must be a JSON object"};
    return {};
  }
  if (auto field = unknown_field(q, {"src", "dst", "proto", "srcPostureAttrs", "explain"})) {
    error = {400, "invalid_query", "unknown field `" + *field + "`"};
    return {};
  }
  const auto src_it = q.find("src");
  const auto dst_it = q.find("dst");
  if (src_it == q.end() || !src_it->is_string() || dst_it == q.end() || !dst_it->is_string()) {
    error = {400, "invalid_query", "`src` and `dst` must be strings"};
    return {};
  }
  std::uint8_t proto = engine::kProtoTcp;
  if (const auto p = q.find("proto"); p != q.end()) {
    const auto parsed = query_proto(*p);
    if (!parsed) {
      error = {400, "invalid_query",
               "unknown protocol `" + (p->is_string() ? p->get<std::string>() : p->dump()) +
                   "` (use tcp, udp, icmp, sctp, a protocol name or 0-255)"};
      return {};
    }
    proto = *parsed;
  }
  bool explain = false;
  if (const auto e = q.find("explain"); e != q.end()) {
    if (!e->is_boolean()) {
      error = {400, "invalid_query", "`explain` must be a boolean"};
      return {};
    }
    explain = e->get<bool>();
  }
  std::string message;
  std::optional<engine::AttrMap> attrs;
  if (const auto a = q.find("srcPostureAttrs"); a != q.end()) {
    attrs = app::parse_attr_map(*a, message);
    if (!attrs) {
      error = {400, "invalid_query", "`srcPostureAttrs`: " + message};
      return {};
    }
  }
  app::AccessQueryError problem;
  const auto query =
      app::resolve_access_query(snap, src_it->get<std::string>(), dst_it->get<std::string>(), proto,
                                std::move(attrs), problem);
  if (!query) {
    error = problem.kind == app::AccessQueryError::Kind::UnknownEndpoint
                ? QueryError{404, "unknown_endpoint", problem.message}
                : QueryError{400, "invalid_query", problem.message};
    return {};
  }
  const auto answer = app::answer_access_query(snap, *query, explain);
  const bool all = answer.accept;
  nlohmann::json results = nlohmann::json::array();
  for (std::size_t i = 0; i < answer.decisions.size(); ++i) {
    results.push_back(app::decision_json(snap.file(), answer.decisions[i], query->src.labels[i],
                                         query->dst.labels[0], query->proto, query->port, explain));
  }
  ok = true;
  return {{"decision", all ? "accept" : "deny"}, {"allow", all}, {"results", std::move(results)}};
}

}  // namespace

void install_query_routes(httplib::Server& server, ApiContext& context) {
  server.Post("/v1/check", [&context](const httplib::Request& req, httplib::Response& res) {
    auto body = body_object(req, res);
    if (!body) return;
    const auto view = context.state.view();
    QueryError error;
    bool ok = false;
    auto out = answer(*view->snapshot, *body, error, ok);
    if (!ok) return send_error(res, error.status, error.code, error.message);
    send_json(res, 200, out);
  });

  // Answers in request order; a bad query gets {"error": {...}} in its place, so one typo does
  // not cost the whole batch.
  server.Post("/v1/check/batch", [&context](const httplib::Request& req, httplib::Response& res) {
    auto body = body_object(req, res);
    if (!body) return;
    if (auto field = unknown_field(*body, {"queries"})) {
      return send_error(res, 400, "bad_request", "unknown field `" + *field + "`");
    }
    const auto queries = body->find("queries");
    if (queries == body->end() || !queries->is_array()) {
      return send_error(res, 400, "bad_request", "`queries` must be an array of queries");
    }
    if (queries->size() > kMaxBatchQueries) {
      return send_error(res, 413, "payload_too_large",
                        "at most " + std::to_string(kMaxBatchQueries) + " queries per batch");
    }
    const auto view = context.state.view();
    nlohmann::json results = nlohmann::json::array();
    for (const auto& q : *queries) {
      QueryError error;
      bool ok = false;
      auto out = answer(*view->snapshot, q, error, ok);
      if (ok) {
        results.push_back(std::move(out));
      } else {
        results.push_back({{"error", {{"code", error.code}, {"message", error.message}}}});
      }
    }
    send_json(res, 200, {{"results", std::move(results)}});
  });

  server.Get(
      R"(/v1/filter/([^/]+))", [&context](const httplib::Request& req, httplib::Response& res) {
        const auto view = context.state.view();
        const auto& snap = *view->snapshot;
        const std::string node = req.matches[1];
        const auto found = engine::find_devices(snap.inventory(), node);
        if (found.size() != 1) {
          return send_error(res, 404, "unknown_device",
                            found.empty() ? "unknown node `" + node + "`"
                                          : "`" + node + "` names " + std::to_string(found.size()) +
                                                " devices; use an id, nodeId or FQDN");
        }
        const auto index = static_cast<engine::DeviceIndex>(found[0]);
        const auto& d = snap.device(index);
        send_json(res, 200,
                  {{"node", {{"id", d.id}, {"nodeId", d.node_id}, {"name", d.name}}},
                   {"rules", app::filter_rules_json(snap.filter_for(index))}});
      });
}

}  // namespace postern::server
