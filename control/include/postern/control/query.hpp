#pragma once
// Access checks as every front end receives them: a JSON query object (a `postern check --batch`
// line, a `POST /v1/check` body, a batch element) or the CLI's flags, parsed by one set of rules,
// resolved by the engine's query resolution and answered against one snapshot. The CLI and the
// HTTP API therefore give the same answer and the same error for the same request.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

#include "postern/control/outcome.hpp"
#include "postern/control/slices.hpp"
#include "postern/engine/query.hpp"

namespace postern::control {

struct QueryInput {
  std::string src;
  std::string dst;                                       // host:port
  std::variant<std::string, std::int64_t> proto{"tcp"};  // a name or a number
  std::optional<engine::AttrMap> src_attrs;              // srcPostureAttrs
  bool explain = false;
};

// Queries are read from JSON text with simdjson's DOM parser: the whole text is validated (UTF-8,
// syntax, nesting up to `max_depth`) before anything is read from it. Text that is not
// well-formed JSON, or has a duplicate object key, gives an Error with code C723. Plain queries
// are first tried in one pass, which gives up on anything else (query_text_plain.hpp): the
// answer is the same either way.

// {"src", "dst", "proto"?, "srcPostureAttrs"?, "explain"?}; any other field is an error (a typo
// must not silently change the question). `explain_default` applies when "explain" is absent.
Outcome<QueryInput> read_query(std::string_view json_text, bool explain_default = false,
                               std::size_t max_depth = 512);

// A query as a batch holds it: its text viewed in storage that outlives the view (a QueryBatch's
// own text, or a QueryInput).
struct QueryView {
  std::string_view src;
  std::string_view dst;
  std::variant<std::string_view, std::int64_t> proto{std::string_view("tcp")};
  std::optional<engine::AttrMap> src_attrs;
  bool explain = false;
};
[[nodiscard]] QueryView view_of(const QueryInput& input);

struct QueryBatchLimits {
  std::size_t max_queries = 100'000;
  std::size_t max_depth = 512;
  // Plain batches are read in one pass (query_text_plain.hpp); false: always by the validating
  // reader, which tests compare it with.
  bool one_pass = true;
};

// {"queries": [query, ...]} with at most `max_queries`: one Outcome per query, in order, so that a
// bad query can be answered with its error in its place. The views point into text the batch
// owns, which lives as long as the batch (moving the batch keeps them valid).
class QueryBatch {
 public:
  [[nodiscard]] std::span<const Outcome<QueryView>> queries() const { return queries_; }
  // Whether the batch was read in one pass, viewing its copy of the text (tests ask).
  [[nodiscard]] bool read_in_one_pass() const { return one_pass_; }
  // What the batch holds in memory, at most: its queries and its copy of their text.
  [[nodiscard]] std::size_t memory_bytes() const {
    return queries_.capacity() * sizeof(Outcome<QueryView>) + text_bytes_;
  }

 private:
  friend Outcome<QueryBatch> read_query_batch(std::string_view, const QueryBatchLimits&,
                                              const OtherThreads&);
  // The views' text: a padded copy of the whole text when read in one pass, else one block of
  // the strings per slice read.
  std::vector<std::unique_ptr<char[]>> texts_;
  std::vector<Outcome<QueryView>> queries_;
  bool one_pass_ = false;
  std::size_t text_bytes_ = 0;  // bounds the texts' sizes (the text read, or its strings)
};
// Errors: C723 (not JSON, or a duplicate key anywhere), C722 (not such an object), C724 (more
// than max_queries). A plain batch is read in one pass on this thread; any other text is validated
// whole on this thread and its queries are then read in slices here and on `others` (run_slices).
Outcome<QueryBatch> read_query_batch(std::string_view json_text, const QueryBatchLimits& limits,
                                     const OtherThreads& others);

// A JSON object of key -> string, number or boolean (srcPostureAttrs, `--attrs`); `field` names it
// in errors.
Outcome<engine::AttrMap> read_attr_map(std::string_view json_text, std::string_view field);

struct CheckAnswer {
  engine::AccessQuery query;
  engine::AccessAnswer answer;
};

// Resolve and answer one query (a user login as source: every one of their devices must pass).
Outcome<CheckAnswer> check(const engine::Snapshot& snapshot, const QueryInput& input);

// The throughput path: queries are resolved with per-batch caches and answered in blocks through
// check_batch (independent queries' memory loads overlap). Answers come out in input order.
class BatchChecker {
 public:
  struct Answer {
    std::size_t index = 0;  // 0-based position in the input
    std::optional<Error> error;
    bool accept = false;
    const engine::Decision* decision = nullptr;  // the last source device's (valid in the call)
    bool explain = false;                        // the query asked for an explanation
  };
  using Sink = std::function<void(const Answer&)>;

  BatchChecker(std::shared_ptr<const engine::Snapshot> snapshot, Sink sink);
  ~BatchChecker();
  BatchChecker(const BatchChecker&) = delete;
  BatchChecker& operator=(const BatchChecker&) = delete;

  void add(const QueryInput& input);
  void add(const QueryView& input);
  void add_error(Error error);  // an input that could not be parsed keeps its place
  // add() or add_error() for each in order, with the names of the queries a few places ahead
  // prepared and their memory loads started, so that neighbouring lookups overlap instead of
  // waiting one after another.
  void add_all(std::span<const Outcome<QueryView>> inputs);
  void finish();  // answers everything still pending
  [[nodiscard]] const engine::Snapshot& snapshot() const { return *snapshot_; }

 private:
  struct Pending {
    std::optional<Error> error;
    std::size_t first = 0;
    std::size_t count = 0;
  };
  // A query read for lookup: its destination split at the port and both names probed. Holds
  // views into the input and into itself: prepared in place, never moved.
  struct Prepared {
    const QueryView* input = nullptr;
    std::optional<engine::Resolved<engine::HostPort>> host_port;
    engine::DeviceNameIndex::Probe src;
    engine::DeviceNameIndex::Probe dst;
  };
  void prepare(Prepared& query, const QueryView& input) const;
  void answer(const Prepared& query);
  void answer_block();
  // The addresses `name` stands for: a name of one device costs one index lookup; anything else
  // (a user login, an address of no device, an error) is resolved once per batch and cached.
  std::optional<std::span<const grammar::ip::Address>> addresses(
      const engine::DeviceNameIndex::Probe& probe, std::string_view name, bool v6, bool is_src,
      Error& error);
  const engine::Endpoint* endpoint(std::string_view name, bool v6, bool is_src, Error& error);

  std::shared_ptr<const engine::Snapshot> snapshot_;
  Sink sink_;
  std::vector<Prepared> ahead_;  // add_all's ring of prepared queries
  std::size_t next_index_ = 0;
  std::vector<Pending> pending_;
  std::vector<engine::Request> requests_;
  std::deque<engine::AttrMap> attrs_;  // srcPostureAttrs of the block (stable addresses)
  std::vector<engine::Decision> decisions_;
  std::unordered_map<std::string, engine::Endpoint> src_cache_[2];
  std::unordered_map<std::string, engine::Endpoint> dst_cache_;
};

// Filter rules for one node (its tailcfg packet filter).
struct NodeFilter {
  engine::DeviceIndex device = 0;
  std::vector<engine::FilterRule> rules;
};
Outcome<NodeFilter> filter_for(const engine::Snapshot& snapshot, std::string_view node);

}  // namespace postern::control
