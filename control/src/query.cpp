#include "postern/control/query.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace postern::control {
namespace {

using grammar::DiagCode;

// Queries answered together by one check_batch call.
constexpr std::size_t kBlockQueries = 4096;

Error query_error(const engine::QueryError& e) {
  using Kind = engine::QueryError::Kind;
  if (e.kind == Kind::InvalidInput) return invalid(DiagCode::C722, e.message, e.help);
  return not_found(DiagCode::C721, e.message, e.help);
}

template <class Proto>
Outcome<std::uint8_t> proto_of(const Proto& proto) {
  const auto* name = std::get_if<0>(&proto);
  const auto parsed = name != nullptr ? engine::parse_query_proto(*name)
                                      : engine::query_proto_number(std::get<1>(proto));
  if (!parsed) return query_error(parsed.error());
  return parsed.value();
}

}  // namespace

QueryView view_of(const QueryInput& input) {
  QueryView view;
  view.src = input.src;
  view.dst = input.dst;
  if (const auto* name = std::get_if<std::string>(&input.proto)) {
    view.proto = std::string_view(*name);
  } else {
    view.proto = std::get<std::int64_t>(input.proto);
  }
  view.src_attrs = input.src_attrs;
  view.explain = input.explain;
  return view;
}

Outcome<CheckAnswer> check(const engine::Snapshot& snapshot, const QueryInput& input) {
  const auto proto = proto_of(input.proto);
  if (!proto) return proto.error();
  auto query =
      engine::resolve_access_query(snapshot, input.src, input.dst, proto.value(), input.src_attrs);
  if (!query) return query_error(query.error());
  CheckAnswer out{std::move(query).value(), {}};
  out.answer = engine::answer_access_query(snapshot, out.query, input.explain);
  return out;
}

// ---- batches ----

BatchChecker::BatchChecker(std::shared_ptr<const engine::Snapshot> snapshot, Sink sink)
    : snapshot_(std::move(snapshot)), sink_(std::move(sink)) {}

BatchChecker::~BatchChecker() = default;

void BatchChecker::add_error(Error error) {
  pending_.push_back({std::move(error), 0, 0});
  if (pending_.size() >= kBlockQueries) answer_block();
}

const engine::Endpoint* BatchChecker::endpoint(std::string_view name, bool v6, bool is_src,
                                               Error& error) {
  auto& cache = is_src ? src_cache_[v6 ? 1 : 0] : dst_cache_;
  const std::string key(name);
  auto it = cache.find(key);
  if (it == cache.end()) {
    auto resolved = engine::resolve_endpoint(*snapshot_, name, v6);
    if (!resolved) {
      error = query_error(resolved.error());
      return nullptr;
    }
    it = cache.emplace(key, std::move(resolved).value()).first;
  }
  return &it->second;
}

std::optional<std::span<const grammar::ip::Address>> BatchChecker::addresses(
    const engine::DeviceNameIndex::Probe& probe, std::string_view name, bool v6, bool is_src,
    Error& error) {
  const auto& names = snapshot_->names();
  const auto found = names.find(probe);
  if (found.size() == 1) {
    if (const auto* address = names.endpoint_address(found[0], v6)) {
      return std::span<const grammar::ip::Address>(address, 1);
    }
  }
  const auto* resolved = endpoint(name, v6, is_src, error);
  if (resolved == nullptr) return std::nullopt;
  return std::span<const grammar::ip::Address>(resolved->addresses);
}

void BatchChecker::prepare(Prepared& query, const QueryView& input) const {
  const auto& names = snapshot_->names();
  query.input = &input;
  query.host_port.emplace(engine::split_host_port(input.dst));
  query.src = names.probe(input.src);
  names.prefetch(query.src);
  query.dst = query.host_port->ok() ? names.probe(query.host_port->value().host)
                                    : engine::DeviceNameIndex::Probe();
  names.prefetch(query.dst);
}

void BatchChecker::add(const QueryView& input) {
  Prepared query;
  prepare(query, input);
  answer(query);
}

void BatchChecker::add(const QueryInput& input) { add(view_of(input)); }

