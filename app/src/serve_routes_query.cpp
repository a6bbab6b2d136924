// POST /v1/check, POST /v1/check/batch, GET /v1/filter/{node}: each answered from one snapshot.
#include <fmt/format.h>

#include "decision_json.hpp"
#include "postern/control/query.hpp"
#include "serve_routes.hpp"

namespace postern::server {
namespace {

nlohmann::json answer_json(const engine::Snapshot& snap, const control::CheckAnswer& checked,
                           bool explain) {
  const auto& [query, answer] = checked;
  nlohmann::json results = nlohmann::json::array();
  for (std::size_t i = 0; i < answer.decisions.size(); ++i) {
    results.push_back(app::decision_json(snap.file(), answer.decisions[i], query.src.labels[i],
                                         query.dst.labels[0], query.proto, query.port, explain));
  }
  return {{"decision", answer.accept ? "accept" : "deny"},
          {"allow", answer.accept},
          {"results", std::move(results)}};
}

nlohmann::json batch_answer_json(const engine::Snapshot& snap,
                                 const control::BatchChecker::Answer& a, bool explain) {
  if (a.error) {
    return {{"error",
             {{"code", std::string(grammar::code_name(a.error->code))},
              {"message", a.error->message}}}};
  }
  nlohmann::json r = {{"decision", a.accept ? "accept" : "deny"}, {"allow", a.accept}};
  if (a.accept && a.decision->rule) r["rule"] = app::rule_json(snap.file(), *a.decision->rule);
  if (!a.accept && explain) {
    nlohmann::json misses = nlohmann::json::array();
    for (const auto& nm : a.decision->near_misses) {
      misses.push_back(app::near_miss_json(snap.file(), nm));
    }
    r["postureFailures"] = std::move(misses);
  }
  return r;
}

}  // namespace

void install_query_routes(http::Router& router, ApiContext& context) {
  router.post("/v1/check", [&context](const http::Request& req) {
    const auto body = req.json();
    if (!body.ok()) return http::Response::error(400, body.error);
    auto input = control::parse_query(*body.value);
    if (!input) return error_response(input.error(), context.log);
    const auto snap = context.tailnet.snapshot();
    const auto checked = control::check(*snap, input.value());
    if (!checked) return error_response(checked.error(), context.log);
    return http::Response::json(200, answer_json(*snap, checked.value(), input.value().explain));
  });

  // Answers in request order; a bad query gets {"error": {...}} in its place, so one typo does
  // not cost the whole batch. The answer is streamed: memory stays bounded by the request.
  router.post("/v1/check/batch", [&context](const http::Request& req) {
    const auto body = req.json();
    if (!body.ok()) return http::Response::error(400, body.error);
    const auto& object = *body.value;
    if (!object.is_object()) return http::Response::error(400, "the body must be a JSON object");
    for (const auto& [key, value] : object.items()) {
      if (key != "queries") {
        return http::Response::error(400, fmt::format("unknown field `{}`", key));
      }
    }
    const auto queries = object.find("queries");
    if (queries == object.end() || !queries->is_array()) {
      return http::Response::error(400, "`queries` must be an array of queries");
    }
    if (queries->size() > context.max_batch_queries) {
      return http::Response::error(
          413, fmt::format("at most {} queries per batch (--max-batch-queries)",
                           context.max_batch_queries));
    }
    const auto snap = context.tailnet.snapshot();
    std::string out = R"({"results":[)";
    bool first = true;
    control::BatchChecker batch(snap, [&](const control::BatchChecker::Answer& a) {
      if (!first) out += ',';
      first = false;
      out += batch_answer_json(*snap, a, false).dump();
    });
    for (const auto& q : *queries) {
      auto input = control::parse_query(q);
      if (input) {
        batch.add(input.value());
      } else {
        batch.add_error(input.error());
      }
    }
    batch.finish();
    out += "]}";
    http::Response response;
    response.body = std::move(out);
    return response;
  });

  router.get("/v1/filter/{node}", [&context](const http::Request& req) {
    const auto snap = context.tailnet.snapshot();
    const auto filter = control::filter_for(*snap, *req.param("node"));
    if (!filter) return error_response(filter.error(), context.log);
    return http::Response::json(
        200, app::node_filter_json(*snap, filter.value().device, filter.value().rules));
  });
}

}  // namespace postern::server
