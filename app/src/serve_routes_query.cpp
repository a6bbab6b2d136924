// POST /v1/check, POST /v1/check/batch, GET /v1/filter/{node}: each answered from one snapshot.
#include <fmt/format.h>
#ifdef POSTERN_WITH_MIMALLOC
#include <mimalloc.h>
#endif

#include <algorithm>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "answer_text.hpp"
#include "decision_json.hpp"
#include "postern/control/query.hpp"
#include "postern/http/limits.hpp"
#include "serve_routes.hpp"
#include "sliced_answers.hpp"

namespace postern::server {
namespace {

// The answer file of the snapshot's policy, made once per policy load and thread rather than
// per check. A cached one is reused only for the same load (a weak_ptr to its policy: a new
// load is told apart even at a freed one's address), so it never reads a file a reload freed.
const app::AnswerFile& answer_file_for(const engine::Snapshot& snapshot) {
  struct Cached {
    std::weak_ptr<const void> policy;
    std::optional<app::AnswerFile> answer_file;
  };
  thread_local Cached cached;
  const auto policy = snapshot.policy_identity();
  if (!cached.answer_file || cached.policy.owner_before(policy) ||
      policy.owner_before(cached.policy)) {
    cached.answer_file.emplace(snapshot.file(), policy);
    cached.policy = policy;
  }
  return *cached.answer_file;
}

control::OtherThreads other_threads(http::Helpers& helpers) {
  return {helpers.count(),
          [&helpers](std::function<void()> task) { helpers.post(std::move(task)); }};
}

// mimalloc keeps what a thread freed for its next allocations; after a large batch it is given
// back to the system now, so a burst of large batches does not leave the server's memory high.
void return_freed_memory() {
#ifdef POSTERN_WITH_MIMALLOC
  mi_collect(true);
#endif
}

// One batch answer in the making: the queries, the snapshot they are answered from, and the
// text of the answers not yet handed to the connection. Each piece of queries is answered in
// slices by this thread and the server's others (SlicedAnswers).
class BatchStream {
 public:
  static constexpr std::size_t kLargeBatchBytes = 4 * 1024 * 1024;
  static constexpr std::size_t kQueriesPerPiece = 4096;

  BatchStream(std::shared_ptr<const engine::Snapshot> snapshot, control::QueryBatch batch,
              http::Helpers* helpers)
      : snapshot_(std::move(snapshot)),
        batch_(std::move(batch)),
        file_(snapshot_->file(), snapshot_->policy_identity()) {
    if (helpers != nullptr) others_ = other_threads(*helpers);
  }

  // The next piece of the body, never empty (an empty chunk would end it); false once
  // everything was handed out. The last piece always adds the closing brackets.
  bool next(std::string& out) {
    if (finished_) return false;
    buffer_.clear();
    if (!opened_) {
      buffer_ = R"({"results":[)";
      opened_ = true;
    }
    feed_piece();
    out.swap(buffer_);
    return true;
  }

  ~BatchStream() { release_batch(); }
  BatchStream(const BatchStream&) = delete;
  BatchStream& operator=(const BatchStream&) = delete;

 private:
  // The batch returned to the allocator (at its end, or when the client went away before).
  void release_batch() {
    const bool large = batch_.memory_bytes() > kLargeBatchBytes;
    batch_ = control::QueryBatch();
    if (large) return_freed_memory();
  }

  // Answers the next kQueriesPerPiece queries into buffer_; after the last, the closing brackets.
  void feed_piece() {
    const auto queries = batch_.queries();
    const std::size_t count = std::min(queries.size() - next_, kQueriesPerPiece);
    if (count > 0) {
      app::SlicedAnswers answers(snapshot_, file_, queries.subspan(next_, count));
      answers.answer_all(others_);
      if (next_ > 0) buffer_ += ',';
      answers.append_to(buffer_);
      next_ += count;
    }
    if (next_ == queries.size()) {
      buffer_ += "]}";
      finished_ = true;
      release_batch();  // now, not when the socket closes
    }
  }

  std::shared_ptr<const engine::Snapshot> snapshot_;
  control::QueryBatch batch_;
  app::AnswerFile file_;  // snapshot_'s
  control::OtherThreads others_;
  std::string buffer_;
  std::size_t next_ = 0;
  bool opened_ = false;
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

// The body budget cannot hold a parsed batch as well: like a body it cannot hold, 503.
http::Response batch_memory_spent(const ApiContext& context) {
  auto busy = http::Response::error(
      503, fmt::format("the server holds as many request bodies and parsed batches as it may "
                       "({} bytes in all, {}); retry shortly",
                       context.max_body_memory, http::flag::kMaxBodyMemory));
  busy.headers.emplace_back("Retry-After", "1");
  return busy;
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
    app::append_check_answer(response.body, answer_file_for(*snap), checked.value(),
                             input.value().explain);
    return response;
  });

  // Answers in request order; a bad query gets {"error": {...}} in its place, so one typo does
  // not cost the whole batch. The answer is streamed a block of queries at a time, so the
  // response never exists whole in memory.
  router.post("/v1/check/batch", [&context](const http::Request& req) {
    auto batch = control::read_query_batch(
        req.body, control::QueryBatchLimits{context.max_batch_queries, req.max_json_depth},
        req.helpers != nullptr ? other_threads(*req.helpers) : control::OtherThreads{});
    if (!batch) return refused_body(req, batch.error(), context);
    // The parsed batch lives as long as its answer is written, however slowly the client reads:
    // it counts against the server's body memory, with the body.
    if (req.memory != nullptr &&
        !req.memory->cover(req.body.size() + batch.value().memory_bytes())) {
      return batch_memory_spent(context);
    }
    context.checks_answered += batch.value().queries().size();
    auto stream = std::make_shared<BatchStream>(context.tailnet.snapshot(),
                                                std::move(batch.value()), req.helpers);
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