void BatchChecker::add_all(std::span<const Outcome<QueryView>> inputs) {
  // Names are probed and their slots prefetched kProbeAhead queries ahead; what the slots point
  // to (key text, address entry) is prefetched kFoundAhead ahead, once the slots have arrived.
  constexpr std::size_t kRing = 16;
  constexpr std::size_t kProbeAhead = 8;
  constexpr std::size_t kFoundAhead = 4;
  static_assert(kProbeAhead < kRing && kFoundAhead < kProbeAhead);
  ahead_.resize(kRing);
  const std::size_t block = std::min<std::size_t>(inputs.size(), kBlockQueries);
  pending_.reserve(block);
  requests_.reserve(block);
  const auto& names = snapshot_->names();
  const auto prepare_at = [&](std::size_t i) {
    if (i < inputs.size() && inputs[i]) prepare(ahead_[i % kRing], inputs[i].value());
  };
  for (std::size_t i = 0; i < kProbeAhead; ++i) prepare_at(i);
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    prepare_at(i + kProbeAhead);
    if (i + kFoundAhead < inputs.size() && inputs[i + kFoundAhead]) {
      const Prepared& later = ahead_[(i + kFoundAhead) % kRing];
      names.prefetch_found(later.src);
      names.prefetch_found(later.dst);
    }
    if (inputs[i]) {
      answer(ahead_[i % kRing]);
    } else {
      add_error(inputs[i].error());
    }
  }
}

void BatchChecker::answer(const Prepared& query) {
  const QueryView& input = *query.input;
  const auto proto = proto_of(input.proto);
  if (!proto) return add_error(proto.error());
  if (!query.host_port->ok()) return add_error(query_error(query.host_port->error()));
  const auto& host_port = query.host_port->value();
  Error error;
  const auto& literal = query.dst.address();
  const auto dst = addresses(query.dst, host_port.host, literal && literal->v6, false, error);
  if (!dst) return add_error(std::move(error));
  if (dst->size() != 1) {
    return add_error(invalid(DiagCode::C722,
                             fmt::format("destination `{}` names {} devices; a destination must be "
                                         "one address",
                                         host_port.host, dst->size())));
  }
  const auto& dst_address = dst->front();
  const bool v6 = dst_address.v6;
  const auto src = addresses(query.src, input.src, v6, true, error);
  if (!src) return add_error(std::move(error));
  const engine::AttrMap* attrs = nullptr;
  if (input.src_attrs) attrs = &attrs_.emplace_back(*input.src_attrs);
  std::uint8_t p = proto.value();
  if (p == engine::kProtoIcmp && v6) p = engine::kProtoIcmpV6;
  pending_.push_back({std::nullopt, requests_.size(), src->size()});
  for (const auto& s : *src) {
    engine::Request q;
    q.src = s;
    q.dst = dst_address;
    q.proto = p;
    q.port = host_port.port;
    q.src_attrs = attrs;
    q.explain = input.explain;
    requests_.push_back(q);
  }
  if (pending_.size() >= kBlockQueries) answer_block();
}

void BatchChecker::answer_block() {
  decisions_.resize(requests_.size());
  snapshot_->check_batch(requests_, std::span<engine::Decision>(decisions_));
  for (auto& entry : pending_) {
    Answer answer;
    answer.index = next_index_++;
    if (entry.error) {
      answer.error = std::move(entry.error);
      sink_(answer);
      continue;
    }
    // A user login may name several devices: accept only when every one is accepted.
    answer.accept = true;
    answer.explain = entry.count > 0 && requests_[entry.first].explain;
    for (std::size_t k = 0; k < entry.count && answer.accept; ++k) {
      answer.decision = &decisions_[entry.first + k];
      answer.accept = answer.decision->allow;
    }
    sink_(answer);
  }
  pending_.clear();
  requests_.clear();
  attrs_.clear();
}

void BatchChecker::finish() {
  if (!pending_.empty()) answer_block();
}

Outcome<NodeFilter> filter_for(const engine::Snapshot& snapshot, std::string_view node) {
  const auto found = snapshot.find_device(node);
  if (!found) {
    return not_found(DiagCode::C744, fmt::format("no single device is named `{}`", node),
                     "use the device's id, nodeId, address, FQDN or hostname");
  }
  return NodeFilter{*found, snapshot.filter_for(*found)};
}

}  // namespace postern::control
