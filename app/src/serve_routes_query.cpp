// POST /v1/check, POST /v1/check/batch, GET /v1/filter/{node}: each answered from one snapshot.
#include <fmt/format.h>

#include <algorithm>
#include <memory>

#include "answer_text.hpp"
#include "decision_json.hpp"
#include "postern/control/query.hpp"
#include "serve_routes.hpp"

namespace postern::server {
namespace {

// One batch answer in the making: the queries, the snapshot they are answered from, and the
// text of the answers not yet handed to the connection.
class BatchStream {
 public:
  static constexpr std::size_t kQueriesPerPiece = 4096;
  // How far ahead names are prefetched: enough queries to cover a memory load's latency.
  static constexpr std::size_t kLookAhead = 8;

  BatchStream(std::shared_ptr<const engine::Snapshot> snapshot, control::QueryBatch batch)
      : snapshot_(std::move(snapshot)),
        batch_(std::move(batch)),
        checker_(snapshot_,
                 [this](const control::BatchChecker::Answer& a) {
                   if (!first_) buffer_ += ',';
                   first_ = false;
                   app::append_batch_answer(buffer_, snapshot_->file(), file_label_, a);
                 }),
        file_label_(app::policy_file_label(snapshot_->file())) {}

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
  // Checks the next kQueriesPerPiece queries (the checker answers a block at a time into
  // buffer_); after the last one, the rest of the answers and the closing brackets.
  void feed_piece() {
    auto& queries = batch_.queries;
    const std::size_t end = std::min(queries.size(), next_ + kQueriesPerPiece);
    for (; next_ < end; ++next_) {
      if (next_ + kLookAhead < queries.size() && queries[next_ + kLookAhead]) {
        checker_.prefetch(queries[next_ + kLookAhead].value());
      }
      if (queries[next_]) {
        checker_.add(queries[next_].value());
      } else {
        checker_.add_error(queries[next_].error());
      }
    }
    if (next_ == queries.size()) {
      checker_.finish();
      buffer_ += "]}";
      finished_ = true;
      batch_ = control::QueryBatch();  // returned to the allocator now, not when the socket closes
    }
  }

  std::shared_ptr<const engine::Snapshot> snapshot_;
  control::QueryBatch batch_;
  control::BatchChecker checker_;
  std::string_view file_label_;  // in snapshot_'s file name
  std::string buffer_;
  std::size_t next_ = 0;
  bool opened_ = false;
  bool first_ = true;
  bool finished_ = false;
};

// The answer to a body the query reader refused: a text that is not well-formed JSON is
// described by the HTTP layer's JSON reader (line, column and an excerpt).
http::Response refused_body(const http::Request& req, const control::Error& error,
                            ApiContext& context) {
  if (error.code == grammar::DiagCode::C723) {
    const auto body = req.json();
    if (!body.ok()) return http::Response::error(400, body.error);
  }
  if (error.code == grammar::DiagCode::C724) {
    return http::Response::error(413, fmt::format("{} (--max-batch-queries)", error.message));
  }
  return error_response(error, context.log);
}

}  // namespace

void install_query_routes(http::Router& router, ApiContext& context) {
  router.post("/v1/check", [&context](const http::Request& req) {
    auto input = control::read_query(req.body, false, req.max_json_depth);
    if (!input) return refused_body(req, input.error(), context);
    const auto snap = context.tailnet.snapshot();
    const auto checked = control::check(*snap, input.value());
    if (!checked) return error_response(checked.error(), context.log);
    ++context.checks_answered;
    http::Response response;
    app::append_check_answer(response.body, snap->file(), app::policy_file_label(snap->file()),
                             checked.value(), input.value().explain);
    return response;
  });

  // Answers in request order; a bad query gets {"error": {...}} in its place, so one typo does
  // not cost the whole batch. The answer is streamed a block of queries at a time, so the
  // response never exists whole in memory.
  router.post("/v1/check/batch", [&context](const http::Request& req) {
    auto batch = control::read_query_batch(
        req.body, control::QueryBatchLimits{context.max_batch_queries, req.max_json_depth});
    if (!batch) return refused_body(req, batch.error(), context);
    context.checks_answered += batch.value().queries.size();
    auto stream =
        std::make_shared<BatchStream>(context.tailnet.snapshot(), std::move(batch.value()));
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
