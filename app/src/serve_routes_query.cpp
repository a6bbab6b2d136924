// POST /v1/check, POST /v1/check/batch, GET /v1/filter/{node}: each answered from one snapshot.
#include <fmt/format.h>

#include <algorithm>
#include <memory>

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

// One batch answer in the making: the queries, the snapshot they are answered from, and the
// text of the answers not yet handed to the connection.
class BatchStream {
 public:
  static constexpr std::size_t kQueriesPerPiece = 4096;

  BatchStream(std::shared_ptr<const engine::Snapshot> snapshot, nlohmann::json queries)
      : snapshot_(std::move(snapshot)),
        queries_(std::move(queries)),
        checker_(snapshot_, [this](const control::BatchChecker::Answer& a) {
          if (!first_) buffer_ += ',';
          first_ = false;
          buffer_ += app::batch_answer_json(snapshot_->file(), a).dump();
        }) {}

  // The next piece of the body, never empty (an empty chunk would end it); false once
  // everything was handed out. The last piece of queries always adds the closing brackets.
  bool next(std::string& out) {
    if (finished_) return false;
    buffer_.clear();
    if (!opened_) {
      buffer_ = R"({"results":[)";
      opened_ = true;
    }
    do {
      feed_piece();
    } while (buffer_.empty());
    out.swap(buffer_);
    return true;
  }

 private:
  // Parses and checks the next kQueriesPerPiece queries (the checker answers a block at a time
  // into buffer_); after the last one, the rest of the answers and the closing brackets.
  void feed_piece() {
    const std::size_t end = std::min(queries_.size(), next_ + kQueriesPerPiece);
    for (; next_ < end; ++next_) {
      auto input = control::parse_query(queries_[next_]);
      if (input) {
        checker_.add(input.value());
      } else {
        checker_.add_error(input.error());
      }
    }
    if (next_ == queries_.size()) {
      checker_.finish();
      buffer_ += "]}";
      finished_ = true;
      queries_ = nlohmann::json();  // returned to the allocator now, not when the socket closes
    }
  }

  std::shared_ptr<const engine::Snapshot> snapshot_;
  nlohmann::json queries_;
  control::BatchChecker checker_;
  std::string buffer_;
  std::size_t next_ = 0;
  bool opened_ = false;
  bool first_ = true;
  bool finished_ = false;
};

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
    ++context.checks_answered;
    return http::Response::json(200, answer_json(*snap, checked.value(), input.value().explain));
  });

  // Answers in request order; a bad query gets {"error": {...}} in its place, so one typo does
  // not cost the whole batch. The answer is streamed a block of queries at a time, so the
  // response never exists whole in memory.
  router.post("/v1/check/batch", [&context](const http::Request& req) {
    auto body = req.json();
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
      return http::Response::error(413,
                                   fmt::format("at most {} queries per batch (--max-batch-queries)",
                                               context.max_batch_queries));
    }
    context.checks_answered += queries->size();
    auto stream = std::make_shared<BatchStream>(context.tailnet.snapshot(), std::move(*queries));
    return http::Response::streamed(200, "application/json",
                                    [stream](std::string& out) { return stream->next(out); });
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
